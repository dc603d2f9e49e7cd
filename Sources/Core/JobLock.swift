import Foundation

/// One runner per batch job, across processes and shards: a lock file created with `O_EXCL` that holds
/// "PID HOST", kept `flock`ed by its owner for as long as it runs the job.
///
/// A lock whose owner is gone is stale and taken over, but only on the owner's host, where the kernel
/// can tell: the owner's `flock` vanishes with its process, so a lock file that can be `flock`ed is
/// stale. A lock from another host is left alone (its owner may be alive; `batch status` names it).
/// Taking over is race-free: the taker holds the `flock` while it checks that the path still names the
/// file it locked and unlinks it; an owner that finds its fresh file gone that way starts again.
public final class JobLock: Sendable {
    public let path: String
    let fd: Int32

    /// Who holds a lock, as its file says.
    public struct Owner: Equatable, Sendable, CustomStringConvertible {
        public var pid: Int32
        public var host: String
        public var description: String { "PID \(pid) on \(host)" }
    }

    public enum Attempt: Sendable {
        case acquired(JobLock)
        case held(Owner?)
    }

    public static var hostName: String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "?" }
        let s = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return s.isEmpty ? "?" : s
    }

    private init(path: String, fd: Int32) { self.path = path; self.fd = fd }

    /// Takes the lock at `path`, or says who has it. Throws only when the lock cannot be made at all (a
    /// read-only folder, a non-regular file in the way).
    public static func acquire(_ path: String) throws -> Attempt {
        for _ in 0..<100 {
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if fd >= 0 {
                // Blocking: a taker that is checking this fresh file for staleness holds it a moment.
                _ = flock(fd, LOCK_EX)
                guard sameFile(fd, path) else { close(fd); continue } // taken for stale and removed: again
                let me = Array("\(getpid()) \(hostName)\n".utf8)
                _ = pwrite(fd, me, me.count, 0)
                return .acquired(JobLock(path: path, fd: fd))
            }
            let e = errno
            guard e == EEXIST else {
                throw RestyleError.badInput("\(path): cannot create the job's lock: \(String(cString: strerror(e)))")
            }
            let other = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if other < 0 {
                if errno == ENOENT { continue } // released meanwhile
                throw RestyleError.badInput("\(path): cannot read the job's lock: \(String(cString: strerror(errno)))")
            }
            var info = stat()
            guard fstat(other, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                close(other)
                throw RestyleError.badInput("\(path): not a regular file; remove it to run this job")
            }
            let owner = readOwner(other)
            if flock(other, LOCK_EX | LOCK_NB) != 0 { close(other); return .held(owner) }
            // Nobody holds it. Another host's owner cannot be checked from here: leave it.
            if let owner, owner.host != hostName { close(other); return .held(owner) }
            if sameFile(other, path) { unlink(path) }
            close(other)
        }
        return .held(nil)
    }

    /// Whether the lock at `path` is held, and by whom: a lock of this host whose PID is gone counts as
    /// free. Reads only; never takes or removes it (for `batch status`).
    public static func probe(_ path: String) -> Attempt? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let owner = readOwner(fd)
        if let owner, owner.host == hostName, kill(owner.pid, 0) != 0 && errno == ESRCH { return nil }
        return .held(owner)
    }

    static func readOwner(_ fd: Int32) -> Owner? {
        var buf = [UInt8](repeating: 0, count: 300)
        let n = pread(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        let parts = String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n").first?.split(separator: " ", maxSplits: 1) ?? []
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0 else { return nil }
        return Owner(pid: pid, host: Text.escaped(String(parts[1])))
    }

    static func sameFile(_ fd: Int32, _ path: String) -> Bool {
        var a = stat(), b = stat()
        return fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// Removes the file, then lets go.
    deinit {
        if Self.sameFile(fd, path) { unlink(path) }
        close(fd)
    }
}
