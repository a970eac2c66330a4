#!/usr/bin/env bash
# Times the front end on generated stacks in the one-file-per-service
# layout (stack.hcl + <service>.hcl, written by bench/genstack), whole
# process: `validate`, `render -o` into a fresh directory, and `render -o`
# again over the unchanged output (which must write nothing). Each run does
# the three in turn; the table gives medians of wall time, CPU (user+sys)
# and peak RSS as /usr/bin/time -v reports them.
#
#   bash bench/render.sh [runs] [sizes...]     default: 5 runs; 100 1000 10000
#   STACKCTL=/path/to/stackctl bash bench/render.sh   time another build
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${STACKCTL:-}
if [ -z "$bin" ]; then
  bin=$work/stackctl
  go build -trimpath -o "$bin" ./cmd/stackctl
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

# measure FILE CMD...: run CMD under /usr/bin/time, append "wall cpu peakMiB".
measure() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || {
    echo "failed: $*" >&2
    cat "$work/err" >&2
    exit 1
  }
  awk '{printf "%s %.3f %.1f\n", $1, $2 + $3, $4 / 1024}' "$work/t" >>"$out"
}

# column FILE N: the median of column N.
column() { median $(awk -v c="$2" '{print $c}' "$1"); }

printf '| services | command | median wall s | median CPU s | median peak MiB |\n|---:|---|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  stack=$work/stack-$n
  go run ./bench/genstack -n "$n" "$stack"
  out=$work/out-$n
  : >"$work/validate-$n" >"$work/fresh-$n" >"$work/again-$n"
  # One warm-up of each, not counted (page cache, binary).
  "$bin" validate "$stack" >/dev/null
  "$bin" render -o "$out" "$stack" >/dev/null
  for _ in $(seq "$runs"); do
    measure "$work/validate-$n" "$bin" validate "$stack"
    rm -rf "$out"
    measure "$work/fresh-$n" "$bin" render -o "$out" "$stack"
    touch "$work/stamp"
    sleep 0.01
    measure "$work/again-$n" "$bin" render -o "$out" "$stack"
    touched=$(find "$out" -type f -newer "$work/stamp" | wc -l)
    if [ "$touched" -gt 0 ]; then
      echo "$n services: render over unchanged output rewrote $touched files" >&2
    fi
  done
  for c in validate fresh again; do
    case $c in
      validate) label='`validate`' ;;
      fresh) label='`render -o` (fresh dir)' ;;
      again) label='`render -o` (unchanged)' ;;
    esac
    printf '| %s | %s | %s | %s | %s |\n' "$n" "$label" \
      "$(column "$work/$c-$n" 1)" "$(column "$work/$c-$n" 2)" "$(column "$work/$c-$n" 3)"
  done
  rm -rf "$stack" "$out"
done
