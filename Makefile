# The two commands of the README: `make demo` and `make test`. Each does all set-up itself.
# `make bench` / `make bench-quick` run the echo benchmark (scripts/bench-echo),
# `make bench-micro` the micro-benchmarks against libuv (scripts/bench),
# `make bench-python` aiocpp's Python loop against asyncio and uvloop (bench/python).
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# The sanitizer build's compiler: Clang 16 builds coroutines under ASan
# (Clang 14 cannot), and a second compiler keeps the code portable.
ASAN_CXX ?= clang++-16
ASAN_CC ?= clang-16

.PHONY: all bootstrap bootstrap-bench build build-tests build-asan build-tsan build-bench demo test test-release \
  test-asan test-tsan \
  bench bench-quick bench-micro bench-python format clean

all: build

bootstrap:
	@./scripts/bootstrap

# What only the benchmarks need (Asio, uvloop, matplotlib, valgrind, strace).
bootstrap-bench:
	@./scripts/bootstrap --bench

# The library (static and shared) and the examples; no tests, no GoogleTest.
build: bootstrap
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

# The tests, with GCC in build/ and with Clang under ASan+UBSan in build-asan/
# (two compilers for the price of the two builds `make test` always made).
build-tests: bootstrap
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIOCPP_BUILD_TESTS=ON \
	  $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

# ThreadSanitizer, built with clang-16 (GCC 12 miscompiles two coroutine
# patterns; see the README): the library and only the suites that cross
# threads (tests/CMakeLists.txt).
build-tsan: bootstrap
	@cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAIOCPP_SANITIZE_THREAD=ON -DAIOCPP_BUILD_TESTS=ON \
	  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 \
	  -DAIOCPP_BUILD_EXAMPLES=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)

build-asan: bootstrap
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAIOCPP_SANITIZE=ON \
	  -DCMAKE_CXX_COMPILER=$(ASAN_CXX) -DCMAKE_C_COMPILER=$(ASAN_CC) \
	  -DAIOCPP_BUILD_TESTS=ON -DAIOCPP_BUILD_EXAMPLES=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)

# Only what scripts/demo runs: the library and the two echo programs.
demo: bootstrap
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS) --target echo_server echo_client
	@./scripts/demo

test: test-release test-asan test-tsan

test-release: build-tests
	@cd build && ctest --output-on-failure -j $(JOBS) --timeout 180

test-asan: build-asan
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 300

# Any report fails the run (halt_on_error).
test-tsan: build-tsan
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 300

build-bench: bootstrap-bench
	@cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DAIOCPP_BUILD_BENCH=ON \
	  -DAIOCPP_BUILD_TESTS=OFF -DAIOCPP_BUILD_EXAMPLES=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-bench -j $(JOBS)

# The echo matrix (about 10 minutes) and a reduced one (under two minutes);
# BENCH_ARGS passes more options, e.g. BENCH_ARGS="--servers aiocpp_protocol,libuv".
bench: build-bench
	@./scripts/bench-echo $(BENCH_ARGS)
	@/usr/bin/python3 bench/python/bench_python.py $(PYBENCH_ARGS)

bench-quick: build-bench
	@./scripts/bench-echo --quick $(BENCH_ARGS)

# The micro-benchmarks; MICRO_ARGS=--quick for a short run.
bench-micro: build-bench
	@./scripts/bench $(MICRO_ARGS)

# The Python loop: micro-benchmarks and Python echo servers on asyncio, uvloop
# and aiocpp (about 3 minutes); PYBENCH_ARGS=--quick for a short run.
bench-python: build-bench
	@/usr/bin/python3 bench/python/bench_python.py $(PYBENCH_ARGS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-bench
