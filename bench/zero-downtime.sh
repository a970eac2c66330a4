#!/usr/bin/env bash
# Zero-downtime benchmark: every scenario of the integration suite's
# zero-downtime phases (canary and rolling deploys, an allocation stopped,
# scale down, an auto-revert, an autoscaler scale-in, a secret rotation)
# under a steady load on loopback, run RUNS times in a row. Prints, per
# scenario and target, the requests, the failures by status and p50/p99.
#
#   bench/zero-downtime.sh [RUNS]       (RATE, CLIENTS: the load; default 600/s, 8)
#
# The autoscaler scale-in runs at SCALEIN_RATE (default 60/s): at 600/s
# the example's api needs its maximum and the autoscaler keeps it there,
# which is right, and leaves no scale-in to measure.
#
# Needs the agents installed (make install); starts and stops its own dev
# stack unless one is running. Load stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
export STACKCTL_ZD_RATE=${RATE:-600} STACKCTL_ZD_CLIENTS=${CLIENTS:-8} STACKCTL_ZD_SCALEIN_RATE=${SCALEIN_RATE:-60}
out=$(mktemp -d -t stackctl-zd.XXXXXX) # the runs' whole logs, kept
echo "zero-downtime: $RUNS run(s) at $STACKCTL_ZD_RATE requests/s per target from $STACKCTL_ZD_CLIENTS clients (scale-in at $STACKCTL_ZD_SCALEIN_RATE/s)"
fail=0
for i in $(seq 1 "$RUNS"); do
  if ! go test -tags integration -count=1 -timeout 60m -v \
      -run 'TestSuite/(zero-downtime|zero-downtime-deploy)$' ./integration/ >"$out/run$i.log" 2>&1; then
    fail=1
  fi
  # Per scenario, the lines the phases log per target ("<target> at R/s:
  # N requests, N ok, N failed, p50 ... (...)") and every failed subtest.
  echo "== run $i"
  grep -E '^\s*=== RUN\s+TestSuite/[^/]+/|requests, [0-9]+ ok|^\s*--- FAIL' "$out/run$i.log" \
    | sed -E 's/^\s+//; s/^=== RUN\s+TestSuite\/[^/]+\//-- /; s/^[a-z_]+_test\.go:[0-9]+: //' \
    | grep -v 'of [0-9]* requests failed' || true
done
echo "whole logs: $out"
if [ "$fail" -ne 0 ]; then
  echo "at least one run failed"
  exit 1
fi
