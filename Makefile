# rampart: `make run` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure --timeout 900

.PHONY: all deps build build-asan run test test-release test-asan bench micro-bench fuzz format clean

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
