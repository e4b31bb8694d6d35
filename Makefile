# mmlab - build, run, test.
#
#   make          build/libmmlab.a, build/libmmlab.so, build/mmlab
#   make run      build, then run the built-in demo
#   make install  the plain build, the header, mmlab.pc and the man pages
#                 under PREFIX (/usr/local), below DESTDIR if given;
#                 make uninstall removes them (README.md, "Installing")
#   make check-layers  the layer boundaries of docs/ARCHITECTURE.md: includes
#                 between layers, entry bits outside src/arch
#   make V=1      compiler lines whole, not "  CC  file"
#   make test     check-layers, build, then every test: unit and scenario tests and the
#                 `mmlab bench` smoke test (plain and under ASan+UBSan),
#                 make install into a staging directory, used from there,
#                 the --json output validated against docs/schema/,
#                 the --report page in headless Chromium, the pictures' SVG,
#                 progress lines on a pty and off one, vmstat traces and their
#                 plots (gnuplot-nox from scripts/deps.sh plot), bad options refused,
#                 threaded tests under ThreadSanitizer,
#                 the bug zoo, the conformance scenarios on mmlab and on the
#                 host kernel, a short run of each libFuzzer target
#   make fuzz-targets  build/fuzz/fuzz_scenario, build/fuzz/fuzz_ops, their seed
#                 corpora and dictionary, by scripts/oss-fuzz-build.sh (clang
#                 -fsanitize=fuzzer,address,undefined; docs/testing.md)
#   make fuzz-smoke    build them the same way into a temporary $OUT, run
#                 each briefly on its unzipped seed corpus
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
# Graphviz's library renders the pictures (src/view/render.c)
GV_LIBS := -lgvc -lcgraph -lcdt
LDLIBS  += $(RCU_LIB) -luring -pthread $(GV_LIBS)

# The library's version is the header's; the shared library's soname
# carries its first number, which changes when the ABI breaks.
VERSION := $(shell sed -n 's/^.define MMLAB_VERSION "\(.*\)"$$/\1/p' include/mmlab.h)
SONAME  := libmmlab.so.$(firstword $(subst ., ,$(VERSION)))
ifeq ($(VERSION),)
$(error include/mmlab.h defines no MMLAB_VERSION)
endif

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

.PHONY: all deps run install uninstall test check-layers variant-lib variant-test-unit \
        variant-test-threads variant-test-scenarios variant-test-bench clean fuzz-targets \
        fuzz-smoke host-findings

all: deps
	@$(MAKE) --no-print-directory VARIANT=plain variant-lib

deps:
	@sh scripts/deps.sh

run: all
	./build/mmlab run

# Installing the plain build, GNU-style: each directory may be given on
# the command line, and DESTDIR is put before every path (a staging tree
# for a package).  install builds what is out of date first, as `run`
# does: after `make`, `sudo make install` writes nothing into build/.
# Not stripped: mml_sched_trace and the failure reports of deterministic
# runs name source lines from the debug information.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANPAGES     := man/mmlab.1 man/mmlab.3 man/mmlab-scenario.5
# $(call man_dir,man/PAGE.N): where the page goes, man/manN
man_dir = $(MANDIR)/man$(subst .,,$(suffix $(1)))
INSTALLED    := $(BINDIR)/mmlab $(INCLUDEDIR)/mmlab.h $(PKGCONFIGDIR)/mmlab.pc \
                $(addprefix $(LIBDIR)/,libmmlab.a libmmlab.so.$(VERSION) $(SONAME) libmmlab.so) \
                $(foreach p,$(MANPAGES),$(call man_dir,$(p))/$(notdir $(p)))
# A new shared library in a system directory is found once ld.so's
# cache knows it; a staged install (DESTDIR) is the packager's to cache.
LDCONFIG     ?= ldconfig
ldconfig      = @if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(LDCONFIG); fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(sort $(foreach p,$(MANPAGES),$(DESTDIR)$(call man_dir,$(p))))
	install -m 755 build/mmlab $(DESTDIR)$(BINDIR)/mmlab
	install -m 644 build/libmmlab.a $(DESTDIR)$(LIBDIR)/libmmlab.a
	install -m 644 build/libmmlab.so $(DESTDIR)$(LIBDIR)/libmmlab.so.$(VERSION)
	ln -sf libmmlab.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libmmlab.so
	install -m 644 include/mmlab.h $(DESTDIR)$(INCLUDEDIR)/mmlab.h
	sed -e 's|@prefix@|$(PREFIX)|' \
	    -e 's|@libdir@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@includedir@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@version@|$(VERSION)|' mmlab.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/mmlab.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/mmlab.pc
	$(foreach p,$(MANPAGES),install -m 644 $(p) $(DESTDIR)$(call man_dir,$(p))/$(notdir $(p)) &&) true
	$(ldconfig)

# What install put there, and nothing else: the directories may hold
# other programs' files.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	$(ldconfig)

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
	$(call suite,install,MAKE="$(MAKE)" sh tests/install.sh)
	$(call suite,json,sh tests/json.sh build/mmlab)
	$(call suite,report,sh tests/report.sh build/mmlab)
	$(call suite,progress lines,sh tests/progress.sh build/mmlab)
	$(call suite,vmstat plots,sh tests/plot.sh build/mmlab)
	$(call suite,command line,sh tests/cli.sh build/mmlab)
	$(call suite,fault-injection reproducer,sh tests/fail-repro.sh build/mmlab)
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

# liburcu-bp's reader, a thread-local of a library every mmlab program
# loads at start, is read inline by rcu.c without a __tls_get_addr call.
# Not under the sanitizers: liburcu allocates its readers less aligned
# than its header declares them, which UBSan reports in the inline code.
ifeq ($(VARIANT),plain)
$(BUILD)/obj/src/sync/rcu.o: CFLAGS += -DMML_RCU_INLINE -ftls-model=initial-exec
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call quiet,CC,$(BUILD)/obj/$*.o)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/libmmlab.a: $(LIB_OBJS)
	@rm -f $@
	$(call quiet,AR,$@)
	$(Q)ar rcs $@ $^

# The shared library exports the calls include/mmlab.h declares and
# nothing else: the core's own global names (current, mutex_lock,
# find_vma ...) would otherwise be bound to a program's functions of the
# same name.  Relinked when the Makefile changes, for the soname; the
# link by that name lets a program linked here run with
# LD_LIBRARY_PATH=build.
$(BUILD)/libmmlab.so: $(LIB_OBJS) $(BUILD)/libmmlab.map Makefile
	$(call quiet,LD,$@)
	$(Q)$(CC) -shared $(CFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script,$(BUILD)/libmmlab.map \
		-o $@ $(LIB_OBJS) $(LDLIBS)
	@ln -sf libmmlab.so $(BUILD)/$(SONAME)

$(BUILD)/libmmlab.map: include/mmlab.h
	@mkdir -p $(dir $@)
	$(call quiet,GEN,$@)
	$(Q)$(CC) -E -P $< >$@.i
	$(Q){ echo '{ global:'; grep -o '\<mml_[a-z0-9_]*[[:space:]]*(' $@.i | tr -d '( \t' | sort -u | \
		sed 's/.*/\t&;/'; echo 'local: *; };'; } >$@
	@rm -f $@.i

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

# libFuzzer targets, built by the script OSS-Fuzz and ClusterFuzzLite run
# (scripts/oss-fuzz-build.sh), with the variables they set: clang, the
# library instrumented for coverage under ASan+UBSan, libFuzzer as the
# engine.  Its objects are kept in build/fuzz/work between runs.
# fuzz-smoke (fuzz/smoke.sh) builds into a fresh $OUT, as OSS-Fuzz does,
# and runs each target from there with its seed corpus and dictionary.
FUZZ_DIR    := build/fuzz
FUZZ_ENV    := CC=clang LIB_FUZZING_ENGINE=-fsanitize=fuzzer WORK=$(FUZZ_DIR)/work \
               CFLAGS="-O1 -g -fno-omit-frame-pointer $(WARN) -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"

fuzz-targets: deps
	@$(FUZZ_ENV) OUT=$(FUZZ_DIR) sh scripts/oss-fuzz-build.sh

fuzz-smoke: deps
	@$(FUZZ_ENV) sh fuzz/smoke.sh $(FUZZ_DIR)

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
