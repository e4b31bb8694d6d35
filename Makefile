# mmlab - build, run, test.
#
#   make          build/libmmlab.a, build/libmmlab.so, build/mmlab
#   make run      build, then run the built-in demo
#   make check-layers  the layer boundaries of docs/ARCHITECTURE.md: includes
#                 between layers, entry bits outside src/arch
#   make V=1      compiler lines whole, not "  CC  file"
#   make test     check-layers, build, then every test: unit and scenario tests and the
#                 `mmlab bench` smoke test (plain and under ASan+UBSan),
#                 threaded tests under ThreadSanitizer,
#                 the bug zoo, the conformance scenarios on mmlab and on the
#                 host kernel, a short run of each libFuzzer target
#   make fuzz-targets  build/fuzz/fuzz_scenario, build/fuzz/fuzz_ops (clang
#                 -fsanitize=fuzzer,address,undefined; docs/testing.md)
#   make fuzz-smoke    build them, run each briefly on a copy of its corpus
#
# Variants are built in their own directories by re-invoking make with
# VARIANT=plain|asan|tsan.

VARIANT ?= plain
CC      ?= cc
ifeq ($(CC),cc)
CC := gcc
endif

WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
           -Wno-sign-compare
CSTD    := -std=gnu11
INCS    := -Iinclude -Isrc
DEPFLAGS = -MMD -MP

ifeq ($(VARIANT),plain)
BUILD   := build
OPT     := -O2 -g -fPIC
SANFL   :=
RCU_LIB := -lurcu-bp
endif
ifeq ($(VARIANT),asan)
BUILD   := build/asan
OPT     := -O1 -g -fno-omit-frame-pointer
SANFL   := -fsanitize=address,undefined -fno-sanitize-recover=undefined
RCU_LIB := -lurcu-bp
endif
ifeq ($(VARIANT),tsan)
BUILD   := build/tsan
CC      := clang
OPT     := -O1 -g -fno-omit-frame-pointer -DMML_RCU_RWLOCK
SANFL   := -fsanitize=thread
RCU_LIB :=
endif

CFLAGS  += $(CSTD) $(OPT) $(WARN) $(INCS) $(SANFL) -pthread
LDLIBS  += $(RCU_LIB) -luring -pthread

LIB_SRCS  := $(sort $(wildcard src/*/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
THR_SRCS  := $(sort $(wildcard tests/threads/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
THR_BINS  := $(THR_SRCS:tests/threads/%.c=$(BUILD)/tests/%)
# Unit tests with threads racing on purpose: under ThreadSanitizer as well.
TSAN_UNIT_BINS := $(BUILD)/tests/test_xarray $(BUILD)/tests/test_uffd $(BUILD)/tests/test_sched \
                  $(BUILD)/tests/test_scenario_threads
SCENARIOS := $(sort $(wildcard tests/scenarios/*.scn))
CONFORMANCE := $(sort $(wildcard tests/conformance/*.scn))

.PHONY: all deps run test check-layers variant-lib variant-test-unit variant-test-threads \
        variant-test-scenarios variant-test-bench clean fuzz-targets fuzz-smoke \
        host-findings

all: deps
	@$(MAKE) --no-print-directory VARIANT=plain variant-lib

deps:
	@sh scripts/deps.sh

run: all
	./build/mmlab run

# Every runner appends "passed failed" to this file; the last line of
# `make test` is the total over all suites.  A suite that fails (or does
# not build) is noted in the second, and the next suite runs all the same.
export MMLAB_SUMMARY := $(CURDIR)/build/test-summary
MMLAB_FAILED := $(CURDIR)/build/test-failed-suites

# Compiler lines are short ("  CC  file"), as the kernel's build prints
# them; `make V=1` shows them whole.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @echo "  $(1)	$(2)"
endif

check-layers:
	@sh scripts/check-layers.sh

# $(call suite,NAME,COMMAND): one suite of `make test`, timed; a failure
# is noted, not fatal.
suite = @start=$$(date +%s); $(2) || echo "$(1)" >>$(MMLAB_FAILED); \
	echo "-- $(1): $$(($$(date +%s) - start)) s"

test: deps check-layers
	@mkdir -p build && rm -f $(MMLAB_SUMMARY) $(MMLAB_FAILED)
	$(call suite,plain build,$(MAKE) --no-print-directory VARIANT=plain variant-lib)
	$(call suite,plain tests,$(MAKE) --no-print-directory VARIANT=plain variant-test-unit variant-test-scenarios variant-test-bench)
	$(call suite,README example,sh tests/readme-example.sh)
	$(call suite,asan build,$(MAKE) --no-print-directory VARIANT=asan variant-lib)
	$(call suite,asan tests,$(MAKE) --no-print-directory VARIANT=asan variant-test-unit variant-test-scenarios variant-test-bench)
	$(call suite,tsan build,$(MAKE) --no-print-directory VARIANT=tsan variant-lib)
	$(call suite,tsan threads,$(MAKE) --no-print-directory VARIANT=tsan variant-test-threads)
	$(call suite,bug zoo,sh tests/zoo.sh build/mmlab)
	$(call suite,conformance,sh tests/run-conformance.sh build/mmlab $(CONFORMANCE))
	$(call suite,fuzz smoke,$(MAKE) --no-print-directory fuzz-smoke)
	$(call suite,host findings,$(MAKE) --no-print-directory host-findings)
	@awk '{ p += $$1; f += $$2 } END { printf "%d passed, %d failed\n", p, f }' $(MMLAB_SUMMARY) 2>/dev/null
	@if [ -s $(MMLAB_FAILED) ]; then echo "make test: failed suites:"; sed 's/^/  /' $(MMLAB_FAILED); exit 1; fi
	@awk '{ f += $$2 } END { exit f != 0 }' $(MMLAB_SUMMARY) && echo "make test: all suites passed"

variant-lib: $(BUILD)/libmmlab.a $(BUILD)/mmlab $(if $(filter plain,$(VARIANT)),$(BUILD)/libmmlab.so)

# The tests' objects are intermediates to make: kept, so that a second
# `make test` compiles nothing it compiled before.
.SECONDARY:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$(BUILD)/obj/$*.o)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libmmlab.a: $(LIB_OBJS)
	@rm -f $@
	$(call quiet,AR,$@)
	$(Q)ar rcs $@ $^

$(BUILD)/libmmlab.so: $(LIB_OBJS)
	$(call quiet,LD,$@)
	$(Q)$(CC) -shared $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mmlab: $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/libmmlab.a
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libmmlab.a $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/harness.o $(BUILD)/libmmlab.a
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libmmlab.a $(LDLIBS)

$(BUILD)/tests/thr_%: $(BUILD)/obj/tests/threads/thr_%.o $(BUILD)/obj/tests/harness.o $(BUILD)/libmmlab.a
	@mkdir -p $(dir $@)
	$(call quiet,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libmmlab.a $(LDLIBS)

variant-test-unit: $(UNIT_BINS)
	@sh tests/run-bins.sh "$(VARIANT) unit" $(UNIT_BINS)

variant-test-threads: $(THR_BINS) $(TSAN_UNIT_BINS)
	@sh tests/run-bins.sh "$(VARIANT) threads" $(THR_BINS) $(TSAN_UNIT_BINS)

variant-test-scenarios: $(BUILD)/mmlab
	@sh tests/run-scenarios.sh $(BUILD)/mmlab "$(VARIANT)" $(SCENARIOS)

# `mmlab bench` at a tiny size: it runs, checks and prints; never a timing
variant-test-bench: $(BUILD)/mmlab
	@sh tests/bench.sh $(BUILD)/mmlab "$(VARIANT)"

# libFuzzer targets.  The library is compiled again with the same flags
# as the targets (coverage for the fuzzer, ASan+UBSan), into an archive of
# its own so that a target pulls in only what it uses.  The default RCU
# (liburcu-bp) as in the plain and ASan builds; only TSan needs the rwlock.
FUZZ_DIR    := build/fuzz
FUZZ_CC     := clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := $(CSTD) -O1 -g -fno-omit-frame-pointer $(WARN) $(INCS) $(FUZZ_SAN) \
               -fsanitize=fuzzer-no-link -pthread
FUZZ_OBJS   := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRCS   := $(sort $(wildcard fuzz/*.c))
FUZZ_BINS   := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_DIR)/%)

fuzz-targets: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/libmmlab.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(FUZZ_DIR)/libmmlab.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libmmlab.a -lurcu-bp -pthread

fuzz-smoke: fuzz-targets
	@sh fuzz/smoke.sh $(FUZZ_DIR) $(FUZZ_BINS)

# What the host kernel does where mmlab deviates from Linux on purpose
# (docs/deviations.md): printed, not judged, since it is the host's.
HOST_FINDINGS := $(patsubst tests/native/%.c,build/native/%,$(wildcard tests/native/*.c))

build/native/%: tests/native/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $<

host-findings: $(HOST_FINDINGS)
	@echo "== host findings =="
	@for f in $(HOST_FINDINGS); do $$f || echo "$$f: could not be set up here (skipped)"; done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
