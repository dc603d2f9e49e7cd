import Foundation

/// Reading a file that anyone may have sent: only a regular file, only up to a size, with errors that
/// say which of the usual things went wrong. A FIFO or a device could block for ever or never end.
public enum FileRead {
    /// The size of `path` after checking that it is a regular file of at most `limit` bytes.
    static func checkedSize(_ path: String, limit: Int, what: String) throws -> Int {
        func fail(_ problem: String) -> RestyleError { .badInput("\(path): \(problem)") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let e = errno
            throw fail(e == ENOENT ? "no such file" : "cannot read: \(describe(errno: e))")
        }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR { throw fail("is a directory, not a \(what)") }
        if kind != S_IFREG { throw fail("not a regular file") }
        let size = Int(info.st_size)
        if size == 0 { throw fail("empty file") }
        if size > limit {
            // A theme's limit is 64 KB: "0 MB" would say nothing.
            func amount(_ b: Int) -> String { limit < 1 << 20 ? "\((b + 1023) >> 10) KB" : "\(b >> 20) MB" }
            throw fail("file is \(amount(size)); the limit for a \(what) is \(amount(limit))")
        }
        return size
    }

    public static func regularFile(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        func fail(_ problem: String) -> RestyleError { .badInput("\(path): \(problem)") }
        let expected = try checkedSize(path, limit: limit, what: what)
        // O_NONBLOCK: if the file was swapped for a FIFO since stat, open must not wait for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw fail("cannot read: \(describe(errno: errno))") }
        defer { close(fd) }
        var now = stat()
        guard fstat(fd, &now) == 0, now.st_mode & S_IFMT == S_IFREG else { throw fail("not a regular file") }
        var bytes = [UInt8](repeating: 0, count: expected)
        var filled = 0
        let readError: Int32? = bytes.withUnsafeMutableBytes { buf in
            while filled < expected {
                let n = posixRead(fd, buf.baseAddress! + filled, expected - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { break } // shrank since stat; use what is there
                filled += n
            }
            return nil
        }
        if let readError { throw fail("cannot read: \(describe(errno: readError))") }
        if filled == 0 { throw fail("empty file") }
        bytes.removeLast(expected - filled)
        return bytes
    }
}

extension FileRead {
    /// Like `regularFile`, but mapped rather than copied: a session of several GB is paged in from the
    /// file as it is parsed instead of being duplicated in anonymous memory.
    public static func mapped(_ path: String, limit: Int, what: String) throws -> Data {
        _ = try checkedSize(path, limit: limit, what: what)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw RestyleError.badInput("\(path): cannot read: \((error as NSError).localizedDescription)")
        }
    }
}
