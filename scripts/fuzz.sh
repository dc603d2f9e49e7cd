#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer, one target at a time.
#
#   scripts/fuzz.sh TARGET [SECONDS]     (SECONDS defaults to 120)
#
# Targets:
#   image          fuzz/image_decode_fuzzer.c: sniff, probe, size limits,
#                  decode and PNG text of untrusted bytes, as ImageIO.read and
#                  ImageIO.readPNGText do (Sources/CImageIO)
#   png-roundtrip  fuzz/png_roundtrip_fuzzer.c: imageio_png_encode, then
#                  decode and text read back must give what was written
#
# SECONDS=0 only replays the seeds, the kept corpus and the regression inputs.
#
# Each run builds the target with ASan, UBSan and libFuzzer into .build-fuzz/
# (ignored by git), writes a fresh seed corpus there, and fuzzes on one core
# with the seeds, the corpus kept from earlier runs (.build-fuzz/corpus/TARGET,
# which grows) and the regression inputs (Tests/Fuzz/TARGET/) as its start.
# At the end it prints the execution count and exec/s from libFuzzer's final
# stats. Any crash, leak, timeout or out-of-memory input is copied into
# Tests/Fuzz/TARGET/ as a regression input, and the script then exits 1.
#
# Environment:
#   FUZZ_CC       a clang with libFuzzer (default: the clang beside `swift`,
#                 else clang on PATH)
#   FUZZ_BUILD    build directory (default .build-fuzz)
#   FUZZ_RSS_MB   libFuzzer's -rss_limit_mb (default 2048: a 50-megapixel
#                 image is 150 MB of RGB plus up to 400 MB of libjpeg
#                 coefficients, under ASan)
#   FUZZ_MALLOC_MB  the largest single allocation before it counts as a bug
#                 (-malloc_limit_mb, default 512: within the size limits no
#                 buffer needs more than about 200 MB)
#   FUZZ_TIMEOUT  seconds one input may take before it counts as a hang (10)
#   FUZZ_FLAGS    extra libFuzzer flags, e.g. FUZZ_FLAGS='-jobs=2 -workers=2'
#
# Adding a target: write build_NAME (it sets BIN, and may set DICT and MAX_LEN)
# and seeds_NAME DIR (writes seed inputs into DIR, may write none), and add
# NAME to the case at the bottom. A Swift target builds the same way with
# `swiftc -sanitize=fuzzer,address -parse-as-library` and its own
# LLVMFuzzerTestOneInput (@_cdecl); see build_image for the flags and paths.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

say() { printf 'fuzz: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

(($# >= 1 && $# <= 2)) || usage
TARGET="$1"
SECONDS_TO_RUN="${2:-120}"
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, not '$SECONDS_TO_RUN'"

BUILD="${FUZZ_BUILD:-.build-fuzz}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
MALLOC_MB="${FUZZ_MALLOC_MB:-512}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
read -r -a EXTRA_FLAGS <<<"${FUZZ_FLAGS:-}"

# --- compiler ---------------------------------------------------------------

find_cc() {
  if [[ -n "${FUZZ_CC:-}" ]]; then
    CC="$FUZZ_CC"
  elif command -v swift >/dev/null 2>&1 &&
       [[ -x "$(dirname "$(readlink -f "$(command -v swift)")")/clang" ]]; then
    # Swift's toolchain ships clang with the libFuzzer runtime; distribution
    # clang packages often lack it.
    CC="$(dirname "$(readlink -f "$(command -v swift)")")/clang"
  elif command -v clang >/dev/null 2>&1; then
    CC=clang
  else
    die "no clang found; set FUZZ_CC to a clang with libFuzzer (-fsanitize=fuzzer)"
  fi
  mkdir -p "$BUILD"
  local probe="$BUILD/cc-probe.c"
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe"
  "$CC" -fsanitize=fuzzer,address,undefined "$probe" -o "$BUILD/cc-probe" 2>"$BUILD/cc-probe.log" ||
    die "$CC cannot build a libFuzzer target (see $BUILD/cc-probe.log); set FUZZ_CC"
  # lld when the toolchain has it: GNU gold prints hundreds of warnings about
  # ASan's local symbols.
  LD_FLAGS=()
  if "$CC" -fuse-ld=lld -fsanitize=fuzzer,address,undefined "$probe" -o "$BUILD/cc-probe" 2>/dev/null; then
    LD_FLAGS=(-fuse-ld=lld)
  fi
  rm -f "$BUILD/cc-probe" "$probe"
}

# Instrumented for libFuzzer; -O1 and frame pointers for readable ASan stacks.
# Every UBSan finding stops the run, as ASan's do.
SAN_FLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
           -fno-sanitize-recover=all)
CIMAGEIO=Sources/CImageIO
CIMAGEIO_SOURCES=("$CIMAGEIO/imageio.c" "$CIMAGEIO/png_io.c" "$CIMAGEIO/jpeg_io.c")
# libpng and libjpeg are the system's, as in the Swift build (Package.swift):
# the fuzzer tests our code against the libraries restyle really links.
IMAGE_LIBS=(-lpng16 -ljpeg -lz)

# The seed writer needs no instrumentation; it links the test writers too.
build_seed_writer() {
  "$CC" -O1 -g -I "$CIMAGEIO/include" -I "$CIMAGEIO" fuzz/make_seeds.c \
    "${CIMAGEIO_SOURCES[@]}" "$CIMAGEIO/test_writers.c" "${IMAGE_LIBS[@]}" \
    -o "$BUILD/make_seeds"
}

build_cimageio_fuzzer() { # NAME SOURCE
  BIN="$BUILD/$1"
  "$CC" "${SAN_FLAGS[@]}" "${LD_FLAGS[@]}" -I "$CIMAGEIO/include" -I "$CIMAGEIO" "$2" \
    "${CIMAGEIO_SOURCES[@]}" "${IMAGE_LIBS[@]}" -o "$BIN"
}

# --- targets ----------------------------------------------------------------

build_image() {
  build_cimageio_fuzzer image_decode_fuzzer fuzz/image_decode_fuzzer.c
  build_seed_writer
  DICT=fuzz/image.dict
  # Room for real structure (several IDAT chunks, Huffman tables, scans)
  # while staying far below what the size limits allow.
  MAX_LEN=65536
}
seeds_image() { "$BUILD/make_seeds" image "$1" >&2; }

build_png_roundtrip() {
  build_cimageio_fuzzer png_roundtrip_fuzzer fuzz/png_roundtrip_fuzzer.c
  build_seed_writer
  MAX_LEN=8192
}
seeds_png_roundtrip() { "$BUILD/make_seeds" png-roundtrip "$1" >&2; }

# --- running ----------------------------------------------------------------

run_target() { # NAME (as in build_NAME, seeds_NAME)
  local name="$1" fn="${1//-/_}"
  find_cc
  BIN="" DICT="" MAX_LEN=4096
  say "building $name with $CC"
  "build_$fn"

  local seeds="$BUILD/seeds/$name" corpus="$BUILD/corpus/$name"
  local artifacts="$BUILD/artifacts/$name/" regress="Tests/Fuzz/$name"
  local log="$BUILD/logs/$name.log"
  rm -rf "$seeds" "$artifacts"
  mkdir -p "$seeds" "$corpus" "$artifacts" "$regress" "$(dirname "$log")"
  "seeds_$fn" "$seeds"

  local flags=(-max_len="$MAX_LEN" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB"
               -timeout="$TIMEOUT"
               -artifact_prefix="$artifacts" -print_final_stats=1)
  [[ -n "$DICT" ]] && flags+=(-dict="$DICT")
  if ((SECONDS_TO_RUN == 0)); then
    flags+=(-runs=0)
  else
    flags+=(-max_total_time="$SECONDS_TO_RUN")
  fi
  # A stack with each UBSan report (ASan prints one anyway).
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

  say "running $name for ${SECONDS_TO_RUN}s; log in $log"
  # New inputs go to the first directory, the kept corpus; the seeds and the
  # regression inputs are read only.
  local rc=0
  "$BIN" "${flags[@]}" "${EXTRA_FLAGS[@]}" "$corpus" "$seeds" "$regress" 2>&1 | tee "$log" >&2 ||
    rc=$?

  local execs rate rss
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  printf 'fuzz: %s: %s executions, %s exec/s, peak RSS %s MB, corpus %s inputs\n' \
    "$name" "${execs:-?}" "${rate:-?}" "${rss:-?}" "$(find "$corpus" -type f | wc -l)"

  local found=() f
  shopt -s nullglob
  for f in "$artifacts"{crash,leak,timeout,oom}-*; do
    cp "$f" "$regress/"
    found+=("$regress/$(basename "$f")")
  done
  local slow=("$artifacts"slow-unit-*)
  shopt -u nullglob
  ((${#slow[@]} == 0)) || say "note: ${#slow[@]} slow input(s) in $artifacts (not failures)"
  if ((${#found[@]} > 0)); then
    say "found ${#found[@]} failing input(s), kept as regression inputs:"
    printf '  %s\n' "${found[@]}" >&2
    say "reproduce with: $BIN ${found[0]}"
    exit 1
  fi
  if ((rc != 0)); then
    die "libFuzzer exited with $rc and left no artifact; see $log"
  fi
}

case "$TARGET" in
  image | png-roundtrip) run_target "$TARGET" ;;
  *) say "unknown target '$TARGET'"; usage ;;
esac
