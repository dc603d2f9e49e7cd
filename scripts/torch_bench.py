#!/usr/bin/env python3
"""PyTorch's seconds per iteration and peak memory on restyle's objective, to set beside `restyle bench`.

Issue 8 measures restyle against PyTorch on the same CPU. This is that side: golden_reference.py's
independent objective (same VGG19 weights, same loss, relu4_2 content, five style layers, α 1, β 10),
optimised the way `restyle run` does by default: L-BFGS with a history of 100, one loss-and-gradient
evaluation per step and no line search, starting from the content image, max pooling.

    python3 scripts/torch_bench.py CONTENT STYLE --size 512 [--threads 2] [--iterations 10]

Both images are resized (bicubic) to a SIZE×SIZE square, as the issue's table did. The first two
iterations are warm-up and not timed. It prints s/it and the process's peak RSS (`ru_maxrss`, which
includes PyTorch itself, as any user of it pays). Run one size per process, so the peak is that
size's. Needs torch and Pillow; run by hand, never in CI.
"""

import argparse
import resource
import time

import torch

from golden_reference import DEFAULT_CONTENT, DEFAULT_STYLE, Objective, default_weights_path, load_weights


def load(path, size):
    from PIL import Image  # only here, so --help works without Pillow
    im = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    t = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).float()
    return t.reshape(size, size, 3).permute(2, 0, 1).contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("content")
    ap.add_argument("style")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--iterations", type=int, default=10, help="timed iterations, after 2 warm-up")
    ap.add_argument("--weights", default=default_weights_path())
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    convs = load_weights(args.weights)
    content, style = load(args.content, args.size), load(args.style, args.size)
    obj = Objective(convs, content, style, "max", DEFAULT_CONTENT, DEFAULT_STYLE)
    x = content.clone().requires_grad_()
    opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=100, line_search_fn=None)
    last = {}

    def closure():
        opt.zero_grad()
        loss = obj(x)[0]
        loss.backward()
        last["loss"] = loss.item()
        return loss

    for _ in range(2):
        opt.step(closure)
    t0 = time.perf_counter()
    for _ in range(args.iterations):
        opt.step(closure)
    dt = (time.perf_counter() - t0) / args.iterations
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__} size {args.size}² threads {torch.get_num_threads()}: "
          f"{dt:.3f} s/it over {args.iterations}, peak RSS {rss_mb:,.0f} MiB, loss {last['loss']:.4f}")


if __name__ == "__main__":
    main()
