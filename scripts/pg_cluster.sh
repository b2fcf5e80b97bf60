#!/bin/sh
# pg_cluster.sh - a throwaway PostgreSQL cluster for the tests: no TCP, one
# Unix socket in its own directory, fsync on (as in production) unless asked
# otherwise, gone when stopped.
#   scripts/pg_cluster.sh start DIR     initdb into DIR/data, start it with its
#                                       socket in DIR, print its conninfo
#   scripts/pg_cluster.sh stop DIR      stop it and remove DIR
#   scripts/pg_cluster.sh run [--no-fsync] CMD...
#                                       start one in a new temporary directory,
#                                       run CMD with its conninfo in
#                                       INNBOCKS_UNIT_PG (the C unit tests) and
#                                       INNBOCKS_TEST_PG (the black-box suite),
#                                       stop it whatever happens (exit status:
#                                       CMD's). --no-fsync: a cluster that does
#                                       not sync, for tests of what the SQL
#                                       does (the store contract tests), not
#                                       of what a commit costs or survives
# As root the cluster runs as the postgres user (initdb refuses root);
# otherwise as the caller. Needs Debian's postgresql (scripts/deps.sh).
set -eu

pgbin() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
	echo "pg_cluster: PostgreSQL is not installed (scripts/deps.sh installs it)" >&2
	return 1
}

# Runs a PostgreSQL program as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# start DIR [FSYNC]: FSYNC on (the default) or off.
start() {
	dir=$1
	fsync=${2:-on}
	bin=$(pgbin)
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
	# --no-sync: initdb's own final flush only; the server syncs unless FSYNC is off.
	as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
		--no-sync --no-instructions > "$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=$fsync -c synchronous_commit=on -c max_connections=200" \
		start > /dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	echo "host=$dir dbname=postgres user=postgres"
}

stop() {
	dir=$1
	bin=$(pgbin)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 ||
			as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start)
	[ $# -eq 2 ] || { echo "usage: $0 start DIR" >&2; exit 2; }
	start "$2"
	;;
stop)
	[ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	stop "$2"
	;;
run)
	shift
	fsync=on
	if [ "${1:-}" = --no-fsync ]; then
		fsync=off
		shift
	fi
	[ $# -ge 1 ] || { echo "usage: $0 run [--no-fsync] CMD..." >&2; exit 2; }
	dir=$(mktemp -d "${TMPDIR:-/tmp}/innbocks-pg.XXXXXX")
	trap 'stop "$dir"' EXIT
	trap 'exit 130' INT TERM
	INNBOCKS_UNIT_PG=$(start "$dir" "$fsync")
	INNBOCKS_TEST_PG=$INNBOCKS_UNIT_PG
	export INNBOCKS_UNIT_PG INNBOCKS_TEST_PG
	status=0
	"$@" || status=$?
	exit "$status"
	;;
*)
	echo "usage: $0 start DIR | stop DIR | run [--no-fsync] CMD..." >&2
	exit 2
	;;
esac
