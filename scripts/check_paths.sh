#!/bin/sh
# check_paths.sh - fails when a tracked file names something outside this
# repository: the sibling directory the project was first written next to
# (a "shared" directory with the contract and measurement notes), the
# contract's file name on its own, the public overview's file name, an
# absolute path of the machine it was written on, or an issue of the
# tracker by number. The references belong inside the repository:
# docs/api.md, docs/operators.md, docs/webhooks.md, docs/decisions.md.
# .ci/ (the CI harness) may name what it likes.
# Usage: scripts/check_paths.sh [ROOT]   (a git checkout; default: this one)
set -eu
cd "$(dirname "$0")/.."
root=${1:-.}
self=scripts/check_paths.sh
# Each pattern is split so that this file does not match itself.
patterns='shared''/
FACTS''\.md
(^|[^/A-Za-z0-9_.-])API''\.md
partner-api-''overview
(^|[^A-Za-z0-9_.-])/wo''rk/
(^|[^A-Za-z])[Ii]ssues? #?''[0-9]+'
found=$(printf '%s\n' "$patterns" |
	git -C "$root" grep -n -I -E -f /dev/stdin -- . ':(exclude).ci/' ":(exclude)$self" || true)
if [ -n "$found" ]; then
	printf '%s\n' "$found"
	echo "check_paths: the lines above name something outside the repository;" \
		"point them at docs/ instead" >&2
	exit 1
fi
