import Foundation

/// Little-endian writer for the session file.
public struct BinaryWriter {
    public var data = Data()
    public init() {}
    public mutating func int(_ v: Int) { var x = Int64(v).littleEndian; withUnsafeBytes(of: &x) { data.append(contentsOf: $0) } }
    public mutating func double(_ v: Double) { var x = v.bitPattern.littleEndian; withUnsafeBytes(of: &x) { data.append(contentsOf: $0) } }
    public mutating func bytes(_ d: Data) { int(d.count); data.append(d) }
    public mutating func string(_ s: String) { bytes(Data(s.utf8)) }
    public mutating func floats(_ p: UnsafePointer<Float>, _ n: Int) {
        int(n)
        data.append(UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: n * 4))
    }
    public mutating func floats(_ a: [Float]) { a.withUnsafeBufferPointer { floats($0.baseAddress!, a.count) } }
}

/// The matching reader; every read is bounds-checked and a short file is an error, not a crash.
public struct BinaryReader {
    let data: Data
    public private(set) var offset: Int
    let source: String
    public init(_ data: Data, offset: Int = 0, source: String) { self.data = data; self.offset = offset; self.source = source }

    func truncated() -> RestyleError { .badInput("\(source): truncated or corrupt session file") }
    mutating func raw(_ n: Int) throws -> Data {
        guard n >= 0, offset + n <= data.count else { throw truncated() }
        defer { offset += n }
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + n))
    }
    public mutating func int() throws -> Int {
        let d = try raw(8)
        return Int(Int64(littleEndian: d.withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
    }
    public mutating func double() throws -> Double {
        let d = try raw(8)
        return Double(bitPattern: UInt64(littleEndian: d.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
    }
    public mutating func bytes() throws -> Data { try raw(try int()) }
    public mutating func string() throws -> String {
        guard let s = String(data: try bytes(), encoding: .utf8) else { throw truncated() }
        return s
    }
    public mutating func floats(into p: UnsafeMutablePointer<Float>, count: Int) throws {
        guard try int() == count else { throw truncated() }
        let d = try raw(count * 4)
        _ = d.withUnsafeBytes { memcpy(p, $0.baseAddress!, count * 4) }
    }
    public mutating func floats() throws -> [Float] {
        let n = try int()
        guard n >= 0, n <= (data.count - offset) / 4 else { throw truncated() }
        var a = [Float](repeating: 0, count: n)
        try a.withUnsafeMutableBufferPointer { p in
            let d = try raw(n * 4)
            _ = d.withUnsafeBytes { memcpy(p.baseAddress!, $0.baseAddress!, n * 4) }
        }
        return a
    }
}
