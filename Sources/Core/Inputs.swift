import Foundation

/// Content, style and start image at working size, loaded and resized as the options say.
public struct Inputs {
    public var content: RGBImage
    public var style: RGBImage
    public var start: RGBImage?
    public var originalContent: RGBImage
    public var originalStyle: RGBImage

    /// - Parameters:
    ///   - size: longest side of the working image; an input already at that size is used unchanged.
    ///   - styleSize: longest side of the style (nil: the content's working longest side).
    public static func load(content contentPath: String, style stylePath: String, size: Int, styleSize: Int?,
                            initKind: InitKind) throws -> Inputs {
        guard size >= 16, size <= ImageIO.maxSide else { throw RestyleError.badInput("--size: must be between 16 and \(ImageIO.maxSide), got \(size)") }
        if let styleSize, styleSize < 16 || styleSize > ImageIO.maxSide {
            throw RestyleError.badInput("--style-size: must be between 16 and \(ImageIO.maxSide), got \(styleSize)")
        }
        let c0 = try ImageIO.read(contentPath)
        let s0 = try ImageIO.read(stylePath)
        let cs = fitSize(width: c0.width, height: c0.height, longestSide: size)
        let content = resized(c0, width: cs.width, height: cs.height)
        let ss = fitSize(width: s0.width, height: s0.height, longestSide: styleSize ?? max(cs.width, cs.height))
        let style = resized(s0, width: ss.width, height: ss.height)
        var start: RGBImage?
        if case .image(let p) = initKind {
            let i0 = try ImageIO.read(p)
            start = resized(i0, width: cs.width, height: cs.height)
        }
        return Inputs(content: content, style: style, start: start, originalContent: c0, originalStyle: s0)
    }

    public func makeEngine(weights: VGGWeights, settings: Settings) throws -> Engine {
        try Engine(weights: weights, content: content, style: style, settings: settings, start: start,
                   originalContent: originalContent, originalStyle: originalStyle)
    }
}
