#!/usr/bin/env python3
"""The TUI on a terminal whose reader stops reading, as over a stalled SSH link (issue 7 §2).

Runs restyle on a pseudo-terminal, reads its output for a moment, then stops reading, so the pty's
buffer fills and the screen thread blocks in write(). Meanwhile it checks that autosaves keep their
period, then sends SIGTERM and checks that restyle saves the session and exits within 2 s. Prints one
JSON line of figures; exits 0 when every check holds.

Usage: pty_stall.py BINARY WORKDIR CONTENT STYLE
"""
import fcntl, json, os, pty, select, signal, struct, sys, termios, time

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

# Read until the first autosave exists: the screen is up and the engine is running.
read = 0
end = time.time() + 60
while time.time() < end and not os.path.exists(session):
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            read += len(os.read(fd, 65536))
        except OSError:
            fail("restyle exited early")
if not os.path.exists(session):
    fail("no autosave within 60 s")
result["bytes_read_before_stall"] = read

# Stop reading. The preview redraws fill the pty buffer within a second or two.
stall_start = time.time()
mtimes = []
last = None
while time.time() - stall_start < 7:
    try:
        m = os.stat(session).st_mtime_ns
    except FileNotFoundError:
        m = None
    if m is not None and m != last:
        mtimes.append(time.time() - stall_start)
        last = m
    time.sleep(0.05)

# Is the screen thread really blocked writing to the terminal? (n_tty_write waits in wait_woken.)
blocked = []
for tid in os.listdir("/proc/%d/task" % pid):
    try:
        with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
            w = f.read().strip()
        if "tty" in w or "wait_woken" in w:
            blocked.append(w)
    except OSError:
        pass
result["threads_blocked_on_tty"] = blocked
result["autosaves_during_stall"] = len(mtimes)
result["autosave_times"] = [round(t, 2) for t in mtimes]
if not blocked:
    fail("the screen never blocked on the terminal (the test did not stall it)")
# One save a second for 7 s: at least 5, allowing for timer slack and the first one's phase.
if len(mtimes) < 5:
    fail("autosave stopped while the terminal was stalled")

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
