# etl/module.mk - beacon-etl's build rules, included by the top-level
# Makefile (its "Module hooks").  Owns: build/beacon-etl, build/test-etl
# (CUnit), build/asan/test-etl, build/fuzz/fuzz_etl_route, build/fuzz/fuzz_etl_rowbin,
# build/fuzz/fuzz_etl_sort.
ETL_SRC     := $(filter-out etl/main.c,$(wildcard etl/*.c))
ETL_OBJ     := $(ETL_SRC:%.c=$(B)/%.o)
ETL_HDR     := $(wildcard etl/*.h)
# beacond's HTTP engine and text buffer, for /metrics (no other app code)
ETL_APP_SRC := drivers/socket/bcn_http.c app/core/bcn_mbuf.c app/core/bcn_ops.c
ETL_APP_OBJ := $(ETL_APP_SRC:%.c=$(B)/%.o)
# libpq (the PostgreSQL state sink, bcn_etl_pg.c): Debian's libpq-dev
ETL_INCS    := -Ietl -I/usr/include/postgresql
ETL_LIBS    := -lrdkafka -lcurl -lpq -lhttp_parser -lm
ETL_UNIT    := $(wildcard tests/unit/etl/*.c)

$(B)/etl/%.o $(B)/tests/unit/etl/%.o: CFLAGS += $(ETL_INCS)
$(B)/etl/main.o $(B)/etl/bcn_etl_metrics.o: CFLAGS += -DBCN_VERSION='"$(BCN_VERSION)"'

$(B)/beacon-etl: $(B)/etl/main.o $(ETL_OBJ) $(ETL_APP_OBJ) $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(ETL_LIBS) $(LDLIBS_PROTO) -ljemalloc

$(B)/test-etl: $(ETL_UNIT:%.c=$(B)/%.o) $(ETL_OBJ) $(ETL_APP_OBJ) $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(CUNIT_LIBS) $(ETL_LIBS) $(LDLIBS_PROTO)

$(B)/asan/test-etl: $(ETL_UNIT) $(ETL_SRC) $(ETL_HDR) $(ETL_APP_SRC) $(PROTO_SRC) $(wildcard tests/unit/etl/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(ETL_INCS) -pthread $(SAN_FLAGS) -o $@ \
		$(ETL_UNIT) $(ETL_SRC) $(ETL_APP_SRC) $(PROTO_SRC) $(CUNIT_LIBS) $(ETL_LIBS) $(LDLIBS_PROTO)

# The record router and ClickHouse's error parser under libFuzzer (the
# generic build/fuzz/% rule links only app sources).
$(B)/fuzz/fuzz_etl_route: tests/fuzz/fuzz_etl_route.c etl/bcn_etl_route.c etl/bcn_ch_err.c $(ETL_HDR) $(PROTO_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(ETL_INCS) $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_etl_route.c etl/bcn_etl_route.c etl/bcn_ch_err.c $(PROTO_SRC) $(LDLIBS_PROTO)

MODULE_ALL += $(B)/beacon-etl
CHECK_BINS += $(B)/test-etl
ASAN_BINS  += $(B)/asan/test-etl
PORTABLE_BINS += $(B)/portable/test-etl
INTEG_DEPS += $(B)/beacon-etl

# The ETL's unit tests with its SSE2 paths (route's string scan, the UUID
# parser) compiled out: the portable forms must give the same results.
$(B)/portable/test-etl: $(ETL_UNIT) $(ETL_SRC) $(ETL_HDR) $(ETL_APP_SRC) $(PROTO_SRC) $(wildcard tests/unit/etl/*.h app/proto/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(ETL_INCS) -pthread -O2 -U__SSE2__ -o $@ \
		$(ETL_UNIT) $(ETL_SRC) $(ETL_APP_SRC) $(PROTO_SRC) $(CUNIT_LIBS) $(ETL_LIBS) $(LDLIBS_PROTO)

# The RowBinary encoder against its jsmn reference and an independent
# decoding, and the DESCRIBE parser, under libFuzzer.
$(B)/fuzz/fuzz_etl_rowbin: tests/fuzz/fuzz_etl_rowbin.c etl/bcn_etl_rowbin.c etl/bcn_etl_route.c $(ETL_HDR) $(PROTO_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(ETL_INCS) $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_etl_rowbin.c etl/bcn_etl_rowbin.c etl/bcn_etl_route.c $(PROTO_SRC) $(LDLIBS_PROTO)

# The row sort (sort plans and bcn_sort_rows against a reference order)
# under libFuzzer.
$(B)/fuzz/fuzz_etl_sort: tests/fuzz/fuzz_etl_sort.c etl/bcn_etl_sort.c etl/bcn_etl_rowbin.c etl/bcn_etl_route.c $(ETL_HDR) $(PROTO_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(ETL_INCS) $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_etl_sort.c etl/bcn_etl_sort.c etl/bcn_etl_rowbin.c etl/bcn_etl_route.c $(PROTO_SRC) $(LDLIBS_PROTO)

# The stream thread's own per-record work (route + RowBinary), perf/RESULTS.md.
$(B)/etl-rb-bench: $(B)/perf/etl_rb_bench.o $(B)/etl/bcn_etl_route.o $(B)/etl/bcn_etl_rowbin.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_PROTO)
$(B)/perf/etl_rb_bench.o: CFLAGS += $(ETL_INCS)
MODULE_ALL += $(B)/etl-rb-bench

# The inserter thread's row sort (perf/RESULTS.md, "Rows sorted before they are sent").
$(B)/etl-sort-bench: $(B)/perf/etl_sort_bench.o $(B)/etl/bcn_etl_sort.o $(B)/etl/bcn_etl_route.o $(B)/etl/bcn_etl_rowbin.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_PROTO)
$(B)/perf/etl_sort_bench.o: CFLAGS += $(ETL_INCS)
MODULE_ALL += $(B)/etl-sort-bench
