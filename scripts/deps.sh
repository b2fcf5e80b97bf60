#!/bin/sh
# deps.sh - installs, from Debian's packages, whatever the build, the tests
# and the benchmark need and this machine lacks. Safe to run repeatedly.
set -eu
need=""
have_header() { [ -e "/usr/include/$1" ] || [ -e "/usr/include/x86_64-linux-gnu/$1" ]; }
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
command -v sqlite3 >/dev/null 2>&1 || need="$need sqlite3"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
command -v jq >/dev/null 2>&1 || need="$need jq"
command -v cppcheck >/dev/null 2>&1 || need="$need cppcheck"
# clang with its sanitizer and libFuzzer runtimes (tests/fuzz/), and the formatter.
command -v clang >/dev/null 2>&1 || need="$need clang"
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
	need="$need libclang-rt-dev"
command -v clang-format >/dev/null 2>&1 || need="$need clang-format"
# promtool checks the /metrics output in the tests; Debian ships it only with
# the Prometheus server (about 19 MB to download), the smallest package that does.
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
# systemd-analyze verifies contrib/innbocks.service in the tests.
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need="$need python3 python3-yaml"
# The webhook verifiers of examples/webhooks/ are tested in their languages.
command -v ruby >/dev/null 2>&1 || need="$need ruby"
command -v go >/dev/null 2>&1 || need="$need golang-go"
have_header microhttpd.h || need="$need libmicrohttpd-dev"
have_header jansson.h || need="$need libjansson-dev"
have_header sqlite3.h || need="$need libsqlite3-dev"
have_header postgresql/libpq-fe.h || need="$need libpq-dev"
# The store contract tests also run on a throwaway PostgreSQL cluster
# (scripts/pg_cluster.sh).
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need="$need postgresql"
have_header openssl/evp.h || need="$need libssl-dev"
have_header curl/curl.h || need="$need libcurl4-openssl-dev"
have_header idn2.h || need="$need libidn2-dev"
have_header unistr.h || need="$need libunistring-dev"
have_header sodium.h || need="$need libsodium-dev"
# The unit tests check the country codes against the ISO 3166-1 list.
[ -e /usr/share/iso-codes/json/iso_3166-1.json ] || need="$need iso-codes"
# The dashboard's browser tests drive Debian's Chromium (never a downloaded one).
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ "${1:-}" = "--bench" ]; then
	command -v wrk >/dev/null 2>&1 || need="$need wrk"
fi
if [ -n "$need" ]; then
	echo "deps: installing$need" >&2
	if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
	case "$need" in
	*" postgresql"*)
		# Only the binaries: no default cluster started on port 5432 (the
		# tests start their own, stopped after).
		if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
			$SUDO mkdir -p /etc/postgresql-common
			echo "create_main_cluster = false" |
				$SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
		fi
		;;
	esac
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
