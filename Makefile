# drover: one Makefile, the same gates everywhere. `make test` is what CI runs.
# Everything here needs only the Go toolchain (modules come from the Go module
# proxy) and a POSIX shell.

GO      ?= go
MODULE  := github.com/drover-io/drover
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Packages whose tests run in-process: run with the race detector.
RACE_PKGS ?= ./fsm/... ./transport/... ./edge/... ./worker/... ./client/... ./scheduler/...
# cluster's in-process tests (Raft on loopback, roomy timeouts) also run with
# the race detector; its TestE2E* tests start agent processes and run below.
# Packages whose tests start node processes or clusters run one package at a time.
PROC_TIMEOUT ?= 15m
# Packages with benchmarks (`make bench`).
BENCH_PKGS ?= ./fsm/... ./cluster/... ./edge/ ./cmd/drover/ ./worker/token/
# Fuzz targets as package:FuzzName, each run for FUZZ_TIME (`make fuzz`).
FUZZ_TARGETS ?= ./fsm:FuzzDecodeCommand ./edge:FuzzRouteRequest ./edge:FuzzWorkerStatus ./worker/token:FuzzVerify
FUZZ_TIME ?= 20s

.PHONY: chromium-deps all build test vet fmt-check imports-check check run bench bench-sched fuzz clean jepsen jepsen-quick jepsen-deps haproxy-deps

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/drover ./cmd/drover

test: check haproxy-deps
	$(GO) test -race $(RACE_PKGS)
	$(GO) test -race -skip '^TestE2E' ./cluster/
	$(GO) test -p 1 -timeout $(PROC_TIMEOUT) -run '^TestE2E' ./cluster/...
	$(MAKE) chromium-deps
	$(GO) test -p 1 -timeout $(PROC_TIMEOUT) ./cmd/...
	$(MAKE) jepsen-quick

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(git ls-files -co --exclude-standard '*.go' | xargs -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi

# deny(package, forbidden ERE, rule): no (non-test) package under $(MODULE)/<package>
# may depend, directly or not, on a package matching the ERE. Packages not
# created yet are skipped.
define deny
	@for p in $$($(GO) list -e ./... | grep -E '^$(MODULE)/$(1)(/|$$)'); do \
		bad=$$($(GO) list -e -f '{{join .Deps "\n"}}' $$p | grep -Ev '^$(MODULE)/$(1)(/|$$)' | grep -E '$(2)'); \
		if [ -n "$$bad" ]; then echo "import direction: $$p depends on" $$bad "($(3))"; exit 1; fi; \
	done
endef

imports-check:
	$(call deny,fsm,^$(MODULE)/|^github.com/hashicorp/raft,fsm imports no sibling package and no raft)
	$(call deny,edge,^github.com/hashicorp/raft|^$(MODULE)/(cluster|transport|scheduler)(/|$$),edge never imports raft or cluster/transport/scheduler)
	$(call deny,scheduler,^github.com/hashicorp/raft|^$(MODULE)/(cluster|edge|transport)(/|$$),scheduler never imports raft or cluster/edge/transport)
	$(call deny,transport,^$(MODULE)/(fsm|scheduler|cluster|edge)(/|$$),transport never imports fsm/scheduler/cluster/edge)
	$(call deny,cluster,^github.com/valyala/fasthttp|^$(MODULE)/(edge|cmd)(/|$$),cluster never imports edge/cmd/fasthttp)
	@echo "import directions ok"

check: vet fmt-check imports-check

run: build
	bin/drover dev

# The scheduler's full workload corpus: every policy on every cell (traces,
# patterns × speedup × rate scale, generated workloads), one table and the
# worst cell per policy. `make test` runs the short corpus (scheduler/sim's
# TestShortCorpusDominance).
bench-sched:
	$(GO) run ./cmd/drover sim --corpus --policy vast,kpa,drover,oracle

# Debian's chromium for the dashboard's browser test (cmd/drover
# TestDashboardInBrowser), installed only when missing, without recommends.
chromium-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		(apt-get update && apt-get install -y --no-install-recommends chromium) || \
		echo "chromium could not be installed: TestDashboardInBrowser will skip"

bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem $(BENCH_PKGS)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZ_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZ_TIME) $$pkg; \
	done

# Jepsen (jepsen/): real node processes in network namespaces under faults.
# Needs root, ip and iptables; without them the harness says so and runs the
# process faults only, on loopback. SEED=N reproduces a run's schedule.
# Results: jepsen/out/<run>/ (history.jsonl, results.json, register.html on failure).
JEPSEN_TESTS_QUICK := ^(TestJepsenQuick|TestBrokenReads|TestCheck.*|TestLeaderViolations|TestRegisterHTMLHasNemesis|TestVerifyURL)$$
SEED ?=
# Checkers whose violations are known, filed bugs: logged, not failing the
# target (results.json still says valid=false). Empty: every violation fails.
JEPSEN_KNOWN ?=

# TestE2EHAProxyStableAddress runs deploy/haproxy.cfg with Debian's haproxy;
# it skips, saying why, only when haproxy cannot be installed.
haproxy-deps:
	@if ! command -v haproxy >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "test: installing haproxy (apt-get)"; \
			{ apt-get update -qq && apt-get install -y -qq haproxy; } >/dev/null 2>&1 || \
			echo "test: could not install haproxy: TestE2EHAProxyStableAddress will be skipped"; \
		else \
			echo "test: haproxy is missing and this is not root: TestE2EHAProxyStableAddress will be skipped (apt-get install haproxy)"; \
		fi; \
	fi

jepsen-deps:
	@if [ "$$(id -u)" = 0 ] && ! { command -v ip && command -v iptables; } >/dev/null 2>&1; then \
		echo "jepsen: installing iptables and iproute2 (apt-get)"; \
		{ apt-get update -qq && apt-get install -y -qq iptables iproute2; } >/dev/null 2>&1 || \
		echo "jepsen: could not install iptables/iproute2: partitions and loss will be skipped (loopback mode)"; \
	fi

# ≤ 5 minutes: 3 nodes, a few nemeses, every workload that exists, the
# broken-build scenario and the checker tests; fails on any violation.
jepsen-quick: jepsen-deps
	JEPSEN_SEED=$(SEED) JEPSEN_KNOWN=$(JEPSEN_KNOWN) $(GO) test -count=1 -timeout 8m -v -run '$(JEPSEN_TESTS_QUICK)' ./jepsen/

# The full matrix (3 and 5 nodes, combined fault schedules, ~60 s cells),
# about 25 minutes, ending with one summary table.
jepsen: jepsen-deps
	DROVER_JEPSEN_FULL=1 JEPSEN_SEED=$(SEED) JEPSEN_KNOWN=$(JEPSEN_KNOWN) $(GO) test -count=1 -timeout 60m -v -run '^TestJepsenFull$$' ./jepsen/

clean:
	rm -rf bin
