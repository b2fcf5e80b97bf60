#!/bin/sh
# check_names.sh - fails when an exported name of src/ does not tell its
# file. The exported names are the functions and variables a src/*.c or
# src/store/*.c file defines at file scope without `static`. A file's stem
# (api_customers for src/api_customers.c, also without its plural s:
# api_customer) names every name that is the stem or starts with stem_. Two
# rules:
#   - the longest stem that names an exported name is its own file's
#     (api_customer_mail_list belongs in api_customers.c, not api_mail.c);
#   - a name that starts like its file's family (api_, admin_, store_,
#     webhook_: the stem's first word) starts with the whole stem
#     (admin_key_create does not belong in admin_partners.c).
# Names no file's stem names (util.c's arena_*, die, resp.c's error) pass.
# It also fails when the route table of docs/architecture.md is not exactly
# the routes of src/routes.c, each with its handler and the file defining it.
# Usage: scripts/check_names.sh [ROOT]   (a checkout; default: this one)
set -eu
cd "$(dirname "$0")/.."
root=${1:-.}
dir=$root/src
stems=$(for f in "$dir"/*.c "$dir"/*.h "$dir"/store/*.c "$dir"/store/*.h; do
	basename "$f" | sed 's/\.[ch]$//'
done |
	sort -u | tr '\n' ' ')
awk -v stems="$stems" '
function forms_name(form, name) {
	return name == form || index(name, form "_") == 1
}
# Returns the stem of the longest form naming name ("" for none), own first.
function owner(name, own,    best, bestlen, i, t, f, k) {
	best = ""
	bestlen = 0
	for (i = 0; i <= nstems; i++) {
		t = i == 0 ? own : stem[i]
		for (k = 0; k < 2; k++) {
			f = k == 0 ? t : (t ~ /s$/ ? substr(t, 1, length(t) - 1) : t)
			if (forms_name(f, name) && length(f) > bestlen) {
				best = t
				bestlen = length(f)
			}
		}
	}
	return best
}
function check(name,    own, family, o, own1) {
	if (name == "" || name == "main")
		return
	own = FILENAME
	sub(/.*\//, "", own)
	sub(/\.c$/, "", own)
	o = owner(name, own)
	if (o != "" && o != own) {
		printf "%s:%d: %s names %s.[ch], not its own file\n", FILENAME, FNR, name, o
		bad = 1
		return
	}
	if (own ~ /_/) {
		family = own
		sub(/_.*/, "", family)
		own1 = own ~ /s$/ ? substr(own, 1, length(own) - 1) : own
		if (index(name, family "_") == 1 && !forms_name(own, name) && !forms_name(own1, name)) {
			printf "%s:%d: %s starts like the %s_ files but does not name %s.c\n",
			       FILENAME, FNR, name, family, own
			bad = 1
		}
	}
}
BEGIN {
	nstems = split(stems, stem, " ")
}
FNR == 1 {
	pending = ""
}
# The line after a function signature: "{" makes it a definition.
pending != "" {
	if ($0 == "{")
		check(pending)
	if ($0 == "{" || $0 ~ /;[ \t]*$/)
		pending = ""
	next
}
# A definition at file scope (not of a type, nor a label).
/^[A-Za-z_]/ && !/^(static|extern|typedef)[ \t]/ && !/^(enum|struct|union)[^(=]*\{/ {
	line = $0
	sub(/[ \t]*\/[\/*].*$/, "", line)
	eq = index(line, "=")
	paren = index(line, "(")
	if (eq && (!paren || eq < paren)) {
		# A variable with an initializer: the name before "=" (and "[]").
		name = substr(line, 1, eq - 1)
		sub(/[ \t]*(\[[^]]*\])?[ \t]*$/, "", name)
		sub(/.*[^A-Za-z0-9_]/, "", name)
		check(name)
	} else if (paren) {
		# A function: the name before "("; a prototype ends in ";".
		name = substr(line, 1, paren - 1)
		sub(/.*[^A-Za-z0-9_]/, "", name)
		if (line !~ /;[ \t]*$/)
			pending = name
	} else if (line ~ /;[ \t]*$/) {
		# A variable without an initializer.
		name = line
		sub(/[ \t]*(\[[^]]*\])?[ \t]*;[ \t]*$/, "", name)
		sub(/.*[^A-Za-z0-9_]/, "", name)
		check(name)
	}
}
END {
	if (bad)
		print "check_names: rename the names above, or move them to the file they name" > "/dev/stderr"
	exit bad
}
' "$dir"/*.c "$dir"/store/*.c || status=1

# The route table: one row "| METHOD | `PATH` | `HANDLER` | FILE |" a route.
api=$(sed -n 's/^#define API "\(.*\)"$/\1/p' "$dir/routes.c")
admin=$(sed -n 's/^#define ADMIN "\(.*\)"$/\1/p' "$dir/routes.c")
# DASH is router.h's ROUTE_DASHBOARD_API (the dispatcher knows the prefix too).
dash=$(sed -n 's/^#define ROUTE_DASHBOARD_API "\(.*\)"$/\1/p' "$dir/router.h")
want=$(mktemp)
have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
tr '\n\t' '  ' < "$dir/routes.c" |
	grep -oE '\{"[A-Z]+", (API |ADMIN |DASH )?"[^"]*", [a-z_]+,' |
	sed -E "s|^\\{\"([A-Z]+)\", API \"|\\1 $api|; s|^\\{\"([A-Z]+)\", ADMIN \"|\\1 $admin|;
		s|^\\{\"([A-Z]+)\", DASH \"|\\1 $dash|;
		s|^\\{\"([A-Z]+)\", \"|\\1 |; s|\", ([a-z_]+),\$| \\1|" |
	while read -r method path handler; do
		file=$(grep -l "^int $handler(struct ctx \*c)\$" "$dir"/*.c | head -n 1)
		# shellcheck disable=SC2016 # the backquotes are Markdown
		printf '| %s | `%s` | `%s` | %s |\n' "$method" "$path" "$handler" "${file##*/}"
	done | sort > "$want"
grep -E '^\| (GET|POST|PUT|PATCH|DELETE) \|' "$root/docs/architecture.md" | sort > "$have" || true
if ! diff "$want" "$have" > /dev/null; then
	diff "$want" "$have" | sed -n 's/^< /missing: /p; s/^> /stale: /p'
	echo "check_names: docs/architecture.md's route table differs from src/routes.c" >&2
	status=1
fi
exit "${status:-0}"
