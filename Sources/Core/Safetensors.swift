import Foundation

/// A read-only safetensors file: 8-byte little-endian header length, a JSON header mapping names to
/// dtype/shape/data_offsets, then the raw little-endian data. Everything is checked against the file
/// length before any tensor data is touched.
public struct SafetensorsFile {
    public struct Entry {
        public var dtype: String
        public var shape: [Int]
        public var begin: Int
        public var end: Int
    }
    public let path: String
    public let entries: [String: Entry]
    let data: Data
    let dataStart: Int

    public init(path: String) throws {
        func bad(_ why: String) -> RestyleError { .badInput("\(path): \(why)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw bad("no such file") }
        guard !isDir.boolValue else { throw bad("is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read") }
        guard data.count >= 8 else { throw bad("truncated: \(data.count) bytes, no safetensors header") }
        let headerLen = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLen > 1, headerLen <= UInt64(data.count - 8), headerLen < 100_000_000 else {
            throw bad("not a safetensors file (header length \(headerLen) for a \(data.count)-byte file)")
        }
        let header = data.subdata(in: 8..<(8 + Int(headerLen)))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw bad("not a safetensors file (header is not a JSON object)")
        }
        let start = 8 + Int(headerLen)
        let available = data.count - start
        var entries: [String: Entry] = [:]
        for (name, value) in json where name != "__metadata__" {
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
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) * elem == e - b else {
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
        return data.subdata(in: (dataStart + e.begin)..<(dataStart + e.end))
    }

    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let d = try bytes(name, dtype: "F32", shape: shape)
        return d.withUnsafeBytes { raw in
            (0..<(d.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
