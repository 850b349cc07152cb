# liubao — build, demo and tests.  `make demo` and `make check` are the two
# commands the README promises; everything else is a helper for them.

CC      ?= cc
PKGS     = libmicrohttpd jansson libsodium sqlite3 libpq libzip expat libxxhash
# the unit tests also write workbooks with libxlsxwriter, a second xlsx writer
TEST_PKGS = xlsxwriter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -Isrc \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

BUILD   ?= build
SRC      = $(shell find src -name '*.c' | sort)
LIB_SRC  = $(filter-out src/main.c,$(SRC))
OBJ      = $(SRC:%.c=$(BUILD)/%.o)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(shell find tests/unit -name '*.c' | sort)
UNIT_OBJ = $(UNIT_SRC:%.c=$(BUILD)/%.o)
WEB      = $(shell find web -type f | sort)
# generated sources every program links (embedded files, pinyin table)
GEN_OBJ  = $(BUILD)/gen/assets.o $(BUILD)/gen/pinyin.o
# npm files served by the binary too: ECharts for the dashboard (web/dashboard.html)
ECHARTS  = $(wildcard node_modules/echarts/dist/echarts.min.js)
VENDOR   = $(ECHARTS:%=%=/static/vendor/echarts.min.js)
ifeq ($(ECHARTS),)
$(warning node_modules/echarts is missing (run scripts/install-deps): the dashboard will have no charts)
endif

# builds run on every core; `deps` first, alone (it may install the
# compiler's libraries), then the rest through a sub-make with -j
NPROC   := $(shell nproc 2>/dev/null || echo 1)

DEMO_DB ?= demo.db
LISTEN  ?= 127.0.0.1:8080

.PHONY: all deps demo check check-unit check-api clean bench
all: $(BUILD)/liubao

deps:
	@scripts/install-deps

$(BUILD)/gen/assets.c: $(WEB) $(ECHARTS) scripts/embed-assets
	@mkdir -p $(dir $@)
	scripts/embed-assets $@ $(WEB) $(VENDOR)

$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c
	$(CC) $(CFLAGS) -c -o $@ $<

# pinyin initials of every CJK character, from the npm package pinyin-pro
$(BUILD)/gen/pinyin.c: scripts/gen-pinyin node_modules/pinyin-pro/package.json
	@mkdir -p $(dir $@)
	scripts/gen-pinyin $@

$(BUILD)/gen/pinyin.o: $(BUILD)/gen/pinyin.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/liubao: $(OBJ) $(GEN_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(LIB_OBJ) $(UNIT_OBJ) $(GEN_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs $(TEST_PKGS))

# The demo: install what is missing, build, create the demo district if absent, serve it.
# (demo leaves the logins to serve, which lists them: once, not twice.)
demo: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@test -f $(DEMO_DB) || $(BUILD)/liubao demo --db $(DEMO_DB) --no-logins
	$(BUILD)/liubao serve --db $(DEMO_DB) --listen $(LISTEN)

# Every test.  The last line of output is "N passed, N failed".
check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all $(BUILD)/unit-tests asan
	@LIUBAO_ASAN_BUILD=$(ASAN_BUILD) LIUBAO_FUZZ_SECONDS=$(FUZZ_CHECK_SECONDS) \
		tests/run-all $(BUILD)

bench: all
	bench/import.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# ---- sanitizers and fuzzing (issue 9) ---------------------------------------
# `make check-asan` builds liubao and the unit tests with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, -O1) in $(ASAN_BUILD) and runs the unit
# and API tests (SQLite pass) on them; any sanitizer report fails the run.
# The same objects carry libFuzzer's coverage instrumentation, so the fuzz
# targets of tests/fuzz/ link against them: `make fuzz` runs each target for
# FUZZ_SECONDS.  `make check` runs both as extra layers of tests/run-all (the
# fuzz targets for FUZZ_CHECK_SECONDS each), so its closing line counts them.
ASAN_BUILD   ?= build-asan
ASAN_CC      ?= clang
ASAN_CFLAGS   = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link \
                -Wno-missing-field-initializers -Wno-string-concatenation
SAN_CFLAGS   ?=
CFLAGS       += $(SAN_CFLAGS)
FUZZ_SRC      = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS  = $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 8

.PHONY: asan check-asan fuzz
# (runs in a sub-make with BUILD=$(ASAN_BUILD); see the asan target)
$(BUILD)/fuzz/main.o: src/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Dmain=liubao_cli_main -c -o $@ $<

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/harness.o $(LIB_OBJ) \
		 $(BUILD)/fuzz/main.o $(GEN_OBJ)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC=$(ASAN_CC) SAN_CFLAGS="$(ASAN_CFLAGS)" \
		$(ASAN_BUILD)/liubao $(ASAN_BUILD)/unit-tests $(FUZZ_TARGETS:%=$(ASAN_BUILD)/fuzz/%)

check-asan: deps asan
	@LIUBAO_TEST_BACKENDS= LIUBAO_TEST_BROWSER=0 LIUBAO_ASAN_BUILD=$(ASAN_BUILD) \
		tests/run-all $(ASAN_BUILD)

fuzz: deps asan
	@tests/fuzz/run -k $(ASAN_BUILD)/fuzz $(FUZZ_SECONDS)

-include $(OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(FUZZ_SRC:%.c=$(BUILD)/%.d) $(BUILD)/tests/fuzz/harness.d
