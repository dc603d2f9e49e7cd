#!/usr/bin/env python3
"""The TUI on a terminal whose reader stops reading, as over a stalled SSH link (issue 7 §2).

Runs restyle on a pseudo-terminal, reads its output for a moment, then stops reading, so the pty's
buffer fills. While it is stalled: no thread of restyle may wait in a tty write, autosaves keep their
period, and keys still work (`s` writes a snapshot, `2` switches the view). Then reading resumes and
the whole byte stream, replayed into a tmux pane as a terminal would show it, must end in a whole,
current frame (the content view asked for during the stall, the status and hint lines, every border). Last, a second stall and
SIGTERM: restyle must save the session and exit within 2 s. Prints one JSON line of figures; exits 0
when every check holds.

Usage: pty_stall.py BINARY WORKDIR CONTENT STYLE
"""
import fcntl, glob, json, os, pty, select, signal, struct, subprocess, sys, termios, time

binary, work, content, style = sys.argv[1:5]
out_dir = os.path.join(work, "out")
session = os.path.join(out_dir, "%s-x-%s.session" % (os.path.splitext(os.path.basename(content))[0],
                                                       os.path.splitext(os.path.basename(style))[0]))
autosave = 1.0

pid, fd = pty.fork()
if pid == 0:
    os.chdir(work)
    env = dict(os.environ, TERM="xterm-256color")
    args = [binary, content, style, "--size", "48", "--out-dir", out_dir, "--autosave", str(autosave),
            "--fps", "30", "--iterations", "1000000"]
    os.execve(binary, args, env)

fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
result = {"ok": False}

def fail(why):
    result["why"] = why
    print(json.dumps(result))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    sys.exit(1)

stream = bytearray()

def read_for(seconds, until=None):
    end = time.time() + seconds
    while time.time() < end and not (until and until()):
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                stream.extend(os.read(fd, 65536))
            except OSError:
                fail("restyle exited early")

# Read until the first autosave exists: the screen is up and the engine is running.
read_for(60, until=lambda: os.path.exists(session))
if not os.path.exists(session):
    fail("no autosave within 60 s")
result["bytes_read_before_stall"] = len(stream)

def snapshots():
    return glob.glob(os.path.join(out_dir, "*-i*.png"))

def threads_in_tty_write():
    """Threads of restyle waiting in a tty write (n_tty_write sleeps in wait_woken)."""
    found = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                w = f.read().strip()
            if "tty" in w or "wait_woken" in w:
                found.append(w)
        except OSError:
            pass
    return found

# Stop reading. The preview redraws fill the pty buffer within a second or two; the frame with the
# view switched and the snapshot's message can only be drawn once reading resumes.
stall_start = time.time()
mtimes = []
last = None
keys_sent = False
blocked = []
while time.time() - stall_start < 7:
    try:
        m = os.stat(session).st_mtime_ns
    except FileNotFoundError:
        m = None
    if m is not None and m != last:
        mtimes.append(time.time() - stall_start)
        last = m
    if not keys_sent and time.time() - stall_start > 3:
        os.write(fd, b"s2")
        keys_sent = True
    if time.time() - stall_start > 2:
        blocked += threads_in_tty_write()
    time.sleep(0.05)

# What the terminal holds unread: proof that the link really was stalled.
unread = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
result["unread_in_pty"] = unread
result["threads_blocked_on_tty"] = sorted(set(blocked))
result["autosaves_during_stall"] = len(mtimes)
result["autosave_times"] = [round(t, 2) for t in mtimes]
result["snapshots_during_stall"] = len(snapshots())
if unread < 1024:
    fail("the pty was not full: the test did not stall the link")
if blocked:
    fail("a thread of restyle blocked writing to the stalled terminal")
# One save a second for 7 s: at least 5, allowing for timer slack and the first one's phase.
if len(mtimes) < 5:
    fail("autosave stopped while the terminal was stalled")
if not snapshots():
    fail("the key s did nothing while the terminal was stalled")

# Reading resumes: the screen must catch up to a whole, current frame. The stream so far is replayed
# into a tmux pane of the same size, which shows it as a terminal would.
read_for(4)
result["bytes_read_after_resume"] = len(stream) - result["bytes_read_before_stall"]
replay = os.path.join(work, "stream.bin")
with open(replay, "wb") as f:
    f.write(stream)
sock = "pty-stall-%d" % os.getpid()
tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
try:
    subprocess.run(tmux + ["new-session", "-d", "-s", "replay", "-x", "140", "-y", "40",
                           "stty -echo; cat '%s'; sleep 60" % replay], check=True,
                   env=dict(os.environ, TERM="xterm-256color"))
    time.sleep(1.5)
    shown = subprocess.run(tmux + ["capture-pane", "-p", "-t", "replay"], check=True,
                           capture_output=True, text=True).stdout.split("\n")
finally:
    subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)
rows = [r for r in shown[:40]]
problems = []
if not rows[0].startswith("╭") or "content" not in rows[0]:
    problems.append("top line is not the preview's title with the content view: %r" % rows[0])
if not any(r.startswith(" running  it ") for r in rows):
    problems.append("no status line")
if not any("q quit" in r for r in rows):
    problems.append("no hint line")
if sum(r.count("╰") for r in rows) < 2:
    problems.append("pane bottoms missing")
result["frame_after_resume_ok"] = not problems
if problems:
    result["frame_after_resume"] = rows
    fail("after the link resumed the screen was not a whole current frame: " + "; ".join(problems))

# Stall again, then SIGTERM.
time.sleep(3)

before = os.stat(session).st_mtime_ns
t0 = time.time()
os.kill(pid, signal.SIGTERM)
status = None
while time.time() - t0 < 10:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
    time.sleep(0.02)
took = time.time() - t0
result["exit_after_sigterm_s"] = round(took, 3)
if status is None:
    fail("still alive 10 s after SIGTERM")
result["exit_status"] = os.waitstatus_to_exitcode(status)
if took > 2.0:
    fail("SIGTERM took more than 2 s")
with open(session, "rb") as f:
    magic = f.read(8)
if magic != b"RSTYLSES":
    fail("the session is not a session file")
result["saved_after_sigterm"] = os.stat(session).st_mtime_ns > before
if not result["saved_after_sigterm"]:
    fail("no save after SIGTERM")
result["ok"] = True
print(json.dumps(result))
