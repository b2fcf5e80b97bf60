#!/bin/sh
# start.sh - builds the server and starts it on the embedded SQLite default.
# On an empty database it first creates a demo partner and an all-scope key
# and prints a curl command to paste. Settings: see README (INNBOCKS_*).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make -s -j2
export INNBOCKS_DATABASE="${INNBOCKS_DATABASE:-innbocks.db}"
export INNBOCKS_LISTEN="${INNBOCKS_LISTEN:-127.0.0.1:8080}"
if [ -z "${INNBOCKS_ADMIN_TOKEN:-}" ]; then
	INNBOCKS_ADMIN_TOKEN="ib_admin_$(openssl rand -hex 20)"
	export INNBOCKS_ADMIN_TOKEN
	echo "Operator token for this run (/admin/v1): $INNBOCKS_ADMIN_TOKEN"
fi
build/innbocks demo
exec build/innbocks serve
