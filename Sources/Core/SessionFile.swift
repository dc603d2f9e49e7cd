import Foundation

/// The session file: everything needed to continue a run exactly.
///
///     magic "RSTYLSES" (8 bytes) | version (int64 LE) | payload length (int64 LE) | payload | FNV-1a-64 of payload (8 bytes LE)
///
/// The payload is a sequence of little-endian fields written by `BinaryWriter` (see docs/DESIGN.md).
public enum SessionFile {
    public static let magic = Data("RSTYLSES".utf8)
    public static let version = 1

    static func fnv1a(_ d: Data) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        d.withUnsafeBytes { raw in
            for b in raw.bindMemory(to: UInt8.self) { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        return h
    }

    static func wrap(_ payload: Data) -> Data {
        var w = BinaryWriter()
        w.data.append(magic)
        w.int(version)
        w.int(payload.count)
        w.data.append(payload)
        var h = fnv1a(payload).littleEndian
        withUnsafeBytes(of: &h) { w.data.append(contentsOf: $0) }
        return w.data
    }

    /// The payload after checking magic, version, length and checksum; errors name the file.
    static func unwrap(_ path: String) throws -> Data {
        func bad(_ why: String) -> RestyleError { .badInput("\(path): \(why)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw bad("no such session file") }
        guard !isDir.boolValue else { throw bad("is a directory, not a session file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read") }
        guard data.count >= 24, data.prefix(8) == magic else { throw bad("not a restyle session file") }
        var r = BinaryReader(data, offset: 8, source: path)
        let v = try r.int()
        guard v <= version else { throw bad("session format version \(v) is newer than this restyle understands (\(version)); upgrade restyle") }
        guard v >= 1 else { throw bad("corrupt session file (version \(v))") }
        let n = try r.int()
        guard n >= 0, 24 + n + 8 <= data.count else { throw bad("truncated session file") }
        let payload = data.subdata(in: (data.startIndex + 24)..<(data.startIndex + 24 + n))
        let stored = data.subdata(in: (data.startIndex + 24 + n)..<(data.startIndex + 24 + n + 8))
            .withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard stored == fnv1a(payload) else { throw bad("corrupt session file (checksum mismatch)") }
        return payload
    }
}

struct SessionHistory: Codable {
    var points: [HistoryPoint]
    var marks: [Int]
}

extension BinaryWriter {
    mutating func image(_ img: RGBImage) { int(img.width); int(img.height); floats(img.pixels) }
}
extension BinaryReader {
    mutating func image() throws -> RGBImage {
        let w = try int(), h = try int()
        let p = try floats()
        guard w > 0, h > 0, p.count == 3 * w * h else { throw truncated() }
        return RGBImage(width: w, height: h, pixels: p)
    }
}

extension Engine {
    /// Call only from the engine queue or while the loop is not running.
    func writeSession(to path: String) throws {
        var w = BinaryWriter()
        w.string(Restyle.version)
        w.bytes(try JSONEncoder().encode(settings))
        w.int(iteration); w.double(elapsed); w.int(evaluated ? 1 : 0); w.int(needsEvaluation ? 1 : 0)
        cond.lock()
        let history = SessionHistory(points: historyPoints, marks: historyMarks)
        cond.unlock()
        w.bytes(try JSONEncoder().encode(history))
        w.image(contentImage); w.image(styleImage); w.image(startImage)
        w.floats(x.ptr, x.count); w.floats(g.ptr, g.count)
        w.double(terms.total); w.double(terms.content); w.double(terms.style); w.double(terms.tv)
        w.string(optimizer.kind.rawValue)
        optimizer.encode(into: &w)
        try AtomicFile.write(SessionFile.wrap(w.data), to: path)
    }

    /// Reopens a saved session, at the same iteration with the same state.
    public static func resume(from path: String, weights: VGGWeights) throws -> Engine {
        let payload = try SessionFile.unwrap(path)
        var r = BinaryReader(payload, source: path)
        _ = try r.string()
        guard let settings = try? JSONDecoder().decode(Settings.self, from: try r.bytes()) else {
            throw RestyleError.badInput("\(path): corrupt session file (settings)")
        }
        let iteration = try r.int(), elapsed = try r.double()
        let evaluated = try r.int() != 0, needsEval = try r.int() != 0
        guard let history = try? JSONDecoder().decode(SessionHistory.self, from: try r.bytes()) else {
            throw RestyleError.badInput("\(path): corrupt session file (history)")
        }
        let content = try r.image(), style = try r.image(), start = try r.image()
        guard start.width == content.width, start.height == content.height else { throw r.truncated() }
        let e = try Engine(weights: weights, content: content, style: style, settings: settings, start: start)
        try r.floats(into: e.x.ptr, count: e.x.count)
        try r.floats(into: e.g.ptr, count: e.g.count)
        e.terms = LossTerms(total: try r.double(), content: try r.double(), style: try r.double(), tv: try r.double())
        guard try r.string() == settings.optimizer.rawValue else { throw RestyleError.badInput("\(path): corrupt session file (optimizer)") }
        try e.optimizer.decode(from: &r, count: e.x.count)
        e.iteration = iteration; e.elapsed = elapsed; e.evaluated = evaluated; e.needsEvaluation = needsEval
        e.historyPoints = history.points; e.historyMarks = history.marks
        e.publishedImage = RGBImage(width: content.width, height: content.height, pixels: e.x.array)
        e.published.iteration = iteration; e.published.terms = e.terms; e.published.elapsed = elapsed
        e.published.imageGeneration = 1
        e.published.message = "resumed from \(path)"
        return e
    }
}
