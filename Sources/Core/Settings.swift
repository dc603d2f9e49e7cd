import Foundation

public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case lbfgs, adam }
public enum Pooling: String, Codable, CaseIterable, Sendable { case max, avg }
/// What happens to colour (Gatys et al., "Preserving Color in Neural Artistic Style Transfer", 2016):
/// the style's colours, the content's chroma kept (YIQ), or the style's colours matched to the content's.
/// A content image with transparency: keep its alpha in the result, or composite it over white as a
/// picture without alpha.
public enum AlphaMode: String, Codable, CaseIterable, Sendable { case keep, drop }
public enum ColorPreservation: String, Codable, CaseIterable, Sendable { case style, luminance, match }

/// Where the optimisation starts.
public enum InitKind: Codable, Equatable, Sendable {
    case content
    case random
    case image(String)

    public init(argument: String) {
        switch argument {
        case "content": self = .content
        case "random": self = .random
        default: self = .image(argument)
        }
    }
    public var argument: String {
        switch self {
        case .content: return "content"
        case .random: return "random"
        case .image(let p): return p
        }
    }
}

/// Everything that defines a run. Values that the UI may change mid-run are `var`s applied between iterations.
public struct Settings: Codable, Equatable, Sendable {
    public var alpha: Double = 1
    public var beta: Double = 10
    public var tv: Double = 0
    public var optimizer: OptimizerKind = .lbfgs
    /// Adam's step in pixel units; L-BFGS's step multiplier.
    public var learningRate: Double = 1
    public var lbfgsHistory: Int = 100
    /// How the curvature pairs are stored (see `LBFGSPrecision`). A session without the key holds float pairs.
    public var lbfgsPrecision: LBFGSPrecision = .byte
    public var contentLayers: [String] = Settings.defaultContentLayers
    public var styleLayers: [String] = Settings.defaultStyleLayers
    public var pooling: Pooling = .max
    /// Stop after this many loss-and-gradient evaluations; 0 evaluates the start only.
    public var iterations: Int = 500
    public var initKind: InitKind = .content
    public var seed: UInt64 = 0
    /// One weight per style image, normalised to sum 1 where used, so (0.7, 0.3) and (7, 3) are the same.
    public var styleBlend: [Double] = [1]
    public var colors: ColorPreservation = .style
    /// The style's longest side as a multiple of the content's working longest side (when no absolute
    /// style size was given): below 1, larger brush strokes relative to the picture.
    public var styleScale: Double = 1
    /// Read when the content is loaded; a resumed run keeps the alpha its session holds.
    public var alphaMode: AlphaMode = .keep
    /// The last preset applied (`--preset`, the TUI's `p`), for the record: the values above are what
    /// runs, including any changed after it.
    public var preset: String?
    /// Coarse-to-fine stages (1: a single size), each `scaleStep` times the one before; see `ScaleSchedule`.
    public var scales: Int = 1
    public var scaleStep: Double = 2
    /// Iterations per stage (one count per stage, summing to `iterations`); empty: the default schedule.
    public var scaleIterations: [Int] = []

    public static let defaultContentLayers = ["relu4_2"]
    public static let defaultStyleLayers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    /// The seed implementation's layer set: content and style both these.
    public static let seedLayers = ["relu1_2", "relu2_2", "relu3_2", "relu4_1"]
    public static let maxStyles = 8
    public static let styleScaleRange = 0.25...4.0

    /// The layer sets `--layers` names: `default`, or `seed` for content and style both `seedLayers`.
    public static func layerPreset(_ name: String, option: String) throws -> (content: [String], style: [String]) {
        switch name {
        case "default": return (defaultContentLayers, defaultStyleLayers)
        case "seed": return (seedLayers, seedLayers)
        default: throw RestyleError.badInput("\(option): unknown layer set '\(Text.escaped(name))' (default, seed)")
        }
    }

    /// `styleBlend` summing to 1.
    public var normalizedBlend: [Double] {
        let sum = styleBlend.reduce(0, +)
        return styleBlend.map { $0 / sum }
    }

    public init() {}

    /// Whether changing from `self` to `other` changes the function being minimised
    /// (so curvature history from before is wrong).
    public func objectiveDiffers(from other: Settings) -> Bool {
        alpha != other.alpha || beta != other.beta || tv != other.tv
            || contentLayers != other.contentLayers || styleLayers != other.styleLayers
            || pooling != other.pooling || normalizedBlend != other.normalizedBlend || colors != other.colors
            || styleScale != other.styleScale
    }

    /// One `key=value` per setting, for PNG text chunks and logs.
    public var keyValues: [(String, String)] {
        [("alpha", "\(alpha)"), ("beta", "\(beta)"), ("tv", "\(tv)"),
         ("optimizer", optimizer.rawValue), ("lr", "\(learningRate)"),
         ("lbfgs-history", "\(lbfgsHistory)"), ("lbfgs-precision", lbfgsPrecision.rawValue),
         ("content-layers", contentLayers.joined(separator: ",")),
         ("style-layers", styleLayers.joined(separator: ",")),
         ("pooling", pooling.rawValue), ("iterations", "\(iterations)"),
         ("init", initKind.argument), ("seed", "\(seed)"),
         ("style-blend", normalizedBlend.map { "\($0)" }.joined(separator: ",")),
         ("colors", colors.rawValue), ("style-scale", "\(styleScale)"), ("alpha-mode", alphaMode.rawValue),
         ("scales", "\(scales)"), ("scale-step", "\(scaleStep)"),
         ("scale-iterations", scaleIterations.isEmpty ? "default" : scaleIterations.map(String.init).joined(separator: ","))]
            // Only when there is one, so that the settings of runs from before presets hash the same.
            + (preset.map { [("preset", $0)] } ?? [])
    }
}

extension Settings {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case alpha, beta, tv, optimizer, learningRate, lbfgsHistory, contentLayers, styleLayers, pooling
        case iterations, initKind, seed, styleBlend, colors, styleScale, alphaMode, preset, lbfgsPrecision
        case scales, scaleStep, scaleIterations
    }

    /// Missing keys take their defaults and unknown ones are skipped (`decode(json:)` reports them), so a
    /// session written before a setting existed, or by a newer restyle, still loads. A key that is present
    /// with the wrong type is an error: that file is damaged, not old.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Settings()
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha) ?? d.alpha
        beta = try c.decodeIfPresent(Double.self, forKey: .beta) ?? d.beta
        tv = try c.decodeIfPresent(Double.self, forKey: .tv) ?? d.tv
        optimizer = try c.decodeIfPresent(OptimizerKind.self, forKey: .optimizer) ?? d.optimizer
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        lbfgsHistory = try c.decodeIfPresent(Int.self, forKey: .lbfgsHistory) ?? d.lbfgsHistory
        contentLayers = try c.decodeIfPresent([String].self, forKey: .contentLayers) ?? d.contentLayers
        styleLayers = try c.decodeIfPresent([String].self, forKey: .styleLayers) ?? d.styleLayers
        pooling = try c.decodeIfPresent(Pooling.self, forKey: .pooling) ?? d.pooling
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? d.iterations
        initKind = try c.decodeIfPresent(InitKind.self, forKey: .initKind) ?? d.initKind
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        styleBlend = try c.decodeIfPresent([Double].self, forKey: .styleBlend) ?? d.styleBlend
        colors = try c.decodeIfPresent(ColorPreservation.self, forKey: .colors) ?? d.colors
        styleScale = try c.decodeIfPresent(Double.self, forKey: .styleScale) ?? d.styleScale
        alphaMode = try c.decodeIfPresent(AlphaMode.self, forKey: .alphaMode) ?? d.alphaMode
        preset = try c.decodeIfPresent(String.self, forKey: .preset)
        // Not the default: files from before the key stored float pairs.
        lbfgsPrecision = try c.decodeIfPresent(LBFGSPrecision.self, forKey: .lbfgsPrecision) ?? .float
        scales = try c.decodeIfPresent(Int.self, forKey: .scales) ?? d.scales
        scaleStep = try c.decodeIfPresent(Double.self, forKey: .scaleStep) ?? d.scaleStep
        scaleIterations = try c.decodeIfPresent([Int].self, forKey: .scaleIterations) ?? d.scaleIterations
    }

    /// Settings from a session's JSON, with the keys this version does not know (to tell the user).
    public static func decode(json: Data) throws -> (settings: Settings, unknownKeys: [String]) {
        let settings = try JSONDecoder().decode(Settings.self, from: json)
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        return (settings, object.keys.filter { !known.contains($0) }.sorted())
    }

    /// Every value within `Limits`; the error names the option a user would have used.
    public func validate() throws {
        func weight(_ v: Double, _ name: String) throws {
            guard v.isFinite, v >= 0, v <= Limits.maxWeight else {
                throw RestyleError.badInput("--\(name): must be a number from 0 to \(Limits.maxWeight), got \(v)")
            }
        }
        try weight(alpha, "alpha"); try weight(beta, "beta"); try weight(tv, "tv")
        guard learningRate.isFinite, learningRate > 0, learningRate <= Limits.maxLearningRate else {
            throw RestyleError.badInput("--lr: must be a number above 0 and at most \(Limits.maxLearningRate), got \(learningRate)")
        }
        guard (1...Limits.maxHistory).contains(lbfgsHistory) else {
            throw RestyleError.badInput("--lbfgs-history: must be from 1 to \(Limits.maxHistory), got \(lbfgsHistory)")
        }
        guard (0...Limits.maxIterations).contains(iterations) else {
            throw RestyleError.badInput("--iterations: must be from 0 to \(Limits.maxIterations), got \(iterations)")
        }
        for (option, list) in [("--content-layers", contentLayers), ("--style-layers", styleLayers)] {
            guard list.count <= VGG19.layers.count else { throw RestyleError.badInput("\(option): too many layers") }
            for n in list where VGG19.index(of: n) == nil {
                throw RestyleError.badInput("\(option): unknown layer '\(n)'")
            }
        }
        guard (1...Settings.maxStyles).contains(styleBlend.count) else {
            throw RestyleError.badInput("--style-blend: one weight per style, 1 to \(Settings.maxStyles) styles, got \(styleBlend.count)")
        }
        for v in styleBlend { try weight(v, "style-blend") }
        guard styleBlend.reduce(0, +) > 0 else {
            throw RestyleError.badInput("--style-blend: at least one weight must be above 0")
        }
        guard styleScale.isFinite, Settings.styleScaleRange.contains(styleScale) else {
            throw RestyleError.badInput("--style-scale: must be from \(Settings.styleScaleRange.lowerBound) to \(Settings.styleScaleRange.upperBound), got \(styleScale)")
        }
        if let preset {
            guard !preset.isEmpty, preset.utf8.count <= Preset.maxNameBytes,
                  !preset.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw RestyleError.badInput("preset: the name must be 1 to \(Preset.maxNameBytes) bytes of printable text")
            }
        }
        guard (1...ScaleSchedule.maxScales).contains(scales) else {
            throw RestyleError.badInput("--scales: must be from 1 to \(ScaleSchedule.maxScales), got \(scales)")
        }
        guard scaleStep.isFinite, ScaleSchedule.stepRange.contains(scaleStep) else {
            throw RestyleError.badInput("--scale-step: must be from \(ScaleSchedule.stepRange.lowerBound) to \(ScaleSchedule.stepRange.upperBound), got \(scaleStep)")
        }
        // The total is checked against --iterations where the run starts: the TUI may raise the limit later.
        guard scaleIterations.isEmpty || scaleIterations.count == scales else {
            throw RestyleError.badInput("--scale-iterations: one count per stage (\(scales)), got \(scaleIterations.count)")
        }
        guard scaleIterations.allSatisfy({ (1...Limits.maxIterations).contains($0) }),
              scaleIterations.reduce(0, { $0 + $1 }) <= Limits.maxIterations else {
            throw RestyleError.badInput("--scale-iterations: each count from 1 to \(Limits.maxIterations), at most \(Limits.maxIterations) in all")
        }
        guard !contentLayers.isEmpty || !styleLayers.isEmpty else {
            throw RestyleError.badInput("no content or style layers given")
        }
    }
}
