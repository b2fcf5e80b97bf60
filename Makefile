# Makefile - `make` builds build/innbocks; `make asan` the sanitizer build in
# build/asan/; `make unit` builds and runs the C unit tests.
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla
LIBS = -lmicrohttpd -ljansson -lsqlite3 -lcrypto -lcurl -lpthread -lm
SAN = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

SRC = $(sort $(wildcard src/*.c))
LIB_SRC = $(filter-out src/main.c,$(SRC))
SQL = $(sort $(wildcard sql/sqlite/*.sql))
UNIT_SRC = $(sort $(wildcard tests/unit/*.c))

all: build/innbocks

build/gen/sql_sqlite.c: $(SQL) scripts/embed_sql.sh
	@mkdir -p $(@D)
	scripts/embed_sql.sh sqlite_migrations $(SQL) > $@

build/gen/openapi.c: openapi/innbocks.yaml scripts/embed_openapi.py
	@mkdir -p $(@D)
	/usr/bin/python3 scripts/embed_openapi.py $< $@

GEN = build/gen/sql_sqlite.c build/gen/openapi.c

define variant
$(1)/innbocks: $(SRC) src/*.h $(GEN)
	@mkdir -p $$(@D)
	$$(CC) $$(WARN) $(2) -Isrc -o $$@ $(SRC) $(GEN) $$(LIBS)

$(1)/unit: $(LIB_SRC) $(UNIT_SRC) src/*.h tests/unit/*.h $(GEN)
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

clean:
	rm -rf build

.PHONY: all asan unit unit-asan clean
