#!/bin/sh
# test.sh - the whole test suite: installs what it needs, then runs the stages
# of `make check`: both builds (plain, and AddressSanitizer +
# UndefinedBehaviorSanitizer with leaks), the static analysis, the C unit
# tests (the store contract tests also on a throwaway PostgreSQL cluster)
# and the black-box API suite against the plain build, then (all but the
# files that drive the dashboard's pages in a browser: Makefile,
# API_AGAIN_FILES) against the sanitizer build and against two instances on
# one PostgreSQL of a throwaway cluster, requests alternating between them;
# then a short kill -9 trial, a short run
# of every fuzzing harness, and a check that no server of this build is left
# running. What mostly waits runs two at a time on the two cores: the two
# PostgreSQL unit stages side by side, two API test files at once (make's
# API_JOBS; three on PostgreSQL, API_PG_JOBS), two fuzzing harnesses at once. Each stage's full output (the API
# suite's TAP) goes to build/test-logs/<stage>.log; the console gets one line
# per stage, the failing tests' names, and last a line `N passed, M failed`
# (CI reads it). Exits non-zero when anything failed.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh

LOGS=build/test-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

# The pinned test tooling (OpenAPI linter, response validator, client
# generators), when missing or older than the lock.
if [ ! -e tests/node_modules/.package-lock.json ] ||
	[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
	if ! (cd tests && npm ci --no-audit --no-fund) > "$LOGS/npm.log" 2>&1; then
		echo "npm ci failed: see $LOGS/npm.log" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="exitcode=23"

PASSED=0
FAILED=0
FAILURES="$LOGS/failures.txt"
: > "$FAILURES"

# say STAGE TEXT: one summary line.
say() { printf '%-10s %s\n' "$1" "$2"; }

# run STAGE CMD...: runs CMD with its output in $LOGS/STAGE.log; returns its status.
run() {
	stage=$1
	shift
	start=$(date +%s)
	status=0
	"$@" > "$LOGS/$stage.log" 2>&1 || status=$?
	SECONDS_TAKEN=$(($(date +%s) - start))
	return "$status"
}

# step STAGE CMD...: a stage that passes or fails as a whole (builds, analysis).
step() {
	stage=$1
	if run "$@"; then
		say "$stage" "ok (${SECONDS_TAKEN}s)"
		return 0
	fi
	say "$stage" "FAILED (${SECONDS_TAKEN}s, $LOGS/$stage.log)"
	grep -v '^make\(\[[0-9]*\]\)\?: \*\*\*' "$LOGS/$stage.log" | tail -n 3 | sed "s/^/$stage: /" >> "$FAILURES"
	FAILED=$((FAILED + 1))
	return 1
}

# unit STAGE CMD...: tests whose last line is `N passed, M failed` (the C unit
# tests, the kill -9 trial), after which the unit tests print one line
# `N skipped <reason>` per reason tests were skipped.
unit() {
	run "$@" || true
	tally_unit "$1"
}

# started STAGE CMD...: run() in the background; finished STAGE waits for it
# and sets $status and $SECONDS_TAKEN as run() would have.
started() {
	(
		run "$@" || true
		echo "$status $SECONDS_TAKEN" > "$LOGS/$1.status"
	) &
	BACKGROUND=$!
}
finished() {
	wait "$BACKGROUND" || true
	status=1
	SECONDS_TAKEN=0
	if [ -f "$LOGS/$1.status" ]; then
		read -r status SECONDS_TAKEN < "$LOGS/$1.status"
	fi
}

# tally_unit STAGE: counts a unit stage from its log, after run() set $status
# and $SECONDS_TAKEN.
tally_unit() {
	stage=$1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOGS/$stage.log" | tail -n 1 || true)
	if [ -z "$line" ]; then
		say "$stage" "FAILED: exit $status without a result line ($LOGS/$stage.log)"
		echo "$stage: exit $status without a result line (a crash?)" >> "$FAILURES"
		FAILED=$((FAILED + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#* passed, }
	f=${f%% failed}
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # all passed, then the sanitizers found a leak or an error
		echo "$stage: exit $status after its tests (a sanitizer report?)" >> "$FAILURES"
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	sed -n 's/^FAIL \(.*\)/'"$stage"': \1/p' "$LOGS/$stage.log" >> "$FAILURES"
	skipped=$(sed -n 's/^\([0-9]* skipped .*\)/\1/p' "$LOGS/$stage.log" | paste -sd ';' -)
	say "$stage" "$p passed, $f failed${skipped:+, $skipped} (${SECONDS_TAKEN}s)"
}

# api STAGE MAKE-TARGET: the black-box suite; its TAP ends with `# pass N`, `# fail M`.
api() {
	stage=$1
	run "$stage" make -s "$2" || true
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$LOGS/$stage.log" | tail -n 1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$LOGS/$stage.log" | tail -n 1)
	c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$LOGS/$stage.log" | tail -n 1)
	if [ -z "$p" ] || [ -z "$f" ]; then
		say "$stage" "FAILED: exit $status without a TAP summary ($LOGS/$stage.log)"
		echo "$stage: exit $status without a TAP summary" >> "$FAILURES"
		FAILED=$((FAILED + 1))
		return
	fi
	f=$((f + ${c:-0}))
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "$stage: exit $status" >> "$FAILURES"
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	# The failing tests (`not ok N - name`), with the file and line of each.
	awk -v stage="$stage" '
		function flush() { if (name != "") print stage ": " name; name = "" }
		/^ *not ok [0-9]+ - / { flush(); name = $0; sub(/^ *not ok [0-9]+ - /, "", name); next }
		name != "" && /^ *location: / {
			loc = $0; sub(/^ *location: .*\/tests\//, "tests/", loc); sub(/:[0-9]+.$/, "", loc)
			name = name " (" loc ")"; flush()
		}
		END { flush() }' "$LOGS/$stage.log" >> "$FAILURES"
	say "$stage" "$p passed, $f failed (${SECONDS_TAKEN}s)"
}

# Prints every process still running a program of this checkout's build/
# (a server a test left behind); returns 1 when there is one.
no_leftovers() {
	left=0
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case $exe in "$PWD"/build/*)
			echo "still running: pid ${p#/proc/} $exe"
			left=1
			;;
		esac
	done
	return "$left"
}

if step build make -s -j2 build/innbocks build/unit build/asan/innbocks build/asan/unit \
	build/openapi/innbocks-partner.json; then
	step analyze make -s analyze || true
	unit unit build/unit
	unit unit-asan build/asan/unit
	# The store contract tests again on PostgreSQL, on a throwaway cluster
	# that does not sync (Makefile, unit-pg). Side by side: each mostly
	# waits for its own cluster.
	started unit-pg-asan make -s unit-pg-asan
	unit unit-pg make -s unit-pg
	finished unit-pg-asan
	tally_unit unit-pg-asan
	api api api
	api api-asan api-asan
	# The black-box suite on PostgreSQL: two instances per test server on a
	# throwaway cluster (make api-pg), stopped and removed afterwards.
	api api-pg api-pg
	unit kill9 make -s kill9
	step fuzz make -s -j2 fuzz-run || true
	# Nothing is left running: the clusters stop themselves (pg_cluster.sh).
	step leftovers no_leftovers || true
fi

if [ "$FAILED" -ne 0 ]; then
	echo
	echo "Failed (full output in $LOGS/):"
	sort -u "$FAILURES" | sed 's/^/  /'
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
