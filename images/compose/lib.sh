# Shared by the one-shot services of docker-compose.dev.yml (sourced).
# POSIX sh: the official images have busybox, the local ones dash.
#
# Credentials live in /secrets (the host's credential directory): files
# 0600 in directories 0700. A token never passes through a command line:
# the agents' CLIs get it from a file (@FILE, CONSUL_HTTP_TOKEN_FILE) or in
# the environment of one command, `printf` is a shell builtin, and no
# command whose output holds a token writes to the log.
set -eu
umask 077
# shellcheck disable=SC2034 # used by the scripts that source this file
S=/secrets
me=${0##*/}
me=${me%.sh}

log() { echo "$me: $*"; }
die() {
	echo "$me: $*" >&2
	exit 1
}

# private_dir DIR...: directories that hold credentials, owner only (Docker
# creates a missing bind source 0755).
private_dir() {
	for d; do
		mkdir -p "$d"
		chmod 700 "$d"
	done
}

# put FILE: stdin into FILE (0600) through a rename, so that no reader ever
# sees half a token.
put() {
	cat >"$1.tmp"
	chmod 600 "$1.tmp"
	mv -f "$1.tmp" "$1"
}

# json_field NAME: the first string value of "NAME" in the JSON on stdin
# (as the agents' CLIs print it: one field per line), without a newline.
json_field() { sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -n 1 | tr -d '\n'; }

# hcl_token FILE: a token file as an HCL attribute, for agents that read
# their tokens only from their configuration.
hcl_token() { printf '  token = "%s"\n' "$(cat "$1")"; }

# retry SECONDS COMMAND...: COMMAND every half second until it succeeds.
retry() {
	n=$(($1 * 2))
	shift
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.5
	done
}

# together COMMAND...: runs each command (one string, evaluated) in the
# background and fails if any of them failed; the agents' CLIs start
# slowly, independent calls overlap.
together() {
	pids=
	for c; do
		eval "$c" &
		pids="$pids $!"
	done
	rc=0
	for p in $pids; do
		wait "$p" || rc=1
	done
	return "$rc"
}
