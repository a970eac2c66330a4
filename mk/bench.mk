# The front end's benchmark (docs/performance.md). Included from the Makefile.

RUNS ?= 5

.PHONY: bench-render

bench-render: ## Whole-process validate and render -o (fresh dir, unchanged dir) at 100/1,000/10,000 services: median wall, CPU, peak RSS (RUNS=5)
	bash bench/render.sh $(RUNS)
