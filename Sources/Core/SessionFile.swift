import Foundation

/// The session file: everything needed to continue a run exactly.
///
///     magic "RSTYLSES" (8 bytes) | version (int64 LE) | payload length (int64 LE) | payload | checksum of payload (8 bytes LE)
///
/// The checksum is FNV-1a-64 over bytes in version 1 and over 64-bit words from version 2 (`FNV1aWords`).
///
/// The payload is a sequence of little-endian fields written by `BinaryWriter` (see docs/DESIGN.md).
/// The checksum catches damage, not malice: anyone can recompute it, so the reader treats every field as
/// hostile and checks it against the bytes that remain and against `Limits` before using it.
public enum SessionFile {
    public static let magic = Data("RSTYLSES".utf8)
    /// Raised only for a change old readers cannot skip; new settings go in the JSON, which tolerates
    /// missing and unknown keys. Version 2: several style images (a count, then each) where version 1
    /// had one. Version 3: the final stage's images while a coarse-to-fine run is at an earlier stage.
    /// Versions 1 and 2 still load.
    public static let version = 3
    public static let oldestVersion = 1

    struct FNV1a {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            var v = h
            for b in bytes { v = (v ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = v
        }
    }

    /// The checksum of version 2 on: FNV-1a's step over 64-bit little-endian words (the last, partial
    /// word zero-padded and tagged with its length). Byte-wise FNV-1a took 0.9 s of CPU for a 650 MB
    /// session, competing with the run it was saving; this takes an eighth of the multiplies.
    struct FNV1aWords {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        private var pending: UInt64 = 0
        private var pendingBytes = 0
        mutating func add(_ bytes: UnsafeRawBufferPointer) {
            let n = bytes.count
            var i = 0
            while pendingBytes > 0 && i < n {
                pending |= UInt64(bytes[i]) << (8 * UInt64(pendingBytes))
                pendingBytes += 1; i += 1
                if pendingBytes == 8 { mix(pending); pending = 0; pendingBytes = 0 }
            }
            var v = h
            while i + 8 <= n {
                v = (v ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))) &* 0x0000_0100_0000_01b3
                i += 8
            }
            h = v
            while i < n { pending |= UInt64(bytes[i]) << (8 * UInt64(pendingBytes)); pendingBytes += 1; i += 1 }
        }
        private mutating func mix(_ w: UInt64) { h = (h ^ w) &* 0x0000_0100_0000_01b3 }
        var value: UInt64 {
            pendingBytes == 0 ? h : (h ^ pending ^ (UInt64(pendingBytes) << 56)) &* 0x0000_0100_0000_01b3
        }
    }

    /// The checksum a file of format `version` carries for `payload`.
    static func checksum(_ payload: UnsafeRawBufferPointer, version: Int) -> UInt64 {
        if version == 1 {
            var h = FNV1a()
            h.add(payload)
            return h.h
        }
        var h = FNV1aWords()
        h.add(payload)
        return h.value
    }

    /// Hashes what passes through on its way to the file (always the current version's checksum).
    struct HashingSink<Inner: ByteSink>: ByteSink {
        var inner: Inner
        var hash = FNV1aWords()
        var count = 0
        mutating func append(_ bytes: UnsafeRawBufferPointer) throws { hash.add(bytes); count += bytes.count; try inner.append(bytes) }
    }

    /// Writes atomically: header, the payload that `payload` streams (exactly `payloadBytes` of it, which
    /// the header states up front), then its hash.
    static func write(to path: String, payloadBytes: Int,
                      payload: (inout BinaryWriter<HashingSink<AtomicFile.Sink>>) throws -> Void) throws {
        try AtomicFile.write(to: path) { sink in
            var header = BinaryWriter(sink)
            try magic.withUnsafeBytes { try sink.append($0) }
            try header.int(version)
            try header.int(payloadBytes)
            var w = BinaryWriter(HashingSink(inner: sink))
            try payload(&w)
            // A file whose length field lies could not be read back: never commit one.
            guard w.sink.count == payloadBytes else {
                throw RestyleError.internal("\(path): session payload was \(w.sink.count) bytes, not \(payloadBytes)")
            }
            var h = w.sink.hash.value.littleEndian
            try withUnsafeBytes(of: &h) { try sink.append($0) }
        }
    }

    /// The payload and its format version, after checking magic, version, length and checksum; errors
    /// name the file.
    static func unwrap(_ data: Data, source: String) throws -> (payload: Data, version: Int) {
        func bad(_ why: String) -> RestyleError { .badInput("\(source): \(why)") }
        guard data.count >= 32, data.prefix(8) == magic else { throw bad("not a restyle session file") }
        var r = BinaryReader(data, offset: 8, source: source)
        let v = try r.int()
        guard v <= version else { throw bad("session format version \(v) is newer than this restyle understands (\(version)); upgrade restyle") }
        guard v >= oldestVersion else { throw bad("corrupt session file (version \(v))") }
        let n = try r.int()
        // Compared against what remains, so a length near Int64.max cannot wrap the sum.
        guard n >= 0, n <= data.count - 32 else { throw bad("truncated session file") }
        guard n == data.count - 32 else { throw bad("corrupt session file (\(data.count - 32 - n) bytes after the payload)") }
        let start = data.startIndex + 24
        let payload = data.subdata(in: start..<(start + n))
        let stored = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 24 + n, as: UInt64.self)) }
        guard stored == payload.withUnsafeBytes({ checksum($0, version: v) }) else { throw bad("corrupt session file (checksum mismatch)") }
        return (payload, v)
    }
}

/// The history blob, JSON; optional keys added later are simply absent in older files.
struct SessionHistory: Codable {
    var points: [HistoryPoint]
    var marks: [Int]
    /// The run was paused when saved, so it resumes paused.
    var paused: Bool? = nil
    /// The coarse-to-fine schedule; absent (one stage at the stored size) before version 3.
    var schedule: ScaleSchedule? = nil
}

extension BinaryWriter {
    mutating func image(_ img: RGBImage) throws { try int(img.width); try int(img.height); try floats(img.pixels) }
}

extension BinaryReader {
    /// An image whose size is within the working-size limits, with exactly that many finite pixels.
    mutating func image(_ what: String) throws -> RGBImage {
        let w = try int(in: 1...Limits.maxSide, "\(what) width"), h = try int(in: 1...Limits.maxSide, "\(what) height")
        guard w * h <= Limits.maxPixels else { throw corrupt("\(what) is \(w)×\(h), over \(Limits.maxPixels) pixels") }
        let p = try floats(count: 3 * w * h, what)
        return RGBImage(width: w, height: h, pixels: p)
    }
}

extension Optimization {
    /// Writes the whole state atomically. Same as `sessionSnapshot(paused:).write(to:)`.
    public func writeSession(to path: String, paused: Bool = false) throws {
        try sessionSnapshot(paused: paused).write(to: path)
    }

    /// Everything a session file holds, frozen now, to be written later on any thread while iterations
    /// go on (see `SessionSnapshot`). Call it between iterations.
    public func sessionSnapshot(paused: Bool = false) throws -> SessionSnapshot {
        // Sorted keys: the same state always makes the same bytes.
        let json = JSONEncoder()
        json.outputFormatting = .sortedKeys
        let settingsJSON = try json.encode(settings)
        let historyJSON = try json.encode(SessionHistory(points: history, marks: marks, paused: paused ? true : nil,
                                                         schedule: schedule.count > 1 ? schedule : nil))
        // Never a non-finite value in a file: a gradient that went non-finite (the loss failed at these
        // settings) is stored as zeros, and the resumed run evaluates the image again before stepping.
        let gradientFinite = (0..<g.count).allSatisfy { g.ptr[$0].isFinite }
        let (storedEvaluated, storedNeedsEvaluation) = gradientFinite ? (evaluated, needsEvaluation) : (iteration > 0, iteration > 0)
        return try SessionSnapshot { w in
            try w.string(Restyle.version)
            try w.bytes(settingsJSON)
            try w.int(iteration); try w.double(elapsed)
            try w.int(storedEvaluated ? 1 : 0); try w.int(storedNeedsEvaluation ? 1 : 0)
            try w.bytes(historyJSON)
            try w.image(contentImage)
            try w.int(styleImages.count)
            for s in styleImages { try w.image(s) }
            try w.image(startImage)
            try w.int(alpha == nil ? 0 : 1)
            if let alpha { try w.floats(alpha) }
            try w.int(stageSource == nil ? 0 : 1)
            if let src = stageSource {
                try w.image(src.content)
                for s in src.styles { try w.image(s) }
                try w.int(src.alpha == nil ? 0 : 1)
                if let a = src.alpha { try w.floats(a) }
            }
            try w.floats(x.ptr, x.count)
            if gradientFinite { try w.floats(g.ptr, g.count) } else { try w.zeros(g.count) }
            // Never a non-finite value: an unevaluated run stores zeros.
            let t = terms.isFinite ? terms : LossTerms()
            try w.double(t.total); try w.double(t.content); try w.double(t.style); try w.double(t.tv)
            try w.string(optimizer.kind.rawValue)
            try optimizer.encode(into: &w)
        }
    }

    /// Reopens a saved session at the same iteration with the same state. Every field is validated
    /// before anything is allocated from it; `memoryLimit` refuses a session too large for this machine.
    public static func resume(from path: String, weights: VGGWeights, memoryLimit: Int? = nil,
                              convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment) throws -> (Optimization, notes: [String]) {
        let data = try FileRead.mapped(path, limit: Limits.maxSessionBytes, what: "session file")
        return try resume(data: data, source: path, weights: weights, memoryLimit: memoryLimit, convPolicy: convPolicy)
    }

    public static func resume(data: Data, source: String, weights: VGGWeights, memoryLimit: Int? = nil,
                              convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment) throws -> (Optimization, notes: [String]) {
        let state = try SessionState(data: data, source: source)
        if let memoryLimit {
            // A run at an earlier stage will grow to its last: that is what must fit.
            let final = state.stageSource.map { ($0.content, $0.styles) } ?? (state.content, state.styles)
            let largest = final.1.max { $0.width * $0.height < $1.width * $1.height }!
            let others = final.1.map { 12 * $0.width * $0.height }.reduce(0, +) - 12 * largest.width * largest.height
            let need = MemoryEstimate.bytes(width: final.0.width, height: final.0.height,
                                            styleWidth: largest.width, styleHeight: largest.height,
                                            settings: state.settings) + others
            if need > memoryLimit {
                throw RestyleError.badInput("\(source): this session needs about \(MemoryEstimate.describe(need)) of memory; "
                                            + "\(MemoryEstimate.describe(memoryLimit)) is available")
            }
        }
        let o = try Optimization(weights: weights, content: state.content, styles: state.styles, settings: state.settings,
                                 start: state.start, originalContent: nil, originalStyles: nil, alpha: state.alpha,
                                 convPolicy: convPolicy, styleGrams: nil, schedule: state.schedule, stageSource: state.stageSource)
        var r = state.rest
        let n = o.x.count
        try r.floats(into: o.x.ptr, count: n, "image")
        try r.floats(into: o.g.ptr, count: n, "gradient")
        o.terms = LossTerms(total: try r.finiteDouble("loss"), content: try r.finiteDouble("loss"),
                            style: try r.finiteDouble("loss"), tv: try r.finiteDouble("loss"))
        guard try r.string(limit: 16) == state.settings.optimizer.rawValue else { throw r.corrupt("optimizer") }
        try o.optimizer.decode(from: &r, count: n)
        guard r.remaining == 0 else { throw r.corrupt("\(r.remaining) bytes after the optimizer state") }
        o.iteration = state.iteration; o.elapsed = state.elapsed
        o.evaluated = state.evaluated; o.needsEvaluation = state.needsEvaluation
        o.history = state.history.points; o.marks = state.history.marks
        o.savedPaused = state.history.paused ?? false
        var notes: [String] = []
        if !state.unknownSettings.isEmpty {
            notes.append("settings this version does not know were ignored: \(state.unknownSettings.joined(separator: ", "))")
        }
        return (o, notes)
    }
}

/// The fixed-size part of a session, parsed and validated without weights or network: what the fuzzer
/// exercises, and what `resume` checks before it allocates a network for it.
struct SessionState {
    var settings: Settings
    var unknownSettings: [String]
    var iteration: Int
    var elapsed: Double
    var evaluated: Bool
    var needsEvaluation: Bool
    var history: SessionHistory
    var content: RGBImage, styles: [RGBImage], start: RGBImage
    var alpha: [Float]?
    var schedule: ScaleSchedule
    var stageSource: StageSource?
    /// The reader positioned at the image-sized vectors that follow.
    var rest: BinaryReader

    init(data: Data, source: String) throws {
        let (payload, version) = try SessionFile.unwrap(data, source: source)
        var r = BinaryReader(payload, source: source)
        _ = try r.string(limit: 256)
        do {
            (settings, unknownSettings) = try Settings.decode(json: try r.bytes(limit: 1 << 20))
            try settings.validate()
        } catch let e as RestyleError {
            throw r.corrupt("settings: \(e)")
        } catch {
            throw r.corrupt("settings")
        }
        iteration = try r.int(in: 0...Limits.maxIterations, "iteration")
        elapsed = try r.finiteDouble("elapsed time")
        guard elapsed >= 0 else { throw r.corrupt("negative elapsed time") }
        // Finite is not enough: the TUI shows it as whole seconds, and Int(1e300) traps.
        guard elapsed <= Limits.maxElapsedSeconds else { throw r.corrupt("elapsed time \(elapsed) s") }
        evaluated = try r.int(in: 0...1, "flag") != 0
        needsEvaluation = try r.int(in: 0...1, "flag") != 0
        guard let h = try? JSONDecoder().decode(SessionHistory.self, from: try r.bytes(limit: 1 << 30)) else {
            throw r.corrupt("history")
        }
        for p in h.points where !(p.terms.isFinite && p.alpha.isFinite && p.beta.isFinite && p.tv.isFinite) {
            throw r.corrupt("history holds non-finite values")
        }
        // The chart offsets and scales iterations (first + 1, Int of a scaled position), which traps near
        // Int.max; the engine only ever records iterations within the limit.
        for i in h.points.map(\.iteration) + h.marks where !(0...Limits.maxIterations).contains(i) {
            throw r.corrupt("history iteration \(i) outside 0…\(Limits.maxIterations)")
        }
        history = h
        content = try r.image("content image")
        let styleCount = version >= 2 ? try r.int(in: 1...Settings.maxStyles, "style image count") : 1
        guard styleCount == settings.styleBlend.count else {
            throw r.corrupt("\(styleCount) style images for \(settings.styleBlend.count) blend weights")
        }
        styles = try (0..<styleCount).map { _ in try r.image("style image") }
        start = try r.image("start image")
        guard start.width == content.width, start.height == content.height else { throw r.corrupt("start image size") }
        if version >= 2, try r.int(in: 0...1, "alpha flag") == 1 {
            let a = try r.floats(count: content.width * content.height, "alpha")
            guard a.allSatisfy({ $0 >= 0 && $0 <= 255 }) else { throw r.corrupt("alpha outside 0…255") }
            alpha = a
        }
        if version >= 3, try r.int(in: 0...1, "stage flag") == 1 {
            let c = try r.image("final content image")
            let ss = try (0..<styleCount).map { _ in try r.image("final style image") }
            var a: [Float]?
            if try r.int(in: 0...1, "final alpha flag") == 1 {
                a = try r.floats(count: c.width * c.height, "final alpha")
                guard a!.allSatisfy({ $0 >= 0 && $0 <= 255 }) else { throw r.corrupt("final alpha outside 0…255") }
            }
            guard (a == nil) == (alpha == nil) else { throw r.corrupt("alpha at one stage only") }
            stageSource = StageSource(content: c, styles: ss, alpha: a)
        }
        schedule = try Self.schedule(history.schedule, content: content, source: stageSource, settings: settings, reader: r)
        // The network must fit the images: the same check a new run makes, before anything is built.
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? 0
        let side = VGG19.minimumSide(depth: depth)
        guard min(content.width, content.height) >= side, styles.allSatisfy({ min($0.width, $0.height) >= side }) else {
            throw r.corrupt("images too small for layer \(VGG19.layers[depth].name)")
        }
        rest = r
    }

    /// The stored schedule checked against the images: while a stage other than the last runs, the final
    /// images are present, the content is at that stage's size and every stage to come fits the network
    /// and the limits. At the last stage (or without a schedule) the content may be any size (`u`).
    static func schedule(_ stored: ScaleSchedule?, content: RGBImage, source: StageSource?, settings: Settings,
                         reader r: BinaryReader) throws -> ScaleSchedule {
        guard let s = stored else {
            guard source == nil else { throw r.corrupt("final stage images without a schedule") }
            return .single(side: max(content.width, content.height))
        }
        guard (1...ScaleSchedule.maxScales).contains(s.sides.count), s.ends.count == s.sides.count - 1,
              (0..<s.sides.count).contains(s.stage), s.sides.allSatisfy({ (Limits.minSide...Limits.maxSide).contains($0) }) else {
            throw r.corrupt("scale schedule")
        }
        guard s.isLastStage == (source == nil) else { throw r.corrupt("scale schedule stage \(s.stage) of \(s.sides.count)") }
        if let source {
            do {
                try s.check(settings: settings, width: source.content.width, height: source.content.height,
                            styleSizes: source.styles.map { ($0.width, $0.height) }, option: "scale schedule")
            } catch let e as RestyleError { throw r.corrupt("\(e)") }
            guard max(content.width, content.height) == s.sides[s.stage] else { throw r.corrupt("content not at its stage's size") }
        }
        return s
    }
}
