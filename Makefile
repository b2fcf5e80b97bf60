# Makefile - `make` builds build/innbocks (and build/openapi/, the OpenAPI document
# per audience); `make asan` the sanitizer build in
# build/asan/; `make unit` builds and runs the C unit tests; `make analyze`
# runs the static analysis; `make check` builds both variants, analyzes and
# runs every test (scripts/test.sh is the dependencies plus `make check`).
CC ?= cc
CFLAGS ?= -O2 -g
PQ_INC = /usr/include/postgresql
WARN = -I$(PQ_INC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wcast-qual -Wwrite-strings
LIBS = -lmicrohttpd -ljansson -lsqlite3 -lpq -lcrypto -lcurl -lidn2 -lunistring -lsodium -lpthread -lm
SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# src/store/ holds the storage interface and its backends (docs/architecture.md).
SRC = $(sort $(wildcard src/*.c src/store/*.c))
HDR = $(wildcard src/*.h src/store/*.h)
LIB_SRC = $(filter-out src/main.c,$(SRC))
SQL = $(sort $(wildcard sql/sqlite/*.sql))
PG_SQL = $(sort $(wildcard sql/postgres/*.sql))
UNIT_SRC = $(sort $(wildcard tests/unit/*.c))

all: build/innbocks build/openapi/innbocks-partner.json

build/gen/sql_sqlite.c: $(SQL) scripts/embed_sql.sh
	@mkdir -p $(@D)
	scripts/embed_sql.sh sqlite_migrations $(SQL) > $@

build/gen/sql_postgres.c: $(PG_SQL) scripts/embed_sql.sh
	@mkdir -p $(@D)
	scripts/embed_sql.sh pg_migrations $(PG_SQL) > $@

build/gen/openapi.c: openapi/innbocks.yaml scripts/embed_openapi.py
	@mkdir -p $(@D)
	/usr/bin/python3 scripts/embed_openapi.py $< $@

# The document whole and per audience (partner, operator), as JSON for client generators;
# the recipe writes all three.
build/openapi/innbocks-partner.json: openapi/innbocks.yaml scripts/openapi_split.py
	/usr/bin/python3 scripts/openapi_split.py $< $(@D)

ASSETS = $(sort $(wildcard web/dashboard/*))

build/gen/dashboard.c: $(ASSETS) scripts/embed_assets.py
	@mkdir -p $(@D)
	/usr/bin/python3 scripts/embed_assets.py $@ $(ASSETS)

GEN = build/gen/sql_sqlite.c build/gen/sql_postgres.c build/gen/openapi.c build/gen/dashboard.c

define variant
$(1)/innbocks: $(SRC) $(HDR) $(GEN)
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $(2) -Isrc -o $$@ $(SRC) $(GEN) $$(LIBS)

$(1)/unit: $(LIB_SRC) $(UNIT_SRC) $(HDR) tests/unit/*.h $(GEN)
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $(2) -Isrc -Itests/unit -o $$@ $(LIB_SRC) $(UNIT_SRC) $(GEN) $$(LIBS)
endef

$(eval $(call variant,build,$(CFLAGS)))
$(eval $(call variant,build/asan,-O1 -g $(SAN)))

asan: build/asan/innbocks

unit: build/unit
	build/unit

unit-asan: build/asan/unit
	build/asan/unit

# The store contract tests on PostgreSQL, on a throwaway cluster.
unit-pg: build/unit
	scripts/pg_cluster.sh run build/unit store

# cppcheck over the sources and the unit tests; it must stay clean: fix the
# finding, or put `/* cppcheck-suppress <id> */` above a false positive with
# the reason. build/gen/ holds only embedded bytes (minutes to analyze).
# cppcheck 2.10 does not know C11's _Noreturn: without the -D, every
# `if (!p) die(...)` looks like a NULL dereference after it. It ships no
# library file for libpq (PQ* calls are then only known by their headers).
CPPCHECK = cppcheck --std=c11 -q -j2 --error-exitcode=1 --inline-suppr \
	--enable=warning,style,performance,portability \
	--library=posix,gnu,openssl,libcurl,sqlite3 \
	-D_GNU_SOURCE '-D_Noreturn=__attribute__((noreturn))' -Isrc -Itests/unit

# Also checks that every source file includes banned.h after its other
# headers, which the compiler cannot see, that every exported name
# tells its file (scripts/check_names.sh), that no tracked file names a
# path outside the repository (scripts/check_paths.sh), and that no landed
# migration changed (scripts/check_migrations.sh).
# The C sources in the style of .clang-format: `make format` rewrites them,
# `make format-check` (run by `make analyze`) fails on any difference.
FORMAT_SRC = $(wildcard src/*.c src/*.h src/store/*.c src/store/*.h tests/unit/*.c tests/unit/*.h \
	tests/fuzz/*.c)

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRC) || \
		{ echo "format-check: run make format (the style is .clang-format)" >&2; exit 1; }

.PHONY: format format-check

analyze: format-check
	@echo "== static analysis"
	@for f in $(SRC); do \
		[ "$$(grep '^#include' $$f | tail -n 1)" = '#include "banned.h"' ] || \
		{ echo "$$f: banned.h must be its last #include" >&2; exit 1; }; \
	done
	scripts/check_names.sh
	scripts/check_paths.sh
	scripts/check_migrations.sh
	$(CPPCHECK) src tests/unit

# The whole suite, in this order: the builds and the analysis (in parallel
# under -j), then the unit tests, the store contract tests again on
# PostgreSQL (scripts/pg_cluster.sh: a throwaway cluster, stopped after) and
# the black-box suite, plain and with the sanitizers, and plain once more on
# PostgreSQL with two instances per server. The black-box suite needs
# `(cd tests && npm ci)` once. scripts/test.sh runs the same stages (builds,
# analyze, unit, unit-asan, unit-pg beside unit-pg-asan, api, api-asan,
# api-pg), each with its output in build/test-logs/.
# API_JOBS test files run at once: a test mostly waits (for the server, the
# disk, a timer), so one file kept two cores 47 % busy, two keep them 80 %.
API_JOBS ?= 2
API_TEST = node --test --test-concurrency=$(API_JOBS) tests/api/ tests/hostile/

api: build/innbocks build/openapi/innbocks-partner.json
	INNBOCKS_BIN=build/innbocks $(API_TEST)

api-asan: build/asan/innbocks build/openapi/innbocks-partner.json
	INNBOCKS_BIN=build/asan/innbocks $(API_TEST)

# The black-box suite on PostgreSQL: each server of a test is a fresh database
# on a throwaway cluster served by two instances, requests alternating between
# them (tests/api/lib.mjs); the cluster is stopped and removed afterwards.
api-pg: build/innbocks build/openapi/innbocks-partner.json
	scripts/pg_cluster.sh run env INNBOCKS_TEST_BACKEND=postgres INNBOCKS_BIN=build/innbocks $(API_TEST)

check: build/innbocks build/unit build/asan/innbocks build/asan/unit build/openapi/innbocks-partner.json analyze
	@echo "== unit tests"
	build/unit
	@echo "== unit tests (sanitizers)"
	build/asan/unit
	@echo "== store contract tests on PostgreSQL (a throwaway cluster)"
	scripts/pg_cluster.sh run build/unit store
	@echo "== store contract tests on PostgreSQL (sanitizers)"
	scripts/pg_cluster.sh run build/asan/unit store
	@echo "== API tests"
	INNBOCKS_BIN=build/innbocks $(API_TEST)
	@echo "== API tests (sanitizers)"
	INNBOCKS_BIN=build/asan/innbocks $(API_TEST)
	@echo "== API tests on PostgreSQL, two instances (a throwaway cluster)"
	scripts/pg_cluster.sh run env INNBOCKS_TEST_BACKEND=postgres INNBOCKS_BIN=build/innbocks $(API_TEST)

clean:
	rm -rf build

.PHONY: all asan unit unit-asan unit-pg api api-asan api-pg analyze check clean

# The kill -9 trial (tests/hostile/kill9_trial.mjs): KILL9_ROUNDS rounds of
# mixed load ended by SIGKILL; nothing acknowledged may be lost.
KILL9_ROUNDS ?= 3
kill9: build/innbocks
	INNBOCKS_BIN=build/innbocks node tests/hostile/kill9_trial.mjs $(KILL9_ROUNDS)

.PHONY: kill9

# libFuzzer harnesses (tests/fuzz/), built with clang and the sanitizers over
# the library sources. `make fuzz-run` runs each for FUZZ_SECONDS from its
# seed corpus (new inputs go to build/fuzz/corpus/, not the tree); a crash
# or a broken invariant leaves its input in build/fuzz/ and fails.
FUZZ = body router netguard request
FUZZ_SECONDS ?= 10
FUZZ_CC = clang
FUZZ_SAN = -O1 -g -fno-sanitize-recover=all -fsanitize=address,undefined
FUZZ_OBJ = $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC) $(GEN))

# The library once, instrumented for coverage; each harness links it.
build/fuzz/obj/%.o: %.c $(HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Isrc -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJ) $(LIBS)

# The objects are made only as a harness's prerequisites, so make would treat
# them as intermediate and delete them after each link: every `make fuzz`
# would then compile the whole library again.
.SECONDARY: $(FUZZ_OBJ)

fuzz: $(FUZZ:%=build/fuzz/fuzz_%)

# One run per harness, so `make -j2 fuzz-run` runs two at a time.
fuzz-run: $(FUZZ:%=fuzz-run-%)

$(FUZZ:%=fuzz-run-%): fuzz-run-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus/$*
	@build/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build/fuzz/$*- -print_final_stats=1 \
		build/fuzz/corpus/$* tests/fuzz/corpus/$* > build/fuzz/$*.log 2>&1 || \
		{ echo "== fuzz $* ($(FUZZ_SECONDS) s) failed"; tail -n 40 build/fuzz/$*.log; exit 1; }
	@echo "== fuzz $* ($(FUZZ_SECONDS) s): $$(grep -E '^stat::number_of_executed_units' build/fuzz/$*.log)"

.PHONY: fuzz fuzz-run $(FUZZ:%=fuzz-run-%)
