#!/usr/bin/env bash
# `make compose-test`: the Compose stack binds the dev stack's ports, so the
# two cannot run side by side. When a dev stack is up (the README's first
# command, scripts/up.sh, leaves one running), stop it for the test and
# bring it back afterwards the same way, so the machine ends as it started.
# The dev stack's Vault keeps secrets in memory: scripts/up.sh seeds the
# example's secrets again with new random values.
set -uo pipefail
cd "$(dirname "$0")/.."

STACKCTL=${STACKCTL:-bin/stackctl}
go build -trimpath -o bin/stackctl ./cmd/stackctl || exit 1

restore=0
if "$STACKCTL" dev status >/dev/null 2>&1; then
	echo "compose-test: the dev stack is running; stopping it for the test (scripts/up.sh brings it back afterwards)"
	restore=1
fi
# Also when it is only partly up: whatever of it still runs holds the ports.
# With no stack at all, down says so and fails; the test then checks the
# ports itself and names any that are still taken.
"$STACKCTL" dev down || true

go test -tags compose -count=1 -timeout 25m -v -run TestComposeStack ./integration/compose/
rc=$?

if [ "$restore" = 1 ]; then
	echo "compose-test: bringing the dev stack back (scripts/up.sh)"
	scripts/up.sh >/dev/null || { echo "compose-test: scripts/up.sh failed after the test" >&2; rc=1; }
fi
exit "$rc"
