# drover: one Makefile, the same gates everywhere. `make test` is what CI runs.
# Everything here needs only the Go toolchain (modules come from the Go module
# proxy) and a POSIX shell.

GO      ?= go
MODULE  := github.com/drover-io/drover
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# Packages whose tests run in-process: run with the race detector.
RACE_PKGS ?= ./fsm/... ./transport/... ./edge/...
# Packages whose tests start node processes or clusters: one package at a time.
PROC_PKGS ?= ./cluster/... ./cmd/...
PROC_TIMEOUT ?= 15m
# Packages with benchmarks (`make bench`).
BENCH_PKGS ?= ./fsm/... ./cluster/...
# Fuzz targets as package:FuzzName, each run for FUZZ_TIME (`make fuzz`).
FUZZ_TARGETS ?= ./fsm:FuzzDecodeCommand
FUZZ_TIME ?= 20s

.PHONY: all build test vet fmt-check imports-check check run bench fuzz clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/drover ./cmd/drover

test: vet
	$(GO) test -race $(RACE_PKGS)
	$(GO) test -p 1 -timeout $(PROC_TIMEOUT) $(PROC_PKGS)

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

bench:
	$(GO) test -p 1 -run '^$$' -bench . -benchmem $(BENCH_PKGS)

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZ_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZ_TIME) $$pkg; \
	done

clean:
	rm -rf bin
