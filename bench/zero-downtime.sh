#!/usr/bin/env bash
# Zero-downtime benchmark: every scenario of the integration suite's
# zero-downtime phases (canary and rolling deploys, an allocation stopped,
# scale down, an auto-revert, an autoscaler scale-in, a secret rotation)
# under a steady load on loopback, run RUNS times in a row. Prints, per
# scenario and target, the requests, the failures by status and p50/p99.
#
#   bench/zero-downtime.sh [RUNS]       (RATE, CLIENTS: the load; default 600/s, 8)
#
# Needs the agents installed (make install); starts and stops its own dev
# stack unless one is running. Load stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
export STACKCTL_ZD_RATE=${RATE:-600} STACKCTL_ZD_CLIENTS=${CLIENTS:-8}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "zero-downtime: $RUNS run(s) at $STACKCTL_ZD_RATE requests/s from $STACKCTL_ZD_CLIENTS clients"
fail=0
for i in $(seq 1 "$RUNS"); do
  if ! go test -tags integration -count=1 -timeout 60m -v \
      -run 'TestSuite/(zero-downtime|zero-downtime-deploy)$' ./integration/ >"$out/run$i.log" 2>&1; then
    fail=1
  fi
  # Lines the phases log per target: "<target>: N requests, N ok, N failed, p50 ... (...)".
  echo "== run $i"
  grep -E '^\s+=== RUN|requests, [0-9]+ ok' "$out/run$i.log" \
    | sed -E 's/^\s+//; s/^=== RUN\s+TestSuite\//-- /; s/^[a-z_]+_test\.go:[0-9]+: //' \
    | grep -v 'of [0-9]* requests failed' || true
done
if [ "$fail" -ne 0 ]; then
  echo "at least one run failed: logs in $out (kept)"
  trap - EXIT
  exit 1
fi
