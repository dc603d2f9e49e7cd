import Core
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The only way bytes reach the terminal while the screen is open. ncurses writes into a pipe (it
/// would otherwise block in write(2) as soon as a stalled SSH link fills the tty's buffer, and with it
/// the whole screen thread); a pump thread moves the pipe's bytes to the tty through a non-blocking
/// descriptor of its own. The screen thread never waits on the link: it asks `backlog` before drawing
/// and skips frames while the terminal has not taken the last one, so only the newest state is ever
/// sent and nothing already queued is thrown away (a half-sent frame would leave the screen garbled).
final class TerminalOutput: Sendable {
    /// Where ncurses and everything else writes. Blocking, but the pump empties it whatever the tty does.
    let writeFD: Int32
    private let readFD: Int32
    private let ttyFD: Int32
    private let state = LockedBox(PumpState())

    struct PumpState {
        /// Bytes the pump holds that the tty has not taken yet.
        var pending = 0
        /// Every byte the tty accepted since start, for the bytes/s figures.
        var written = 0
        /// The tty refused with an error other than "try again" (hung up): bytes are dropped from then on.
        var broken = false
    }

    /// Opens the pipe and a non-blocking descriptor on the terminal that stdout is, and starts the pump.
    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw RestyleError.internal("pipe: \(String(cString: strerror(errno)))") }
        readFD = fds[0]; writeFD = fds[1]
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC); _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        // A full-screen 24-bit repaint can exceed the default 64 KB; the pump drains it meanwhile anyway.
        // (F_SETPIPE_SZ, which Glibc's module does not export.)
        _ = fcntl(writeFD, 1031, 1 << 20)
        // A description of our own, so O_NONBLOCK does not leak to the shell that shares stdout's.
        var tty: Int32 = -1
        if let name = ttyname(STDOUT_FILENO) { tty = open(name, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) }
        guard tty >= 0 else {
            close(readFD); close(writeFD)
            throw RestyleError.badInput("cannot open the terminal for writing (\(String(cString: strerror(errno))))")
        }
        ttyFD = tty
        let pump = Thread { [readFD, ttyFD, state] in Self.pump(readFD: readFD, ttyFD: ttyFD, state: state) }
        pump.name = "restyle.tty-pump"
        pump.start()
    }

    /// Bytes written by the screen but not yet taken by the terminal: what is in the pipe and in the pump.
    var backlog: Int {
        var inPipe: Int32 = 0
        _ = ioctl(readFD, UInt(FIONREAD), &inPipe)
        return Int(inPipe) + state.withLock { $0.broken ? 0 : $0.pending }
    }

    /// Every byte the terminal has accepted so far.
    var bytesWritten: Int { state.withLock { $0.written } }

    /// Queues bytes after whatever ncurses has flushed (call it only between frames, when curses' own
    /// buffer is empty, or the order on the wire would not be the order drawn).
    func send(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(writeFD, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }

    func send(_ s: String) { send(Array(s.utf8)) }

    /// Waits until the terminal has taken everything, or `timeout` seconds; returns whether it did.
    @discardableResult
    func drain(timeout: Double) -> Bool {
        let end = ProcessInfo.processInfo.systemUptime + timeout
        while backlog > 0 {
            if ProcessInfo.processInfo.systemUptime >= end { return false }
            usleep(5_000)
        }
        return true
    }

    /// Reads the pipe whenever it has bytes and writes to the tty whenever it can take some; never
    /// blocks in either, so the pipe never fills (whatever the link does) and ncurses never waits.
    private static func pump(readFD: Int32, ttyFD: Int32, state: LockedBox<PumpState>) {
        var buf = [UInt8]()
        var start = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var open = true
        while open || start < buf.count {
            let want = start < buf.count
            var fds = [pollfd(fd: open ? readFD : -1, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: want ? ttyFD : -1, events: Int16(POLLOUT), revents: 0)]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 {
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(readFD, $0.baseAddress!, $0.count) }
                    if n > 0 { buf.append(contentsOf: chunk[0..<n]); continue }
                    if n == 0 { open = false }
                    break
                }
            }
            var wrote = 0
            var broken = false
            if fds[1].revents & Int16(POLLOUT) != 0 && start < buf.count {
                let n = buf.withUnsafeBytes { write(ttyFD, $0.baseAddress! + start, $0.count - start) }
                if n > 0 { start += n; wrote = n } else if n < 0 && errno != EAGAIN && errno != EINTR { broken = true }
            } else if fds[1].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
                broken = true
            }
            // A terminal that is gone takes nothing more; dropping the bytes keeps the pipe moving.
            if broken { start = buf.count }
            if start == buf.count { buf.removeAll(keepingCapacity: buf.capacity <= 1 << 20); start = 0 }
            else if start > 1 << 16 && start > buf.count / 2 { buf.removeSubrange(0..<start); start = 0 }
            let pending = buf.count - start
            state.withLock { s in s.pending = pending; s.written += wrote; if broken { s.broken = true } }
        }
    }
}

/// The terminal's input modes, set by us rather than by ncurses: ncurses' descriptor is the pipe, on
/// which its raw()/endwin() cannot change anything.
struct TerminalModes {
    private var saved = termios()
    private var haveSaved = false

    /// Keys arrive one at a time, unechoed, with Ctrl-C and Ctrl-Z as keys (raw()), Enter as CR (nonl()).
    mutating func enterRaw() {
        var t = termios()
        guard tcgetattr(STDIN_FILENO, &t) == 0 else { return }
        if !haveSaved { saved = t; haveSaved = true }
        t.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        t.c_iflag &= ~tcflag_t(IXON | ICRNL | INLCR | IGNCR | BRKINT | ISTRIP)
        withUnsafeMutableBytes(of: &t.c_cc) { cc in cc[Int(VMIN)] = 1; cc[Int(VTIME)] = 0 }
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &t)
    }

    /// As the shell had it.
    func restore() {
        guard haveSaved else { return }
        var t = saved
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &t)
    }

    /// Rows and columns of the terminal (and its pixels, when it says).
    static func windowSize() -> winsize? {
        var ws = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 else { return nil }
        return ws
    }
}
