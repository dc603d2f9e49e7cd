#!/usr/bin/env python3
"""End-to-end test of the graphics preview in a real terminal (issue 7 §4): `make test-xterm`.

Starts Xvfb, runs restyle inside `xterm -ti vt340` (a sixel terminal) on a small synthetic image with
--iterations 0 (so the result shown is the content image itself, unchanged at its own size), takes a
screenshot, finds the picture in the preview pane, and compares it with the PNG at pixel resolution:
the mean absolute difference against the PNG scaled to the same rectangle must be small, and clearly
smaller than against the same PNG reduced to what block symbols can show (half a cell per pixel) --
the check that tells sixel from symbols. The same run with --preview symbols is the control: it must
fail that second check, or the test could not tell them apart.

With --preview auto, restyle has to find sixel by itself (xterm -ti vt340 answers CSI c with 4), so
the detection is tested too. Screenshots are kept in OUTDIR (sixel.png, symbols.png).

Usage: xterm_preview.py BINARY OUTDIR
Needs xterm, Xvfb and ImageMagick's import/convert (make test-xterm installs them) and numpy.
Prints one JSON line of figures; exits 0 when every check holds.
"""
import json, os, shutil, struct, subprocess, sys, tempfile, time, zlib

import numpy as np

binary, outdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.makedirs(outdir, exist_ok=True)
work = tempfile.mkdtemp(prefix="restyle-xterm-")
COLS, ROWS = 120, 40
# A dark terminal, as most are; a fixed font so the cell size does not depend on the system's default.
FONT = ["-fa", "DejaVu Sans Mono", "-fs", "9", "-bg", "black", "-fg", "grey90"]
result = {"ok": False}
procs = []


def fail(why):
    result["why"] = why
    print(json.dumps(result))
    cleanup()
    sys.exit(1)


def cleanup():
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(work, ignore_errors=True)


def write_png(path, a):
    raw = b"".join(b"\0" + a[i].tobytes() for i in range(a.shape[0]))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", a.shape[1], a.shape[0], 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def read_ppm(path):
    """An image as an H×W×3 array, through ImageMagick (any format it reads)."""
    data = subprocess.run(["convert", path, "-depth", "8", "ppm:-"], check=True, capture_output=True).stdout
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(data[pos + 1:pos + 1 + w * h * 3], np.uint8).reshape(h, w, 3).astype(np.float64)


def resize(a, w, h):
    """Area-weighted resampling to w×h (each output pixel averages the input it covers)."""
    def weights(n_out, n_in):
        m = np.zeros((n_out, n_in))
        scale = n_in / n_out
        for j in range(n_out):
            a0, a1 = j * scale, (j + 1) * scale
            for i in range(int(a0), min(n_in, int(np.ceil(a1)))):
                m[j, i] = max(0.0, min(a1, i + 1) - max(a0, i))
            m[j] /= m[j].sum()
        return m
    wy, wx = weights(h, a.shape[0]), weights(w, a.shape[1])
    return np.stack([wy @ a[..., c] @ wx.T for c in range(3)], axis=2)


# A picture with detail finer than a character cell: colour ramps, and blue in a checkerboard of
# single pixels, which the pane shows about 6 screen pixels wide, smaller than a cell.
h, w = 72, 96
y, x = np.mgrid[0:h, 0:w]
img = np.zeros((h, w, 3), np.uint8)
img[..., 0] = x * 255 // (w - 1)
img[..., 1] = y * 255 // (h - 1)
img[..., 2] = np.where((x + y) % 2 == 0, 230, 40)
img = np.maximum(img, 30)
png = os.path.join(work, "ramp.png")
write_png(png, img)

# Xvfb on the first free display it finds.
rfd, wfd = os.pipe()
xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                        pass_fds=[wfd], stderr=subprocess.DEVNULL)
procs.append(xvfb)
os.close(wfd)
display = ""
with os.fdopen(rfd) as f:
    display = ":" + f.readline().strip()
if display == ":":
    fail("Xvfb did not start")
env = dict(os.environ, DISPLAY=display)
env.pop("NO_COLOR", None)

# The cell's pixel size as xterm reports it (TIOCGWINSZ), for the symbols' resolution.
probe = os.path.join(work, "winsize")
subprocess.run(["xterm", "-ti", "vt340", "-geometry", "%dx%d+0+0" % (COLS, ROWS)] + FONT +
               ["-e", sys.executable, "-c",
                "import fcntl,termios,struct;open(%r,'w').write(' '.join(map(str,struct.unpack('HHHH',"
                "fcntl.ioctl(1,termios.TIOCGWINSZ,bytes(8))))))" % probe], env=env, timeout=30)
rows, cols, xpix, ypix = map(int, open(probe).read().split())
cell_w, cell_h = xpix / cols, ypix / rows
result["cell_pixels"] = [round(cell_w, 2), round(cell_h, 2)]


def shoot(preview, name):
    out = os.path.join(work, "out-" + preview)
    run_env = dict(env, RESTYLE_HOME=os.environ.get("RESTYLE_HOME", ""),
                   XDG_CONFIG_HOME=os.path.join(work, "config"))
    # xterm sets TERM=xterm for its child; its 256-colour entry is what users of xterm set.
    cmd = ["env", "TERM=xterm-256color", binary, png, png, "--size", "96", "--iterations", "0", "--autosave", "0", "--out-dir", out,
           "--preview", preview, "--no-mouse"]
    term = subprocess.Popen(["xterm", "-ti", "vt340", "-geometry", "%dx%d+0+0" % (COLS, ROWS)] + FONT + ["-e"] + cmd,
                            env=run_env)
    procs.append(term)
    shot = os.path.join(outdir, name)
    # The picture is there once the preview pane is mostly not background; at most 30 s.
    deadline = time.time() + 30
    found = None
    while time.time() < deadline:
        time.sleep(1.0)
        subprocess.run(["import", "-display", display, "-window", "root", "-crop",
                        "%dx%d+0+0" % (xpix + 8, ypix + 8), shot], check=True)
        found = locate(read_ppm(shot))
        if found:
            time.sleep(2.5)  # the frame after "done" may re-send it; take the settled one
            subprocess.run(["import", "-display", display, "-window", "root", "-crop",
                            "%dx%d+0+0" % (xpix + 8, ypix + 8), shot], check=True)
            found = locate(read_ppm(shot))
            break
    term.terminate()
    term.wait(10)
    return shot, found


def locate(a):
    """The picture's rectangle in the left pane: rows and columns mostly unlike the background."""
    left = a[:, : int(a.shape[1] * 0.62)]
    # The terminal's background: its most common colour.
    colours, counts = np.unique(left[::4, ::4].reshape(-1, 3), axis=0, return_counts=True)
    bg = colours[counts.argmax()]
    far = np.abs(left - bg).sum(2) > 60
    y0, y1 = longest_run(far.mean(1) > 0.5)
    if y1 - y0 < cell_h * 3:
        return None
    x0, x1 = longest_run(far[y0:y1].mean(0) > 0.8)
    if x1 - x0 < cell_w * 3:
        return None
    return a[y0:y1, x0:x1], (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def longest_run(flags):
    """Start and end of the longest run of True."""
    best, start = (0, 0), None
    for i, f in enumerate(list(flags) + [False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


def judge(found):
    """Mean absolute difference (0-255) between the picture on screen, averaged back down to the PNG's
    own pixels, and the PNG."""
    crop, rect = found
    seen = resize(crop, w, h)
    return {"rect": rect, "mad": round(float(np.abs(seen - img).mean()), 2)}


def best_blocks_mad(rect):
    """The same difference for the best any block-symbol preview could do in that rectangle: one
    colour per half cell (a cell holds two at most, and chafa's symbols are two-coloured)."""
    _, _, pw, ph = rect
    bw, bh = max(1, round(pw / cell_w)), max(1, round(2 * ph / cell_h))
    blocky = resize(resize(img.astype(np.float64), bw, bh), w, h)
    return round(float(np.abs(blocky - img).mean()), 2)


try:
    sixel_shot, found = shoot("auto", "sixel.png")
    if not found:
        fail("no picture in the preview pane with --preview auto (screenshot: %s)" % sixel_shot)
    result["sixel"] = judge(found)
    symbols_shot, found_s = shoot("symbols", "symbols.png")
    if not found_s:
        fail("no picture in the preview pane with --preview symbols (screenshot: %s)" % symbols_shot)
    result["symbols"] = judge(found_s)
    result["screenshots"] = [sixel_shot, symbols_shot]
    s, c = result["sixel"], result["symbols"]
    limit = best_blocks_mad(s["rect"])
    result["best_blocks_mad"] = limit
    # Colours right at the PNG's own resolution: well under what cells could reach. Symbols, the
    # control, must not pass the same check.
    if not s["mad"] < min(20, 0.5 * limit):
        fail("the preview is not the PNG at pixel resolution (difference %.1f, blocks at best %.1f)" % (s["mad"], limit))
    if c["mad"] < 0.5 * limit:
        fail("the control failed: symbols passed as pixel resolution, so the check cannot tell them apart")
    result["ok"] = True
    print(json.dumps(result))
finally:
    cleanup()
