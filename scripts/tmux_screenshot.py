#!/usr/bin/env python3
"""A PNG of what a tmux pane shows, colours and all: for the README and issue notes.

Runs COMMAND in a detached tmux session of COLS×ROWS (COLORTERM=truecolor, so restyle draws in 24-bit),
waits SECONDS, takes `tmux capture-pane -e` (the cells with their SGR colours), then shows that text
in an xterm under Xvfb and takes a screenshot of it with ImageMagick's import. Needs tmux, xterm, Xvfb
and imagemagick (make test-xterm installs the last three).

Usage: tmux_screenshot.py OUT.png SECONDS COLS ROWS COMMAND…
"""
import os, subprocess, sys, tempfile, time

out, seconds, cols, rows = os.path.abspath(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
command = " ".join(sys.argv[5:])
sock = "shot-%d" % os.getpid()
tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
work = tempfile.mkdtemp(prefix="restyle-shot-")
env = dict(os.environ, COLORTERM="truecolor")
env.pop("NO_COLOR", None)
try:
    subprocess.run(tmux + ["new-session", "-d", "-s", "s", "-x", str(cols), "-y", str(rows), command + "; sleep 600"],
                   check=True, env=env)
    time.sleep(seconds)
    text = subprocess.run(tmux + ["capture-pane", "-e", "-p", "-t", "s"], check=True, capture_output=True).stdout
finally:
    subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)

# Each captured line ends where its text does; print them at fixed rows so nothing scrolls.
lines = text.split(b"\n")[:rows]
screen = b"\x1b[2J" + b"".join(b"\x1b[%d;1H" % (i + 1) + l + b"\x1b[0m" for i, l in enumerate(lines))
capture = os.path.join(work, "capture.ans")
with open(capture, "wb") as f:
    f.write(screen)

rfd, wfd = os.pipe()
xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", "1600x1000x24", "-wr", "-nolisten", "tcp"],
                        pass_fds=[wfd], stderr=subprocess.DEVNULL)
os.close(wfd)
with os.fdopen(rfd) as f:
    display = ":" + f.readline().strip()
xenv = dict(os.environ, DISPLAY=display)
term = subprocess.Popen(["xterm", "-geometry", "%dx%d+0+0" % (cols, rows), "-fa", "DejaVu Sans Mono", "-fs", "9",
                         "-bg", "black", "-fg", "grey90", "-e", "sh", "-c", "cat '%s'; sleep 600" % capture], env=xenv)
try:
    time.sleep(3)
    subprocess.run(["import", "-display", display, "-window", "root", out], check=True)
    # Only the xterm window: the root is white (-wr), the terminal black.
    subprocess.run(["convert", out, "-trim", "+repage", out], check=True)
finally:
    term.terminate()
    xvfb.terminate()
print(out)
