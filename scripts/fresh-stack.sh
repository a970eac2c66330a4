#!/usr/bin/env bash
# scripts/fresh-stack.sh CMD...: run CMD on a machine without a dev stack,
# then leave the machine as it was. The integration suite then starts (and
# stops) a stack of its own, in a known state, and the Compose stack, which
# binds the same ports, can start at all. When a dev stack was up (the
# README's first command, scripts/up.sh, leaves one running), it is stopped
# first and brought back afterwards with scripts/up.sh; its Vault keeps
# secrets in memory, so the example's secrets get new random values.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$#" -gt 0 ] || { echo "usage: scripts/fresh-stack.sh CMD..." >&2; exit 2; }

STACKCTL=${STACKCTL:-bin/stackctl}
go build -trimpath -o bin/stackctl ./cmd/stackctl || exit 1

restore=0
if "$STACKCTL" dev status >/dev/null 2>&1; then
	echo "fresh-stack: a dev stack is running; stopping it for the tests (scripts/up.sh brings it back afterwards)"
	restore=1
fi
# Also when it is only partly up: whatever of it still runs holds the ports.
# With no stack at all, down says so and fails; the tests then check the
# ports themselves and name any that are still taken.
"$STACKCTL" dev down >/dev/null 2>&1 || true

"$@"
rc=$?

if [ "$restore" = 1 ]; then
	echo "fresh-stack: bringing the dev stack back (scripts/up.sh)"
	scripts/up.sh >/dev/null || { echo "fresh-stack: scripts/up.sh failed after the tests" >&2; rc=1; }
fi
exit "$rc"
