#!/usr/bin/env bash
# Measures `docker compose up --wait` of docker-compose.dev.yml with the
# local agent images (`stackctl dev install --compose-images` first), each
# run followed by `down`, so every run starts with no container. Needs
# dockerd running and the dev stack stopped (same ports). On hosts where /
# is not a shared mount, the two bind mounts of docs/devstack.md are made
# for the run and undone at the end.
#
#   bash bench/compose-up.sh [runs]        default 5 runs
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
env_file=${STACKCTL_COMPOSE_ENV:-$HOME/.local/state/stackctl/dev/compose.env}
data=/tmp/stackctl-compose-bench/nomad
[ -f "$env_file" ] || { echo "no $env_file: run stackctl dev install --compose-images" >&2; exit 1; }
compose() { NOMAD_DATA_DIR=$data docker compose --env-file "$env_file" -f docker-compose.dev.yml -p stackctl-compose-bench "$@"; }

mkdir -p "$data"
mounted=()
if [ "$(findmnt -no PROPAGATION /)" != shared ]; then
  for d in "$data" /run/docker/netns; do
    mount --rbind "$d" "$d" && mount --make-rshared "$d" && mounted+=("$d")
  done
fi
cleanup() {
  compose down --timeout 30 >/dev/null 2>&1 || true
  for d in "${mounted[@]}"; do umount --lazy "$d"; done
  rm -rf "$(dirname "$data")"
}
trap cleanup EXIT

times=()
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  if ! compose up --detach --wait --pull never >"/tmp/compose-bench-$i.log" 2>&1; then
    echo "run $i: compose up failed, see /tmp/compose-bench-$i.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  printf 'run %d: %.2f s\n' "$i" "$t"
  compose down --timeout 30 >/dev/null 2>&1
done
summary "compose up --wait" "${times[@]}"
