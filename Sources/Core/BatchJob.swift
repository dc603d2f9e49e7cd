import Foundation

/// One job of `restyle batch`: a content, a style (or several, blended), the engine settings, and the PNG it makes. A job list
/// (`jobs.jsonl`) holds one per line, written by `restyle batch plan` or by hand (README, "Many images").
public struct BatchJob: Equatable, Sendable {
    /// 0-based position in the list: shard I of N runs the jobs whose index mod N is I.
    public var index: Int
    /// Line of the list it came from, for messages.
    public var line: Int
    /// As written in the list (relative paths are taken from the list's folder).
    public var content: String
    /// One style, or up to `Settings.maxStyles` blended by `settings.styleBlend`.
    public var styles: [String]
    public var output: String
    public var size: Int
    public var styleSize: Int?
    public var settings: Settings

    public init(index: Int = 0, line: Int = 0, content: String, styles: [String], output: String, size: Int,
                styleSize: Int? = nil, settings: Settings) {
        self.index = index; self.line = line
        self.content = content; self.styles = styles; self.output = output
        self.size = size; self.styleSize = styleSize; self.settings = settings
    }

    public init(index: Int = 0, line: Int = 0, content: String, style: String, output: String, size: Int,
                styleSize: Int? = nil, settings: Settings) {
        self.init(index: index, line: line, content: content, styles: [style], output: output, size: size,
                  styleSize: styleSize, settings: settings)
    }

    /// What makes the result what it is, hashed (FNV-1a 64, hex): stored in the output's PNG text as
    /// `restyle-job`, so a run skips a job whose output already has it, and a changed job runs again.
    public var settingsHash: String {
        var h = SessionFile.FNV1a()
        canonical.withUnsafeBytes { h.add($0) }
        return String(format: "%016llx", h.h)
    }

    /// The hashed description: inputs as written, sizes, and the settings as sorted JSON.
    var canonical: Data {
        var fields: [String] = []
        fields.append("content=" + content)
        // NUL cannot be in a path, and one style hashes as it did before blends.
        fields.append("style=" + styles.joined(separator: "\u{0}"))
        fields.append("size=\(size)")
        fields.append("style_size=" + (styleSize.map(String.init) ?? "auto"))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let s = (try? enc.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        fields.append("settings=" + s)
        return Data(fields.joined(separator: "\n").utf8)
    }

    /// One line of jobs.jsonl (no newline), keys sorted so the same plan gives the same file.
    public func jsonLine() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(LineOut(job: self)), as: UTF8.self)
    }

    struct LineOut: Encodable {
        var content: String, output: String
        /// One style is written as `style`, several as `styles`.
        var style: String?, styles: [String]?
        var size: Int
        var style_size: Int?
        var settings: Settings

        init(job: BatchJob) {
            content = job.content; output = job.output
            if job.styles.count == 1 { style = job.styles[0] } else { styles = job.styles }
            size = job.size; style_size = job.styleSize; settings = job.settings
        }
    }

    /// The fields of a line. Unknown keys are ignored and missing optional ones take defaults, so a list
    /// written by a newer restyle, or by hand with only the essentials, still reads.
    /// Sizes are read as numbers and checked to be whole here: the decoder's own message for 64.5
    /// given as an integer does not say which field it was.
    struct Line: Decodable {
        var content: String
        var style: String?
        var styles: [String]?
        var output: String
        var size: Double?
        var style_size: Double?
        var settings: Settings?
    }
}

/// Reading and checking a job list. Every list is hostile input: bounded in bytes, line length and job
/// count before anything is parsed, every field checked, one-line errors naming the line.
public enum JobList {
    public static let maxBytes = 64 << 20
    public static let maxLineBytes = 64 << 10
    public static let maxJobs = 100_000
    public static let maxPathBytes = 4096
    public static let defaultSize = 512

    public struct Loaded: Sendable {
        public var jobs: [BatchJob]
        /// The list's folder: relative paths in it, `.sessions/` and `failed.jsonl` are here.
        public var directory: String
        /// One line each, for settings keys this version does not know (ignored).
        public var notes: [String]

        public func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        }
    }

    public static func read(_ path: String) throws -> Loaded {
        let bytes = try FileRead.regularFile(path, limit: maxBytes, what: "job list")
        let dir = (path as NSString).deletingLastPathComponent
        let loaded = try parse(bytes, source: path, directory: dir.isEmpty ? "." : dir)
        guard !loaded.jobs.isEmpty else { throw RestyleError.badInput("\(path): no jobs in the list") }
        return loaded
    }

    /// Blank lines and lines starting with `#` are skipped.
    public static func parse(_ bytes: [UInt8], source: String, directory: String) throws -> Loaded {
        var jobs: [BatchJob] = []
        var notes: [String] = []
        var outputs: [String: Int] = [:]
        var lineNo = 0
        var start = 0
        while start < bytes.count {
            lineNo += 1
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            let raw = bytes[start..<end]
            start = end + 1
            func fail(_ why: String) -> RestyleError { .badInput("\(source):\(lineNo): \(why)") }
            guard raw.count <= maxLineBytes else { throw fail("line is \(raw.count) bytes; the limit is \(maxLineBytes)") }
            let text = raw.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if text.isEmpty || text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) || text.first == UInt8(ascii: "#") { continue }
            guard jobs.count < maxJobs else { throw fail("more than \(maxJobs) jobs") }
            guard text.first == UInt8(ascii: "{") else { throw fail("expected a JSON object ({…})") }
            let line: BatchJob.Line
            do {
                line = try JSONDecoder().decode(BatchJob.Line.self, from: Data(raw))
            } catch let e as DecodingError {
                throw fail(describe(e))
            } catch let e as RestyleError {
                throw fail("\(e)")
            } catch {
                throw fail("not valid JSON")
            }
            let styles: [String]
            switch (line.style, line.styles) {
            case (let one?, nil): styles = [one]
            case (nil, let many?):
                guard (1...Settings.maxStyles).contains(many.count) else { throw fail("'styles' must list 1 to \(Settings.maxStyles) images, got \(many.count)") }
                styles = many
            case (nil, nil): throw fail("missing 'style' (or 'styles', a list)")
            case (_?, _?): throw fail("give 'style' or 'styles', not both")
            }
            for (name, value) in [("content", line.content), ("output", line.output)] + styles.map({ ("style", $0) }) {
                guard !value.isEmpty else { throw fail("'\(name)' is empty") }
                guard value.utf8.count <= maxPathBytes, !value.utf8.contains(0) else { throw fail("'\(name)' is not a usable path") }
            }
            guard (line.output as NSString).pathExtension.lowercased() == "png" else {
                throw fail("'output' must be a .png (its text chunks record the settings), got \(Text.escaped(line.output))")
            }
            func side(_ v: Double?, _ name: String) throws -> Int? {
                guard let v else { return nil }
                guard v.rounded() == v, v >= Double(Limits.minSide), v <= Double(Limits.maxSide) else {
                    throw fail("'\(name)' must be a whole number from \(Limits.minSide) to \(Limits.maxSide), got \(v)")
                }
                return Int(v)
            }
            let size = try side(line.size, "size") ?? defaultSize
            let styleSize = try side(line.style_size, "style_size")
            var settings = line.settings ?? Settings()
            let given = ((try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any])?["settings"] as? [String: Any]) ?? [:]
            // Without blend weights, several styles weigh the same, as on the command line.
            if given["styleBlend"] == nil { settings.styleBlend = Array(repeating: 1 / Double(styles.count), count: styles.count) }
            // A session without the key holds float pairs; a job without it simply takes run's default.
            if given["lbfgsPrecision"] == nil { settings.lbfgsPrecision = Settings().lbfgsPrecision }
            do { try settings.validate() } catch { throw fail("settings: \(error)") }
            guard settings.styleBlend.count == styles.count else {
                throw fail("settings: 'styleBlend' has \(settings.styleBlend.count) weights for \(styles.count) styles")
            }
            let unknown = given.keys.filter { Settings.CodingKeys(rawValue: $0) == nil }.sorted()
            if !unknown.isEmpty { notes.append("\(source):\(lineNo): settings this version does not know were ignored: \(unknown.joined(separator: ", "))") }
            let resolved = (line.output.hasPrefix("/") ? line.output : (directory as NSString).appendingPathComponent(line.output))
            let key = (resolved as NSString).standardizingPath
            if let other = outputs[key] { throw fail("output \(Text.escaped(line.output)) is also the output of line \(other)") }
            outputs[key] = lineNo
            jobs.append(BatchJob(index: jobs.count, line: lineNo, content: line.content, styles: styles, output: line.output,
                                 size: size, styleSize: styleSize, settings: settings))
        }
        return Loaded(jobs: jobs, directory: directory, notes: notes)
    }

    /// A decoding error as one line: which field, and what was wrong with it.
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: DecodingError.Context, _ key: CodingKey? = nil) -> String {
            let p = (c.codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return p.isEmpty ? "the line" : "'" + p.joined(separator: ".") + "'"
        }
        switch e {
        case .keyNotFound(let key, let c): return "missing \(path(c, key))"
        case .typeMismatch(let type, let c): return "\(path(c)) has the wrong type (expected \(typeName(type)))"
        case .valueNotFound(let type, let c): return "\(path(c)) is null (expected \(typeName(type)))"
        case .dataCorrupted(let c):
            if c.underlyingError != nil { return "not valid JSON" }
            let why = Text.escaped(c.debugDescription.prefix(200))
            return c.codingPath.isEmpty ? why : "\(path(c)): \(why)"
        @unknown default: return "not a valid job"
        }
    }

    private static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type, is Int?.Type, is UInt64.Type: return "an integer"
        case is Double.Type: return "a number"
        case is [String].Type: return "a list of strings"
        default: return "\(t)".hasPrefix("Dictionary") ? "an object" : "\(t)"
        }
    }

    /// Writes a list atomically.
    public static func write(_ jobs: [BatchJob], to path: String) throws {
        let text = try jobs.map { try $0.jsonLine() + "\n" }.joined()
        try AtomicFile.write(Data(text.utf8), to: path)
    }
}
