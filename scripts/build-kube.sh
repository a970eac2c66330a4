#!/usr/bin/env bash
# Builds the Kubernetes control plane used to validate `render --target
# kubernetes` and to measure its footprint (bench/controlplane.sh): etcd and
# kube-apiserver, kube-controller-manager, kube-scheduler, from the Go module
# proxy into the same per-version cache as the HashiCorp agents
# ($CACHE/agents/<name>/<version>/<name>). Idempotent; each binary is built
# to a temp name and renamed into place only when complete, with a build log
# under $CACHE/logs.
#
#   scripts/build-kube.sh                      # all four
#   scripts/build-kube.sh etcd kube-apiserver  # what the dry-run test needs
set -euo pipefail

CACHE="${STACKCTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackctl}"
K8S_VERSION="${K8S_VERSION:-v1.33.5}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
mkdir -p "$CACHE/agents" "$CACHE/logs" "$CACHE/src"

# prepare NAME MODULE VERSION EDITS... copies the module into a writable
# source tree once (shared by the three Kubernetes binaries) and applies the
# go.mod edits; prints the tree's path.
prepare() {
  local name=$1 module=$2 version=$3; shift 3
  local work="$CACHE/src/$name-$version"
  if [[ -f "$work/.prepared" ]]; then echo "$work"; return 0; fi
  local dir
  dir=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$work"; cp -r "$dir" "$work"; chmod -R u+w "$work"
  (
    cd "$work"
    # The zip's go.work lists staging folders the zip does not contain.
    rm -f go.work go.work.sum
    for e in "$@"; do go mod edit "$e"; done
  )
  touch "$work/.prepared"
  echo "$work"
}

# build NAME VERSION SRC PKG [LDFLAGS]
build() {
  local name=$1 version=$2 src=$3 pkg=$4 ldflags=${5:-}
  local out="$CACHE/agents/$name/$version/$name"
  if [[ -x "$out" ]]; then echo "$name $version: cached at $out"; return 0; fi
  local log="$CACHE/logs/$name-$version.log"
  echo "$name $version: building (log: $log)"
  local start=$SECONDS
  mkdir -p "$(dirname "$out")"
  if ! (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") >"$log" 2>&1; then
    echo "$name $version: FAILED, see $log"; tail -20 "$log"; rm -f "$out.tmp"; return 1
  fi
  mv "$out.tmp" "$out"
  echo "$name $version: built in $((SECONDS-start))s"
}

# kube_src prepares k8s.io/kubernetes: every k8s.io/<x> => ./staging/...
# replace is dropped and the published staging module at the matching v0
# version required instead.
kube_src() {
  local staging=v0.${K8S_VERSION#v1.}
  local mod dir edits=()
  dir=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  for mod in $(sed -n 's#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$dir/go.mod"); do
    edits+=("-dropreplace=$mod" "-require=$mod@$staging")
  done
  prepare kubernetes k8s.io/kubernetes "$K8S_VERSION" "${edits[@]}"
}

kube_ldflags() {
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  local v=k8s.io/component-base/version
  echo "-X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
}

want=${*:-etcd kube-apiserver kube-controller-manager kube-scheduler}
for a in $want; do
  case $a in
  etcd)
    out="$CACHE/agents/etcd/$ETCD_VERSION/etcd"
    [[ -x "$out" ]] && { echo "etcd $ETCD_VERSION: cached at $out"; continue; }
    src=$(prepare etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" \
      -dropreplace=go.etcd.io/etcd/api/v3 -require=go.etcd.io/etcd/api/v3@"$ETCD_VERSION" \
      -dropreplace=go.etcd.io/etcd/client/pkg/v3 -require=go.etcd.io/etcd/client/pkg/v3@"$ETCD_VERSION" \
      -dropreplace=go.etcd.io/etcd/client/v3 -require=go.etcd.io/etcd/client/v3@"$ETCD_VERSION" \
      -dropreplace=go.etcd.io/etcd/pkg/v3 -require=go.etcd.io/etcd/pkg/v3@"$ETCD_VERSION")
    build etcd "$ETCD_VERSION" "$src" . ;;
  kube-apiserver | kube-controller-manager | kube-scheduler)
    out="$CACHE/agents/$a/$K8S_VERSION/$a"
    [[ -x "$out" ]] && { echo "$a $K8S_VERSION: cached at $out"; continue; }
    build "$a" "$K8S_VERSION" "$(kube_src)" "./cmd/$a" "$(kube_ldflags)" ;;
  *) echo "unknown component $a (want etcd, kube-apiserver, kube-controller-manager, kube-scheduler)"; exit 2 ;;
  esac
done
