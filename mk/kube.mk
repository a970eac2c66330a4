# The Kubernetes baseline (docs/comparison.md): build the control plane from
# the Go module proxy, validate the rendered manifests against a real
# kube-apiserver, and measure both control planes. Included from the Makefile.

.PHONY: install-kube kube-integration kube-golden bench-controlplane compare

install-kube: ## Build etcd + kube-apiserver/controller-manager/scheduler into the agent cache
	bash scripts/build-kube.sh

kube-integration: ## Server-side dry-run of every example's Kubernetes manifests (etcd + kube-apiserver)
	go test -tags integration -count=1 -timeout 30m -v ./integration/kube

kube-golden: ## Regenerate the Kubernetes golden files (review the diff!)
	go test ./internal/kube -update

bench-controlplane: ## Control-plane RSS and start time: HashiCorp stack vs Kubernetes (RUNS=5)
	bash bench/controlplane.sh

compare: ## Objects and lines generated per target for the example stack
	go run ./cmd/stackctl compare jobs
