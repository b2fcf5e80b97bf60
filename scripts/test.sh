#!/bin/sh
# test.sh - the whole test suite: installs what it needs, then `make check`:
# builds the normal and the sanitizer (AddressSanitizer +
# UndefinedBehaviorSanitizer, leaks included) binaries, runs the static
# analysis, the C unit tests and the black-box API suite against both.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh

# The pinned test tooling (OpenAPI linter, response validator), when missing or older than the lock.
if [ ! -e tests/node_modules/.package-lock.json ] ||
	[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
	(cd tests && npm ci --no-audit --no-fund)
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="exitcode=23"

exec make -s -j2 check
