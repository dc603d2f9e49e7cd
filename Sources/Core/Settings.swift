import Foundation

public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case lbfgs, adam }
public enum Pooling: String, Codable, CaseIterable, Sendable { case max, avg }

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
    public var contentLayers: [String] = Settings.defaultContentLayers
    public var styleLayers: [String] = Settings.defaultStyleLayers
    public var pooling: Pooling = .max
    /// Stop after this many loss-and-gradient evaluations; 0 evaluates the start only.
    public var iterations: Int = 500
    public var initKind: InitKind = .content
    public var seed: UInt64 = 0

    public static let defaultContentLayers = ["relu4_2"]
    public static let defaultStyleLayers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    /// The seed implementation's layer set: content and style both these.
    public static let seedLayers = ["relu1_2", "relu2_2", "relu3_2", "relu4_1"]

    public init() {}

    /// Whether changing from `self` to `other` changes the function being minimised
    /// (so curvature history from before is wrong).
    public func objectiveDiffers(from other: Settings) -> Bool {
        alpha != other.alpha || beta != other.beta || tv != other.tv
            || contentLayers != other.contentLayers || styleLayers != other.styleLayers
            || pooling != other.pooling
    }

    /// One `key=value` per setting, for PNG text chunks and logs.
    public var keyValues: [(String, String)] {
        [("alpha", "\(alpha)"), ("beta", "\(beta)"), ("tv", "\(tv)"),
         ("optimizer", optimizer.rawValue), ("lr", "\(learningRate)"),
         ("lbfgs-history", "\(lbfgsHistory)"),
         ("content-layers", contentLayers.joined(separator: ",")),
         ("style-layers", styleLayers.joined(separator: ",")),
         ("pooling", pooling.rawValue), ("iterations", "\(iterations)"),
         ("init", initKind.argument), ("seed", "\(seed)")]
    }
}
