#!/usr/bin/env bash
# Control-plane footprint on this machine: the HashiCorp stack (Nomad +
# Consul + Vault + Traefik + Nomad Autoscaler) against the Kubernetes control
# plane (etcd + kube-apiserver + kube-controller-manager + kube-scheduler).
#
#   bash bench/controlplane.sh                 # both stacks, RUNS=5 each
#   RUNS=3 bash bench/controlplane.sh kubernetes
#   bash bench/controlplane.sh hashicorp --once  # one start/ready/stop cycle
#
# Each run starts every component of a stack at once (single node, dev/test
# settings, loopback only, ports of its own so a running dev stack is not
# disturbed), records when each answers its readiness endpoint, lets the
# stack idle SETTLE seconds, sums the resident memory (VmRSS) of every
# process it started and their children, then stops them by PID. Medians
# over the runs are printed at the end. No workload runs: this is the cost
# of the control plane alone. Binaries come from the agent cache
# (scripts/build-agents.sh, scripts/build-kube.sh).
set -euo pipefail

CACHE="${STACKCTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stackctl}"
RUNS="${RUNS:-5}"
SETTLE="${SETTLE:-10}"
A="$CACHE/agents"
NOMAD=$A/nomad/v1.6.1/nomad
CONSUL=$A/consul/v1.14.11/consul
VAULT=$A/vault/v1.14.1/vault
TRAEFIK=$A/traefik/v3.6.12/traefik
AUTOSCALER=$A/nomad-autoscaler/v0.3.7/nomad-autoscaler
ETCD=$A/etcd/v3.6.5/etcd
APISERVER=$A/kube-apiserver/v1.33.5/kube-apiserver
KCM=$A/kube-controller-manager/v1.33.5/kube-controller-manager
SCHED=$A/kube-scheduler/v1.33.5/kube-scheduler

WORK=""
PIDS=()
NAMES=()

cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    local n=0
    while kill -0 "${PIDS[$i]}" 2>/dev/null && ((n < 100)); do sleep 0.1; n=$((n + 1)); done
    kill -KILL "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
  PIDS=(); NAMES=()
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; WORK=""; fi
}
trap cleanup EXIT INT TERM

now_ms() { date +%s%3N; }

# launch NAME CMD... starts a component in the background, logging to WORK.
launch() {
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!); NAMES+=("$name")
}

# rss_kb PID: resident memory of a process and all its descendants.
rss_kb() {
  local pid=$1 total=0 kb child
  kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
  total=$((total + ${kb:-0}))
  for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    total=$((total + $(rss_kb "$child")))
  done
  echo "$total"
}

# wait_ready NAME TIMEOUT CHECK...: polls CHECK until it succeeds and
# appends "NAME=<milliseconds since T0>" to WORK/ready. Run in the
# background, one per component, so each is timed on its own.
wait_ready() {
  local name=$1 timeout=$2; shift 2
  local deadline=$(($(now_ms) + timeout * 1000))
  until "$@" >/dev/null 2>&1; do
    if (($(now_ms) > deadline)); then
      echo "$name: not ready after ${timeout}s; last log lines:" >&2
      tail -15 "$WORK/$name.log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "$name=$(($(now_ms) - T0))" >>"$WORK/ready"
}

# await PID...: waits for the readiness pollers; fails if one did.
await() {
  local p ok=0
  for p in "$@"; do wait "$p" || ok=1; done
  return $ok
}

need() { for b in "$@"; do [[ -x "$b" ]] || { echo "missing $b (run scripts/build-agents.sh / scripts/build-kube.sh)" >&2; exit 2; }; done; }

hashicorp_run() {
  need "$NOMAD" "$CONSUL" "$VAULT" "$TRAEFIK" "$AUTOSCALER"
  cat >"$WORK/consul.hcl" <<'EOF'
ports { http = 18500, dns = -1, server = 18300, serf_lan = 18301, serf_wan = 18302, grpc = 18502, grpc_tls = -1 }
EOF
  cat >"$WORK/nomad.hcl" <<EOF
ports { http = 14646, rpc = 14647, serf = 14648 }
data_dir = "$WORK/nomad"
consul { address = "127.0.0.1:18500" }
vault {
  enabled = true
  address = "http://127.0.0.1:18200"
  token   = "root"
}
client { options = { "driver.raw_exec.enable" = "1" } }
EOF
  T0=$(now_ms)
  launch consul "$CONSUL" agent -dev -bind=127.0.0.1 -client=127.0.0.1 -config-file="$WORK/consul.hcl"
  launch vault "$VAULT" server -dev -dev-listen-address=127.0.0.1:18200 -dev-root-token-id=root
  launch nomad "$NOMAD" agent -dev -bind=127.0.0.1 -config="$WORK/nomad.hcl"
  launch traefik "$TRAEFIK" --global.checkNewVersion=false --global.sendAnonymousUsage=false \
    --api.dashboard=false --ping=true --entrypoints.traefik.address=127.0.0.1:18082 \
    --entrypoints.public.address=127.0.0.1:18080 --entrypoints.internal.address=127.0.0.1:18081 \
    --providers.consulcatalog.endpoint.address=127.0.0.1:18500 --providers.consulcatalog.connectAware=true \
    --providers.consulcatalog.exposedByDefault=false --providers.consulcatalog.serviceName=traefik
  launch nomad-autoscaler "$AUTOSCALER" agent -nomad-address=http://127.0.0.1:14646 \
    -http-bind-address=127.0.0.1 -http-bind-port=18090
  local w=()
  wait_ready consul 120 sh -c 'curl -fsS http://127.0.0.1:18500/v1/status/leader | grep -q :' & w+=($!)
  wait_ready vault 120 curl -fsS http://127.0.0.1:18200/v1/sys/health & w+=($!)
  wait_ready nomad 120 sh -c 'curl -fsS http://127.0.0.1:14646/v1/nodes | grep -q "\"Status\":\"ready\""' & w+=($!)
  wait_ready traefik 120 curl -fsS http://127.0.0.1:18082/ping & w+=($!)
  wait_ready nomad-autoscaler 120 curl -fsS http://127.0.0.1:18090/v1/health & w+=($!)
  await "${w[@]}"
}

kubernetes_run() {
  need "$ETCD" "$APISERVER" "$KCM" "$SCHED"
  openssl genrsa -out "$WORK/sa.key" 2048 2>/dev/null
  local token; token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,bench-admin,bench-admin,system:masters" >"$WORK/tokens.csv"
  cat >"$WORK/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster: {server: "https://127.0.0.1:16443", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: "$token"}
contexts:
- name: bench
  context: {cluster: bench, user: admin}
current-context: bench
EOF
  T0=$(now_ms)
  launch etcd "$ETCD" --name=bench --data-dir="$WORK/etcd" \
    --listen-client-urls=http://127.0.0.1:12379 --advertise-client-urls=http://127.0.0.1:12379 \
    --listen-peer-urls=http://127.0.0.1:12380 --initial-advertise-peer-urls=http://127.0.0.1:12380 \
    --initial-cluster=bench=http://127.0.0.1:12380 --log-level=warn
  launch kube-apiserver "$APISERVER" --etcd-servers=http://127.0.0.1:12379 \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=16443 --cert-dir="$WORK/pki" \
    --token-auth-file="$WORK/tokens.csv" --authorization-mode=AlwaysAllow \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$WORK/sa.key" --service-account-signing-key-file="$WORK/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16
  local w=() api
  wait_ready etcd 120 curl -fsS http://127.0.0.1:12379/health & w+=($!)
  wait_ready kube-apiserver 180 curl -fsSk -H "Authorization: Bearer $token" https://127.0.0.1:16443/readyz & api=$!
  # The controller-manager and the scheduler exit when the API server does
  # not answer yet (a kubelet or systemd would restart them): start them
  # once it is ready, as a supervisor's first successful restart would.
  await "$api"
  launch kube-controller-manager "$KCM" --kubeconfig="$WORK/kubeconfig" \
    --authentication-kubeconfig="$WORK/kubeconfig" --authorization-kubeconfig="$WORK/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=16257 --cert-dir="$WORK/kcm-pki" --leader-elect=false \
    --service-account-private-key-file="$WORK/sa.key" --use-service-account-credentials=false \
    --controllers='*'
  launch kube-scheduler "$SCHED" --kubeconfig="$WORK/kubeconfig" \
    --authentication-kubeconfig="$WORK/kubeconfig" --authorization-kubeconfig="$WORK/kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=16259 --cert-dir="$WORK/sched-pki" --leader-elect=false
  wait_ready kube-controller-manager 180 curl -fsSk https://127.0.0.1:16257/healthz & w+=($!)
  wait_ready kube-scheduler 180 curl -fsSk https://127.0.0.1:16259/healthz & w+=($!)
  await "${w[@]}"
}

# one STACK: a full cycle; prints "ready_ms=<all ready> rss_kb=<sum> <component>=<ms>... <component>_rss=<kb>..."
one() {
  local stack=$1 ready
  WORK=$(mktemp -d /tmp/stackctl-bench-XXXXXX)
  # Not in a subshell: launch must record the PIDs here.
  if ! "${stack}_run"; then cleanup; return 1; fi
  ready=$(sort "$WORK/ready" | tr '\n' ' ')
  local all=0 v
  for kv in $ready; do v=${kv#*=}; ((v > all)) && all=$v; done
  sleep "$SETTLE"
  local i sum=0 per=""
  for i in "${!PIDS[@]}"; do
    local kb; kb=$(rss_kb "${PIDS[$i]}")
    sum=$((sum + kb)); per="$per ${NAMES[$i]}_rss=$kb"
  done
  echo "ready_ms=$all rss_kb=$sum $ready$per"
  cleanup
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

report() {
  local stack=$1 file=$2
  echo "== $stack: medians of $(wc -l <"$file") runs"
  local keys; keys=$(head -1 "$file" | tr ' ' '\n' | cut -d= -f1)
  for k in $keys; do
    local m; m=$(tr ' ' '\n' <"$file" | sed -n "s/^$k=//p" | median)
    case $k in
    rss_kb) printf '  %-34s %6d MB\n' "total RSS after ${SETTLE}s idle" $(((m + 512) / 1024)) ;;
    ready_ms) printf '  %-34s %6.2f s\n' "all components ready" "$(echo "$m / 1000" | bc -l)" ;;
    *_rss) printf '  %-34s %6d MB\n' "  $k" $(((m + 512) / 1024)) ;;
    *) printf '  %-34s %6.2f s\n' "  ${k} ready" "$(echo "$m / 1000" | bc -l)" ;;
    esac
  done
}

stacks=()
once=false
for a in "$@"; do
  case $a in
  hashicorp | kubernetes) stacks+=("$a") ;;
  --once) once=true ;;
  *) echo "usage: $0 [hashicorp|kubernetes]... [--once]" >&2; exit 2 ;;
  esac
done
((${#stacks[@]})) || stacks=(hashicorp kubernetes)
$once && RUNS=1

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); settle ${SETTLE}s; runs $RUNS"
for s in "${stacks[@]}"; do
  out=$(mktemp /tmp/stackctl-bench-$s-XXXXXX.txt)
  for ((i = 1; i <= RUNS; i++)); do
    one "$s" >"$out.run" || { echo "$s run $i failed" >&2; rm -f "$out" "$out.run"; exit 1; }
    line=$(cat "$out.run")
    echo "$s run $i: $line" >&2
    echo "$line" >>"$out"
  done
  report "$s" "$out"
  rm -f "$out" "$out.run"
done
