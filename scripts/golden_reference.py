#!/usr/bin/env python3
"""Regenerate the golden numbers of Tests/CoreTests/GoldenTests.swift and OptimizerGoldenTests.swift.

An independent PyTorch implementation of restyle's objective (docs/DESIGN.md, "The loss"): VGG19 on
0…255 RGB seen as BGR minus the Caffe means, content and style as relative errors averaged over layers,
Gram matrices normalised by H·W, TV on x/255. It uses autograd and torch.optim.Adam, and none of the
Swift code, so a mistake in the hand-written forward/backward passes shows up as a mismatch.

It prints, for each golden test, the values in the form the test takes them (to paste into the test),
then every value next to the one currently in the test, with the relative error and the test's
tolerance. Exit status 1 if any value is outside its tolerance.

Run by hand, never in CI (the tests do not depend on it). Needs PyTorch (the CPU is enough) and the
converted weights that `make setup` writes:

    python3 scripts/golden_reference.py [--weights PATH]

PATH defaults to $RESTYLE_HOME/vgg19.safetensors, else $XDG_CACHE_HOME/restyle/…, else
~/.cache/restyle/vgg19.safetensors, as in VGGWeights.defaultPath.
"""

import argparse
import json
import os
import re
import struct
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "Tests", "CoreTests")

# VGG19's layer names in order (LayerNames.all): conv/relu pairs per block, then a pool.
CONVS_PER_BLOCK = [2, 2, 4, 4, 4]
LAYERS = []
for _b, _n in enumerate(CONVS_PER_BLOCK, start=1):
    for _i in range(1, _n + 1):
        LAYERS += [f"conv{_b}_{_i}", f"relu{_b}_{_i}"]
    LAYERS.append(f"pool{_b}")

DEFAULT_CONTENT = ["relu4_2"]
DEFAULT_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
SEED_LAYERS = ["relu1_2", "relu2_2", "relu3_2", "relu4_1"]
MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(3, 1, 1)
ALPHA, BETA, TV = 1.0, 10.0, 100.0  # Golden.settings


def default_weights_path():
    home = os.environ.get("RESTYLE_HOME") or (
        os.environ["XDG_CACHE_HOME"] + "/restyle" if os.environ.get("XDG_CACHE_HOME")
        else os.path.expanduser("~/.cache/restyle"))
    return os.path.join(home, "vgg19.safetensors")


def load_weights(path):
    """The 16 (weight [out, in, 3, 3], bias) pairs, dequantised W = table[q].

    The safetensors file is parsed here (8-byte header length, JSON header, raw data) rather than with
    the safetensors package, so that only torch is needed."""
    with open(path, "rb") as f:
        blob = bytearray(f.read())
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])

    def tensor(name, dtype):
        begin, end = header[name]["data_offsets"]
        count = (end - begin) // torch.empty(0, dtype=dtype).element_size()
        t = torch.frombuffer(blob, dtype=dtype, count=count, offset=8 + n + begin)
        return t.reshape(header[name]["shape"]).clone()

    convs = []
    for b, n_convs in enumerate(CONVS_PER_BLOCK, start=1):
        for i in range(1, n_convs + 1):
            src = f"block{b}_conv{i}"
            q = tensor(src + "_W_q", torch.uint8).long()
            table = tensor(src + "_W_table", torch.float32)
            convs.append((table[q], tensor(src + "_b", torch.float32)))
    return convs


def image(w, h, f):
    """Golden.image: planar RGB 3×h×w, value f(i, j, c) mod 256 (Python's % is already non-negative)."""
    return torch.tensor([[[float(f(i, j, c) % 256) for j in range(w)] for i in range(h)] for c in range(3)])


A = image(80, 48, lambda i, j, c: 3 * i * i + 5 * j * j + 7 * i * j + 61 * c)  # content
B = image(64, 64, lambda i, j, c: (i ^ j) * (c + 1) * 3 + 17 * c)                # style
X = image(80, 48, lambda i, j, c: 11 * i + 7 * j + 13 * c + 5 * ((i * j) % 23))  # evaluated image


def features(convs, x, layers, pooling):
    """Outputs of `layers` for the RGB 0…255 image x (3×H×W). A conv layer's output is its pre-ReLU value."""
    h = (x.flip(0) - MEAN_BGR).unsqueeze(0)  # RGB → BGR, Caffe mean subtraction
    out, k = {}, 0
    for name in LAYERS[:max(LAYERS.index(l) for l in layers) + 1]:
        if name.startswith("conv"):
            h = F.conv2d(h, *convs[k], padding=1)
            k += 1
        elif name.startswith("relu"):
            h = F.relu(h)  # not in place, so a tapped conv output keeps its pre-ReLU value
        else:
            h = F.max_pool2d(h, 2) if pooling == "max" else F.avg_pool2d(h, 2)
        if name in layers:
            out[name] = h[0]
    return out


def gram(f):
    c = f.shape[0]
    m = f.reshape(c, -1)
    return m @ m.T / m.shape[1]


class Objective:
    """Objective.swift's loss: returns (total, content, style, tv) as 0-d tensors."""

    def __init__(self, convs, content, style, pooling, content_layers, style_layers):
        self.convs, self.pooling = convs, pooling
        self.cl, self.sl = content_layers, style_layers
        with torch.no_grad():
            self.fc = features(convs, content, content_layers, pooling)
            # The style image has its own size; its Grams are normalised by its own H·W.
            self.gs = {l: gram(f) for l, f in features(convs, style, style_layers, pooling).items()}

    def __call__(self, x):
        f = features(self.convs, x, set(self.cl) | set(self.sl), self.pooling)
        ec = sum(((f[l] - self.fc[l]) ** 2).sum() / (self.fc[l] ** 2).sum() for l in self.cl) / len(self.cl)
        es = sum(((gram(f[l]) - self.gs[l]) ** 2).sum() / (self.gs[l] ** 2).sum() for l in self.sl) / len(self.sl)
        u = x / 255
        etv = ((u[:, :, 1:] - u[:, :, :-1]) ** 2).mean() + ((u[:, 1:, :] - u[:, :-1, :]) ** 2).mean()
        return ALPHA * ec + BETA * es + TV * etv, ec, es, etv


def loss_terms(convs, pooling, layers):
    obj = Objective(convs, A, B, pooling, *layers)
    with torch.no_grad():
        return [t.item() for t in obj(X)]


def gradient_stats(convs, pooling):
    obj = Objective(convs, A, B, pooling, DEFAULT_CONTENT, DEFAULT_STYLE)
    x = X.clone().requires_grad_()
    obj(x)[0].backward()
    g = x.grad.double()  # statistics summed in double, as the test does
    c, i, j = torch.meshgrid(torch.arange(3), torch.arange(48), torch.arange(80), indexing="ij")
    d = ((i + 2 * j + 3 * c) % 7 - 3).double()
    return [g.norm().item(), (g * d).sum().item(), g.sum().item(), g[0, 0, 0].item(), g[2, 47, 79].item()]


def adam_rows(convs, steps=3):
    """Adam (lr 1 pixel level, default betas and eps) from x = A, clamped to 0…255 after each step
    like Optimizers.swift; row 0 is the start image, before any step."""
    obj = Objective(convs, A, B, "max", DEFAULT_CONTENT, DEFAULT_STYLE)
    x = A.clone().requires_grad_()
    opt = torch.optim.Adam([x], lr=1.0, betas=(0.9, 0.999), eps=1e-8)
    rows = []
    for it in range(steps + 1):
        opt.zero_grad()
        terms = obj(x)
        rows.append([t.item() for t in terms])
        if it == steps:
            break
        terms[0].backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 255)
    return rows


def test_values():
    """The numbers currently in the Swift tests, by test name, read from the files themselves so the
    comparison never goes stale."""
    src = open(os.path.join(TESTS, "GoldenTests.swift")).read()
    want = {}
    for name in ["testMaxPooling", "testAvgPooling", "testSeedLayerPreset", "testGradientMax", "testGradientAvg"]:
        m = re.search(r"func " + name + r"\(\).*?\n    }", src, re.S)
        want[name] = [float(v) for _, v in re.findall(r"(\w+): (-?[0-9][0-9.e+-]*)", m.group(0))] if m else None
    src = open(os.path.join(TESTS, "OptimizerGoldenTests.swift")).read()
    m = re.search(r"let want.*?\n        \]", src, re.S)
    want["testAdamMatchesReference"] = [
        [float(v) for v in row.split(",")] for row in re.findall(r"\(([-0-9.e+, ]+)\)", m.group(0))] if m else None
    return want


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=default_weights_path(), help="vgg19.safetensors (default: %(default)s)")
    args = ap.parse_args()
    convs = load_weights(args.weights)

    loss_names = ["total", "content", "style", "tv"]
    grad_names = ["norm", "dotD", "sum", "r00", "b4779"]
    got = {
        "testMaxPooling": loss_terms(convs, "max", (DEFAULT_CONTENT, DEFAULT_STYLE)),
        "testAvgPooling": loss_terms(convs, "avg", (DEFAULT_CONTENT, DEFAULT_STYLE)),
        "testSeedLayerPreset": loss_terms(convs, "max", (SEED_LAYERS, SEED_LAYERS)),
        "testGradientMax": gradient_stats(convs, "max"),
        "testGradientAvg": gradient_stats(convs, "avg"),
        "testAdamMatchesReference": adam_rows(convs),
    }

    print(f"torch {torch.__version__}, weights {args.weights}\n")
    print("To paste into the tests:")
    for name, vals in got.items():
        if name == "testAdamMatchesReference":
            print(f"  {name}:")
            for row in vals:
                print("    (" + ", ".join(repr(v) for v in row) + "),")
        else:
            names = grad_names if name.startswith("testGradient") else loss_names
            print(f"  {name}: " + ", ".join(f"{k}: {v!r}" for k, v in zip(names, vals)))

    # Tolerances as in the tests: 1e-4 for loss terms, 1e-3 for gradients; Adam 1e-3, content 1e-2
    # (row 0's content is exactly 0, since x = A there).
    print(f"\n{'value':34} {'reference':>24} {'in the test':>24} {'rel. error':>10}  tol")
    want, bad = test_values(), 0
    for name, vals in got.items():
        if want.get(name) is None:
            print(f"{name}: not found in the test file")
            bad += 1
            continue
        if name == "testAdamMatchesReference":
            items = [(f"{n}@{r}", v, w, 1e-2 if n == "content" else 1e-3)
                     for r, (row, wrow) in enumerate(zip(vals, want[name]))
                     for n, v, w in zip(loss_names, row, wrow)]
        else:
            names = grad_names if name.startswith("testGradient") else loss_names
            tol = 1e-3 if name.startswith("testGradient") else 1e-4
            items = [(n, v, w, tol) for n, v, w in zip(names, vals, want[name])]
        worst = 0.0
        for what, v, w, tol in items:
            if w == 0:  # the test checks |v| ≤ 1e-12 there
                rel, ok = abs(v), abs(v) <= 1e-12
            else:
                rel = abs(v - w) / abs(w)
                ok = rel <= tol
            worst = max(worst, rel)
            bad += not ok
            print(f"{name[4:] + ' ' + what:34} {v:24.17g} {w:24.17g} {rel:10.2e}  {tol:g}{'' if ok else '  MISMATCH'}")
        print(f"{'  max relative error':34} {worst:.2e}")
    print("\nall values within the tests' tolerances" if bad == 0 else f"\n{bad} value(s) outside tolerance")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
