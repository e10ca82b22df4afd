// Package sim is drover's trace-driven scaling simulator (`drover sim`). It
// replays a request trace (the built-in Azure code and Mooncake traces of
// testdata/, or a file in either format), a synthetic pattern, a generated
// workload or the whole corpus of them (corpus.go) through the real
// scheduler policies and the in-process sim provider, in virtual time, with the fleet model of the project's scaling spec: a
// request's load is prompt + 10 × generated tokens, a worker serves one
// request at a time at Perf load/s from the endpoint's FIFO queue, and the
// score is GPU-seconds billed, the share of requests whose queue wait is
// within the SLO, p50/p99 wait, unserved requests and churn. The oracle is
// the spec's lower bound: ceil(load in each 10 s bucket / (Perf × 10))
// workers ready through the bucket, with no loading time and no margin, its
// service measured with the same queue.
//
// Package sim owns the serving model, the tick loop and the scoring. It
// never sleeps and never reads the wall clock: runs are deterministic for a
// seed. Decisions are the scheduler's; instance lifecycles and billing are
// scheduler/provider/sim's.
package sim
