#!/bin/sh
# Coarse-to-fine against a single size (issue 9 §4), for one content/style pair: the final loss at the
# final size (the last stage's objective is exactly the single-size run's, so the two totals compare
# directly) and the seconds each run took: optimisation time from the JSON log, the whole run's wall
# time, and its CPU time (user + system, all threads), which moves less on a machine shared with other
# work. The coarse-to-fine run goes first, so a short session still gets it.
#
# usage: scripts/c2f-compare.sh CONTENT STYLE [SIZE] [SINGLE_ITERATIONS] [SCALES] [C2F_ITERATIONS] [-- extra run options]
#   defaults: 512, 300, 2, the same number of iterations as the single run (default schedule)
# RESTYLE names the binary (default .build/release/restyle); OUT a directory for the results.
# SLURM_CPUS_PER_TASK=1 runs restyle on one thread (two pairs side by side on two cores).
set -eu
[ $# -ge 2 ] || { sed -n 2,9p "$0"; exit 2; }
content=$1 style=$2; shift 2
size=${1:-512}; [ $# -gt 0 ] && shift
single=${1:-300}; [ $# -gt 0 ] && shift
scales=${1:-2}; [ $# -gt 0 ] && shift
c2f=${1:-$single}; [ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
bin=${RESTYLE:-.build/release/restyle}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
name=$(basename "${content%.*}")-x-$(basename "${style%.*}")

# One run; prints "total optimisation-seconds wall-seconds iterations width height cpu-seconds" from its
# log's last line and /usr/bin/time.
run() {
    tag=$1; shift
    t0=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$out/$name-$tag.cpu" \
        "$bin" run "$content" "$style" -o "$out/$name-$tag.png" --size "$size" --quiet --log-json "$out/$name-$tag.jsonl" "$@"
    t1=$(date +%s.%N)
    tail -n 1 "$out/$name-$tag.jsonl" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
u, s = open(sys.argv[3]).read().split()[-2:]
print(d["total"], d["seconds"], float(sys.argv[2]) - float(sys.argv[1]), d["iteration"], d.get("width"), d.get("height"), float(u) + float(s))
' "$t0" "$t1" "$out/$name-$tag.cpu"
}

b=$(run "scales$scales" --iterations "$c2f" --scales "$scales" "$@")
echo "$b" > "$out/$name-scales$scales.result"
a=$(run single --iterations "$single" "$@")
python3 - "$a" "$b" "$name" "$size" "$single" "$scales" "$c2f" <<'EOF'
import sys
a, b = (s.split() for s in sys.argv[1:3])
name, size, single, scales, c2f = sys.argv[3:]
print(f"{name} at {size}: single size, {single} iterations: loss {float(a[0]):.6g} at {a[4]}×{a[5]}, "
      f"{float(a[1]):.1f} s optimising, {float(a[2]):.1f} s wall, {float(a[6]):.1f} s CPU")
print(f"{name} at {size}: --scales {scales}, {c2f} iterations: loss {float(b[0]):.6g} at {b[4]}×{b[5]}, "
      f"{float(b[1]):.1f} s optimising, {float(b[2]):.1f} s wall, {float(b[6]):.1f} s CPU")
print(f"loss ratio (scales/single) {float(b[0]) / float(a[0]):.3f}; time ratio {float(b[1]) / float(a[1]):.3f} optimising, "
      f"{float(b[2]) / float(a[2]):.3f} wall, {float(b[6]) / float(a[6]):.3f} CPU")
EOF
