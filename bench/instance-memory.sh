#!/usr/bin/env bash
# The memory one running allocation costs, by process kind: PSS (kB) from
# /proc/PID/smaps_rollup of every process the allocation adds to the node.
#
#   bash bench/instance-memory.sh ALLOC_ID...      (as root, on the node)
#
# A process belongs to an allocation when it runs in one of its containers
# (its cgroup names the container), is the containerd shim of one of them,
# or holds a file of the allocation's directory open (Nomad's logmon,
# executor and docker_logger, and raw_exec tasks, keep the task's log
# FIFOs and files open). The application is the process of the
# allocation's main task container; everything else is overhead.
set -euo pipefail

pss() { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

for alloc in "$@"; do
  declare -A kind=()
  # Containers of the allocation: ID, task name, main PID.
  while read -r cid task; do
    [ -n "$cid" ] || continue
    [ -n "$task" ] || task=pause
    for pid in /proc/[0-9]*; do
      pid=${pid#/proc/}
      if grep -qs "$cid" "/proc/$pid/cgroup"; then
        kind[$pid]="container:$task"
      elif { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "-id $cid"; then
        kind[$pid]="containerd-shim"
      fi
    done
  done < <(docker ps -q --no-trunc --filter "label=com.hashicorp.nomad.alloc_id=$alloc" |
    xargs -r docker inspect -f '{{.ID}} {{index .Config.Labels "com.hashicorp.nomad.task_name"}}')
  # Nomad's helpers and raw_exec tasks: open files in the allocation's dir.
  for pid in /proc/[0-9]*; do
    pid=${pid#/proc/}
    [ -z "${kind[$pid]:-}" ] || continue
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "/alloc/$alloc/"; then
      comm=$(tr '\0' ' ' <"/proc/$pid/cmdline" | awk '{ if ($1 ~ /nomad$/) print "nomad " $2; else { n=split($1, p, "/"); print p[n] } }')
      kind[$pid]="$comm"
    fi
  done
  echo "allocation $alloc"
  for pid in "${!kind[@]}"; do
    printf '%s\t%s\t%s\n' "${kind[$pid]}" "$pid" "$(pss "$pid")"
  done | sort | awk -F'\t' '
    { n[$1]++; kb[$1] += $3; total += $3; if ($1 !~ /^container:/ || $1 == "container:pause" || $1 ~ /^container:connect-proxy-/) over += $3 }
    END {
      for (k in n) printf "  %-28s %2d process(es) %8.1f MB\n", k, n[k], kb[k] / 1024
      printf "  %-28s             %8.1f MB\n", "total", total / 1024
      printf "  %-28s             %8.1f MB\n", "overhead (all but the app)", over / 1024
    }'
  unset kind
done
