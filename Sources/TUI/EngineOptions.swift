import ArgumentParser
import Core
import Foundation

/// The options shared by `restyle run` and the TUI: everything that shapes the optimisation. Each is
/// optional so that a resumed session can tell which ones the user actually gave.
struct EngineOptions: ParsableArguments {
    @Option(help: "Longest side of the working image in pixels; an input already at that size is used unchanged (default: 512 for run, 256 in the TUI).")
    var size: Int?

    @Option(name: .customLong("style-size"), help: "Longest side of the style image (default: the content's working longest side).")
    var styleSize: Int?

    @Option(name: .customLong("style"), help: "A style image; give it up to 8 times to blend several (after a positional STYLE, if any).")
    var styles: [String] = []

    @Option(name: .customLong("style-blend"), help: "Comma-separated weights of the styles, normalised to sum 1 (default: equal).")
    var styleBlend: String?

    @Option(help: "Colours: style (the style's), luminance (transfer luminance only, keep the content's colours), match (the style's colours matched to the content's first). Default style.")
    var colors: ColorPreservation?

    @Option(name: .customLong("style-scale"), parsing: .unconditional, help: "Style size as a multiple of the content's working longest side (or of --style-size), 0.25 to 4 (default 1): below 1, larger brush strokes.")
    var styleScale: Double?

    @Option(name: .customLong("alpha-mode"), help: "A content PNG with transparency: keep (the result gets its alpha; the optimisation sees the colour over the content's mean colour) or drop (over white, no alpha). Default keep.")
    var alphaMode: AlphaMode?

    @Option(help: "Start from a preset: classic, strong, soft, colour-keep, one in $RESTYLE_PRESETS, or a .preset file. It sets α, β, TV, colours, style scale, optimizer, lr, pooling and layers (those it does not name to their defaults); options given beside it win.")
    var preset: String?

    @Option(help: "Loss-and-gradient evaluations to run (0 evaluates the start image and stops). Default 500.")
    var iterations: Int?

    @Option(help: "Coarse-to-fine: optimise at this many sizes, smallest first, each --scale-step times the one before and the last at --size, the image resampled up between them (1 to 8, default 1).")
    var scales: Int?

    @Option(name: .customLong("scale-step"), help: "Size ratio between coarse-to-fine stages, 1.1 to 4 (default 2; 1.414 for √2 steps).")
    var scaleStep: Double?

    @Option(name: .customLong("scale-iterations"), help: "Comma-separated iterations per stage, one per --scales stage; their sum is the run's --iterations (default: a quarter of --iterations at the final size, the rest shared by the smaller stages).")
    var scaleIterations: String?

    // `.unconditional`: the value is taken even when it starts with '-', so `--alpha -3` is refused for
    // being negative rather than misread as a missing value.
    @Option(parsing: .unconditional, help: "Content weight α (default 1).")
    var alpha: Double?

    @Option(parsing: .unconditional, help: "Style weight β (default 10).")
    var beta: Double?

    @Option(parsing: .unconditional, help: "Total-variation weight γ, smoothness (default 0).")
    var tv: Double?

    @Option(help: "lbfgs or adam (default lbfgs).")
    var optimizer: OptimizerKind?

    @Option(parsing: .unconditional, help: "Step size: Adam's learning rate in pixel units (default 1), L-BFGS's step multiplier (default 1).")
    var lr: Double?

    @Option(name: .customLong("lbfgs-history"), help: "L-BFGS history length, 1 to 10000 (default 100).")
    var lbfgsHistory: Int?

    @Option(name: .customLong("lbfgs-precision"), help: "How L-BFGS stores its history: float, half (bfloat16, half the memory) or byte (8 bits with a scale per 64 values, about a quarter). Default byte.")
    var lbfgsPrecision: LBFGSPrecision?

    @Option(name: .customLong("init"), help: "Start image: content, random, or an image file (default content).")
    var initArg: String?

    @Option(name: .customLong("content-layers"), help: "Comma-separated content layers (default relu4_2).")
    var contentLayers: String?

    @Option(name: .customLong("style-layers"), help: "Comma-separated style layers (default relu1_1,relu2_1,relu3_1,relu4_1,relu5_1).")
    var styleLayers: String?

    @Option(help: "Layer preset: 'default', or 'seed' (content and style both relu1_2,relu2_2,relu3_2,relu4_1).")
    var layers: String?

    @Option(help: "Pooling in the network: max or avg (default max).")
    var pooling: Pooling?

    @Option(help: "Seed for --init random (default 0).")
    var seed: UInt64?

    @Option(name: .customLong("max-memory"), help: "Refuse a run estimated to need more memory than this, e.g. 8G or 1500M (default: 80% of what this process may use).")
    var maxMemory: String?

    /// The settings these options describe, for a run with `styleCount` style images (equal weights unless
    /// --style-blend says otherwise); throws a one-line usage error naming the option.
    func settings(styleCount: Int = 1) throws -> Settings {
        var s = Settings()
        s.styleBlend = Array(repeating: 1 / Double(styleCount), count: styleCount)
        for change in try changes() { change(&s) }
        if let initArg { s.initKind = InitKind(argument: initArg) }
        if let seed { s.seed = seed }
        if let alphaMode { s.alphaMode = alphaMode }
        try applyScales(to: &s)
        try s.validate()
        return s
    }

    /// --scales, --scale-step and --scale-iterations; a list of stage counts sets the iteration limit
    /// to its sum, so --iterations, if given too, must agree.
    func applyScales(to s: inout Settings) throws {
        if let scales { s.scales = scales }
        if let scaleStep { s.scaleStep = scaleStep }
        guard let scaleIterations else { return }
        let counts = try ScaleSchedule.parseIterations(scaleIterations)
        guard counts.count == s.scales else {
            throw RestyleError.badInput("--scale-iterations: \(counts.count) counts for \(s.scales) stages (--scales)")
        }
        let total = counts.reduce(0, +)
        if let iterations, iterations != total {
            throw RestyleError.badInput("--scale-iterations: the counts sum to \(total), but --iterations is \(iterations)")
        }
        s.scaleIterations = counts
        s.iterations = total
    }

    /// The options that may change a run already under way (as the TUI's sliders do), each as a change;
    /// they are validated when applied.
    func changes() throws -> [@Sendable (inout Settings) -> Void] {
        var out: [@Sendable (inout Settings) -> Void] = []
        // First, so that the options given beside it win.
        if let preset {
            let p: Preset
            do { p = try Preset.load(preset) } catch let e as PresetError { throw RestyleError.badInput("--preset: \(e)") }
            out.append { p.apply(to: &$0) }
        }
        if let alpha { out.append { $0.alpha = alpha } }
        if let beta { out.append { $0.beta = beta } }
        if let tv { out.append { $0.tv = tv } }
        if let optimizer { out.append { $0.optimizer = optimizer } }
        if let lr { out.append { $0.learningRate = lr } }
        if let lbfgsHistory { out.append { $0.lbfgsHistory = lbfgsHistory } }
        if let lbfgsPrecision { out.append { $0.lbfgsPrecision = lbfgsPrecision } }
        if let iterations { out.append { $0.iterations = iterations } }
        if let pooling { out.append { $0.pooling = pooling } }
        if let colors { out.append { $0.colors = colors } }
        if let styleScale { out.append { $0.styleScale = styleScale } }
        if let styleBlend {
            let w = try Self.parseBlend(styleBlend)
            out.append { $0.styleBlend = w }
        }
        if let layers {
            let (c, st) = try Settings.layerPreset(layers, option: "--layers")
            out.append { $0.contentLayers = c; $0.styleLayers = st }
        }
        if let contentLayers {
            let l = try VGG19.parse(contentLayers, option: "--content-layers")
            out.append { $0.contentLayers = l }
        }
        if let styleLayers {
            let l = try VGG19.parse(styleLayers, option: "--style-layers")
            out.append { $0.styleLayers = l }
        }
        var probe = Settings()
        for c in out { c(&probe) }
        // The blend's count is checked against the styles where they are known.
        probe.styleBlend = [1]
        try probe.validate()
        return out
    }

    /// Options that only make sense when a run starts from images; a resumed session refuses them
    /// rather than silently ignoring them.
    var startOnlyOptions: [String] {
        [("--size", size != nil), ("--style-size", styleSize != nil), ("--init", initArg != nil), ("--seed", seed != nil),
         ("--style", !styles.isEmpty), ("--alpha-mode", alphaMode != nil), ("--scales", scales != nil),
         ("--scale-step", scaleStep != nil), ("--scale-iterations", scaleIterations != nil)]
            .filter(\.1).map(\.0)
    }

    /// The style paths: a positional STYLE first, then each --style.
    func stylePaths(positional: String?) -> [String] { (positional.map { [$0] } ?? []) + styles }

    /// "0.7,0.3" → [0.7, 0.3], normalised to sum 1.
    static func parseBlend(_ text: String) throws -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...Settings.maxStyles).contains(parts.count) else {
            throw RestyleError.badInput("--style-blend: 1 to \(Settings.maxStyles) weights, got \(parts.count)")
        }
        let w = try parts.map { p -> Double in
            guard let v = Double(p), v.isFinite, v >= 0, v <= Limits.maxWeight else {
                throw RestyleError.badInput("--style-blend: '\(Text.escaped(p))' is not a weight from 0 to \(Limits.maxWeight)")
            }
            return v
        }
        let sum = w.reduce(0, +)
        guard sum > 0 else { throw RestyleError.badInput("--style-blend: at least one weight must be above 0") }
        return w.map { $0 / sum }
    }

    /// `--max-memory` in bytes, or the default ceiling.
    func memoryLimit() throws -> Int {
        guard let maxMemory else { return MemoryEstimate.defaultLimit }
        return try parseByteSize(maxMemory, option: "--max-memory")
    }
}

/// `8G`, `1500M`, `2048K` or a plain number of megabytes.
func parseByteSize(_ text: String, option: String) throws -> Int {
    let t = text.trimmingCharacters(in: .whitespaces).uppercased()
    let units: [(String, Double)] = [("GB", 0x1p30), ("G", 0x1p30), ("MB", 0x1p20), ("M", 0x1p20), ("KB", 0x1p10), ("K", 0x1p10)]
    var number = t, scale = 0x1p20
    for (suffix, s) in units where t.hasSuffix(suffix) { number = String(t.dropLast(suffix.count)); scale = s; break }
    guard let v = Double(number), v.isFinite, v > 0, v * scale < Double(Int.max / 2) else {
        throw RestyleError.badInput("\(option): expected a size such as 8G or 1500M, got '\(text)'")
    }
    return Int(v * scale)
}

extension OptimizerKind: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
extension ColorPreservation: ExpressibleByArgument {}
extension AlphaMode: ExpressibleByArgument {}
extension LBFGSPrecision: ExpressibleByArgument {}
