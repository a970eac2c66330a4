#!/bin/sh
# The pre_stop hook of the nomad service: `docker compose down` stops
# Nomad, not what Nomad started. Drain the node, wait (up to 60 s) until no
# allocation runs, then have the client collect the stopped ones, which
# removes their containers and unmounts their directories. The token
# (policy node-drain) may do only that.
export NOMAD_ADDR=http://127.0.0.1:4646
NOMAD_TOKEN=$(cat /etc/nomad.d/secrets/drain.token 2>/dev/null) || exit 0
export NOMAD_TOKEN
nomad node drain -self -enable -force -yes >/dev/null 2>&1
i=0
while nomad node status -self 2>/dev/null | grep -Eq ' (pending|running) +[0-9]'; do
	i=$((i + 1))
	[ "$i" -lt 60 ] || break
	sleep 1
done
nomad operator api -X PUT /v1/client/gc >/dev/null 2>&1
# The collection unmounts each task's secrets/ and private/ tmpfs: wait
# (up to 10 s) for the last one, or it outlives Nomad on the host.
i=0
while grep -Eq '/alloc/[^ ]*/(secrets|private) .* - tmpfs ' /proc/self/mountinfo; do
	i=$((i + 1))
	[ "$i" -lt 20 ] || break
	sleep 0.5
done
