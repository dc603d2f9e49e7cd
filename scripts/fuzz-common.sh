# Shared by scripts/fuzz.sh (C targets) and scripts/fuzz-swift.sh (Swift targets): arguments, the
# libFuzzer run, its figures, and keeping what it finds. Sourced, not run. The sourcing script sets
# PREFIX (for messages), DEFAULT_BUILD and DEFAULT_TIMEOUT first, and `usage` prints its own header.

say() { printf '%s: %s\n' "$PREFIX" "$*" >&2; }
die() { say "error: $*"; exit 2; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

(($# >= 1 && $# <= 2)) || usage
TARGET="$1"
SECONDS_TO_RUN="${2:-120}"
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number, not '$SECONDS_TO_RUN'"

BUILD="${FUZZ_BUILD:-$DEFAULT_BUILD}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
MALLOC_MB="${FUZZ_MALLOC_MB:-512}"
TIMEOUT="${FUZZ_TIMEOUT:-$DEFAULT_TIMEOUT}"
read -r -a EXTRA_FLAGS <<<"${FUZZ_FLAGS:-}"

# Runs the target built as $BIN (with $DICT and $MAX_LEN) from fresh seeds (seeds_NAME), the kept corpus
# and the regression inputs; prints executions and exec/s; copies every crash, leak, timeout and
# out-of-memory input into Tests/Fuzz/NAME/ and exits 1 if there was any. $REPRO_ENV prefixes the
# command it prints for reproducing one.
fuzz_run() { # NAME
  local name="$1" fn="${1//-/_}"
  local seeds="$BUILD/seeds/$name" corpus="$BUILD/corpus/$name"
  local artifacts="$BUILD/artifacts/$name/" regress="Tests/Fuzz/$name"
  local log="$BUILD/logs/$name.log"
  rm -rf "$seeds" "$artifacts"
  mkdir -p "$seeds" "$corpus" "$artifacts" "$regress" "$(dirname "$log")"
  "seeds_$fn" "$seeds"

  local flags=(-max_len="$MAX_LEN" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$MALLOC_MB"
               -timeout="$TIMEOUT" -artifact_prefix="$artifacts" -print_final_stats=1)
  [[ -n "$DICT" ]] && flags+=(-dict="$DICT")
  if ((SECONDS_TO_RUN == 0)); then
    flags+=(-runs=0)
  else
    flags+=(-max_total_time="$SECONDS_TO_RUN")
  fi

  say "running $name for ${SECONDS_TO_RUN}s; log in $log"
  # New inputs go to the first directory, the kept corpus; the seeds and regression inputs are read only.
  local rc=0
  "$BIN" "${flags[@]}" "${EXTRA_FLAGS[@]}" "$corpus" "$seeds" "$regress" 2>&1 | tee "$log" >&2 || rc=$?

  local execs rate rss
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)"
  printf '%s: %s: %s executions, %s exec/s, peak RSS %s MB, corpus %s inputs\n' \
    "$PREFIX" "$name" "${execs:-?}" "${rate:-?}" "${rss:-?}" "$(find "$corpus" -type f | wc -l)"

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
    say "reproduce with: ${REPRO_ENV:-}$BIN ${found[0]}"
    exit 1
  fi
  if ((rc != 0)); then
    die "libFuzzer exited with $rc and left no artifact; see $log"
  fi
}
