# app/api/module.mk - beacon-api's build rules (the read API, issue 10),
# included by the top-level Makefile (its "Module hooks").  Owns:
# build/beacon-api, build/test-api (CUnit), build/asan/test-api,
# build/fuzz/fuzz_api_route and build/api-load (perf/api_load.c, the paced
# load generator of perf/bench_api.sh).
API_SRC     := $(filter-out app/api/bcn_api_main.c,$(wildcard app/api/*.c))
API_OBJ     := $(API_SRC:%.c=$(B)/%.o)
API_HDR     := $(wildcard app/api/*.h)
# beacond's HTTP engine and text buffer (no other beacond code); the JWT
# verifier, config table and UUID helpers come from libbcnproto.a
API_APP_SRC := drivers/socket/bcn_http.c app/core/bcn_mbuf.c app/core/bcn_ops.c
API_APP_OBJ := $(API_APP_SRC:%.c=$(B)/%.o)
API_INCS    := -Iapp/api -I/usr/include/postgresql
API_LIBS    := -lpq -lhttp_parser
API_UNIT    := $(wildcard tests/unit/api/*.c)

$(B)/app/api/%.o $(B)/tests/unit/api/%.o: CFLAGS += $(API_INCS)
$(B)/app/api/bcn_api_main.o $(B)/app/api/bcn_api_ops.o: CFLAGS += -DBCN_VERSION='"$(BCN_VERSION)"'

$(B)/beacon-api: $(B)/app/api/bcn_api_main.o $(API_OBJ) $(API_APP_OBJ) $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(API_LIBS) $(LDLIBS_PROTO) -ljemalloc

$(B)/test-api: $(API_UNIT:%.c=$(B)/%.o) $(API_OBJ) $(API_APP_OBJ) $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(CUNIT_LIBS) $(API_LIBS) $(LDLIBS_PROTO)

$(B)/asan/test-api: $(API_UNIT) $(API_SRC) $(API_HDR) $(API_APP_SRC) $(PROTO_SRC) $(wildcard tests/unit/api/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(API_INCS) -pthread $(SAN_FLAGS) -o $@ \
		$(API_UNIT) $(API_SRC) $(API_APP_SRC) $(PROTO_SRC) $(CUNIT_LIBS) $(API_LIBS) $(LDLIBS_PROTO)

# The router, its parsers and the JSON escaper under libFuzzer (the generic
# build/fuzz/% rule links only beacond's sources).
API_FUZZ_SRC := app/api/bcn_api_route.c app/api/bcn_api_json.c app/core/bcn_mbuf.c
$(B)/fuzz/fuzz_api_route: tests/fuzz/fuzz_api_route.c $(API_FUZZ_SRC) $(API_HDR) $(PROTO_SRC)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) $(API_INCS) $(FUZZ_FLAGS) -o $@ \
		tests/fuzz/fuzz_api_route.c $(API_FUZZ_SRC) $(PROTO_SRC) $(LDLIBS_PROTO)

# The paced (open-loop) HTTP load generator of perf/bench_api.sh.
$(B)/api-load: $(B)/perf/api_load.o
	$(CC) $(CFLAGS) -o $@ $^ -lm

MODULE_ALL += $(B)/beacon-api $(B)/api-load
CHECK_BINS += $(B)/test-api
ASAN_BINS  += $(B)/asan/test-api
INTEG_DEPS += $(B)/beacon-api $(B)/beacon-lint
