# Steward: the two commands (demo, check) and the builds behind them.
BUILD       ?= build
CHECK_BUILD ?= build-check
FUZZ_BUILD  ?= build-fuzz
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build check demo fuzz bench bench-large clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# ASan + UBSan build, every unit and integration test, then each fuzzer
# for a few seconds when clang is available. The optimised builds of demo
# (-O2) and bench (-O3) are compiled too: their warnings, errors here, are
# not the debug build's.
check: deps
	@if command -v clang >/dev/null 2>&1; then \
		CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
			-DSTEWARD_FUZZ=ON >/dev/null && \
		cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers && \
		echo "-DSTEWARD_FUZZ_BIN=$(CURDIR)/$(FUZZ_BUILD)" >$(FUZZ_BUILD).flag; \
	else rm -f $(FUZZ_BUILD).flag; fi
	@cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DSTEWARD_SANITIZE=ON -USTEWARD_FUZZ_BIN \
		$$(cat $(FUZZ_BUILD).flag 2>/dev/null) >/dev/null
	@cmake --build $(CHECK_BUILD) -j $(JOBS)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) >/dev/null
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-release -j $(JOBS) >/dev/null
	@cd $(CHECK_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	@sh scripts/demo.sh $(BUILD)

fuzz:
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
		-DSTEWARD_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@sh scripts/fuzz.sh $(FUZZ_BUILD) 60

# Steward against its peers on this machine, in one run (bench/run.sh);
# bench-large adds the 100,000-connection variants.
bench:
	@sh bench/run.sh

bench-large:
	@BENCH_LARGE=1 sh bench/run.sh

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(FUZZ_BUILD) $(FUZZ_BUILD).flag \
		build-release
