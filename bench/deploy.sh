#!/usr/bin/env bash
# Time until healthy: `stackctl deploy` of one example service against
# `nomad job run` of the very job stackctl renders, on the same dev stack.
# stackctl's "healthy" includes the instance being a passing Connect
# instance in Consul (routable); Nomad's does not, so the Nomad side is
# also timed until Consul offers the instance ("+ mesh"), the fair pair.
# Runs alternate (A B A B ...) so drift in the machine's speed hits both;
# each run starts from the job purged. Needs a running dev stack
# (stackctl dev up) with the example's secrets set (scripts/up.sh does it).
#
#   bash bench/deploy.sh [service] [pairs]     default: kv 5
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
svc=${1:-kv}
pairs=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/stackctl" ./cmd/stackctl
eval "$("$work/stackctl" dev env)"
nomad="${STACKCTL_DEV_DIR:-$HOME/.local/state/stackctl/dev}/bin/nomad"   # the agent the dev stack runs
"$work/stackctl" render -o "$work/rendered" -s "$svc" jobs >/dev/null

purge() {
  "$nomad" job stop -purge -yes "$svc" >/dev/null 2>&1 || true
  # Wait until Nomad forgot the job and its allocations stopped.
  for _ in $(seq 100); do
    "$nomad" job status "$svc" >/dev/null 2>&1 || break
    sleep 0.2
  done
  sleep 2
}

now() { date +%s.%N; }
# in_mesh: Consul offers the service's passing Connect instances.
in_mesh() {
  for _ in $(seq 600); do
    n=$(curl -sf -H "X-Consul-Token: $CONSUL_HTTP_TOKEN" "$CONSUL_HTTP_ADDR/v1/health/connect/$svc?passing" | { grep -o '"Kind": *"connect-proxy"' || true; } | wc -l)
    [ "$n" -ge 1 ] && return 0
    sleep 0.1
  done
  echo "$svc never became a passing Connect instance" >&2; exit 1
}
a=() b=() c=()
for i in $(seq "$pairs"); do
  purge
  t0=$(now)
  "$work/stackctl" deploy -s "$svc" jobs >"$work/a-$i.log" 2>&1 || { echo "stackctl deploy failed:"; cat "$work/a-$i.log"; exit 1; }
  a+=("$(echo "$(now) - $t0" | bc)")
  purge
  t0=$(now)
  "$nomad" job run "$work/rendered/$svc/job.nomad.hcl" >"$work/b-$i.log" 2>&1 || { echo "nomad job run failed:"; cat "$work/b-$i.log"; exit 1; }
  b+=("$(echo "$(now) - $t0" | bc)")
  in_mesh
  c+=("$(echo "$(now) - $t0" | bc)")
  printf 'pair %d: stackctl deploy %.2f s, nomad job run %.2f s (+ mesh %.2f s), ratio %.3f (%.3f)\n' "$i" "${a[-1]}" "${b[-1]}" "${c[-1]}" \
    "$(echo "${a[-1]} / ${b[-1]}" | bc -l)" "$(echo "${a[-1]} / ${c[-1]}" | bc -l)"
done
ratios=() fair=()
for i in $(seq 0 $((pairs - 1))); do
  ratios+=("$(echo "${a[$i]} / ${b[$i]}" | bc -l)")
  fair+=("$(echo "${a[$i]} / ${c[$i]}" | bc -l)")
done
printf 'median: stackctl deploy %.2f s, nomad job run %.2f s (+ mesh %.2f s); pairwise median ratio %.3f (to + mesh %.3f)\n' \
  "$(median "${a[@]}")" "$(median "${b[@]}")" "$(median "${c[@]}")" "$(median "${ratios[@]}")" "$(median "${fair[@]}")"
