// The structure-aware half of the session fuzzers (fuzz/swift/SessionFuzzer.swift and
// SessionResumeFuzzer.swift link this file): a custom mutator and cross-over that keep the envelope
// valid, so that mutations reach the payload parser instead of dying on the checksum, and the seed
// writer that makes small valid sessions with restyle's own code.
//
//     magic "RSTYLSES" | version (int64 LE) | payload length (int64 LE) | payload | FNV-1a-64 of payload
//
// The mutator unwraps the payload, splits it into the fields of the v1 layout (as far as they parse:
// length-prefixed byte strings, 8-byte words, length-prefixed float vectors, and an unparsed tail),
// mutates one or more fields with a length prefix kept consistent, or the payload's raw bytes with
// libFuzzer's own mutators (which use the -dict tokens), and wraps the result with a correct length
// and checksum. A small share of mutations damages the envelope itself, so its checks stay covered.

import CFuzzer
@testable import Core
import Foundation

// MARK: - Envelope

enum SessionEnvelope {
    /// The payload of anything: a session's (ignoring its stated length, which `wrap` repairs), or, for
    /// bytes that are not one, all of them.
    static func payload(_ d: [UInt8]) -> [UInt8] {
        let magic = [UInt8](SessionFile.magic)
        if d.count >= 32, Array(d[0..<8]) == magic { return Array(d[24..<(d.count - 8)]) }
        return d
    }

    static func wrap(_ payload: [UInt8], version: Int64 = Int64(SessionFile.version)) -> [UInt8] {
        var out = [UInt8](SessionFile.magic)
        out.reserveCapacity(payload.count + 32)
        appendWord(&out, UInt64(bitPattern: version))
        appendWord(&out, UInt64(payload.count))
        out += payload
        appendWord(&out, payload.withUnsafeBytes { SessionFile.checksum($0, version: Int(version)) })
        return out
    }
}

func appendWord(_ out: inout [UInt8], _ v: UInt64) {
    for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
}

// MARK: - Fields of the v1 payload

enum Field: Equatable {
    case word(UInt64)
    /// int64 byte count, then the bytes (strings and JSON).
    case blob([UInt8])
    /// int64 float count, then the floats' bytes; the count written is `bytes.count / 4`.
    case floats([UInt8])
    /// What did not parse, kept as it is.
    case raw([UInt8])

    var isBlob: Bool { if case .blob = self { return true }; return false }
    var isWord: Bool { if case .word = self { return true }; return false }
    var isFloats: Bool { if case .floats = self { return true }; return false }
}

enum Payload {
    static func serialize(_ fields: [Field]) -> [UInt8] {
        var out: [UInt8] = []
        for f in fields {
            switch f {
            case .word(let v): appendWord(&out, v)
            case .blob(let b): appendWord(&out, UInt64(b.count)); out += b
            case .floats(let b):
                appendWord(&out, UInt64(b.count / 4)); out += b.prefix(b.count / 4 * 4)
            case .raw(let b): out += b
            }
        }
        return out
    }

    /// The v1 layout as far as it goes; the rest is one `.raw` field. Never fails.
    static func parse(_ d: [UInt8]) -> [Field] {
        var p = Parser(d: d)
        _ = p.session()
        if p.i < d.count { p.fields.append(.raw(Array(d[p.i...]))) }
        return p.fields
    }

    struct Parser {
        let d: [UInt8]
        var i = 0
        var fields: [Field] = []

        func peek() -> UInt64? {
            guard d.count - i >= 8 else { return nil }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(d[i + k]) << (8 * UInt64(k)) }
            return v
        }
        mutating func word() -> Bool {
            guard let v = peek() else { return false }
            fields.append(.word(v)); i += 8
            return true
        }
        mutating func blob() -> [UInt8]? {
            guard let n = peek(), n <= UInt64(d.count - i - 8) else { return nil }
            let b = Array(d[(i + 8)..<(i + 8 + Int(n))])
            fields.append(.blob(b)); i += 8 + Int(n)
            return b
        }
        mutating func floats() -> Bool {
            guard let n = peek(), n <= UInt64((d.count - i - 8) / 4) else { return false }
            fields.append(.floats(Array(d[(i + 8)..<(i + 8 + 4 * Int(n))]))); i += 8 + 4 * Int(n)
            return true
        }
        mutating func words(_ k: Int) -> Bool {
            for _ in 0..<k where !word() { return false }
            return true
        }

        mutating func session() -> Bool {
            guard blob() != nil, blob() != nil, words(4), blob() != nil else { return false }
            for _ in 0..<3 { guard words(2), floats() else { return false } }
            guard floats(), floats(), words(4), let opt = blob() else { return false }
            switch String(decoding: opt, as: UTF8.self) {
            case "adam": return word() && floats() && floats()
            case "lbfgs":
                guard words(4), floats(), floats() else { return false }
                while i < d.count { guard word(), floats(), floats() else { return false } }
                return true
            default: return false
            }
        }
    }
}

// MARK: - Randomness

struct FuzzRNG {
    var s: UInt64
    init(_ seed: UInt32) { s = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 ^ 0xD1B5_4A32_D192_ED03 }
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// 0..<n, n > 0
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ k: Int) -> Bool { below(k) == 0 }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}

// MARK: - Mutations

/// libFuzzer's byte-level mutators on `b`, with room to grow by up to `grow` bytes.
func libFuzzerMutate(_ b: [UInt8], grow: Int) -> [UInt8] {
    var buf = b + [UInt8](repeating: 0, count: max(grow, 1))
    let n = buf.withUnsafeMutableBufferPointer { LLVMFuzzerMutate($0.baseAddress!, b.count, $0.count) }
    return Array(buf.prefix(n))
}

/// Integers at and around the reader's bounds, and doubles that are not ordinary.
let interestingWords: [UInt64] = {
    let ints: [Int64] = [0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 255, 256, 768, 1 << 14, 16385, 10_000, 10_001,
                         100_000_000, 100_000_001, 50_000_000, 1 << 31, 1 << 32, 1 << 40, Int64.max, Int64.max - 31,
                         Int64.max / 4, Int64.max / 12, -1, -2, Int64.min, Int64.min + 1]
    let doubles: [Double] = [0, -0.0, 1, -1, 0.5, 1e-10, 1e9, 1e9 + 1, 1e6, 1e300, -1e300, .nan, -.nan, .infinity,
                             -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
    return ints.map { UInt64(bitPattern: $0) } + doubles.map(\.bitPattern)
}()

let interestingFloats: [Float] = [0, -0.0, 1, -1, 255, 256, 1e30, -1e30, .nan, .infinity, -.infinity,
                                  .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-10]

/// A JSON value (settings, history) with one node replaced, added or removed, re-encoded; nil if the
/// bytes are not JSON.
func mutateJSON(_ b: [UInt8], _ rng: inout FuzzRNG) -> [UInt8]? {
    guard let root = try? JSONSerialization.jsonObject(with: Data(b), options: [.fragmentsAllowed]) else { return nil }
    let layers = VGG19.layers.map(\.name)
    func value() -> Any {
        switch rng.below(16) {
        case 0: return 0
        case 1: return -1
        case 2: return rng.pick([1, 2, 16, 100, 10_000, 10_001, 100_000_000, 100_000_001, Int.max, Int.min])
        case 3: return rng.pick([0.5, -0.5, 1e-300, 1e9, 1e9 + 1, 1e6, 1.0e6 + 1, 1e300, -1e300])
        case 4: return ""
        case 5: return rng.pick(layers)
        case 6: return [rng.pick(layers)]
        case 7: return (0..<rng.below(40)).map { _ in rng.pick(layers) }
        case 8: return [String]()
        case 9: return [String: Any]()
        case 10: return NSNull()
        case 11: return rng.chance(2)
        case 12: return rng.pick(["adam", "lbfgs", "max", "avg", "content", "random", "relu1_1", "x"])
        case 13: return ["content": [String: Any]()] as [String: Any]
        case 14: return ["image": ["_0": rng.pick(["", "/dev/zero", "a.png"])]] as [String: Any]
        default: return [["iteration": 1, "terms": ["total": 1, "content": 1, "style": 1, "tv": 0],
                          "alpha": 1, "beta": 1, "tv": 0] as [String: Any]]
        }
    }
    let keys = ["alpha", "beta", "tv", "optimizer", "learningRate", "lbfgsHistory", "contentLayers", "styleLayers",
                "pooling", "iterations", "initKind", "seed", "points", "marks", "iteration", "terms", "total",
                "content", "style", "random", "image", "_0", "unknownKey"]
    func mutate(_ v: Any, depth: Int) -> Any {
        if var d = v as? [String: Any], !d.isEmpty || rng.chance(2) {
            let k = d.isEmpty || rng.chance(4) ? rng.pick(keys) : Array(d.keys)[rng.below(d.count)]
            switch rng.below(4) {
            case 0: d[k] = nil
            case 1: d[k] = value()
            default: d[k] = d[k].map { mutate($0, depth: depth + 1) } ?? value()
            }
            return d
        }
        if var a = v as? [Any] {
            switch a.isEmpty ? 0 : rng.below(4) {
            case 0: a.insert(value(), at: rng.below(a.count + 1))
            case 1: a.remove(at: rng.below(a.count))
            case 2: let i = rng.below(a.count); a[i] = mutate(a[i], depth: depth + 1)
            default: a += a
            }
            return a
        }
        return value()
    }
    let out = mutate(root, depth: 0)
    guard JSONSerialization.isValidJSONObject(out) || !(out is [Any] || out is [String: Any]),
          let data = try? JSONSerialization.data(withJSONObject: out, options: [.fragmentsAllowed]) else { return nil }
    return [UInt8](data)
}

func mutateFloats(_ b: [UInt8], _ rng: inout FuzzRNG) -> [UInt8] {
    var b = b
    switch rng.below(5) {
    case 0, 1: // a value
        guard b.count >= 4 else { return b + [0, 0, 0x80, 0x3f] }
        let i = rng.below(b.count / 4) * 4
        let f = rng.chance(2) ? rng.pick(interestingFloats) : Float(rng.below(600)) - 300
        let bits = f.bitPattern
        for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
    case 2: // one value fewer or more, or a few
        let k = 4 * (1 + rng.below(rng.chance(2) ? 1 : 48))
        if rng.chance(2), b.count >= k { b.removeLast(k) } else { b += [UInt8](repeating: 0, count: k) }
    case 3: b = [] // empty
    default: // every value the same special one
        let bits = rng.pick(interestingFloats).bitPattern
        for i in stride(from: 0, to: b.count - 3, by: 4) {
            for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
        }
    }
    return b
}

func mutateWord(_ v: UInt64, _ rng: inout FuzzRNG) -> UInt64 {
    switch rng.below(6) {
    case 0, 1, 2: return rng.pick(interestingWords)
    case 3: return v &+ UInt64(bitPattern: Int64(rng.below(33) - 16))
    case 4: return v ^ (1 << UInt64(rng.below(64)))
    default: return UInt64(bitPattern: Int64(rng.below(70_000)))
    }
}

/// One mutation of the fields, lengths kept consistent; nil if it did not apply.
func mutateFields(_ fields: inout [Field], _ rng: inout FuzzRNG) -> Bool {
    func index(where p: (Field) -> Bool) -> Int? {
        let idx = fields.indices.filter { p(fields[$0]) }
        return idx.isEmpty ? nil : rng.pick(idx)
    }
    switch rng.below(12) {
    case 0, 1, 2: // a string or JSON field, structurally
        guard let i = index(where: \.isBlob), case .blob(let b) = fields[i], let m = mutateJSON(b, &rng) else { return false }
        fields[i] = .blob(m)
    case 3, 4: // a string or JSON field, byte-wise with the dictionary
        guard let i = index(where: \.isBlob), case .blob(let b) = fields[i] else { return false }
        fields[i] = .blob(libFuzzerMutate(b, grow: 64))
    case 5, 6, 7: // an integer or double
        guard let i = index(where: \.isWord), case .word(let v) = fields[i] else { return false }
        fields[i] = .word(mutateWord(v, &rng))
    case 8, 9: // a float vector
        guard let i = index(where: \.isFloats), case .floats(let b) = fields[i] else { return false }
        fields[i] = .floats(mutateFloats(b, &rng))
    case 10: // delete, duplicate or move a field, or insert a word
        guard !fields.isEmpty else { return false }
        let i = rng.below(fields.count)
        switch rng.below(4) {
        case 0: fields.remove(at: i)
        case 1: fields.insert(fields[i], at: i)
        case 2: fields.insert(.word(rng.pick(interestingWords)), at: i)
        default: fields.swapAt(i, rng.below(fields.count))
        }
    default: // the unparsed tail, or the end cut off
        if case .raw(let b)? = fields.last {
            fields[fields.count - 1] = .raw(libFuzzerMutate(b, grow: 64))
        } else if !fields.isEmpty {
            fields.removeLast(1 + rng.below(min(3, fields.count)))
        } else {
            return false
        }
    }
    return true
}

/// The whole mutation of one session file.
func mutateSession(_ input: [UInt8], maxSize: Int, seed: UInt32) -> [UInt8] {
    var rng = FuzzRNG(seed)
    let payload = SessionEnvelope.payload(input)
    if rng.chance(20) {
        // The envelope itself: any byte of the file, or a header field or the checksum.
        var file = SessionEnvelope.wrap(payload)
        switch rng.below(4) {
        case 0: return libFuzzerMutate(input, grow: 64)
        case 1: // version
            let v = rng.pick([0, 2, -1, Int64.max, Int64.min])
            return SessionEnvelope.wrap(payload, version: v)
        case 2: // length
            let v = mutateWord(UInt64(payload.count), &rng)
            file.replaceSubrange(16..<24, with: (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) })
            return file
        default: // checksum, or the end
            if rng.chance(2) { file[file.count - 1 - rng.below(8)] ^= 1 } else { file.removeLast(1 + rng.below(16)) }
            return file
        }
    }
    var out = payload
    if rng.chance(7) {
        out = libFuzzerMutate(payload, grow: 256) // raw bytes: lengths free to lie
    } else {
        var fields = Payload.parse(payload)
        var done = 0
        let want = rng.chance(3) ? 2 + rng.below(3) : 1
        for _ in 0..<(4 * want) where done < want {
            if mutateFields(&fields, &rng) { done += 1 }
        }
        out = done > 0 ? Payload.serialize(fields) : libFuzzerMutate(payload, grow: 256)
    }
    return SessionEnvelope.wrap(out)
}

@_cdecl("LLVMFuzzerCustomMutator")
public func sessionCustomMutator(_ data: UnsafeMutablePointer<UInt8>, _ size: Int, _ maxSize: Int,
                                 _ seed: UInt32) -> Int {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    var s = seed
    for _ in 0..<4 {
        let out = mutateSession(input, maxSize: maxSize, seed: s)
        if out.count <= maxSize, out != input {
            out.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: out.count) }
            return out.count
        }
        s = s &* 1_664_525 &+ 1_013_904_223
    }
    // Too large to grow: the built-in mutators, which respect maxSize.
    return LLVMFuzzerMutate(data, size, maxSize)
}

/// Fields of one session with a run of fields from another (same positions), or one's head and the
/// other's tail: e.g. one file's settings with another's images or optimiser state.
@_cdecl("LLVMFuzzerCustomCrossOver")
public func sessionCustomCrossOver(_ d1: UnsafePointer<UInt8>, _ n1: Int, _ d2: UnsafePointer<UInt8>, _ n2: Int,
                                   _ out: UnsafeMutablePointer<UInt8>, _ maxOut: Int, _ seed: UInt32) -> Int {
    var rng = FuzzRNG(seed)
    var a = Payload.parse(SessionEnvelope.payload(Array(UnsafeBufferPointer(start: d1, count: n1))))
    let b = Payload.parse(SessionEnvelope.payload(Array(UnsafeBufferPointer(start: d2, count: n2))))
    guard !a.isEmpty, !b.isEmpty else { return 0 }
    if rng.chance(2) {
        let i = rng.below(min(a.count, b.count))
        let k = 1 + rng.below(min(a.count, b.count) - i)
        a.replaceSubrange(i..<(i + k), with: b[i..<(i + k)])
    } else {
        a = Array(a.prefix(rng.below(a.count + 1))) + Array(b.suffix(from: rng.below(b.count + 1)))
    }
    let file = SessionEnvelope.wrap(Payload.serialize(a))
    guard file.count <= maxOut else { return 0 }
    file.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: file.count) }
    return file.count
}

// MARK: - Errors

/// The readers' contract: a hostile file is refused with a `RestyleError` (one line naming the file),
/// never another error type, a trap or a crash.
func expectRestyleErrorOrSuccess(_ what: String, _ body: () throws -> Void) {
    do { try body() } catch is RestyleError {
    } catch {
        fatalError("\(what) threw \(type(of: error)), not a RestyleError: \(error)")
    }
}

// MARK: - Seeds

/// Small valid sessions written by restyle itself: both optimisers, at the 16×16 the default layers
/// need and at 4×3 with one shallow layer, fresh and after a few iterations, with a settings change
/// (a chart mark), TV, average pooling and a random start.
enum SessionSeeds {
    static func image(_ w: Int, _ h: Int, _ k: Int) -> RGBImage {
        RGBImage(width: w, height: h, pixels: (0..<(3 * w * h)).map { Float(($0 * 37 + k * 101) % 256) })
    }

    static func write(to dir: String, weights: VGGWeights) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        struct Case { var name: String; var w, h, sw, sh: Int; var iterations: Int; var change: Bool; var edit: (inout Settings) -> Void }
        let shallow: (inout Settings) -> Void = { $0.contentLayers = ["relu1_1"]; $0.styleLayers = ["relu1_1", "relu1_2"] }
        let cases: [Case] = [
            Case(name: "adam-16", w: 16, h: 16, sw: 16, sh: 16, iterations: 3, change: false) { $0.optimizer = .adam; $0.learningRate = 2 },
            Case(name: "lbfgs-16", w: 16, h: 16, sw: 16, sh: 16, iterations: 4, change: false) { $0.lbfgsHistory = 3 },
            Case(name: "lbfgs-16-fresh", w: 16, h: 16, sw: 16, sh: 16, iterations: 0, change: false) { _ in },
            Case(name: "adam-16-changed", w: 16, h: 16, sw: 20, sh: 16, iterations: 3, change: true) {
                $0.optimizer = .adam; $0.tv = 1; $0.pooling = .avg; $0.initKind = .random; $0.seed = 7
            },
            Case(name: "lbfgs-4x3", w: 4, h: 3, sw: 5, sh: 5, iterations: 4, change: false) { shallow(&$0); $0.lbfgsHistory = 2 },
            Case(name: "adam-4x3-changed", w: 4, h: 3, sw: 3, sh: 4, iterations: 3, change: true) { shallow(&$0); $0.optimizer = .adam },
        ]
        for c in cases {
            var s = Settings()
            s.iterations = 10
            c.edit(&s)
            let o = try Optimization(weights: weights, content: image(c.w, c.h, 1), style: image(c.sw, c.sh, 2),
                                     settings: s, convPolicy: .direct)
            for i in 0..<c.iterations {
                o.iterate()
                if c.change && i == 1 { o.apply([{ $0.beta = 20 }]) }
            }
            try o.writeSession(to: dir + "/" + c.name + ".session")
        }
    }
}

/// `RESTYLE_FUZZ_WRITE_SEEDS=DIR` makes the binary write its seed sessions into DIR and exit, so the
/// seeds always match the code under test (scripts/fuzz-swift.sh does this before each run).
func writeSeedsIfAsked(weights: () -> VGGWeights) {
    guard let p = getenv("RESTYLE_FUZZ_WRITE_SEEDS") else { return }
    let dir = String(cString: p)
    do {
        try SessionSeeds.write(to: dir, weights: weights())
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot write seed sessions: \(error)\n".utf8))
        exit(2)
    }
}
