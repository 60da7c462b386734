# beacond - top-level build.  Out-of-tree objects under build/.
#   make deps    install every Debian package the project needs (root, idempotent)
#   make         build everything
#   make check   unit tier only (fast edit-test loop)
#   make test    deps + build + unit + ASan/UBSan unit + portable (no-SIMD) unit + bounded fuzz (+ integration tiers)
#   make fuzz    longer fuzz run (FUZZ_SECONDS per target, default 300)
#   make bench   the benchmark suite (parser, ingest vs peers, ETL, DPDK, end to end) -> perf/RESULTS.md
#   make run     the whole local stack (comes with the stack issues)

CC       ?= gcc
CLANG    ?= clang
B        := build
WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
INCS     := -Iapp/proto -Iapp/ring -Iapp/conf -Iapp/core -Iapp/kafka -Idrivers -Idrivers/socket
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -pthread -MMD -MP
LDLIBS_PROTO := -lcrypto -linih
# beacond's own libraries: HTTP parsing (nodejs http-parser), Kafka, jemalloc.
LDLIBS_APP   := -lhttp_parser -lrdkafka -lm
# DPDK, for the fast-path driver (drivers/dpdk, with its issue).
DPDK_CFLAGS = $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   = $(shell pkg-config --libs libdpdk 2>/dev/null)
CUNIT_LIBS   := -lcunit

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 300
FUZZ_SHORT_SECONDS ?= 20

PROTO_SRC := $(wildcard app/proto/*.c) $(wildcard app/ring/*.c) $(wildcard app/conf/*.c)
PROTO_OBJ := $(PROTO_SRC:%.c=$(B)/%.o)
# beacond's components (everything but its main): control plane, Kafka slow
# path, driver interface and the kernel-socket driver.
APP_SRC   := $(wildcard app/core/*.c) $(wildcard app/kafka/*.c) $(wildcard drivers/*.c) $(wildcard drivers/socket/*.c)
APP_OBJ   := $(APP_SRC:%.c=$(B)/%.o)
APP_HDR   := $(wildcard app/core/*.h app/kafka/*.h drivers/*.h drivers/socket/*.h)
UNIT_SRC  := $(wildcard tests/unit/*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

# Module hooks: drivers/dpdk/module.mk and etl/module.mk append to these, so
# that each module owns its build rules and this file stays the same.
MODULE_ALL   :=  # extra targets of `make all`
CHECK_BINS   :=  # extra CUnit binaries run by `make check`
ASAN_BINS    :=  # extra CUnit binaries built with ASan+UBSan, run by `make test-asan`
PORTABLE_BINS :=  # extra CUnit binaries built with -U__SSE2__, run by `make test-portable`
INTEG_DEPS   :=  # what the integration tier needs built
BEACOND_OBJ  :=  # extra objects linked into beacond (the DPDK driver)
BEACOND_LIBS :=
BEACOND_DEFS :=  # e.g. -DBCN_HAVE_DPDK: drivers/bcn_driver.c lists that driver
-include drivers/dpdk/module.mk etl/module.mk app/api/module.mk

.PHONY: research run up down docs docs-config all deps check test test-unit test-asan test-portable test-tsan test-fuzz test-integration fuzz bench run clean
all: $(B)/libbcnproto.a $(B)/beacon-lint $(B)/kafka-dev $(B)/test-unit $(B)/bench-parse \
	$(B)/beacond $(B)/beacon-blast $(MODULE_ALL) $(CHECK_BINS)

deps:
	@sh tests/deps.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libbcnproto.a: $(PROTO_OBJ)
	@mkdir -p $(B)
	$(AR) rcs $@ $^

# The version in /metrics' build_info and beacond's start-up line.
BCN_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
$(B)/app/core/bcn_expo.o $(B)/app/beacond/main.o: CFLAGS += -DBCN_VERSION='"$(BCN_VERSION)"'

$(B)/libbcnapp.a: $(APP_OBJ)
	@mkdir -p $(B)
	$(AR) rcs $@ $^

$(B)/drivers/bcn_driver.o: CFLAGS += $(BEACOND_DEFS)
$(B)/beacond: $(B)/app/beacond/main.o $(BEACOND_OBJ) $(B)/libbcnapp.a $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(BEACOND_LIBS) $(LDLIBS_APP) $(LDLIBS_PROTO) -ljemalloc

$(B)/beacon-blast: $(B)/perf/beacon_blast.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_PROTO) -lm

$(B)/beacon-lint: $(B)/app/tools/beacon_lint.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_PROTO)

$(B)/kafka-dev: $(B)/app/tools/kafka_dev.o
	$(CC) $(CFLAGS) -o $@ $^ -lrdkafka

$(B)/bench-parse: $(B)/perf/bench_parse.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_PROTO)

$(B)/test-unit: $(UNIT_SRC:%.c=$(B)/%.o) $(B)/libbcnapp.a $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(CUNIT_LIBS) $(LDLIBS_APP) $(LDLIBS_PROTO)

# The same unit tests, built with clang under ASan+UBSan (LeakSanitizer on).
$(B)/asan/test-unit: $(PROTO_SRC) $(APP_SRC) $(UNIT_SRC) $(APP_HDR) $(wildcard app/proto/*.h app/ring/*.h app/conf/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -pthread $(SAN_FLAGS) -o $@ \
		$(PROTO_SRC) $(APP_SRC) $(UNIT_SRC) $(CUNIT_LIBS) $(LDLIBS_APP) $(LDLIBS_PROTO)

# beacond itself under ASan+UBSan (libc malloc: jemalloc and ASan don't mix),
# for the integration tier's sanitizer run (tests/integration/test_beacond_asan.sh).
$(B)/asan/beacond: app/beacond/main.c $(PROTO_SRC) $(APP_SRC) $(APP_HDR) $(wildcard app/proto/*.h app/ring/*.h app/conf/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -pthread $(SAN_FLAGS) -DBCN_VERSION='"$(BCN_VERSION)-asan"' -o $@ \
		app/beacond/main.c $(PROTO_SRC) $(APP_SRC) $(LDLIBS_APP) $(LDLIBS_PROTO)

$(B)/fuzz/%: tests/fuzz/%.c $(PROTO_SRC) $(APP_SRC) $(APP_HDR) $(wildcard app/proto/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(FUZZ_FLAGS) -o $@ \
		$< $(PROTO_SRC) $(APP_SRC) $(LDLIBS_APP) $(LDLIBS_PROTO)

check: $(B)/test-unit $(CHECK_BINS)
	$(B)/test-unit
	@for t in $(CHECK_BINS); do echo "== $$t"; $$t || exit 1; done

test-unit: check

# The ring's two-thread test under ThreadSanitizer.
$(B)/tsan/test-ring: tests/unit/test_ring.c tests/tsan_main.c app/ring/bcn_ring.c app/ring/bcn_ring.h
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE -Iapp/ring -pthread -O1 -g -fsanitize=thread -o $@ \
		tests/unit/test_ring.c tests/tsan_main.c app/ring/bcn_ring.c $(CUNIT_LIBS)

test-tsan: $(B)/tsan/test-ring
	TSAN_OPTIONS=halt_on_error=1 $(B)/tsan/test-ring

# The unit tier once more with the x86 SIMD paths compiled out (-U__SSE2__):
# the portable forms that other CPUs run (the parser's word loops, the UUID
# table decoder; beacon-etl's string scan and UUIDs, via PORTABLE_BINS) must
# build warning-free and give the same results.  (The DPDK driver's tests
# need DPDK's own SSE headers: not in this tier.)
$(B)/portable/test-unit: $(PROTO_SRC) $(APP_SRC) $(UNIT_SRC) $(APP_HDR) $(wildcard app/proto/*.h app/ring/*.h app/conf/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -pthread -O2 -U__SSE2__ -o $@ \
		$(PROTO_SRC) $(APP_SRC) $(UNIT_SRC) $(CUNIT_LIBS) $(LDLIBS_APP) $(LDLIBS_PROTO)

test-portable: $(B)/portable/test-unit $(PORTABLE_BINS)
	$(B)/portable/test-unit
	@for t in $(PORTABLE_BINS); do echo "== $$t"; $$t || exit 1; done

test-asan: $(B)/asan/test-unit $(ASAN_BINS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $(B)/asan/test-unit
	@for t in $(ASAN_BINS); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t || exit 1; done

test-fuzz: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh $(FUZZ_SHORT_SECONDS) $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

test-integration: $(B)/beacon-lint $(B)/kafka-dev $(B)/beacond $(B)/beacon-blast $(B)/asan/beacond $(INTEG_DEPS)
	@sh tests/integration/run.sh

test: deps
	$(MAKE) all
	$(MAKE) test-fuzz
	$(MAKE) test-integration
	$(MAKE) test-tsan
	$(MAKE) test-asan
	$(MAKE) test-portable
	$(MAKE) check

# The benchmark suite: parser, ingest vs rsyslog/nginx, ETL vs kcat|clickhouse-client,
# DPDK, end to end; rewrites perf/RESULTS.md (perf/bench.sh, about 20 minutes).
bench: deps
	$(MAKE) all
	bash perf/bench.sh

# Storage research: ClickHouse vs PostgreSQL at the brief's scale; rewrites
# docs/storage-research.md (perf/research/run.sh, about 17 minutes).
research: deps
	$(MAKE) all
	bash perf/research/run.sh

# The project's main job: the whole pipeline with a synthetic audience, then
# a report (app/tools/stack.sh).  `make up` / `make down` keep it running.
run: deps
	$(MAKE) all
	sh app/tools/stack.sh run

up: deps
	$(MAKE) all
	sh app/tools/stack.sh up

down:
	sh app/tools/stack.sh down

# Diagrams (Graphviz sources in docs/diagrams/, rendered SVG/PNG committed).
docs: docs-config
	sh docs/diagrams/render.sh

# The configuration reference, generated from the config table.
docs-config: $(B)/beacond
	{ head -n 6 docs/beacond-config.md; $(B)/beacond --config-markdown; } > $(B)/beacond-config.md
	mv $(B)/beacond-config.md docs/beacond-config.md

clean:
	rm -rf $(B)

-include $(shell find $(B) -type f -name '*.d' 2>/dev/null)
