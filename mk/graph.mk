# The example system's picture in README.md and docs/graph.md, drawn by
# `stackctl graph` from jobs/ so that it never goes stale:
# internal/graph's TestExamplePicture fails when these files differ from
# what the code draws. Included from the Makefile.

.PHONY: graph-docs

PICTURE := docs/images/example-system

graph-docs: ## Redraw the example system's picture (docs/images/example-system.*, the Mermaid block in docs/graph.md)
	@mkdir -p $(dir $(PICTURE))
	$(GO) run ./cmd/stackctl graph -o $(PICTURE).svg jobs
	$(GO) run ./cmd/stackctl graph -o $(PICTURE).mmd jobs
	$(GO) run ./cmd/stackctl graph -o $(PICTURE).dot jobs
	@awk -v f=$(PICTURE).mmd ' \
		/^<!-- BEGIN example-system.mmd/ { print; print "```mermaid"; while ((getline l < f) > 0) print l; print "```"; skip = 1; next } \
		/^<!-- END example-system.mmd/ { skip = 0 } \
		!skip' docs/graph.md > docs/graph.md.tmp && mv docs/graph.md.tmp docs/graph.md
