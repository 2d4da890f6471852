# Ferry build, test and demo targets. `make demo` and `make test` are all a
# fresh machine with Go needs.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
# staticcheck 2026.2.2 is module version v0.8.2.
STATICCHECK_VERSION := v0.8.2

# Tests that need the built binaries (e2e, demo) find them here.
export FERRY_BIN_DIR := $(BIN)

.PHONY: all build test lint faults faults-short bench bench-ice bench-transfer bench-resume bench-smallfiles bench-jsonchunk bench-dht bench-daemon demo proto clean

all: build

# build: the ferry front and, beside it, the full program (ferry-node), every
# plugin main (plugins/<p>/cmd/<name>) into bin/plugins/<name>, then pin them
# all in bin/plugins/plugins.lock. The front is built without cgo: a static
# binary starts ~6 ms sooner than one the dynamic loader must map first.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ferry ./cmd/ferry
	$(GO) build -o $(BIN)/ferry-node ./cmd/ferry-node
	@mkdir -p $(BIN)/plugins
	@set -e; for d in plugins/*/cmd/*/; do \
		[ -f "$$d/main.go" ] || continue; \
		name=$$(basename "$$d"); \
		echo "$(GO) build -o $(BIN)/plugins/$$name ./$${d%/}"; \
		$(GO) build -o "$(BIN)/plugins/$$name" "./$${d%/}"; \
	done
	$(BIN)/ferry plugins lock --dir $(BIN)/plugins

# cmd/ferry-node's end-to-end tests take over go test's default 10 minutes on a
# loaded 2-core machine, hence the longer timeout.
test: build
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if $(GO) list -m honnef.co/go/tools@$(STATICCHECK_VERSION) >/dev/null 2>&1; then \
		echo "$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./..."; \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...; \
	elif command -v staticcheck >/dev/null; then \
		echo "staticcheck ./..."; staticcheck ./...; \
	else \
		echo "staticcheck $(STATICCHECK_VERSION) not available (offline?); skipping it"; \
	fi

# faults: the fault suite (testdata/faults/run.sh): kill storms of either
# side and of each plugin, a full disk, a bit-flipping proxy, for each
# protocol, 1 GiB and 10 kills; prints a table. faults-short is CI's form
# (64 MiB, 2 kills).
faults: build
	FORM=full bash testdata/faults/run.sh

faults-short: build
	FORM=short bash testdata/faults/run.sh

bench: build
	@if [ -x testdata/bench/plugin-boundary.sh ] || [ -f testdata/bench/plugin-boundary.sh ]; then \
		bash testdata/bench/plugin-boundary.sh; \
	else \
		echo "testdata/bench/plugin-boundary.sh not written yet"; exit 1; \
	fi

# bench-ice: the ice transport host to host (QUIC owning the socket, and over
# the ICE conn) and through TURN (pion/turn, coturn) beside tcp (issue 12).
bench-ice:
	bash testdata/bench/ice.sh

# bench-transfer: 1 GiB between two ferry processes with ftv2a and with
# jsonchunk, beside a bare TLS 1.3 copy, 5 rounds interleaved (issue 13).
bench-transfer: build
	bash testdata/bench/transfer.sh

# bench-resume: a 1 GiB jsonchunk transfer cut at half and resumed: what
# each side reads during the resume (/proc/PID/io).
bench-resume: build
	bash testdata/bench/resume-io.sh

# bench-smallfiles: 10,000 files of 1 KiB, whole ferry send with ftv2a and
# jsonchunk, beside cp -r and tar | tar over a local TCP socket.
bench-smallfiles: build
	bash testdata/bench/smallfiles.sh

# bench-jsonchunk: 1 GiB in fast mode and 100 MiB in strict mode between two
# ferry processes, each beside a bare TLS 1.3 copy in the same run.
bench-jsonchunk: build
	bash testdata/bench/jsonchunk.sh

# bench-dht: DHT look-ups on 10, 20 and 50 in-process nodes on 127.0.0.1,
# memory per node, and the signaling round trip.
bench-dht:
	bash testdata/bench/dht-sim.sh

# bench-daemon: a 1 KiB file to a LAN peer as the whole `ferry send`, through
# a running daemon and as the cold CLI, medians of each (issue 16).
bench-daemon: build
	bash testdata/bench/daemon-latency.sh

demo: build
	bash testdata/demo/demo.sh

# proto: regenerate sdk/internal/pb from sdk/proto (needs protoc; the Go
# generators are pinned as go tools in go.mod).
proto:
	protoc -I sdk/proto \
		--go_out=. --go_opt=module=github.com/ferry-p2p/ferry \
		--go-grpc_out=. --go-grpc_opt=module=github.com/ferry-p2p/ferry \
		--plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
		--plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
		sdk/proto/ferry/plugin/v1/plugin.proto

clean:
	rm -rf $(BIN)
