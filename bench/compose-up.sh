#!/usr/bin/env bash
# Measures `stackctl dev compose up` from nothing to ready (host prepared,
# `docker compose up -d --wait`, then Consul, Vault, Nomad, Traefik's
# routes and the autoscaler ready), each run followed by `dev compose down`,
# so every run starts with no container, mount or credential. Needs root,
# dockerd running, the local images (`stackctl dev install
# --compose-images`) and the dev stack stopped (same ports).
#
#   bash bench/compose-up.sh [runs]        default 5 runs
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
stackctl=bin/stackctl
go build -trimpath -o "$stackctl" ./cmd/stackctl
docker info >/dev/null 2>&1 || { echo "dockerd is not running: stackctl dev install starts it" >&2; exit 1; }
trap '"$stackctl" dev compose down >/dev/null 2>&1 || true' EXIT

times=()
composed=()
for i in $(seq "$runs"); do
  log=/tmp/compose-bench-$i.log
  start=$(date +%s.%N)
  if ! "$stackctl" dev compose up >"$log" 2>&1; then
    echo "run $i: dev compose up failed, see $log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  # The `docker compose up --wait` step, as up reports it.
  c=$(sed -n 's/^==> compose: .*(\([0-9.]*\)s)$/\1/p' "$log")
  composed+=("${c:-0}")
  printf 'run %d: %.2f s (docker compose up --wait %.2f s)\n' "$i" "$t" "${c:-0}"
  "$stackctl" dev compose down >>"$log" 2>&1
done
summary "dev compose up to ready" "${times[@]}"
summary "  of which docker compose up --wait" "${composed[@]}"
