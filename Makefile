# restyle: build, test and try it out.
#
#   make setup   system packages, VGG19 weights and demo images (scripts/setup.sh)
#   make build   setup, then a release build
#   make test    build, then the tests (serially), with the weights in RESTYLE_HOME
#   make demo    build, then style $(DEMO_CONTENT) after $(DEMO_STYLE) into restyle-out/
#   make bench   build, then `restyle bench`
#   make clean   remove build products and restyle-out/
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
DEMO_CONTENT ?= chelsea.png
DEMO_STYLE ?= ihc.png
DEMO_SIZE ?= 256
OUT_DIR := restyle-out

.PHONY: all setup build test demo bench clean

all: build

setup:
	bash scripts/setup.sh

build: setup
	$(SWIFT) build -c $(CONFIG) --build-tests -Xswiftc -enable-testing $(SWIFT_BUILD_FLAGS)

# Serial on purpose (no --parallel): 2 cores, and the engine's tests are
# compute-heavy already.
test: build
	$(SWIFT) test -c $(CONFIG) --skip-build $(SWIFT_TEST_FLAGS)

demo: build
	mkdir -p $(OUT_DIR)
	$(BIN) run "$(DEMO_DIR)/$(DEMO_CONTENT)" "$(DEMO_DIR)/$(DEMO_STYLE)" \
	    -o $(OUT_DIR)/demo.png --size $(DEMO_SIZE)

bench: build
	$(BIN) bench

clean:
	rm -rf .build $(OUT_DIR)
