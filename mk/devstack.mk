# The local stack, the images and the integration suite (docs/devstack.md).
# Included from the Makefile.

STACKCTL_RUN ?= go run ./cmd/stackctl
ZD_RUNS ?= 3

.PHONY: install install-agents stack-tests compose-test-run bench-zero-downtime dev-up dev-down compose-up compose-down images integration compose-test bench-devup bench-compose bench-deploy

install: ## Install what is missing (idempotent, seconds when done): Docker + CNI (apt), the pinned agents, Compose v2, local images, etcd + kube-apiserver for the Kubernetes check
	$(STACKCTL_RUN) dev install
	bash scripts/build-kube.sh etcd kube-apiserver

install-agents: install

dev-up: ## Start the local Nomad/Consul/Vault/Traefik/autoscaler stack
	$(STACKCTL_RUN) dev up

dev-down: ## Stop the local stack and remove its containers
	$(STACKCTL_RUN) dev down

compose-up: ## The same stack with Docker Compose: prepare the host, docker-compose.dev.yml up, wait until ready (root)
	$(STACKCTL_RUN) dev compose up

compose-down: ## Stop the Compose stack and undo the host preparation
	$(STACKCTL_RUN) dev compose down

images: ## Build the local pause and demo images (needs dockerd)
	$(STACKCTL_RUN) dev install --images-only

# -p 1: the Kubernetes check (integration/kube) starts etcd and
# kube-apiserver; beside the suite's zero-downtime phases it would only add
# load to the machine they measure.
integration: ## Run the integration suite against the real agents (starts the stack if needed)
	go test -tags integration -count=1 -p 1 -timeout 40m ./integration/...

compose-test: ## The README's Compose commands for real: up, deploy, routes, isolation, no token leaked, down restores the host (a running dev stack is stopped and brought back)
	bash scripts/fresh-stack.sh $(MAKE) --no-print-directory compose-test-run

compose-test-run:
	go test -tags compose -count=1 -timeout 25m -v -run TestComposeStack ./integration/compose/

stack-tests: ## What make check runs against real agents: the integration suite on a stack of its own, then compose-test (a running dev stack is stopped and brought back)
	bash scripts/fresh-stack.sh $(MAKE) --no-print-directory integration compose-test-run

bench-devup: ## Measure `dev up` to fully ready (binaries already built)
	bash bench/devup.sh

bench-compose: ## Measure `stackctl dev compose up` to ready, each run followed by down (dev stack stopped)
	bash bench/compose-up.sh

bench-deploy: ## `stackctl deploy` vs `nomad job run` (+ until in the mesh) of one service (stack up, secrets set: scripts/up.sh)
	bash bench/deploy.sh

bench-zero-downtime: ## Every zero-downtime scenario under 600 requests/s, 3 runs in a row (ZD_RUNS, RATE, CLIENTS)
	bash bench/zero-downtime.sh $(ZD_RUNS)
