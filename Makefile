# cdctail - plain make, no generated build system.
#
#   make                 build ./cdctail
#   make test            install what is missing, then run every test (scripts/test.sh)
#   make soak            long fault runs against real services (tests/soak/*.sh, minutes each)
#   make asan            build build/asan/cdctail with ASan + UBSan
#   make unit            build and run the cmocka unit tests under ASan + UBSan
#   make fuzz            build the libFuzzer targets (clang) and run each FUZZ_SECONDS
#   make bench           print throughput figures against the peers
#   make migration       the ten migration steps on real services (t0700, several minutes)
#   make install PREFIX=/usr/local DESTDIR=
#   make deb             build build/deb/cdctail_VERSION_ARCH.deb (dpkg-buildpackage) and lintian it

PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= cc
CLANG     ?= clang
FUZZ_SECONDS ?= 60

# The version, in one place: the top entry of debian/changelog (the .deb's
# version too); `cdctail --version` prints it.
VERSION   := $(shell head -1 debian/changelog | cut -d' ' -f2 | tr -d '()')

PKGS      := rdkafka liblz4 zlib libdeflate libcjson libzstd libxxhash libssl libcrypto lmdb libmicrohttpd
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CSTD      := -std=c11 -D_GNU_SOURCE
INC       := -Iinclude
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lrdkafka -llz4 -lz -ldeflate -lcjson -lzstd -lxxhash -lssl -lcrypto -llmdb -lmicrohttpd)
LIBS      := $(PKG_LIBS) -lsnappy -lm -lpthread

# CPPFLAGS and LDFLAGS as the environment gives them (dpkg-buildflags'
# hardening flags in the .deb build)
CFLAGS    ?= -O2 -g
ALL_CFLAGS := $(CSTD) $(WARN) $(INC) $(PKG_CFLAGS) -DCDCTAIL_VERSION='"$(VERSION)"' $(CPPFLAGS) $(CFLAGS)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRCS      := $(sort $(wildcard src/*.c))
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
HDRS      := $(wildcard include/*.h)

REL_OBJS  := $(patsubst src/%.c,build/rel/%.o,$(SRCS))
ASAN_OBJS := $(patsubst src/%.c,build/asan/%.o,$(SRCS))
ASAN_LIB_OBJS := $(patsubst src/%.c,build/asan/%.o,$(LIB_SRCS))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/%,$(UNIT_SRCS))

FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))

.DEFAULT_GOAL := all
.PHONY: all asan unit test soak fuzz fuzz-build bench install clean demo deb migration

DEMO_CASE ?= fixtures/5.0/seed

# The README's first command: build deps if missing, build, and replay a
# segment a real Cassandra 5.0 wrote into JSON events on stdout.
demo:
	scripts/deps.sh --build
	$(MAKE) cdctail
	./cdctail replay --schema $(DEMO_CASE)/schema.json $(DEMO_CASE)/cdc_raw 2>/dev/null | head -20

all: cdctail

cdctail: $(REL_OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

build/rel/cli.o build/asan/cli.o: debian/changelog

build/rel/%.o: src/%.c $(HDRS) | build/rel
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/asan/%.o: src/%.c $(HDRS) | build/asan
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -c -o $@ $<

build/rel build/asan build/fuzz build/asan/fuzz:
	mkdir -p $@

REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,build/asan/replay_%,$(FUZZ_SRCS))

asan: build/asan/cdctail $(UNIT_BINS) $(REPLAY_BINS) build/asan/replay_segment-crc-bypass

# The fuzz targets built with gcc + ASan/UBSan and a plain main, to replay
# the saved corpus in make test. These have every CRC check on, as the product.
build/asan/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_schema.h $(ASAN_LIB_OBJS)
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -o $@ $< tests/fuzz/replay.c $(ASAN_LIB_OBJS) $(LIBS)

# fuzz_segment once more as libFuzzer ran it, with CDCTAIL_FUZZ (its own copy
# of segment.o, never linked into anything else), so that the inputs found
# with CRC checks bypassed replay the code behind the checks too.
build/asan/fuzz/segment.o: src/segment.c $(HDRS) | build/asan/fuzz
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -DCDCTAIL_FUZZ -c -o $@ $<

build/asan/replay_segment-crc-bypass: tests/fuzz/fuzz_segment.c tests/fuzz/replay.c tests/fuzz/fuzz_schema.h build/asan/fuzz/segment.o $(filter-out build/asan/segment.o,$(ASAN_LIB_OBJS))
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -DCDCTAIL_FUZZ -o $@ $< tests/fuzz/replay.c build/asan/fuzz/segment.o $(filter-out build/asan/segment.o,$(ASAN_LIB_OBJS)) $(LIBS)

build/asan/cdctail: $(ASAN_OBJS)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $^ $(LIBS)

build/asan/test_%: tests/unit/test_%.c $(ASAN_LIB_OBJS) tests/unit/testutil.h
	$(CC) $(ALL_CFLAGS) $(SAN) -O1 -Itests/unit -o $@ $< $(ASAN_LIB_OBJS) $(LIBS) -lcmocka

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; ./$$t || exit 1; done

test:
	scripts/test.sh

# Long fault runs (tests/soak/*.sh, real services, minutes each), one after
# the other under the services lock; TAP lines like the e2e tests.
soak: cdctail asan
	flock /tmp/cdctail-services.lock sh -c 'rc=0; for t in tests/soak/*.sh; do echo "== $$t"; "$$t" || rc=1; done; exit $$rc'

# The migration (docs/migration.md) end to end: three Cassandra nodes, Kafka,
# a load at 1000 writes/s; several minutes, so not part of make test.
migration: cdctail
	@mkdir -p build
	flock /tmp/cdctail-services.lock tests/e2e/t0700-migration.sh | tee build/migration.log
	@! grep -q '^not ok' build/migration.log && grep -q '^ok' build/migration.log

# libFuzzer targets: each links the parser sources it exercises. CDCTAIL_FUZZ
# (fuzz builds only) lets a target bypass CRC checks (include/segment.h).
FUZZ_CFLAGS := $(CSTD) $(INC) $(PKG_CFLAGS) -DCDCTAIL_FUZZ -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_schema.h $(LIB_SRCS) $(HDRS) | build/fuzz
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

build/bench: tests/bench/bench.c $(patsubst src/%.c,build/rel/%.o,$(LIB_SRCS))
	$(CC) $(ALL_CFLAGS) -o $@ $< $(patsubst src/%.c,build/rel/%.o,$(LIB_SRCS)) $(LIBS)

build/aheadpoll: tests/bench/aheadpoll.c $(patsubst src/%.c,build/rel/%.o,$(LIB_SRCS))
	$(CC) $(ALL_CFLAGS) -o $@ $< $(patsubst src/%.c,build/rel/%.o,$(LIB_SRCS)) $(LIBS)

build/kprod: tests/bench/kprod.c
	$(CC) $(ALL_CFLAGS) -o $@ $< -lrdkafka

# ends with the migration test (t0700, several minutes; BENCH_NO_MIGRATION=1
# leaves it out); like scripts/bench.sh it takes no services lock itself:
# run `flock /tmp/cdctail-services.lock make bench` where others share the machine
bench: cdctail build/bench build/kprod
	scripts/bench.sh
	@if [ -z "$(BENCH_NO_MIGRATION)" ]; then tests/e2e/t0700-migration.sh | tee build/migration.log; fi

install: cdctail
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/cdctail/examples \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0755 cdctail $(DESTDIR)$(PREFIX)/bin/cdctail
	install -m 0644 man/cdctail.1 $(DESTDIR)$(PREFIX)/share/man/man1/cdctail.1
	install -m 0644 man/cdctail.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/cdctail.conf.5
	install -m 0644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/cdctail/
	install -m 0644 scripts/systemd/cdctail.service scripts/systemd/cdctail.conf \
		scripts/cdctail-cleanup.cron $(DESTDIR)$(PREFIX)/share/doc/cdctail/examples/

# The .deb, built from a copy of the tree under build/deb (dpkg-buildpackage
# writes next to the source directory, so nothing lands outside build/),
# then checked by lintian: a warning or error fails (one warning is
# overridden, with the reason, in debian/cdctail.lintian-overrides).
DEB_DIR := build/deb
DEB_SRC := $(DEB_DIR)/cdctail-$(VERSION)

deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_SRC)
	tar -c --exclude=./build --exclude=./.git --exclude=./cdctail . | tar -x -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -b -uc -us >../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	lintian --fail-on error,warning --info $(DEB_DIR)/cdctail_$(VERSION)_*.deb
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf build cdctail
