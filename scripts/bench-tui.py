#!/usr/bin/env python3
"""Benchmarks of the terminal UI, as a user over SSH would feel them (Python standard library only).

1. Key latency: restyle runs in a detached tmux session at 120x40 while a 512x512 image optimises
   (iterations take seconds); we press -> / <- on the alpha slider and poll tmux's screen until the new
   value shows. The figure includes tmux's own rendering and the polling interval, so it is an upper
   bound on restyle's own delay.
2. Output volume: restyle runs on a pseudo-terminal of 120x40 with the preview live (the default 256
   working size, new images every iteration); we count every byte it writes over the measuring window.

Usage: bench-tui.py [--binary PATH] [--seconds N] [--presses N]
Needs tmux, the weights and the demo images (make setup).
"""
import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time


def home():
    h = os.environ.get("RESTYLE_HOME") or ""
    if h:
        return h
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "restyle")


def demo_pair():
    d = os.path.join(home(), "demo")
    return os.path.join(d, "astronaut.png"), os.path.join(d, "hubble_deep_field.jpg")


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def key_latency(binary, presses, out_dir):
    sock = "restyle-bench-%d" % os.getpid()
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    content, style = demo_pair()
    cmd = "env TERM=screen-256color %s %s %s --size 512 --autosave 0 --out-dir %s" % (binary, content, style, out_dir)
    subprocess.run(tmux + ["new-session", "-d", "-s", "b", "-x", "120", "-y", "40", cmd], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def screen():
        return subprocess.run(tmux + ["capture-pane", "-p", "-t", "b"], capture_output=True, text=True).stdout

    def alpha_line(s):
        for line in s.splitlines():
            if "α content" in line:
                return line
        return ""

    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            s = screen()
            if "running" in s and " it " in s and "it 0/" not in s:
                break
            time.sleep(0.2)
        else:
            sys.exit("bench-tui: restyle did not start iterating within 120 s:\n" + screen())
        delays = []
        for i in range(presses):
            before = alpha_line(screen())
            t0 = time.perf_counter()
            subprocess.run(tmux + ["send-keys", "-t", "b", "Right" if i % 2 == 0 else "Left"], check=True)
            while True:
                line = alpha_line(screen())
                if line and line != before:
                    delays.append((time.perf_counter() - t0) * 1000)
                    break
                if time.perf_counter() - t0 > 5:
                    sys.exit("bench-tui: no screen change 5 s after a key press")
            time.sleep(0.15)
        iteration_line = [l for l in screen().splitlines() if " it " in l]
        return delays, (iteration_line[0].strip() if iteration_line else "")
    finally:
        subprocess.run(tmux + ["kill-server"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def output_volume(binary, seconds, out_dir):
    content, style = demo_pair()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary, content, style, "--autosave", "0", "--out-dir", out_dir])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    total = 0
    start = None
    warm = time.time() + 120
    buf = b""
    # Measuring starts once the engine iterates (the first seconds load weights and draw the frame).
    while True:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if start is None:
                buf = (buf + data)[-4096:]
                if b"running" in buf:
                    start = time.time()
                    total = 0
            else:
                total += len(data)
        now = time.time()
        if start is None and now > warm:
            sys.exit("bench-tui: restyle did not start within 120 s")
        if start is not None and now - start >= seconds:
            break
    elapsed = time.time() - start
    os.write(fd, b"q")
    deadline = time.time() + 60
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    return total, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "restyle"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--presses", type=int, default=40)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    if not shutil.which("tmux"):
        sys.exit("bench-tui: tmux is needed (make setup installs it)")
    for p in demo_pair():
        if not os.path.exists(p):
            sys.exit("bench-tui: %s missing; run make setup" % p)
    with tempfile.TemporaryDirectory() as out:
        # A folder each: the second run would otherwise find the first's session and ask to resume it.
        delays, status = key_latency(binary, a.presses, os.path.join(out, "keys"))
        print("restyle bench-tui")
        print("  key → screen (tmux 120×40, 512² optimising, %d presses): p50 %.1f ms, p95 %.1f ms, max %.1f ms"
              % (len(delays), percentile(delays, 50), percentile(delays, 95), max(delays)))
        print("    status then: %s" % status)
        total, elapsed = output_volume(binary, a.seconds, os.path.join(out, "volume"))
        print("  terminal output (pty 120×40, 256² preview live, %.0f s): %d bytes, %.1f KB/s"
              % (elapsed, total, total / elapsed / 1000))


if __name__ == "__main__":
    main()
