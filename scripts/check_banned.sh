#!/bin/sh
# check_banned.sh - fails when src/ calls a function we do not use: unbounded
# copies and formats (use snprintf), strtok (not reentrant: strtok_r), gets,
# and the ato* family (no error reporting: strtol and friends).
set -eu
cd "$(dirname "$0")/.."
banned='\b(strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|atof|tmpnam|mktemp)\s*\('
if grep -nE "$banned" src/*.c src/*.h; then
	echo "check_banned: the calls above are banned (see scripts/check_banned.sh)" >&2
	exit 1
fi
