import Foundation

/// Replaces a file so that a crash, a full disk or a kill mid-write leaves either the old file or the
/// complete new one: the bytes go to a new temporary file in the same directory (rename is atomic only
/// within one file system), are synced, then renamed over the target.
///
/// The temporary is made as mkstemp does: a random name, `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600, so
/// nothing planted under a predictable name (a hard link, a FIFO, a symlink) is opened, and two writers
/// never share one. Only a regular file (or a symlink to one, which is followed) is ever replaced.
public enum AtomicFile {
    /// Streams into the temporary file in chunks, so a large session never exists whole in memory.
    public final class Sink: ByteSink {
        let fd: Int32
        let path: String
        var buffer: [UInt8] = []
        static let chunk = 1 << 20
        init(fd: Int32, path: String) { self.fd = fd; self.path = path; buffer.reserveCapacity(Self.chunk) }

        public func append(_ bytes: UnsafeRawBufferPointer) throws {
            if buffer.count + bytes.count > Self.chunk { try flush() }
            if bytes.count >= Self.chunk {
                try writeAll(bytes)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
        func flush() throws {
            try buffer.withUnsafeBytes { try writeAll($0) }
            buffer.removeAll(keepingCapacity: true)
        }
        private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw AtomicFile.failure(path, errno)
                }
                done += n
            }
        }
    }

    static func failure(_ path: String, _ e: Int32) -> RestyleError { .badInput("\(path): cannot write: \(describe(errno: e))") }

    /// The path a write to `path` will rename onto: `path` itself when absent or a regular file, the
    /// link's target when it is a symlink to a regular file; anything else is refused.
    public static func destination(_ path: String) throws -> String {
        guard !path.isEmpty else { throw RestyleError.badInput("'': cannot write: the path is empty") }
        var info = stat()
        if lstat(path, &info) != 0 {
            let e = errno
            if e == ENOENT { return path }
            throw failure(path, e)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return path
        case S_IFLNK:
            var target = stat()
            guard stat(path, &target) == 0 else {
                // A dangling link: writing would create a file wherever it points.
                throw RestyleError.badInput("\(path): cannot write: a symbolic link to nothing; refusing to write through it")
            }
            guard target.st_mode & S_IFMT == S_IFREG, let real = realpath(path, nil) else {
                throw RestyleError.badInput("\(path): cannot write: a symbolic link to something that is not a regular file")
            }
            defer { free(real) }
            return String(cString: real)
        case S_IFDIR: throw RestyleError.badInput("\(path): cannot write: is a directory")
        default: throw RestyleError.badInput("\(path): cannot write: it exists and is not a regular file (a device, FIFO or socket); refusing to replace it")
        }
    }

    /// Writes what `body` sends to the sink, then puts it in place. On any failure the target is untouched
    /// and the temporary removed.
    public static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let target = try destination(path)
        let slash = target.lastIndex(of: "/")
        let dir = slash.map { String(target[...$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        if name.isEmpty || name == "." || name == ".." { throw failure(path, EISDIR) }
        var existing = stat()
        let mode: mode_t = lstat(target, &existing) == 0 ? existing.st_mode & 0o7777 : 0o666 & ~processUmask()

        var template = Array("\(dir).\(name.prefix(200)).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure(path, errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let temp = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var isOpen = true
        do {
            let sink = Sink(fd: fd, path: path)
            try body(sink)
            try sink.flush()
            if fchmod(fd, mode) != 0 { throw failure(path, errno) }
            // Without the sync, a crash soon after the rename can leave an empty file under the final
            // name on some file systems.
            if fsync(fd) != 0 { throw failure(path, errno) }
            isOpen = false
            if close(fd) != 0 { throw failure(path, errno) }
            // Checked again just before the rename: the path may have become a directory or a device
            // while we wrote.
            _ = try destination(target)
            if rename(temp, target) != 0 { throw failure(path, errno) }
        } catch {
            if isOpen { close(fd) }
            unlink(temp)
            throw error
        }
        syncDirectory(dir.isEmpty ? "." : dir)
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        try write(to: path) { try $0.append(bytes) }
    }

    public static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { b in try write(to: path) { try $0.append(b) } }
    }

    /// The umask, read without changing it (umask(2) would change it for every thread for a moment).
    static func processUmask() -> mode_t {
        if let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = s.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
           let v = mode_t(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8) {
            return v
        }
        return 0o022
    }

    /// Makes the rename itself durable. Best effort: the file is already complete and in place, and some
    /// file systems refuse to sync a directory.
    private static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}
