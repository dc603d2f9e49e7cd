#!/usr/bin/env python3
"""Seed inputs for the `safetensors` fuzz target (scripts/fuzz-swift.sh): small valid safetensors
files, written from scratch (8-byte little-endian header length, JSON header, data), in the shapes
VGGWeights reads (U8 taps with an F32 table and bias) and around the reader's edges.

    python3 fuzz/make_seeds_safetensors.py DIR
"""
import json
import os
import struct
import sys


def safetensors(tensors, metadata=None, pad_header_to=None):
    """tensors: [(name, dtype, shape, data bytes)], laid out in order."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad_header_to:  # the format allows trailing spaces, for alignment
        h += b" " * (-len(h) % pad_header_to)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(values):
    return struct.pack("<%df" % len(values), *values)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        # One convolution as the converted VGG19 file stores it (conv1_1 at 3 → 2 channels).
        "vgg-like": safetensors([
            ("block1_conv1_W_q", "U8", [2, 3, 3, 3], bytes(range(54))),
            ("block1_conv1_W_table", "F32", [256], f32([i / 256 - 0.5 for i in range(256)])),
            ("block1_conv1_b", "F32", [2], f32([0.1, -0.2])),
        ], metadata={"format": "pt", "source": "restyle fuzz seed"}, pad_header_to=8),
        "f32-scalar": safetensors([("x", "F32", [], f32([1.5]))]),
        "u8-matrix": safetensors([("m", "U8", [2, 3], bytes([1, 2, 3, 4, 5, 6]))], metadata={}),
        "empty-tensor": safetensors([("e", "F32", [0, 4], b""), ("u", "U8", [1], b"\x07")]),
        "other-dtypes": safetensors([
            ("h", "F16", [2], b"\x00\x3c\x00\xc0"),
            ("b", "BF16", [1], b"\x80\x3f"),
            ("i", "I32", [1, 1], struct.pack("<i", -5)),
            ("d", "F64", [1], struct.pack("<d", 2.0)),
            ("c", "I8", [3], b"\x01\xff\x7f"),
        ]),
        "metadata-only": safetensors([], metadata={"note": "no tensors"}),
        "unicode-name": safetensors([("t\u00e9\u2603", "U8", [1], b"\x00")]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
