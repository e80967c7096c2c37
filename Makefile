# SPDX-License-Identifier: MIT
# Entry points: make run, make test (the README's two commands).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG ?= conf/nightjar.yaml
FUZZ_SECONDS ?= 60

.PHONY: all build deps run test test-build fuzz clean

all: build

deps:
	./scripts/install-deps.sh

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build build -j $(JOBS)

run: deps build
	mkdir -p data
	./build/nightjar --config $(CONFIG)

test-build:
	CC=clang cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug \
	    -DSANITIZE=address,undefined -DENABLE_FUZZ=ON
	cmake --build build-test -j $(JOBS)

test: deps test-build
	cd build-test && ctest --output-on-failure -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS, growing a scratch corpus seeded from the
# committed one (copy interesting finds into tests/fuzz/corpus by hand).
fuzz: test-build
	@set -e; for t in build-test/fuzz_*; do \
	    n=$$(basename $$t | sed 's/^fuzz_//'); \
	    mkdir -p build-test/fuzz-work/$$n; \
	    echo "== $$n ($(FUZZ_SECONDS)s)"; \
	    $$t -max_total_time=$(FUZZ_SECONDS) build-test/fuzz-work/$$n tests/fuzz/corpus/$$n; \
	done

clean:
	rm -rf build build-test
