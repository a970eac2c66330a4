#!/usr/bin/env bash
# Fallback for `stackctl dev install --agents-only` (internal/devstack/agents.go
# is the real implementation, with the same pins and module edits), for when
# the stackctl CLI itself does not build.
#
# Builds the pinned open-source agents from the Go module proxy into a
# per-version cache outside the checkout (see docs/devstack.md). Idempotent:
# a binary already in the cache is not rebuilt. Safe to interrupt: each binary
# is built to a temp name and renamed into place only when complete. Do not
# run it while `stackctl dev install` builds the same agent.
set -euo pipefail

CACHE="${STACKCTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackctl}"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$CACHE/agents" "$CACHE/logs" "$CACHE/src"

# name module version package ldflags edits...
build() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5; shift 5
  local out="$CACHE/agents/$name/$version/$name"
  if [[ -x "$out" ]]; then echo "$name $version: cached at $out"; return 0; fi
  local log="$CACHE/logs/$name-$version.log"
  echo "$name $version: building (log: $log)"
  local start=$SECONDS
  {
    local dir
    dir=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    local work="$CACHE/src/$name-$version"
    rm -rf "$work"; cp -r "$dir" "$work"; chmod -R u+w "$work"
    cd "$work"
    rm -f go.work
    for e in "$@"; do go mod edit $e; done
    mkdir -p "$(dirname "$out")"
    go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  } >"$log" 2>&1 || { echo "$name $version: FAILED, see $log"; tail -20 "$log"; return 1; }
  echo "$name $version: built in $((SECONDS-start))s"
}

want=${*:-nomad consul vault nomad-autoscaler traefik}
for a in $want; do
  case $a in
  nomad) build nomad github.com/hashicorp/nomad v1.6.1 . "" \
      -dropreplace=github.com/hashicorp/nomad/api \
      -require=github.com/hashicorp/nomad/api@v0.0.0-20230721134942-515895c7690c ;;
  consul) build consul github.com/hashicorp/consul v1.14.11 . "" \
      -dropreplace=github.com/hashicorp/consul/api \
      -dropreplace=github.com/hashicorp/consul/sdk \
      -dropreplace=github.com/hashicorp/consul/proto-public ;;
  vault) build vault github.com/hashicorp/vault v1.14.1 . "" \
      -dropreplace=github.com/hashicorp/vault/api \
      -dropreplace=github.com/hashicorp/vault/api/auth/approle \
      -dropreplace=github.com/hashicorp/vault/api/auth/kubernetes \
      -dropreplace=github.com/hashicorp/vault/api/auth/userpass \
      -dropreplace=github.com/hashicorp/vault/sdk \
      -require=github.com/hashicorp/vault/sdk@v0.9.2-0.20230721171514-bf23fe8636b0 ;;
  nomad-autoscaler) build nomad-autoscaler github.com/hashicorp/nomad-autoscaler v0.3.7 . "" ;;
  traefik) build traefik github.com/traefik/traefik/v3 v3.6.12 ./cmd/traefik \
      "-X github.com/traefik/traefik/v3/pkg/version.Version=3.6.12" ;;
  *) echo "unknown agent $a"; exit 2 ;;
  esac
done
