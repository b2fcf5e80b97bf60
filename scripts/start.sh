#!/bin/sh
# start.sh - builds the server, starts it on the embedded SQLite default and,
# once it answers /healthz on its port, prints a summary to paste from: the
# URL, the demo partner, a working live key and test key, the operator token
# and the next steps as commands. Nothing is printed to paste before the port
# is bound; a port in use stops it with exit 1. The server runs in the
# foreground of this script: SIGTERM or SIGINT (Ctrl-C) stop it gracefully.
# Settings: see README (INNBOCKS_*).
#
# The server's access log goes to <database>.access.log, so that it does not
# break up the summary (tail -f it to watch the requests).
#
# The demo keys' secrets are kept next to the database, in <database>.demo-keys
# (mode 600; only hashes are in the database), so a restart on the same
# database shows the same keys; when they are unknown or revoked, fresh demo
# keys are made.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make -s -j2 build/innbocks

export INNBOCKS_DATABASE="${INNBOCKS_DATABASE:-innbocks.db}"
export INNBOCKS_LISTEN="${INNBOCKS_LISTEN:-127.0.0.1:8080}"
URL="http://$INNBOCKS_LISTEN"
if [ -z "${INNBOCKS_ADMIN_TOKEN:-}" ]; then
	INNBOCKS_ADMIN_TOKEN="ib_admin_$(openssl rand -hex 20)"
	export INNBOCKS_ADMIN_TOKEN
fi
# Its own request log lines would land in the summary: off (errors still show).
cli() { INNBOCKS_LOG=off build/innbocks "$@"; }
ROOT=$(pwd)

# Something already answering on the port (another innbocks, any server):
# say so instead of printing keys for a server that is not ours.
rc=0
curl -s -o /dev/null --max-time 2 "$URL/healthz" || rc=$?
if [ "$rc" -ne 7 ]; then
	echo "start.sh: $INNBOCKS_LISTEN is already in use (is another server running?)." >&2
	echo "  Stop it, or pick another address: INNBOCKS_LISTEN=127.0.0.1:8081 ./scripts/start.sh" >&2
	exit 1
fi

ACCESS_LOG="$INNBOCKS_DATABASE.access.log"
build/innbocks serve >>"$ACCESS_LOG" &
SERVER=$!
stop() { kill -TERM "$SERVER" 2>/dev/null || true; }
trap stop INT TERM EXIT

# Ready when /healthz answers and the server we started still runs.
tries=0
until curl -sf -o /dev/null --max-time 1 "$URL/healthz"; do
	if ! kill -0 "$SERVER" 2>/dev/null; then
		wait "$SERVER" || true
		echo "start.sh: the server did not start on $INNBOCKS_LISTEN (see its message above;" \
		     "a port in use? pick another with INNBOCKS_LISTEN=HOST:PORT)." >&2
		exit 1
	fi
	tries=$((tries + 1))
	if [ "$tries" -gt 150 ]; then
		echo "start.sh: no answer from $URL/healthz after 15 s; stopping the server." >&2
		stop
		wait "$SERVER" || true
		exit 1
	fi
	sleep 0.1
done
if ! kill -0 "$SERVER" 2>/dev/null; then
	echo "start.sh: the server exited; $INNBOCKS_LISTEN is answered by another process." >&2
	exit 1
fi

# The demo partner (the oldest one of that name), created on first start.
DEMO_NAME="Demo Coworking"
PARTNER=$(cli request GET '/admin/v1/partners?limit=100' |
	jq -r --arg n "$DEMO_NAME" '[.data[] | select(.name == $n)] | last | .id // empty')
if [ -z "$PARTNER" ]; then
	PARTNER=$(cli partner create --name "$DEMO_NAME" --line1 "548 Market St" \
		--city "San Francisco" --state CA --postal-code 94104 --country US | jq -r .id)
fi

# The demo keys: the remembered ones while they still work, else fresh ones.
KEYS="$INNBOCKS_DATABASE.demo-keys"
SCOPES=customers:read,customers:write,mail:read,mail:write,mail_actions:write,webhooks:read,billing:read
DB_ABS=$(realpath "$INNBOCKS_DATABASE")
LIVE_KEY=
TEST_KEY=
if [ -s "$KEYS" ]; then
	ACTIVE=$(cli key list --partner "$PARTNER" | jq -c '[.data[] | select(.revoked_at == null) | .id]')
	for mode in live test; do
		secret=$(jq -r --arg db "$DB_ABS" --arg p "$PARTNER" --arg m "$mode" --argjson ok "$ACTIVE" '
			select(.database == $db and .partner == $p) | .[$m]
			| select(.id as $id | $ok | index($id)) | .secret' "$KEYS" 2>/dev/null || true)
		if [ "$mode" = live ]; then LIVE_KEY=$secret; else TEST_KEY=$secret; fi
	done
fi
if [ -z "$LIVE_KEY" ] || [ -z "$TEST_KEY" ]; then
	live=$(cli key create --partner "$PARTNER" --scopes "$SCOPES" --name "demo (all scopes)")
	test=$(cli key create --partner "$PARTNER" --scopes "$SCOPES" --mode test \
		--name "demo test mode (all scopes)")
	(umask 077 && jq -n --arg db "$DB_ABS" --arg p "$PARTNER" --argjson live "$live" \
		--argjson test "$test" '{database: $db, partner: $p,
		live: {id: $live.id, secret: $live.secret}, test: {id: $test.id, secret: $test.secret}}' \
		> "$KEYS")
	LIVE_KEY=$(echo "$live" | jq -r .secret)
	TEST_KEY=$(echo "$test" | jq -r .secret)
fi

if [ "${INNBOCKS_WEBHOOK_ALLOW_LOOPBACK:-0}" = 1 ]; then
	LOOPBACK="on (INNBOCKS_WEBHOOK_ALLOW_LOOPBACK=1: http:// and 127.0.0.1 endpoints are accepted)"
else
	LOOPBACK="off; restart with INNBOCKS_WEBHOOK_ALLOW_LOOPBACK=1 ./scripts/start.sh to deliver to 127.0.0.1 (development only)"
fi
DB_FLAG="--database $DB_ABS"
BIN="$ROOT/build/innbocks"

cat <<EOF

Innbocks is running at $URL (database $INNBOCKS_DATABASE; Ctrl-C stops it).

  Demo partner     $PARTNER ($DEMO_NAME)
  Live key         $LIVE_KEY
  Test key         $TEST_KEY
  Operator token   $INNBOCKS_ADMIN_TOKEN   (/admin/v1; valid while this run lasts)
  OpenAPI          $URL/api/v1/openapi.json
  Access log       tail -f $(realpath "$ACCESS_LOG")
  Loopback hooks   $LOOPBACK

Next steps, in another terminal (jq is installed):

  # 1. A customer, in test mode (the test key; its data stays apart from live mode).
  KEY=$TEST_KEY
  API=$URL/api/v1
  call() { curl -s -H "Authorization: Bearer \$KEY" -H "Content-Type: application/json" "\$@"; }
  CUS=\$(call -X POST \$API/customers -d '{"email": "jane@example.com", "name": "Jane Smith"}' | jq -r .id)

  # 2. Make it eligible for mail: invitation accepted, Form 1583 and ID approved, billing on
  #    (the test helpers do what Innbocks staff do; for a live customer use
  #    $BIN customer accept-invite|compliance|billing \$CUS $DB_FLAG).
  call -X POST \$API/test-helpers/customers/\$CUS/accept-invite | jq '{status}'
  call -X POST \$API/test-helpers/customers/\$CUS/compliance -d '{"form_1583": "approved", "identity": "verified"}' | jq '{mail_receipt_approved}'
  call -X POST \$API/test-helpers/customers/\$CUS/billing -d '{"active": true}' | jq '{billing_status}'

  # 3. Receive its webhooks locally (needs loopback delivery on, see above): a receiver on
  #    port 9000 (any free port: change it in both lines) that prints each delivery, and a
  #    test-mode endpoint pointing at it.
  node -e 'require("http").createServer((q, s) => { let b = ""; q.on("data", (c) => b += c); q.on("end", () => { console.log(q.headers["innbocks-signature"], b); s.end(); }); }).listen(9000)' &
  INNBOCKS_WEBHOOK_ALLOW_LOOPBACK=1 $BIN webhook create --partner $PARTNER --url http://127.0.0.1:9000/hooks --mode test $DB_FLAG

  # 4. Record a package for the customer; the receiver prints package.arrived, signed.
  call -X POST \$API/mail -d "{\"customer_id\": \"\$CUS\", \"type\": \"package\", \"photos\": [\"https://example.com/front.jpg\"], \"performed_by\": \"desk_1\"}" | jq '{id, status}'
EOF
# --- Dashboard -------------------------------------------------------------
# The demo partner's dashboard owner: on first start a one-time link to choose
# a password (valid 72 hours); afterwards, where to sign in.
OWNER=owner@demo.example
if owner=$(cli user create --partner "$PARTNER" --email "$OWNER" --role owner 2>/dev/null); then
	echo
	echo "  # 5. The dashboard (keys, webhooks, events, customers, usage, team): open this"
	echo "  #    one-time link (valid 72 hours) to choose a password for $OWNER:"
	echo "  $(echo "$owner" | jq -r .setup_url)"
else
	# A restart before the owner chose a password: the first link is in an
	# earlier run's output only, so a new one (the old one stops working).
	id=$(cli user list --partner "$PARTNER" | jq -r --arg e "$OWNER" \
		'.data[] | select(.email == $e and .password_set == false) | .id')
	echo
	if [ -n "$id" ] && owner=$(cli user setup-link "$id" 2>/dev/null); then
		echo "  # 5. The dashboard: no password was chosen for $OWNER yet; open this new"
		echo "  #    one-time link (valid 72 hours; the earlier ones no longer work):"
		echo "  $(echo "$owner" | jq -r .setup_url)"
	else
		echo "  # 5. The dashboard: $URL/dashboard/ (sign in as $OWNER)"
	fi
fi
# ---------------------------------------------------------------------------
echo

# Wait for the server; a signal to this script is passed on to it, and the
# script exits with the server's status (0 after a graceful stop).
while :; do
	status=0
	wait "$SERVER" || status=$?
	kill -0 "$SERVER" 2>/dev/null || exit "$status"
done
