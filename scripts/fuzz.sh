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
# (ignored by git), with libpng and libjpeg instrumented too, writes a fresh
# seed corpus there, and fuzzes on one core with the seeds, the corpus kept
# from earlier runs (.build-fuzz/corpus/TARGET, which grows) and the
# regression inputs (Tests/Fuzz/TARGET/) as its start.
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
#   FUZZ_TIMEOUT  seconds one input may take before it counts as a hang (30:
#                 the instrumented libjpeg takes about 10 s for a 44-megapixel
#                 image that the system's decodes in 0.3 s)
#   FUZZ_FLAGS    extra libFuzzer flags, e.g. FUZZ_FLAGS=-use_value_profile=1
#   FUZZ_LIBS     source (default): libpng and libjpeg-turbo built from the
#                 system's Debian source packages with the same instrumentation,
#                 so libFuzzer sees inside them; system: the installed libraries
#                 as they are (see "libpng and libjpeg" below)
#
# Adding a target: write build_NAME (it sets BIN, and may set DICT and MAX_LEN)
# and seeds_NAME DIR (writes seed inputs into DIR, may write none), and add
# NAME to the case at the bottom. A Swift target builds the same way with
# `swiftc -sanitize=fuzzer,address -parse-as-library` and its own
# LLVMFuzzerTestOneInput (@_cdecl); see build_image for the flags and paths.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

PREFIX=fuzz DEFAULT_BUILD=.build-fuzz DEFAULT_TIMEOUT=30
source scripts/fuzz-common.sh

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
CIMAGEIO_SOURCES=("$CIMAGEIO/imageio.c" "$CIMAGEIO/png_io.c" "$CIMAGEIO/jpeg_io.c" "$CIMAGEIO/jpeg_write.c")
# The writers of the variants restyle never makes live in a test-only target.
TEST_WRITERS=Tests/CImageIOTestSupport
SYSTEM_IMAGE_LIBS=(-lpng16 -ljpeg -lz)

# --- libpng and libjpeg -----------------------------------------------------
#
# FUZZ_LIBS=source (the default) builds the system's own libpng and
# libjpeg-turbo from their Debian source packages, instrumented like our code,
# into $BUILD/libs (once; later runs reuse them). libFuzzer then sees
# coverage inside the decoders (about 11000 edges instead of 140 in our
# wrapper alone) and ASan checks their memory too. It needs the Debian
# archive's sources (fetched with apt-get under $BUILD/apt, leaving the
# system's apt configuration alone), dpkg-source and cmake. If that fails,
# or with FUZZ_LIBS=system, the system libraries are linked as they are:
# still the code restyle runs, but the fuzzer is blind inside them.

LIBS_DIR="$BUILD/libs"

# apt-get source with the machine's own Debian mirrors turned into deb-src
# entries; security suites are left out, as mirrors often lack their sources.
fetch_debian_source() { # PACKAGE DEST
  local apt="$BUILD/apt" dl="$BUILD/apt/dl"
  command -v apt-get >/dev/null && command -v dpkg-source >/dev/null || return 1
  mkdir -p "$apt/lists/partial" "$apt/sources.list.d" "$dl"
  if [[ ! -s "$apt/sources.list" && ! -s "$apt/sources.list.d/src.sources" ]]; then
    if [[ -f /etc/apt/sources.list ]]; then
      { grep -E '^deb ' /etc/apt/sources.list || true; } | grep -v security |
        sed 's/^deb /deb-src /' >"$apt/sources.list"
    fi
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk 'BEGIN { RS = ""; ORS = "\n\n" } /Types:/ && !/security/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
        >"$apt/sources.list.d/src.sources"
  fi
  local abs
  abs="$(cd "$apt" && pwd)"
  local opts=(-o "Dir::Etc::SourceList=$abs/sources.list"
              -o "Dir::Etc::SourceParts=$abs/sources.list.d"
              -o "Dir::State::Lists=$abs/lists" -o Debug::NoLocking=1
              -o APT::Sandbox::User=root)
  if ! compgen -G "$apt/lists/*Sources*" >/dev/null; then
    apt-get "${opts[@]}" update >"$apt/update.log" 2>&1 || return 1
  fi
  (cd "$dl" && apt-get "${opts[@]}" source --download-only "$1") >"$apt/source-$1.log" 2>&1 ||
    return 1
  local dsc
  dsc="$(ls -t "$dl/$1"_*.dsc | head -1)"
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  # apt-get checked the files against the signed index; dpkg-source's own
  # signature check only warns without Debian's keyring.
  dpkg-source -x "$dsc" "$2" >>"$apt/source-$1.log" 2>&1
}

# Static, instrumented libpng16.a and libjpeg.a with their headers.
build_source_libs() {
  local flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fsanitize=fuzzer-no-link"
  local png="$LIBS_DIR/libpng" jpeg="$LIBS_DIR/libjpeg-turbo" f
  mkdir -p "$LIBS_DIR"
  if [[ ! -f "$png/build/libpng16.a" ]]; then
    say "fetching and building an instrumented libpng (once)"
    fetch_debian_source libpng1.6 "$png/src" || return 1
    mkdir -p "$png/build"
    cp "$png/src/png.h" "$png/src/pngconf.h" "$png/build/"
    # The system's configuration, so the options match the library restyle links.
    cp /usr/include/libpng16/pnglibconf.h "$png/build/" 2>/dev/null ||
      cp "$png/src/scripts/pnglibconf.h.prebuilt" "$png/build/pnglibconf.h"
    for f in png pngerror pngget pngmem pngpread pngread pngrio pngrtran pngrutil pngset \
             pngtrans pngwio pngwrite pngwtran pngwutil; do
      # shellcheck disable=SC2086
      "$CC" $flags -c -I "$png/build" "$png/src/$f.c" -o "$png/build/$f.o" || return 1
    done
    ar rcs "$png/build/libpng16.a" "$png/build/"*.o
  fi
  if [[ ! -f "$jpeg/build/libjpeg.a" ]]; then
    say "fetching and building an instrumented libjpeg-turbo (once, a few minutes)"
    if ! command -v cmake >/dev/null; then
      if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing cmake"
        { apt-get install -y cmake || { apt-get update && apt-get install -y cmake; }; } \
          >"$LIBS_DIR/cmake-install.log" 2>&1 || return 1
      else
        say "warning: libjpeg-turbo needs cmake (apt-get install cmake)"
        return 1
      fi
    fi
    fetch_debian_source libjpeg-turbo "$jpeg/src" || return 1
    rm -rf "$jpeg/build"
    CC="$CC" cmake -S "$jpeg/src" -B "$jpeg/build" -DENABLE_SHARED=0 -DWITH_SIMD=0 \
      -DWITH_TURBOJPEG=0 -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$flags" \
      >"$LIBS_DIR/libjpeg-cmake.log" 2>&1 || return 1
    make -C "$jpeg/build" jpeg-static >"$LIBS_DIR/libjpeg-make.log" 2>&1 || return 1
  fi
  IMAGE_CFLAGS=(-I "$png/build" -I "$jpeg/build" -I "$jpeg/src")
  IMAGE_LIBS=("$png/build/libpng16.a" "$jpeg/build/libjpeg.a" -lz -lm)
}

# Sets IMAGE_CFLAGS and IMAGE_LIBS for the fuzz targets.
image_libs() {
  IMAGE_CFLAGS=()
  IMAGE_LIBS=("${SYSTEM_IMAGE_LIBS[@]}")
  case "${FUZZ_LIBS:-source}" in
    system) say "fuzzing against the system libpng and libjpeg (not instrumented)" ;;
    source)
      if ! build_source_libs; then
        IMAGE_CFLAGS=()
        IMAGE_LIBS=("${SYSTEM_IMAGE_LIBS[@]}")
        say "warning: no instrumented libpng/libjpeg (see $BUILD/apt and $LIBS_DIR logs);"
        say "warning: fuzzing against the system libraries, blind inside them"
      fi
      ;;
    *) die "FUZZ_LIBS must be source or system, not '$FUZZ_LIBS'" ;;
  esac
}

# The seed writer needs no instrumentation; it links the test writers too.
build_seed_writer() {
  "$CC" -O1 -g -I "$CIMAGEIO/include" -I "$CIMAGEIO" -I "$TEST_WRITERS/include" fuzz/make_seeds.c \
    "${CIMAGEIO_SOURCES[@]}" "$TEST_WRITERS/test_writers.c" "${SYSTEM_IMAGE_LIBS[@]}" \
    -o "$BUILD/make_seeds"
}

build_cimageio_fuzzer() { # NAME SOURCE
  BIN="$BUILD/$1"
  image_libs
  "$CC" "${SAN_FLAGS[@]}" "${LD_FLAGS[@]}" "${IMAGE_CFLAGS[@]}" -I "$CIMAGEIO/include" \
    -I "$CIMAGEIO" "$2" "${CIMAGEIO_SOURCES[@]}" "${IMAGE_LIBS[@]}" -o "$BIN"
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
  # A stack with each UBSan report (ASan prints one anyway).
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
  fuzz_run "$name"
}

case "$TARGET" in
  image | png-roundtrip) run_target "$TARGET" ;;
  *) say "unknown target '$TARGET'"; usage ;;
esac
