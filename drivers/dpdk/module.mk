# drivers/dpdk/module.mk - the DPDK fast-path driver (included by the
# top-level Makefile's "Module hooks").
#
# beacond gets the driver when libdpdk is installed (pkg-config libdpdk;
# `make deps` installs libdpdk-dev).  Only the driver's own object is
# compiled with DPDK's cflags (they carry -march and -include rte_config.h);
# the packet classifier (bcn_pkt.h) and the config-string parser
# (bcn_dpdk_conf.c) are DPDK-free, so their unit tests (build/test-dpdk,
# also under ASan+UBSan) and the fuzz target (tests/fuzz/fuzz_dpdk_pkt.c,
# built by the generic fuzz rule) need no DPDK.  The ASan beacond stays
# without DPDK.
#   build/bench-dpdk   perf harness: the driver + workers + a null sink
#                      instead of Kafka (perf/bench_dpdk.sh)
#   build/memif-gen    perf traffic generator on net_memif (client, or server for a zero-copy worker)

DPDK_DIR      := drivers/dpdk
DPDK_PRESENT  := $(shell pkg-config --exists libdpdk 2>/dev/null && echo yes)
DPDK_CF       := $(if $(DPDK_PRESENT),$(shell pkg-config --cflags libdpdk 2>/dev/null))
DPDK_LF       := $(if $(DPDK_PRESENT),$(shell pkg-config --libs libdpdk 2>/dev/null))

DPDK_CONF_OBJ := $(B)/$(DPDK_DIR)/bcn_dpdk_conf.o
DPDK_DRV_OBJ  := $(B)/$(DPDK_DIR)/bcn_dpdk.o
DPDK_UNIT_SRC := $(wildcard tests/unit/dpdk/*.c)

$(B)/$(DPDK_DIR)/%.o: CFLAGS += -I$(DPDK_DIR)

# The unit tests of the classifier, the config strings and bcn_cfg_check's
# [dpdk] rules (no DPDK needed).
CHECK_BINS += $(B)/test-dpdk
ASAN_BINS  += $(B)/asan/test-dpdk

$(B)/test-dpdk: $(DPDK_UNIT_SRC:%.c=$(B)/%.o) $(DPDK_CONF_OBJ) $(B)/app/core/bcn_cfg.o $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(CUNIT_LIBS) $(LDLIBS_PROTO)
$(B)/tests/unit/dpdk/%.o: CFLAGS += -I$(DPDK_DIR)

$(B)/asan/test-dpdk: $(DPDK_UNIT_SRC) $(DPDK_DIR)/bcn_dpdk_conf.c $(wildcard $(DPDK_DIR)/*.h) \
		app/core/bcn_cfg.c app/core/bcn_cfg.h app/conf/bcn_conf.c
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -I$(DPDK_DIR) -pthread $(SAN_FLAGS) -o $@ \
		$(DPDK_UNIT_SRC) $(DPDK_DIR)/bcn_dpdk_conf.c app/core/bcn_cfg.c app/conf/bcn_conf.c \
		$(CUNIT_LIBS) -linih

ifeq ($(DPDK_PRESENT),yes)
BEACOND_OBJ  += $(DPDK_DRV_OBJ) $(DPDK_CONF_OBJ)
BEACOND_LIBS += $(DPDK_LF)
BEACOND_DEFS += -DBCN_HAVE_DPDK
MODULE_ALL   += $(B)/bench-dpdk $(B)/memif-gen
INTEG_DEPS   += $(B)/beacond

$(DPDK_DRV_OBJ): CFLAGS += $(DPDK_CF)

$(B)/perf/bench_dpdk.o $(B)/perf/memif_gen.o: CFLAGS += $(DPDK_CF) -I$(DPDK_DIR)

# beacond's workers, rings and the DPDK driver with a null sink in place of
# the Kafka slow path: the fast path's beacons/s per lcore.
$(B)/bench-dpdk: $(B)/perf/bench_dpdk.o $(DPDK_DRV_OBJ) $(DPDK_CONF_OBJ) $(B)/libbcnapp.a $(B)/libbcnproto.a
	$(CC) $(CFLAGS) -o $@ $^ $(DPDK_LF) $(LDLIBS_APP) $(LDLIBS_PROTO)

$(B)/memif-gen: $(B)/perf/memif_gen.o
	$(CC) $(CFLAGS) -o $@ $^ $(DPDK_LF)

# beacond WITH the DPDK driver under ASan+UBSan+LeakSanitizer, for
# tests/integration/test_dpdk_asan.sh (build/asan/beacond stays DPDK-free).
INTEG_DEPS += $(B)/asan/beacond-dpdk
$(B)/asan/beacond-dpdk: app/beacond/main.c $(PROTO_SRC) $(APP_SRC) $(wildcard $(DPDK_DIR)/*.c) \
		$(APP_HDR) $(wildcard $(DPDK_DIR)/*.h app/proto/*.h app/ring/*.h app/conf/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCS) -I$(DPDK_DIR) -pthread $(SAN_FLAGS) \
		-DBCN_HAVE_DPDK $(DPDK_CF) -DBCN_VERSION='"$(BCN_VERSION)-asan"' -o $@ \
		app/beacond/main.c $(PROTO_SRC) $(APP_SRC) $(wildcard $(DPDK_DIR)/*.c) \
		$(DPDK_LF) $(LDLIBS_APP) $(LDLIBS_PROTO)
endif

# The driver table (drivers/bcn_driver.c) lists dpdk only when compiled with
# BEACOND_DEFS: rebuild it when this file (or libdpdk's presence) changes.
$(B)/drivers/bcn_driver.o: drivers/dpdk/module.mk $(B)/$(DPDK_DIR)/.present-$(if $(DPDK_PRESENT),yes,no)
$(B)/$(DPDK_DIR)/.present-%:
	@mkdir -p $(dir $@)
	@rm -f $(B)/$(DPDK_DIR)/.present-*
	@touch $@

# The fuzz target includes the classifier; the generic fuzz rule does not
# know that header.
$(B)/fuzz/fuzz_dpdk_pkt: $(DPDK_DIR)/bcn_pkt.h
