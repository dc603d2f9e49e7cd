import Foundation

/// A read-only safetensors file: 8-byte little-endian header length, a JSON header mapping names to
/// dtype/shape/data_offsets, then the raw little-endian data. Everything is checked against the file
/// length before any tensor data is touched.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable {
        public var dtype: String
        public var shape: [Int]
        public var begin: Int
        public var end: Int
    }
    public let path: String
    public let entries: [String: Entry]
    let data: Data
    let dataStart: Int

    /// The largest weights file read: VGG19 in float32 is 80 MB, quantised 20 MB.
    public static let maxFileBytes = 1 << 30

    public init(path: String) throws {
        let bytes = try FileRead.regularFile(path, limit: Self.maxFileBytes, what: "weights file")
        try self.init(data: Data(bytes), path: path)
    }

    /// Parses bytes already in memory; `path` only names them in errors. Every offset, shape and size is
    /// checked against the bytes present, with overflow-checked arithmetic, before anything is used.
    public init(data: Data, path: String) throws {
        func bad(_ why: String) -> RestyleError { .badInput("\(Text.escaped(path)): \(why)") }
        guard data.count >= 8 else { throw bad("truncated: \(data.count) bytes, no safetensors header") }
        let headerLen = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        // Compared as UInt64 before any conversion: a length near 2^64 must not wrap.
        guard headerLen > 1, headerLen <= UInt64(data.count - 8), headerLen < 100_000_000 else {
            throw bad("not a safetensors file (header length \(headerLen) for a \(data.count)-byte file)")
        }
        let header = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLen)))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw bad("not a safetensors file (header is not a JSON object)")
        }
        let start = 8 + Int(headerLen)
        let available = data.count - start
        var entries: [String: Entry] = [:]
        guard json.count <= 4096 else { throw bad("not a safetensors file (\(json.count) tensors)") }
        for (name, value) in json where name != "__metadata__" {
            let name = Text.escaped(name)
            guard let d = value as? [String: Any], let dtype = d["dtype"] as? String,
                  let shape = d["shape"] as? [Int], let offs = d["data_offsets"] as? [Int], offs.count == 2
            else { throw bad("tensor '\(name)' has a malformed header entry") }
            let (b, e) = (offs[0], offs[1])
            guard b >= 0, e >= b, e <= available else {
                throw bad("truncated or corrupt: tensor '\(name)' spans bytes \(b)..<\(e) of \(available)")
            }
            let elem: Int
            switch dtype {
            case "U8", "I8": elem = 1
            case "F16", "BF16": elem = 2
            case "F32", "I32": elem = 4
            default: elem = 8
            }
            var bytes: Int? = elem
            for d in shape {
                guard d >= 0, let so = bytes else { bytes = nil; break }
                let (p, overflow) = so.multipliedReportingOverflow(by: d)
                bytes = overflow ? nil : p
            }
            guard shape.count <= 8, let bytes, bytes == e - b else {
                throw bad("tensor '\(name)': shape \(shape) of \(dtype) does not match its \(e - b) bytes")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, begin: b, end: e)
        }
        self.path = path; self.entries = entries; self.data = data; self.dataStart = start
    }

    /// The tensor's raw bytes after checking its dtype and shape.
    public func bytes(_ name: String, dtype: String, shape: [Int]) throws -> Data {
        guard let e = entries[name] else { throw RestyleError.badInput("\(path): missing tensor '\(name)'") }
        guard e.dtype == dtype else { throw RestyleError.badInput("\(path): tensor '\(name)' is \(e.dtype), expected \(dtype)") }
        guard e.shape == shape else { throw RestyleError.badInput("\(path): tensor '\(name)' has shape \(e.shape), expected \(shape)") }
        return data.subdata(in: (data.startIndex + dataStart + e.begin)..<(data.startIndex + dataStart + e.end))
    }

    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let d = try bytes(name, dtype: "F32", shape: shape)
        return d.withUnsafeBytes { raw in
            (0..<(d.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
