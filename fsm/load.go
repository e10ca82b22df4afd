package fsm

// Soft-state load types shared by cluster/ (the load overlay) and edge/ (the
// /worker_status/ and /route/ handlers). These are NOT replicated through
// Raft: every node keeps its own merged copy, fed by the reports it receives
// and the deltas its peers stream to it. Plain types only.

// LoadReport is one /worker_status/ report as received (the spec's 17 fields)
// plus the stamp the receiving node adds.
type LoadReport struct {
	WorkerID            uint64 // "id"
	MToken              string // "mtoken" — never streamed to peers, never logged
	Version             string
	LoadTime            float64 // "loadtime"
	NewLoad             float64
	CurLoad             float64
	RejLoad             float64
	MaxPerf             float64
	CurPerf             float64
	ErrorMsg            string
	NumRequestsWorking  int64
	NumRequestsReceived int64 // "num_requests_recieved" on the wire
	AdditionalDiskUsage float64
	WorkingRequestIdxs  []uint64
	URL                 string
	ReportSeq           uint64 // drover worker's own sequence ("drover_seq"), 0 from PyWorkers

	// Stamp, set by the node that received the report.
	Node    string
	Arrived int64  // unix nanoseconds at arrival on that node
	Seq     uint64 // per-node sequence
}

// WorkerLoad is the merged, current view of one worker's load on this node.
type WorkerLoad struct {
	WorkerID           uint64
	CurLoad, MaxPerf   float64 // gauges, last writer wins by stamp (Arrived, then Node, then Seq)
	NumRequestsWorking int64
	LoadTime           float64
	ErrorMsg           string
	URL                string
	// Interval sums turned into rates (load/s) over the arrival intervals.
	NewLoadRate, CurPerfRate, RejLoadRate float64
	LastReport                            int64  // unix nanos of the newest report's arrival (any node)
	Node                                  string // node that received the newest report
	Seq                                   uint64
}

// QueueEntry is one held /route/ request of an endpoint with no ready worker.
type QueueEntry struct {
	EndpointID uint64
	RequestIdx uint64
	Cost       float64
	Enqueued   int64 // unix nanos, first time it was queued (keeps its place across nodes)
	Expires    int64 // unix nanos: Enqueued + replay_timeout; refreshed by each poll
	Node       string
}
