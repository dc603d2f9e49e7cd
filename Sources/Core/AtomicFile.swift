import Foundation

/// Replaces a file so that a crash, a full disk or a kill mid-write leaves either the
/// old file or the complete new one: the bytes go to a temporary file in the same
/// directory (rename is atomic only within one file system), are synced, then renamed.
enum AtomicFile {
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        func fail(_ e: Int32) -> RestyleError { .badInput("\(path): cannot write: \(describe(errno: e))") }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if name.isEmpty || name == "." || name == ".." { throw fail(EISDIR) }
        let temp = "\(dir).\(name).tmp-\(getpid())"

        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o666)
        guard fd >= 0 else { throw fail(errno) }
        var isOpen = true
        do {
            var done = 0
            while done < bytes.count {
                let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail(errno)
                }
                done += n
            }
            // Without the sync, a crash soon after the rename can leave an empty file
            // under the final name on some file systems.
            if fsync(fd) != 0 { throw fail(errno) }
            isOpen = false
            if close(fd) != 0 { throw fail(errno) }
            if rename(temp, path) != 0 { throw fail(errno) }
        } catch {
            if isOpen { close(fd) }
            unlink(temp)
            throw error
        }
        syncDirectory(dir.isEmpty ? "." : dir)
    }

    /// Makes the rename itself durable. Best effort: the file is already complete and
    /// in place, and some file systems refuse to sync a directory.
    private static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

extension AtomicFile {
    static func write(_ data: Data, to path: String) throws {
        try data.withUnsafeBytes { try write($0, to: path) }
    }
}
