#!/usr/bin/env python3
"""Independent sanity check of a converted vgg19.safetensors.

Written apart from convert_weights.py (it shares no code with it) so that a
mistake in the converter's writer is not repeated by its reader. It re-parses
the safetensors file, checks the header against the safetensors rules (no
holes, no overlaps, sizes = dtype x shape) and VGG19's shapes, dequantises
every layer, and checks that the values look like VGG19's: conv1_1 weights
within about +-0.7 and its biases around 0.7..2 at most, no NaN or Inf.

Usage: check_weights.py FILE.safetensors   (exit 0 when fine)
"""

import json
import math
import struct
import sys

SHAPES = {  # layer -> (out, in)
    "block1_conv1": (64, 3), "block1_conv2": (64, 64),
    "block2_conv1": (128, 64), "block2_conv2": (128, 128),
    "block3_conv1": (256, 128), "block3_conv2": (256, 256),
    "block3_conv3": (256, 256), "block3_conv4": (256, 256),
    "block4_conv1": (512, 256), "block4_conv2": (512, 512),
    "block4_conv3": (512, 512), "block4_conv4": (512, 512),
    "block5_conv1": (512, 512), "block5_conv2": (512, 512),
    "block5_conv3": (512, 512), "block5_conv4": (512, 512),
}
SIZE = {"U8": 1, "F32": 4}


def fail(msg):
    print(f"check_weights: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def main(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    if (8 + n) % 8:
        fail("data does not start at a multiple of 8")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", {})
    print(f"metadata: {meta}")
    if meta.get("format") != "restyle-vgg19-q8":
        fail("metadata format is not restyle-vgg19-q8")

    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            fail(f"{name}: hole or overlap at {pos}..{begin}")
        pos = end
    if pos != len(data):
        fail(f"data is {len(data)} bytes, header covers {pos}")

    tensors = {}
    for name, v in header.items():
        count = math.prod(v["shape"])
        begin, end = v["data_offsets"]
        if end - begin != count * SIZE[v["dtype"]]:
            fail(f"{name}: {end - begin} bytes for {v['dtype']} {v['shape']}")
        fmt = "<%d%s" % (count, "B" if v["dtype"] == "U8" else "f")
        tensors[name] = (v["dtype"], v["shape"], struct.unpack(fmt, data[begin:end]))

    if set(tensors) != {f"{l}_{s}" for l in SHAPES for s in ("W_q", "W_table", "b")}:
        fail("tensor names are not VGG19's 16 x (W_q, W_table, b)")
    for layer, (cout, cin) in SHAPES.items():
        q, table, bias = (tensors[f"{layer}_{s}"] for s in ("W_q", "W_table", "b"))
        if (q[0], q[1]) != ("U8", [cout, cin, 3, 3]) or (table[0], table[1]) != ("F32", [256]) \
                or (bias[0], bias[1]) != ("F32", [cout]):
            fail(f"{layer}: wrong dtype or shape")
        w = [table[2][i] for i in q[2]]
        if not all(math.isfinite(x) for x in w + list(bias[2])):
            fail(f"{layer}: NaN or Inf")
        used = len(set(q[2]))
        print(f"{layer:13s} W[{cout},{cin},3,3] in [{min(w):+.4f}, {max(w):+.4f}] "
              f"mean|W| {sum(map(abs, w)) / len(w):.5f}  b in [{min(bias[2]):+.4f}, {max(bias[2]):+.4f}]"
              f"  codes used {used}/256")

    q, table, bias = (tensors[f"block1_conv1_{s}"][2] for s in ("W_q", "W_table", "b"))
    w = [table[i] for i in q]
    print(f"block1_conv1 W[0,0,0,0] = table[{q[0]}] = {table[q[0]]!r}; b[0] = {bias[0]!r}")
    if not (max(map(abs, w)) < 1.0 and max(map(abs, w)) > 0.3):
        fail("block1_conv1 weights out of VGG's range (|W| max should be ~0.7)")
    if not (0.5 < max(bias) < 2.5 and min(bias) > -1.0):
        fail("block1_conv1 biases out of VGG's range")
    print("check_weights: ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
