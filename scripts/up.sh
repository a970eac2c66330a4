#!/usr/bin/env bash
# One command from a fresh machine to the example system answering through
# the edge: install what is missing, start the dev stack, seed the example's
# secrets (random values, only when absent), deploy jobs/.
set -euo pipefail
cd "$(dirname "$0")/.."

STACKCTL=${STACKCTL:-bin/stackctl}
go build -trimpath -o bin/stackctl ./cmd/stackctl

"$STACKCTL" dev install
"$STACKCTL" dev up
eval "$("$STACKCTL" dev env)"

# The example reads two secrets; generate them once, never print them.
seed() { # service env
  if ! "$STACKCTL" secrets list --stack jobs "$1" >/dev/null 2>&1; then
    head -c 24 /dev/urandom | base64 | tr -d '\n' | "$STACKCTL" secrets put --stack jobs "$1" "$2"
  fi
}
seed api API_SIGNING_KEY
seed kv KV_PASSWORD

"$STACKCTL" deploy jobs
"$STACKCTL" status
echo
echo "Try: curl -H 'Host: shop.localhost' http://127.0.0.1:8000/"
echo "     curl -H 'Host: shop.localhost' http://127.0.0.1:8000/api/"
echo "     curl -H 'Host: orders.shop.localhost' http://127.0.0.1:8001/   (internal entrypoint, loopback only)"
echo "Shell access: eval \"\$($STACKCTL dev env)\""
