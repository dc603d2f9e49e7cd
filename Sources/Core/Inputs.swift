import Foundation

/// Content, styles and start image at working size, loaded and resized as the options say.
public struct Inputs: Sendable {
    public var content: RGBImage
    public var styles: [RGBImage]
    public var start: RGBImage?
    public var originalContent: RGBImage
    public var originalStyles: [RGBImage]
    /// The content's alpha at working size (0…255), when it has one and `settings.alphaMode` keeps it.
    public var alpha: [Float]?
    /// `--style-size`, kept for coarse-to-fine stages, which scale it with the content.
    public var styleSize: Int?
    /// One line each for what the user should know: an input enlarged a lot, say.
    public var warnings: [String] = []
    /// The L-BFGS history the memory limit allows, when it is shorter than the settings' (then
    /// `makeOptimization` uses it, and `warnings` says so).
    public var fittedHistory: Int?
    /// The pre-flight estimate of the run's peak memory in bytes (with `fittedHistory`), when a limit was given.
    public var estimatedBytes: Int?

    public var style: RGBImage { styles[0] }

    /// Enlarging an input more than this makes a blurred, blocky working image: worth a warning.
    public static let enlargementWarning = 4.0

    public static func load(content contentPath: String, style stylePath: String, size: Int, styleSize: Int?,
                            settings: Settings, memoryLimit: Int? = MemoryEstimate.defaultLimit) throws -> Inputs {
        try load(content: contentPath, styles: [stylePath], size: size, styleSize: styleSize, settings: settings, memoryLimit: memoryLimit)
    }

    /// The style's working longest side: `styleScale` × (`styleSize`, else the content's working longest side).
    public static func styleSide(contentSide: Int, styleSize: Int?, scale: Double) -> Int {
        max(1, Int((Double(styleSize ?? contentSide) * scale).rounded()))
    }

    /// - Parameters:
    ///   - size: longest side of the working image; an input already at that size is used unchanged.
    ///   - styles: one path per `settings.styleBlend` weight (up to `Settings.maxStyles`).
    ///   - styleSize: longest side of the styles before `settings.styleScale` (nil: the content's working
    ///     longest side).
    ///   - memoryLimit: refuse (one line, with the estimate) a run that would need more than this.
    public static func load(content contentPath: String, styles stylePaths: [String], size: Int, styleSize: Int?,
                            settings: Settings, memoryLimit: Int? = MemoryEstimate.defaultLimit) throws -> Inputs {
        guard size >= Limits.minSide, size <= Limits.maxSide else {
            throw RestyleError.badInput("--size: must be between \(Limits.minSide) and \(Limits.maxSide), got \(size)")
        }
        if let styleSize, styleSize < Limits.minSide || styleSize > Limits.maxSide {
            throw RestyleError.badInput("--style-size: must be between \(Limits.minSide) and \(Limits.maxSide), got \(styleSize)")
        }
        guard (1...Settings.maxStyles).contains(stylePaths.count) else {
            throw RestyleError.badInput("--style: 1 to \(Settings.maxStyles) style images, got \(stylePaths.count)")
        }
        guard settings.styleBlend.count == stylePaths.count else {
            throw RestyleError.badInput("--style-blend: \(settings.styleBlend.count) weights for \(stylePaths.count) style images")
        }
        let c0: RGBImage, a0: [Float]?
        if settings.alphaMode == .keep {
            let (img, alpha) = try ImageIO.readWithAlpha(contentPath)
            (c0, a0) = alpha.map { (Self.overMean(img, alpha: $0), $0) } ?? (img, nil)
        } else {
            (c0, a0) = (try ImageIO.read(contentPath), nil)
        }
        let s0 = try stylePaths.map { try ImageIO.read($0) }
        let cs = fitSize(width: c0.width, height: c0.height, longestSide: size)
        let side = styleSide(contentSide: max(cs.width, cs.height), styleSize: styleSize, scale: settings.styleScale)
        guard side <= Limits.maxSide else {
            throw RestyleError.badInput("--style-scale: the style would be \(side) pixels long, over the limit of \(Limits.maxSide)")
        }
        let ss = s0.map { fitSize(width: $0.width, height: $0.height, longestSide: side) }

        // The network needs every side at least this long; say which file and what its real size is.
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? 0
        let minSide = VGG19.minimumSide(depth: depth)
        let all = [(contentPath, c0, cs)] + (0..<s0.count).map { (stylePaths[$0], s0[$0], ss[$0]) }
        for (path, orig, fit) in all where min(fit.width, fit.height) < minSide {
            throw RestyleError.badInput("\(path): too small: the image is \(orig.width)×\(orig.height), which at working size is \(fit.width)×\(fit.height); "
                                        + "layer \(VGG19.layers[depth].name) needs at least \(minSide) pixels on each side (raise --size or --style-scale, or use a less elongated image)")
        }
        var warnings: [String] = []
        var fittedHistory: Int?, estimatedBytes: Int?, memoryWarning: String?
        if let memoryLimit {
            let sizes = ss.map { ($0.width, $0.height) }
            let largest = MemoryEstimate.largest(sizes), others = MemoryEstimate.otherStylesBytes(sizes)
            // A shorter L-BFGS history before a refusal: it costs some convergence, not the run.
            guard let fit = MemoryEstimate.fittingHistory(width: cs.width, height: cs.height, styleWidth: largest.width,
                                                          styleHeight: largest.height, settings: settings,
                                                          limit: memoryLimit - others) else {
                let smallest = settings.optimizer == .lbfgs ? min(MemoryEstimate.minimumHistory, settings.lbfgsHistory) : nil
                let need = MemoryEstimate.bytes(width: cs.width, height: cs.height, styleWidth: largest.width, styleHeight: largest.height,
                                                settings: settings, history: smallest) + others
                let history = smallest.map { " even with an L-BFGS history of \($0)" } ?? ""
                throw RestyleError.badInput("--size \(size): this run needs about \(MemoryEstimate.describe(need)) of memory\(history); "
                                            + "the limit is \(MemoryEstimate.describe(memoryLimit)) (lower --size, or raise --max-memory)")
            }
            estimatedBytes = fit.bytes + others
            if fit.history < settings.lbfgsHistory {
                fittedHistory = fit.history
                memoryWarning = ("memory: L-BFGS history shortened from \(settings.lbfgsHistory) to \(fit.history) pairs to fit "
                                + "the limit of \(MemoryEstimate.describe(memoryLimit)) (estimated \(MemoryEstimate.describe(fit.bytes + others)))")
            }
        }
        for (path, orig, fit) in all {
            let factor = Double(max(fit.width, fit.height)) / Double(max(orig.width, orig.height))
            if factor > enlargementWarning {
                warnings.append("\(path): enlarged \(String(format: "%.0f", factor))× (\(orig.width)×\(orig.height) → \(fit.width)×\(fit.height)); the result will look soft")
            }
        }
        // Last, so that the TUI's message line (which shows the last warning) shows it.
        if let memoryWarning { warnings.append(memoryWarning) }
        let content = resized(c0, width: cs.width, height: cs.height)
        let styles = zip(s0, ss).map { resized($0, width: $1.width, height: $1.height) }
        var start: RGBImage?
        if case .image(let p) = settings.initKind {
            let i0 = try ImageIO.read(p)
            start = resized(i0, width: cs.width, height: cs.height)
        }
        let alpha = a0.map { Self.resizedPlane($0, from: (c0.width, c0.height), to: cs) }
        let inputs = Inputs(content: content, styles: styles, start: start, originalContent: c0, originalStyles: s0, alpha: alpha,
                            styleSize: styleSize, warnings: warnings, fittedHistory: fittedHistory, estimatedBytes: estimatedBytes)
        _ = try inputs.schedule(settings: settings)
        return inputs
    }

    /// The colour composited over its own mean colour (weighted by alpha), so transparent parts add no
    /// colour of their own to the optimisation (white would).
    public static func overMean(_ img: RGBImage, alpha: [Float]) -> RGBImage {
        let n = img.width * img.height
        let total = alpha.reduce(0.0) { $0 + Double($1) }
        var mean = [Double](repeating: 255, count: 3)
        if total > 0 {
            for c in 0..<3 {
                var s = 0.0
                for i in 0..<n { s += Double(alpha[i]) * Double(img.pixels[c * n + i]) }
                mean[c] = s / total
            }
        }
        var out = img
        for c in 0..<3 {
            for i in 0..<n {
                let a = Double(alpha[i]) / 255
                out.pixels[c * n + i] = Float(a * Double(img.pixels[c * n + i]) + (1 - a) * mean[c])
            }
        }
        return out
    }

    /// One plane (alpha) resampled as the images are.
    public static func resizedPlane(_ p: [Float], from: (Int, Int), to: (width: Int, height: Int)) -> [Float] {
        let img = RGBImage(width: from.0, height: from.1, pixels: p + p + p)
        return Array(resized(img, width: to.width, height: to.height).pixels.prefix(to.width * to.height))
    }

    /// The settings with the history the memory limit allows.
    public func fitted(_ settings: Settings) -> Settings {
        var s = settings
        if let fittedHistory { s.lbfgsHistory = min(s.lbfgsHistory, fittedHistory) }
        return s
    }

    /// The coarse-to-fine stages these inputs would run through (refused as `Optimization` would).
    public func schedule(settings: Settings) throws -> ScaleSchedule {
        try ScaleSchedule.make(settings: settings, width: content.width, height: content.height, styleSize: styleSize,
                               styleSizes: styles.map { ($0.width, $0.height) })
    }

    public func makeOptimization(weights: VGGWeights, settings: Settings, styleGrams: StyleGrams? = nil) throws -> Optimization {
        try Optimization(weights: weights, content: content, styles: styles, settings: fitted(settings), start: start,
                         originalContent: originalContent, originalStyles: originalStyles, alpha: alpha, styleGrams: styleGrams,
                         styleSize: styleSize)
    }
}
