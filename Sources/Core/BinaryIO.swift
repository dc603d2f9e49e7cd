import Foundation

/// Where encoded bytes go: counted (to learn a length up front), kept in memory, or streamed to a file.
public protocol ByteSink {
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws
    /// A buffer its owner promises not to change while this sink's product lives (an L-BFGS curvature
    /// pair): a sink that keeps bytes for later (`SnapshotSink`) keeps a reference instead of a copy.
    mutating func append(unchanging buffer: FloatBuffer) throws
}

extension ByteSink {
    public mutating func append(unchanging buffer: FloatBuffer) throws {
        try append(UnsafeRawBufferPointer(start: buffer.ptr, count: buffer.count * MemoryLayout<Float>.stride))
    }
}

public struct CountingSink: ByteSink {
    public var count = 0
    public init() {}
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { count += bytes.count }
}

public struct DataSink: ByteSink {
    public var data = Data()
    public init() {}
    public mutating func append(_ bytes: UnsafeRawBufferPointer) { data.append(contentsOf: bytes) }
}

/// Little-endian writer for the session file, over any sink; floats go straight from their buffer.
public struct BinaryWriter<Sink: ByteSink> {
    public var sink: Sink
    public init(_ sink: Sink) { self.sink = sink }
    public mutating func int(_ v: Int) throws { var x = Int64(v).littleEndian; try withUnsafeBytes(of: &x) { try sink.append($0) } }
    public mutating func double(_ v: Double) throws { var x = v.bitPattern.littleEndian; try withUnsafeBytes(of: &x) { try sink.append($0) } }
    public mutating func bytes(_ d: Data) throws { try int(d.count); try d.withUnsafeBytes { try sink.append($0) } }
    public mutating func string(_ s: String) throws { try bytes(Data(s.utf8)) }
    public mutating func floats(_ p: UnsafePointer<Float>, _ n: Int) throws {
        try int(n)
        try sink.append(UnsafeRawBufferPointer(start: p, count: n * 4))
    }
    /// `n` zero floats, in the same layout as `floats`, without an n-sized buffer.
    public mutating func zeros(_ n: Int) throws {
        try int(n)
        let chunk = [UInt8](repeating: 0, count: 1 << 16)
        var left = n * 4
        while left > 0 {
            let k = min(left, chunk.count)
            try chunk.withUnsafeBytes { try sink.append(UnsafeRawBufferPointer(rebasing: $0[0..<k])) }
            left -= k
        }
    }
    /// The same layout as `floats`, for a buffer that will not change (see `ByteSink.append(unchanging:)`).
    public mutating func floats(unchanging b: FloatBuffer) throws { try int(b.count); try sink.append(unchanging: b) }
    public mutating func floats(_ a: [Float]) throws { try a.withUnsafeBufferPointer { try floats($0.baseAddress!, a.count) } }
}

/// The matching reader over hostile bytes. Every length is compared with the bytes that remain before it
/// is used, in arithmetic that cannot overflow, so no field can make it read, allocate or trap past the data.
public struct BinaryReader {
    let data: Data
    public private(set) var offset: Int
    let source: String
    public init(_ data: Data, offset: Int = 0, source: String) { self.data = data; self.offset = offset; self.source = source }

    public var remaining: Int { data.count - offset }
    public func corrupt(_ what: String = "truncated or corrupt") -> RestyleError {
        .badInput("\(source): corrupt session file (\(what))")
    }

    mutating func raw(_ n: Int) throws -> Data {
        guard n >= 0, n <= remaining else { throw corrupt() }
        defer { offset += n }
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + n))
    }
    mutating func word() throws -> UInt64 {
        guard remaining >= 8 else { throw corrupt() }
        defer { offset += 8 }
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
    public mutating func int() throws -> Int { Int(Int64(bitPattern: try word())) }
    /// An integer that must lie in `range`; `what` names the field in the error.
    public mutating func int(in range: ClosedRange<Int>, _ what: String) throws -> Int {
        let v = try int()
        guard range.contains(v) else { throw corrupt("\(what) \(v) outside \(range.lowerBound)…\(range.upperBound)") }
        return v
    }
    public mutating func double() throws -> Double { Double(bitPattern: try word()) }
    public mutating func finiteDouble(_ what: String) throws -> Double {
        let v = try double()
        guard v.isFinite else { throw corrupt("\(what) is not finite") }
        return v
    }
    public mutating func bytes(limit: Int = .max) throws -> Data {
        let n = try int()
        guard n >= 0, n <= limit else { throw corrupt() }
        return try raw(n)
    }
    public mutating func string(limit: Int = 4096) throws -> String {
        guard let s = String(data: try bytes(limit: limit), encoding: .utf8) else { throw corrupt("text is not UTF-8") }
        return s
    }
    /// Exactly `count` floats, all finite, into `p`.
    public mutating func floats(into p: UnsafeMutablePointer<Float>, count: Int, _ what: String) throws {
        let n = try int()
        guard n == count, count >= 0, count <= remaining / 4 else { throw corrupt("\(what): \(n) values, expected \(count)") }
        _ = data.withUnsafeBytes { memcpy(p, $0.baseAddress! + offset, count * 4) }
        offset += count * 4
        for i in 0..<count where !p[i].isFinite { throw corrupt("\(what) holds non-finite values") }
    }
    /// Exactly `count` 32-bit words, as `floats` lays them out, into `p`, unchecked: for data packed into
    /// floats (bfloat16 or 8-bit pairs) that its reader validates itself.
    public mutating func words(into p: UnsafeMutablePointer<Float>, count: Int, _ what: String) throws {
        let n = try int()
        guard n == count, count >= 0, count <= remaining / 4 else { throw corrupt("\(what): \(n) values, expected \(count)") }
        _ = data.withUnsafeBytes { memcpy(p, $0.baseAddress! + offset, count * 4) }
        offset += count * 4
    }
    public mutating func floats(count: Int, _ what: String) throws -> [Float] {
        guard count >= 0, count <= remaining / 4 else { throw corrupt("\(what): \(count) values") }
        var a = [Float](repeating: 0, count: count)
        try a.withUnsafeMutableBufferPointer { try floats(into: $0.baseAddress!, count: count, what) }
        return a
    }
}
