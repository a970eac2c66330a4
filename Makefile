# stackctl - run `make help` for the targets.

GO        ?= go
BIN       ?= bin/stackctl
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/stackctl/stackctl/internal/cli.Version=$(VERSION)
# Fuzz budgets are counts of executions, not durations: with a duration,
# Go 1.26's fuzz coordinator can fail a run with "context deadline exceeded"
# at the deadline although nothing was found (go.dev/issue/75804, fixed in
# Go 1.27). A count has no deadline to race. FUZZTIME=60s works for local runs.
FUZZTIME  ?= 100000x
FUZZMIN   ?= 2000x
# Each FuzzImport execution writes a compose file and loads a project:
# about 400 a second here, so fewer executions for the same time.
FUZZIMPORT ?= 10000x

.DEFAULT_GOAL := help
.PHONY: help build test fuzz bench fmt lint golden check ci

help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

build: ## Build bin/stackctl
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/stackctl

test: ## Unit tests, golden files and CLI scripts (no agents needed)
	$(GO) test -count=1 ./...

fuzz: ## Short runs of every fuzz target (FUZZTIME executions each)
	$(GO) test -run '^$$' -fuzz '^FuzzPipeline$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/compile
	$(GO) test -run '^$$' -fuzz '^FuzzFormat$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/cli
	$(GO) test -run '^$$' -fuzz '^FuzzImport$$' -fuzztime $(FUZZIMPORT) -fuzzminimizetime $(FUZZMIN) ./internal/composeimport
	$(GO) test -run '^$$' -fuzz '^FuzzExprBound$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/spec
	$(GO) test -run '^$$' -fuzz '^FuzzNesting$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/spec
	$(GO) test -run '^$$' -fuzz '^FuzzHCLText$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/render
	$(GO) test -run '^$$' -fuzz '^FuzzIndentJSON$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/render
	$(GO) test -run '^$$' -fuzz '^FuzzASCIIIdent$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/render
	$(GO) test -run '^$$' -fuzz '^FuzzDecide$$' -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMIN) ./internal/dockerauthz

bench: ## Benchmarks of load, compile and render at 100, 1,000 and 10,000 services (make bench-render: whole process)
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/compile

fmt: ## Format Go code and the example descriptors
	gofmt -w cmd internal integration
	$(GO) run ./cmd/stackctl fmt jobs

lint: ## go vet, gofmt and descriptor formatting checks
	$(GO) vet ./...
	$(GO) vet -tags integration,compose ./integration/...
	@test -z "$$(gofmt -l cmd internal integration)" || (gofmt -l cmd internal integration; echo "gofmt needed: make fmt"; exit 1)
	$(GO) run ./cmd/stackctl fmt -check jobs

golden: ## Regenerate golden files after an intended output change (review the diff!)
	$(GO) test ./internal/render -update
	$(GO) test ./internal/kube -update
	$(GO) test ./internal/composeimport ./internal/graph -update

check: lint install test fuzz stack-tests ## The README's test command and CI's: lint, install what is missing, unit tests, fuzz, then integration and compose on a fresh stack

ci: check ## What .ci/run does (the same as check)

-include mk/*.mk
