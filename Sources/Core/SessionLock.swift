import Foundation

/// One process at a time per session file: a TUI that has a session open owns it until it exits, and a
/// second restyle (TUI or `run --resume`) that opens the same file is refused with the owner's PID.
/// The lock is `flock` on a hidden file beside the session (`.NAME.lock`), not on the session itself,
/// because every save replaces the session file by rename; the kernel drops it when the process ends,
/// so a crash leaves no stale lock.
public final class SessionLock: Sendable {
    let fd: Int32
    public let path: String

    public static func lockPath(for session: String) -> String {
        let dir = (session as NSString).deletingLastPathComponent
        let name = "." + (session as NSString).lastPathComponent + ".lock"
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    public init(session: String) throws {
        path = Self.lockPath(for: session)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            throw RestyleError.badInput("\(session): cannot lock (\(String(cString: strerror(errno)))); is its folder writable?")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw RestyleError.badInput("\(path): not a regular file; cannot lock \(session)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buf = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buf, 31, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw RestyleError.badInput("\(session): in use by another restyle (PID \(pid)); quit that one first, or work on a copy")
        }
        let me = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, me, me.count, 0)
        self.fd = fd
    }

    deinit {
        _ = ftruncate(fd, 0)
        close(fd)
    }
}

extension SessionFile {
    /// What the "resume it?" question says about a saved session, read and fully validated.
    public struct Summary: Sendable {
        public var iteration: Int
        public var settings: Settings
        public var width: Int, height: Int
        public var modified: Date?
        public var paused: Bool
    }

    public static func summary(_ path: String) throws -> Summary {
        let data = try FileRead.mapped(path, limit: Limits.maxSessionBytes, what: "session file")
        let s = try SessionState(data: data, source: path)
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        return Summary(iteration: s.iteration, settings: s.settings, width: s.content.width, height: s.content.height,
                       modified: modified, paused: s.history.paused ?? false)
    }
}
