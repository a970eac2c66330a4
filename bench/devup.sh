#!/usr/bin/env bash
# Measures `stackctl dev up` from nothing to every component ready, with the
# agents and images already built (run `stackctl dev install` first). Each
# run is followed by `dev down`, so every run starts cold. Target: <= 15 s
# on a 2-core machine.
#
#   bash bench/devup.sh [runs]        default 5 runs
#
# Prints each run's wall time and the median, minimum and maximum.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
bin=$(mktemp -d)/stackctl
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/stackctl

if "$bin" dev status >/dev/null 2>&1; then
  echo "a dev stack is running: stop it first (stackctl dev down)" >&2
  exit 1
fi
"$bin" dev down >/dev/null 2>&1 || true

times=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  if ! "$bin" dev up --no-install >"/tmp/devup-bench-$i.log" 2>&1; then
    echo "run $i: dev up failed, see /tmp/devup-bench-$i.log" >&2
    "$bin" dev down >/dev/null 2>&1 || true
    exit 1
  fi
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf 'run %d: %.2f s  (%s)\n' "$i" "$t" "$(grep -o 'ready in [^;]*' "/tmp/devup-bench-$i.log")"
  "$bin" dev down >/dev/null
done
summary "dev up" "${times[@]}"
