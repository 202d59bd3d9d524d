# rampart: `make run` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 900

.PHONY: all deps build build-asan run test test-release test-asan crs bench micro-bench fuzz format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

run: build
	@scripts/run-quickstart.sh

test: test-release test-asan

test-release: build
	cd build/release && ctest $(CTEST_FLAGS)

test-asan: build-asan
	cd build/asan && ctest $(CTEST_FLAGS)

# OWASP CRS's whole regression suite against the waf gate (tests/crs/README.md); prints the pass
# rate per rule file. CRS_FLAGS passes more options to run.py (e.g. --min-pass 4500, --json out.json).
CRS_TESTS ?= ../shared/crs/tests/regression/tests
CRS_FLAGS ?=
crs: build
	RAMPART_BIN=$(CURDIR)/build/release/rampart python3 tests/crs/run.py --progress $(CRS_TESTS) $(CRS_FLAGS)

bench: build
	@bench/run.sh

micro-bench: build
	build/release/rampart_micro_bench

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/run-fuzzers.sh

format:
	@find src fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
