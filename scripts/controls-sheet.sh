#!/usr/bin/env bash
# The contact sheet of issue 9's controls in docs/controls-sheet.png, made by restyle itself:
# two photos (rows) × one painting, through the colour modes, two style scales and a two-style blend.
#
#   scripts/controls-sheet.sh IMAGES_DIR [OUT_DIR] [SIZE] [ITERATIONS]
#
# IMAGES_DIR holds tubingen.jpg, golden_gate.jpg, starry_night.jpg and the_scream.jpg (the classic
# pictures; not in this repository). The jobs go to OUT_DIR (default restyle-out/controls), the sheet to
# docs/controls-sheet.png. Three plans, one list: `batch plan` makes cross products, and these are three
# separate sweeps beside the defaults, so their job lines are joined into one jobs.jsonl.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
I="${1:?usage: scripts/controls-sheet.sh IMAGES_DIR [OUT_DIR] [SIZE] [ITERATIONS]}"
OUT="${2:-restyle-out/controls}" SIZE="${3:-192}" ITS="${4:-120}"
BIN=.build/release/restyle
common=(--contents "$I/tubingen.jpg" "$I/golden_gate.jpg" --size "$SIZE" --iterations "$ITS")
mkdir -p "$OUT"
"$BIN" batch plan "${common[@]}" --styles "$I/starry_night.jpg" --colors style,luminance,match -o "$OUT/colors" --force
"$BIN" batch plan "${common[@]}" --styles "$I/starry_night.jpg" --style-scale 0.5,2 -o "$OUT/scale" --force
"$BIN" batch plan "${common[@]}" --style-set "$I/starry_night.jpg,$I/the_scream.jpg" -o "$OUT/blend" --force
# Outputs are relative to the list's folder, so the joined list makes them in OUT itself.
cat "$OUT/colors/jobs.jsonl" "$OUT/scale/jobs.jsonl" "$OUT/blend/jobs.jsonl" > "$OUT/jobs.jsonl.tmp"
mv "$OUT/jobs.jsonl.tmp" "$OUT/jobs.jsonl"
if command -v parallel >/dev/null && [[ "$(nproc)" -ge 2 ]]; then
  parallel -j 2 "$BIN" batch run "$OUT/jobs.jsonl" --threads 1 --quiet --shard {}/2 ::: 0 1
else
  "$BIN" batch run "$OUT/jobs.jsonl" --quiet
fi
"$BIN" batch sheet "$OUT/jobs.jsonl" -o docs/controls-sheet.png --cell "$SIZE"
