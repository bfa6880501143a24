# The two commands a newcomer needs (see README.md):
#   make demo   install dependencies, build, generate a synthetic data set and run the tour
#   make test   install dependencies, build (normal + ASan/UBSan + TSan), run every test, the
#               unit and end-to-end tests again under valgrind, the ThreadSanitizer job
#               (scripts/tsan.sh), short fuzz runs
JOBS ?= 2
DEMO_DIR ?= demo-data
DEMO_PATIENTS ?= 20000

.PHONY: all deps build build-asan build-tsan test test-release test-asan test-tsan valgrind fuzz format format-check lint demo bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOB_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)

# ThreadSanitizer (gcc's -fsanitize=thread): the unit tests, the log benchmark briefly and
# a short mixed load on the server with SIGHUP and SIGTERM (scripts/tsan.sh, ~3 minutes)
build-tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOB_TSAN=ON >/dev/null
	@cmake --build build-tsan -j$(JOBS)

test-tsan: build-tsan
	@bash scripts/tsan.sh build-tsan

test-release: build
	cd build && ctest --output-on-failure -j$(JOBS)

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j$(JOBS)

valgrind: build
	@bash scripts/valgrind.sh build

fuzz: deps
	@bash scripts/fuzz.sh

format-check:
	@bash scripts/check-source.sh

test: format-check test-release test-asan test-tsan valgrind fuzz
	@echo "make test: all suites passed"

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'bench/*.c' 'fuzz/*.c')

# the demo needs the overblik binary only: built quietly (a line of progress, the compiler's
# output only when it fails), no tests, no benchmarks (issue 25: a newcomer's first minutes)
demo: deps
	@echo "make demo: building overblik (the first time takes a minute) ..."
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j$(JOBS) --target overblik >build-demo.log 2>&1 || \
	  { cat build-demo.log; echo "make demo: the build failed (above)"; exit 1; }
	@rm -f build-demo.log
	@echo "make demo: built build/overblik"
	@bash scripts/demo.sh "$(DEMO_DIR)" "$(DEMO_PATIENTS)"

bench: build
	@bash bench/run.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz
