#!/usr/bin/env python3
"""Bytes and frames of the graphics preview over time (issue 7 §4's cap): runs restyle with
--preview sixel on a pty of 120×40 cells that says it is 1200×800 pixels, while a 128² image
optimises, reads everything it writes for SECONDS, and reports the sixel frames: how many, the
shortest gap between two, and the average bytes per second of all output and of the images alone.
Exits 0 when the cap holds (frames ≥ 2 s apart, ≤ 100 KB/s on average after the first 200 KB burst)
and images did flow.

With a fourth argument, READ_BYTES_PER_S, the pty is read no faster than that, as over a slow link:
then the preview must give up graphics (its status line says "slow link") and send no image after.

Usage: graphics_rate.py BINARY WORKDIR CONTENT STYLE [SECONDS [READ_BYTES_PER_S]]
"""
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

binary, work, content, style = sys.argv[1:5]
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 30
read_rate = float(sys.argv[6]) if len(sys.argv) > 6 else None
pid, fd = pty.fork()
if pid == 0:
    os.chdir(work)
    env = dict(os.environ, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    os.execve(binary, [binary, content, style, "--size", "128", "--out-dir", os.path.join(work, "out"),
                       "--autosave", "0", "--iterations", "1000000", "--preview", "sixel", "--no-mouse"], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 1200, 800))

chunks = []  # (time, bytes)
start = time.time()
while time.time() - start < seconds:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 4096 if read_rate else 1 << 16)
        except OSError:
            break
        chunks.append((time.time() - start, data))
        if read_rate:
            time.sleep(len(data) / read_rate)
os.kill(pid, signal.SIGTERM)
try:
    while True:
        r, _, _ = select.select([fd], [], [], 3)
        if not r or not os.read(fd, 1 << 16):
            break
except OSError:
    pass
os.waitpid(pid, 0)

stream = b"".join(d for _, d in chunks)
# When each byte arrived, to time each image's start.
offsets, pos = [], 0
for t, d in chunks:
    offsets.append((pos, t))
    pos += len(d)
def time_at(i):
    t = 0
    for o, tt in offsets:
        if o > i:
            break
        t = tt
    return t
frames = [(time_at(m.start()), m.end() - m.start()) for m in re.finditer(rb"\x1bP[0-9;]*q.*?\x1b\\", stream, re.S)]
image_bytes = sum(n for _, n in frames)
gaps = [b[0] - a[0] for a, b in zip(frames, frames[1:])]
span = chunks[-1][0] if chunks else seconds
result = {"seconds": round(span, 1), "frames": len(frames), "image_bytes": image_bytes,
          "image_bytes_per_s": round(image_bytes / span), "all_bytes_per_s": round(len(stream) / span),
          "frames_per_s": round(len(frames) / span, 3), "min_gap_s": round(min(gaps), 2) if gaps else None,
          "frame_sizes": [n for _, n in frames][:12]}
if read_rate:
    said = stream.find(b"slow link")
    result["slow_link_said_at_s"] = round(time_at(said), 1) if said >= 0 else None
    # A frame may have been on its way when it was said; none may start after.
    late = [f for f in frames if said >= 0 and f[0] > time_at(said) + 0.5]
    result["frames_after"] = len(late)
    ok = said >= 0 and not late and len(frames) >= 1
else:
    # Gaps are timed when the bytes are read here, up to a select timeout and a scheduling delay
    # after they were written: 1.8 s for the 2 s rule.
    ok = len(frames) >= 3 and (not gaps or min(gaps) >= 1.8) and image_bytes <= 200_000 + 100_000 * span + max(
        [n for _, n in frames] or [0])
result["ok"] = ok
print(json.dumps(result))
sys.exit(0 if ok else 1)
