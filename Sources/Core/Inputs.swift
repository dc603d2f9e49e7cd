import Foundation

/// Content, style and start image at working size, loaded and resized as the options say.
public struct Inputs: Sendable {
    public var content: RGBImage
    public var style: RGBImage
    public var start: RGBImage?
    public var originalContent: RGBImage
    public var originalStyle: RGBImage
    /// One line each for what the user should know: an input enlarged a lot, say.
    public var warnings: [String] = []

    /// Enlarging an input more than this makes a blurred, blocky working image: worth a warning.
    public static let enlargementWarning = 4.0

    /// - Parameters:
    ///   - size: longest side of the working image; an input already at that size is used unchanged.
    ///   - styleSize: longest side of the style (nil: the content's working longest side).
    ///   - memoryLimit: refuse (one line, with the estimate) a run that would need more than this.
    public static func load(content contentPath: String, style stylePath: String, size: Int, styleSize: Int?,
                            settings: Settings, memoryLimit: Int? = MemoryEstimate.defaultLimit) throws -> Inputs {
        guard size >= Limits.minSide, size <= Limits.maxSide else {
            throw RestyleError.badInput("--size: must be between \(Limits.minSide) and \(Limits.maxSide), got \(size)")
        }
        if let styleSize, styleSize < Limits.minSide || styleSize > Limits.maxSide {
            throw RestyleError.badInput("--style-size: must be between \(Limits.minSide) and \(Limits.maxSide), got \(styleSize)")
        }
        let c0 = try ImageIO.read(contentPath)
        let s0 = try ImageIO.read(stylePath)
        let cs = fitSize(width: c0.width, height: c0.height, longestSide: size)
        let ss = fitSize(width: s0.width, height: s0.height, longestSide: styleSize ?? max(cs.width, cs.height))

        // The network needs every side at least this long; say which file and what its real size is.
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? 0
        let minSide = VGG19.minimumSide(depth: depth)
        for (path, orig, fit) in [(contentPath, c0, cs), (stylePath, s0, ss)] where min(fit.width, fit.height) < minSide {
            throw RestyleError.badInput("\(path): too small: the image is \(orig.width)×\(orig.height), which at working size is \(fit.width)×\(fit.height); "
                                        + "layer \(VGG19.layers[depth].name) needs at least \(minSide) pixels on each side (raise --size or use a less elongated image)")
        }
        if let memoryLimit {
            let need = MemoryEstimate.bytes(width: cs.width, height: cs.height, styleWidth: ss.width, styleHeight: ss.height, settings: settings)
            if need > memoryLimit {
                throw RestyleError.badInput("--size \(size): this run needs about \(MemoryEstimate.describe(need)) of memory; "
                                            + "the limit is \(MemoryEstimate.describe(memoryLimit)) (lower --size or --lbfgs-history, or raise --max-memory)")
            }
        }
        var warnings: [String] = []
        for (path, orig, fit) in [(contentPath, c0, cs), (stylePath, s0, ss)] {
            let factor = Double(max(fit.width, fit.height)) / Double(max(orig.width, orig.height))
            if factor > enlargementWarning {
                warnings.append("\(path): enlarged \(String(format: "%.0f", factor))× (\(orig.width)×\(orig.height) → \(fit.width)×\(fit.height)); the result will look soft")
            }
        }
        let content = resized(c0, width: cs.width, height: cs.height)
        let style = resized(s0, width: ss.width, height: ss.height)
        var start: RGBImage?
        if case .image(let p) = settings.initKind {
            let i0 = try ImageIO.read(p)
            start = resized(i0, width: cs.width, height: cs.height)
        }
        return Inputs(content: content, style: style, start: start, originalContent: c0, originalStyle: s0, warnings: warnings)
    }

    public func makeOptimization(weights: VGGWeights, settings: Settings, styleGrams: StyleGrams? = nil) throws -> Optimization {
        try Optimization(weights: weights, content: content, style: style, settings: settings, start: start,
                         originalContent: originalContent, originalStyle: originalStyle, styleGrams: styleGrams)
    }
}
