# restyle: build, test and try it out.
#
#   make setup   system packages, VGG19 weights and demo images (scripts/setup.sh)
#   make build   setup, then a release build
#   make test    build, then the tests (serially), with the weights in RESTYLE_HOME
#   make demo    build, then the TUI on the demo pair ($(DEMO_CONTENT) × $(DEMO_STYLE))
#   make demo-run  the same pair headless, into restyle-out/demo.png
#   make bench   build, then `restyle bench` at 256², 512² and 1024² (1 thread and all cores)
#   make test-slurm  restyle batch under a real one-node Slurm on this machine (installs slurm-wlm and
#                munge; scripts/test-slurm.sh; opt-in, a few minutes)
#   make bench-tui  key latency and terminal bytes/s of the TUI (scripts/bench-tui.py)
#   make test-xterm  the sixel preview end to end in xterm -ti vt340 under Xvfb, screenshots
#                compared with the PNG (scripts/xterm_preview.py; installs xterm, xvfb, imagemagick)
#   make test-sanitize  the thread-sensitive tests under ThreadSanitizer, the image tests under
#                AddressSanitizer (debug builds in .build-tsan/ and .build-asan/; slow, opt-in)
#   make fuzz    every fuzz target below, $(FUZZ_SECONDS)s each; what fails goes to Tests/Fuzz/TARGET/
#   make fuzz-image  libFuzzer on the PNG/JPEG decoders (scripts/fuzz.sh)
#   make fuzz-png-roundtrip  libFuzzer on PNG encode, then decode and text read back
#   make fuzz-session  libFuzzer on the session reader (fuzz/swift, scripts/fuzz-swift.sh);
#                fuzz-session-resume (the whole resume), fuzz-safetensors, fuzz-theme, fuzz-preset likewise
#   make clean   remove build products (.build, .build-fuzz with its corpus) and restyle-out/
#
# RESTYLE_HOME (where weights and demo images live) defaults like setup.sh's:
# ${XDG_CACHE_HOME:-$HOME/.cache}/restyle. Set it in the environment or on the
# command line (make test RESTYLE_HOME=/tmp/w) to use another one.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

# Empty counts as unset, as with ${VAR:-default} in setup.sh; `override` so a
# RESTYLE_HOME= given empty on the command line falls back too.
ifeq ($(strip $(RESTYLE_HOME)),)
override RESTYLE_HOME := $(or $(strip $(XDG_CACHE_HOME)),$(HOME)/.cache)/restyle
endif
export RESTYLE_HOME

SWIFT ?= swift
CONFIG := release
BIN := .build/$(CONFIG)/restyle
# Extra flags, e.g. make test SWIFT_TEST_FLAGS='--filter CoreTests'.
# One release build serves the binary and the tests: `--build-tests` compiles
# everything once with testability on, and `swift test --skip-build` reuses it
# (a plain `swift test -c release` would compile every module a second time).
SWIFT_BUILD_FLAGS ?=
SWIFT_TEST_FLAGS ?=

DEMO_DIR = $(RESTYLE_HOME)/demo
DEMO_CONTENT ?= astronaut.png
DEMO_STYLE ?= hubble_deep_field.jpg
DEMO_SIZE ?= 256
OUT_DIR := restyle-out
# Seconds per fuzz target; make fuzz FUZZ_SECONDS=0 only replays the corpus.
FUZZ_SECONDS ?= 120

.PHONY: all setup build test test-slurm test-sanitize demo demo-run bench bench-tui fuzz fuzz-image fuzz-png-roundtrip clean

all: build

setup:
	bash scripts/setup.sh

build: setup
	$(SWIFT) build -c $(CONFIG) --build-tests -Xswiftc -enable-testing $(SWIFT_BUILD_FLAGS)

# Serial on purpose (no --parallel): 2 cores, and the engine's tests are
# compute-heavy already.
test: build
	$(SWIFT) test -c $(CONFIG) --skip-build $(SWIFT_TEST_FLAGS)

# A 4-task Slurm array over a small job list, one task cancelled midway and the array resubmitted:
# every output made exactly once, the cancelled job resumed from its session (scripts/test-slurm.sh).
test-slurm: build
	bash scripts/test-slurm.sh $(BIN)

# Sanitizers: debug builds of their own (the sanitizer runtimes need every module instrumented).
# TSan runs the tests that exercise threads: the engine shell (upscale while reading images, saves
# from three places), sessions, the TUI's background work; ASan runs the C image code's tests.
TSAN_TESTS := ConcurrencyTests|SessionSnapshotTests|EngineTests|SessionTests|AtomicFileTests|KeyTests|HostileSessionTests|GramTests|GEMMTests
ASAN_TESTS := ImageIOTests|HostileSessionTests|FuzzRegressionTests
test-sanitize: setup
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS=halt_on_error=1 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_TESTS)'
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan --filter '$(ASAN_TESTS)'

# libFuzzer on the Swift readers of untrusted files (scripts/fuzz-swift.sh): instrumented builds,
# seeds and the growing corpus in .build-fuzz-swift/; no `swift build` needed. Any crash, hang or
# out-of-memory input is kept in Tests/Fuzz/TARGET/ (which `make test` replays) and fails the target.
.PHONY: fuzz fuzz-session fuzz-session-resume fuzz-safetensors fuzz-theme fuzz-preset clean-fuzz-swift
fuzz: fuzz-session fuzz-session-resume fuzz-safetensors fuzz-theme fuzz-preset

fuzz-session:
	bash scripts/fuzz-swift.sh session $(FUZZ_SECONDS)

fuzz-session-resume:
	bash scripts/fuzz-swift.sh session-resume $(FUZZ_SECONDS)

fuzz-safetensors:
	bash scripts/fuzz-swift.sh safetensors $(FUZZ_SECONDS)

fuzz-theme:
	bash scripts/fuzz-swift.sh theme $(FUZZ_SECONDS)

fuzz-preset:
	bash scripts/fuzz-swift.sh preset $(FUZZ_SECONDS)

clean: clean-fuzz-swift
clean-fuzz-swift:
	rm -rf .build-fuzz-swift

# The TUI on the demo pair (restyle with no images opens it); snapshots and the
# session go to restyle-out/.
demo: build
	$(BIN)

# Headless: the same pair through `restyle run`, written to restyle-out/demo.png.
demo-run: build
	mkdir -p $(OUT_DIR)
	$(BIN) run "$(DEMO_DIR)/$(DEMO_CONTENT)" "$(DEMO_DIR)/$(DEMO_STYLE)" \
	    -o $(OUT_DIR)/demo.png --size $(DEMO_SIZE) --iterations 200

bench: build
	$(BIN) bench --size 256
	$(BIN) bench --size 512 --iterations 3
	$(BIN) bench --size 1024 --iterations 2

# Key-to-screen latency while a 512² image optimises, and terminal bytes per
# second with the preview live (see scripts/bench-tui.py).
bench-tui: build
	python3 scripts/bench-tui.py --binary $(BIN)

# Opt-in: needs an X server, so it brings its own (Xvfb) and the packages for it. The screenshots it
# judges stay in $(XTERM_SHOTS).
XTERM_SHOTS ?= $(OUT_DIR)/xterm
.PHONY: test-xterm
test-xterm: build
	bash scripts/setup.sh --packages xterm xvfb imagemagick fonts-dejavu-core
	python3 -c 'import numpy' 2>/dev/null || bash scripts/setup.sh --packages python3-numpy
	python3 scripts/xterm_preview.py $(BIN) $(XTERM_SHOTS)

# Fuzzing needs no Swift build, only clang (Swift's has libFuzzer). The first
# run builds instrumented libpng and libjpeg-turbo from the system's Debian
# source packages (FUZZ_LIBS=system skips that); they, the build products and
# the growing corpus live in .build-fuzz/.
fuzz: fuzz-image fuzz-png-roundtrip

fuzz-image:
	bash scripts/fuzz.sh image $(FUZZ_SECONDS)

fuzz-png-roundtrip:
	bash scripts/fuzz.sh png-roundtrip $(FUZZ_SECONDS)

clean:
	rm -rf .build .build-fuzz $(OUT_DIR)
