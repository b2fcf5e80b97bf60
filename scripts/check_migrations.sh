#!/bin/sh
# check_migrations.sh - fails when a migration changed, moved or appeared
# without sql/migrations.sha256 saying so. A database records how many
# migrations it has had, not which: a migration edited, renumbered or put
# before another after a binary shipped it is never run (or run twice) on a
# database that binary made, and nothing says so until a request needs
# what it would have made. (It happened three times while the first
# versions were written, each time before anything landed.) So a migration
# that has landed never changes: a change to the schema is a new migration
# at the end. The list holds the SHA-256 of every migration; a new one gets
# its line (`cd sql && sha256sum sqlite/NNNN_name.sql >> migrations.sha256`),
# and a changed line of an existing one is the mistake this check is for.
# Usage: scripts/check_migrations.sh
set -eu
cd "$(dirname "$0")/../sql"
sums=$(grep -v '^#' migrations.sha256)
listed=$(printf '%s\n' "$sums" | awk '{print $2}' | sort)
present=$(ls sqlite/*.sql postgres/*.sql | sort)
fail=0
for f in $present; do
	printf '%s\n' "$listed" | grep -qx "$f" ||
		{ echo "check_migrations: $f is not in sql/migrations.sha256 (a new migration gets its line)" >&2; fail=1; }
done
for f in $listed; do
	[ -e "$f" ] ||
		{ echo "check_migrations: $f is listed but gone (a landed migration is never renamed or removed)" >&2; fail=1; }
done
[ "$fail" = 0 ] || exit 1
if ! printf '%s\n' "$sums" | sha256sum --quiet --check - >&2; then
	echo "check_migrations: a landed migration changed; databases that ran it will" \
		"not run it again: put the change in a new migration at the end" >&2
	exit 1
fi
