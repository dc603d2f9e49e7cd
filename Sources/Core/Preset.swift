import Foundation

/// A line of a preset file that is wrong, with where it is.
public typealias PresetError = NamedFileError

/// A named starting point for the settings that shape the picture (Presets/*.preset): `key = value`
/// lines whose keys are the options of the same names. A preset sets every one of those settings —
/// the ones it names to its values, the others to their defaults — so that going from one preset to
/// another never keeps half of the first.
public struct Preset: Equatable, Sendable {
    public var name: String
    /// (key, value) in file order, each already checked.
    public var entries: [Entry]

    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: String
    }

    /// The keys a preset may set: the settings that can change while a run goes on, except the L-BFGS
    /// history (it decides the memory, which is checked before the run) and the iteration limit and
    /// blend weights (which depend on the run, not the look).
    public static let keys = ["alpha", "beta", "tv", "colors", "style-scale", "optimizer", "lr", "pooling",
                              "layers", "content-layers", "style-layers"]
    /// A preset is a few lines; the limit keeps a hostile file from costing anything.
    public static let maxBytes = 16 << 10
    public static let maxNameBytes = 64

    /// Sets one key on `s`; throws a message without the file and line (the caller adds them).
    static func set(_ key: String, _ value: String, in s: inout Settings) throws {
        func number() throws -> Double {
            guard let v = Double(value), v.isFinite else { throw RestyleError.badInput("\(key): '\(Text.escaped(value))' is not a number") }
            return v
        }
        func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws -> E where E.RawValue == String {
            guard let e = E(rawValue: value) else {
                throw RestyleError.badInput("\(key): '\(Text.escaped(value))' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return e
        }
        switch key {
        case "alpha": s.alpha = try number()
        case "beta": s.beta = try number()
        case "tv": s.tv = try number()
        case "lr": s.learningRate = try number()
        case "style-scale": s.styleScale = try number()
        case "colors": s.colors = try choice(ColorPreservation.self)
        case "optimizer": s.optimizer = try choice(OptimizerKind.self)
        case "pooling": s.pooling = try choice(Pooling.self)
        case "layers": (s.contentLayers, s.styleLayers) = try Settings.layerPreset(value, option: key)
        case "content-layers": s.contentLayers = try VGG19.parse(value, option: key)
        case "style-layers": s.styleLayers = try VGG19.parse(value, option: key)
        default:
            throw RestyleError.badInput("'\(Text.escaped(key))' cannot be set by a preset (\(keys.joined(separator: ", ")))")
        }
    }

    /// Parses a preset's text. Every value is applied to the defaults and the result validated, so a
    /// preset that loads can always be applied.
    public static func parse(_ text: String, name: String, file: String) throws -> Preset {
        guard text.utf8.count <= maxBytes else {
            throw PresetError(file: file, line: 0, message: "over \(maxBytes >> 10) KB; a preset is a few lines")
        }
        var named = Settings()
        named.preset = name
        do { try named.validate() } catch let e as RestyleError { throw PresetError(file: file, line: 0, message: e.description) }
        var entries: [Entry] = []
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            func fail(_ m: String) -> PresetError { PresetError(file: file, line: i + 1, message: m) }
            guard let eq = line.firstIndex(of: "=") else { throw fail("expected `key = value`, got '\(Text.escaped(line))'") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key) else {
                throw fail("'\(Text.escaped(key))' cannot be set by a preset (\(keys.joined(separator: ", ")))")
            }
            guard !entries.contains(where: { $0.key == key }) else { throw fail("\(key) is set twice") }
            var probe = Settings()
            do {
                try set(key, value, in: &probe)
                try probe.validate()
            } catch let e as RestyleError {
                throw fail(e.description)
            }
            entries.append(Entry(key: key, value: value))
        }
        var all = Settings()
        do {
            for e in entries { try set(e.key, e.value, in: &all) }
            try all.validate()
        } catch let e as RestyleError {
            throw PresetError(file: file, line: 0, message: e.description)
        }
        return Preset(name: name, entries: entries)
    }

    /// The preset's settings over `s`: its keys set, the other preset keys back to their defaults,
    /// everything else (sizes, styles, blend, iterations) as it was.
    public func apply(to s: inout Settings) {
        let d = Settings()
        s.alpha = d.alpha; s.beta = d.beta; s.tv = d.tv; s.colors = d.colors; s.styleScale = d.styleScale
        s.optimizer = d.optimizer; s.learningRate = d.learningRate; s.pooling = d.pooling
        s.contentLayers = d.contentLayers; s.styleLayers = d.styleLayers
        // Checked by `parse`, so this cannot fail.
        for e in entries { try? Preset.set(e.key, e.value, in: &s) }
        s.preset = name
    }

    /// "beta 100, style-scale 0.75", or "the defaults".
    public var summary: String {
        entries.isEmpty ? "the defaults" : entries.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    /// Presets by name: in `dirs`, then the built-ins.
    public static func files(dirs: [String]) -> NamedFiles {
        NamedFiles(suffix: ".preset", dirs: dirs, builtinNames: BuiltinPresets.names, builtinText: BuiltinPresets.text)
    }

    /// $RESTYLE_PRESETS, the repository's Presets/, /usr/local/share/restyle/presets.
    public static func searchDirs(env: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        NamedFiles.searchDirs(envVar: "RESTYLE_PRESETS", folder: "Presets", installed: "presets", env: env)
    }

    /// A preset by name (looked up in `dirs`, then built in) or by path (anything with '/' or ending in
    /// .preset).
    public static func load(_ nameOrPath: String, dirs: [String] = searchDirs()) throws -> Preset {
        let (text, name, file) = try files(dirs: dirs).load(nameOrPath, kind: "preset", limit: maxBytes)
        return try parse(text, name: name, file: file)
    }
}
