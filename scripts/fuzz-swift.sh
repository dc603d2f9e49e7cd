#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the Swift readers of untrusted files, one target at a time.
#
#   scripts/fuzz-swift.sh TARGET [SECONDS]     (SECONDS defaults to 120)
#
# Targets (harnesses in fuzz/swift/):
#   session         SessionState(data:source:): a session file's settings, history, counters and
#                   images, validated before anything is allocated from them. A custom mutator
#                   (SessionMutator.swift) keeps magic, length and checksum valid and mutates the
#                   payload field by field, so mutations reach the parser.
#   session-resume  Optimization.resume(data:...) with small random weights: the whole reader, then
#                   one iteration, a save and the save read back. Same mutator; slower per input.
#   safetensors     SafetensorsFile(data:path:) and reading back every tensor it accepts.
#   theme           Theme.parse on theme-file text (Sources/TUI/Theme.swift).
#   preset          Preset.parse on preset-file text, then applying what parses (Sources/Core/Preset.swift).
#
# SECONDS=0 only replays the seeds, the kept corpus and the regression inputs.
#
# Each run compiles Sources/Core with libFuzzer and AddressSanitizer into .build-fuzz-swift/ (ignored
# by git; -enable-testing, so a harness sees Core's internal API through @testable import), links the
# target's harness, writes a fresh seed corpus (sessions by the harness itself with restyle's code,
# plus Tests/CoreTests/Data/session-v1.session; safetensors by fuzz/make_seeds_safetensors.py; themes
# from Themes/), and fuzzes on one core starting from the seeds, the corpus kept from earlier runs
# (.build-fuzz-swift/corpus/TARGET, which grows) and the regression inputs (Tests/Fuzz/TARGET/). At
# the end it prints the executions and exec/s. Any crash, timeout or out-of-memory input is copied
# into Tests/Fuzz/TARGET/ (which FuzzRegressionTests replays) and the script exits 1.
#
# Environment:
#   FUZZ_SWIFTC   swiftc to use (default: the one beside `swift` on PATH, else /opt/swift/usr/bin)
#   FUZZ_BUILD    build directory (default .build-fuzz-swift)
#   FUZZ_RSS_MB   libFuzzer's -rss_limit_mb (default 2048: random VGG19 weights are 80 MB, and
#                 AddressSanitizer's shadow and quarantine take more)
#   FUZZ_MALLOC_MB  the largest single allocation before it counts as a bug (default 512)
#   FUZZ_TIMEOUT  seconds one input may take before it counts as a hang (default 10)
#   FUZZ_FLAGS    extra libFuzzer flags, e.g. FUZZ_FLAGS='-jobs=2 -workers=2'
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PREFIX=fuzz-swift DEFAULT_BUILD=.build-fuzz-swift DEFAULT_TIMEOUT=10
source scripts/fuzz-common.sh

# --- toolchain --------------------------------------------------------------

find_swiftc() {
  if [[ -n "${FUZZ_SWIFTC:-}" ]]; then
    SWIFTC="$FUZZ_SWIFTC"
  elif command -v swift >/dev/null 2>&1 &&
       [[ -x "$(dirname "$(readlink -f "$(command -v swift)")")/swiftc" ]]; then
    SWIFTC="$(dirname "$(readlink -f "$(command -v swift)")")/swiftc"
  elif [[ -x /opt/swift/usr/bin/swiftc ]]; then
    SWIFTC=/opt/swift/usr/bin/swiftc
  else
    die "no swiftc found; set FUZZ_SWIFTC"
  fi
  # The toolchain's own clang: it has the libFuzzer and ASan runtimes swiftc links.
  CC="$(dirname "$SWIFTC")/clang"
  [[ -x "$CC" ]] || CC=clang
}

# Everything instrumented for libFuzzer's coverage and AddressSanitizer; -O as the release build
# (Core is written for -O: checked arithmetic still traps), -g for symbolised stacks.
SAN=(-sanitize=fuzzer,address)
SWIFT_FLAGS=(-O -g -swift-version 6 -parse-as-library)
OPENBLAS_CFLAGS="$(pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-pthread)"
OPENBLAS_LIBS="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"
read -r -a OPENBLAS_LIBS_A <<<"$OPENBLAS_LIBS"
LIBS=("${OPENBLAS_LIBS_A[@]}" -lpng16 -ljpeg -lz -lm)

newer_than() { # TARGET SOURCES...: true if TARGET is missing or older than any source
  local t="$1" s
  shift
  [[ -e "$t" ]] || return 0
  for s in "$@"; do [[ "$s" -nt "$t" ]] && return 0; done
  return 1
}

# Core as one object and a module with -enable-testing, reused by every target; rebuilt only when
# a Core or CImageIO source changed (about a minute on one core).
build_core() {
  local cdir="$BUILD/cimageio" c
  mkdir -p "$cdir"
  printf 'module CImageIO {\n    header "%s/Sources/CImageIO/include/imageio.h"\n    export *\n}\n' "$PWD" \
    >"$cdir/module.modulemap"
  CIMAGEIO_OBJS=()
  for c in Sources/CImageIO/*.c; do
    local o="$cdir/$(basename "${c%.c}").o"
    if newer_than "$o" "$c" Sources/CImageIO/*.h Sources/CImageIO/include/*.h; then
      "$CC" -c -g -O1 -fno-omit-frame-pointer -fsanitize=address \
        -I Sources/CImageIO/include -I Sources/CImageIO $(pkg-config --cflags libpng 2>/dev/null) "$c" -o "$o"
    fi
    CIMAGEIO_OBJS+=("$o")
  done
  local sources=(Sources/Core/*.swift)
  if newer_than "$BUILD/Core.o" "${sources[@]}" "${BASH_SOURCE[0]}"; then
    say "compiling Core (libFuzzer + ASan) with $SWIFTC"
    rm -f "$BUILD/Core.o"
    "$SWIFTC" "${SWIFT_FLAGS[@]}" "${SAN[@]}" -module-name Core -wmo -num-threads 0 -j 1 -enable-testing \
      -I "$cdir" -I Sources/CBLAS -Xcc $OPENBLAS_CFLAGS \
      -emit-module -emit-module-path "$BUILD/Core.swiftmodule" -c -o "$BUILD/Core.o.tmp" "${sources[@]}"
    mv "$BUILD/Core.o.tmp" "$BUILD/Core.o"
  fi
}

link_harness() { # NAME MODULE SOURCES...: a libFuzzer binary from SOURCES linked with Core
  local name="$1" module="$2"
  shift 2
  BIN="$BUILD/$name-fuzzer"
  if newer_than "$BIN" "$@" "$BUILD/Core.o" "${BASH_SOURCE[0]}"; then
    say "linking $BIN"
    rm -f "$BIN.tmp" "$BUILD/$module.o"
    # Compiled, then linked, in two steps: that way the driver leaves no debugging module in the
    # working directory.
    "$SWIFTC" "${SWIFT_FLAGS[@]}" "${SAN[@]}" -module-name "$module" -wmo -num-threads 0 -j 1 \
      -I "$BUILD" -I "$BUILD/cimageio" -I Sources/CBLAS -I fuzz/swift/CFuzzer -Xcc $OPENBLAS_CFLAGS \
      -c "$@" -o "$BUILD/$module.o"
    "$SWIFTC" "${SAN[@]}" -g -use-ld=lld "$BUILD/$module.o" "$BUILD/Core.o" "${CIMAGEIO_OBJS[@]}" \
      "${LIBS[@]}" -o "$BIN.tmp" 2>&1 | grep -v "Cannot export local symbol" >&2 || true
    [[ -x "$BIN.tmp" ]] || die "linking $name failed"
    mv "$BIN.tmp" "$BIN"
  fi
}

# --- targets ----------------------------------------------------------------

build_session() {
  link_harness session SessionFuzz fuzz/swift/SessionFuzzer.swift fuzz/swift/SessionMutator.swift
  DICT=fuzz/session.dict
  # The seeds are 3–45 KB (session-v1.session is 44 KB); room for a few more vectors.
  MAX_LEN=65536
}
seeds_session() {
  RESTYLE_FUZZ_WRITE_SEEDS="$1" "$BIN" >/dev/null
  cp Tests/CoreTests/Data/session-v1.session "$1/"
}

build_session_resume() {
  link_harness session-resume SessionResumeFuzz fuzz/swift/SessionResumeFuzzer.swift fuzz/swift/SessionMutator.swift
  DICT=fuzz/session.dict
  MAX_LEN=65536
}
seeds_session_resume() { seeds_session "$1"; }

build_safetensors() {
  link_harness safetensors SafetensorsFuzz fuzz/swift/SafetensorsFuzzer.swift
  DICT=fuzz/safetensors.dict
  MAX_LEN=4096
}
seeds_safetensors() { python3 fuzz/make_seeds_safetensors.py "$1"; }

build_theme() {
  # Theme.swift and BuiltinThemes.swift join the harness in one module (their types are internal);
  # they import Core only for FileRead.
  link_harness theme ThemeFuzz fuzz/swift/ThemeFuzzer.swift Sources/TUI/Theme.swift Sources/TUI/BuiltinThemes.swift
  DICT=fuzz/theme.dict
  MAX_LEN=4096
}
seeds_theme() { cp Themes/*.theme "$1/"; }

build_preset() {
  link_harness preset PresetFuzz fuzz/swift/PresetFuzzer.swift
  DICT=fuzz/preset.dict
  MAX_LEN=4096
}
seeds_preset() { cp Presets/*.preset "$1/"; }

# --- running ----------------------------------------------------------------

run_target() { # NAME (as in build_NAME, seeds_NAME)
  local name="$1" fn="${1//-/_}"
  find_swiftc
  mkdir -p "$BUILD"
  BIN="" DICT="" MAX_LEN=4096
  # Swift's crash backtracer would stall every crash for its report, and libFuzzer's handler must run
  # instead; one BLAS thread, since a run gets one core. Leaks are not what these targets look for
  # (the Swift runtime's caches look like leaks to LeakSanitizer).
  export SWIFT_BACKTRACE=enable=no OPENBLAS_NUM_THREADS=1
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
  REPRO_ENV="SWIFT_BACKTRACE=enable=no "
  build_core
  "build_$fn"

  fuzz_run "$name"
}

case "$TARGET" in
  session | session-resume | safetensors | theme | preset) run_target "$TARGET" ;;
  *) say "unknown target '$TARGET'"; usage ;;
esac
