import ArgumentParser
import Core
import Foundation

/// The options shared by `restyle run` and the TUI: everything that shapes the optimisation.
struct EngineOptions: ParsableArguments {
    @Option(help: "Longest side of the working image in pixels; an input already at that size is used unchanged (default: 512 for run, 256 in the TUI).")
    var size: Int?

    @Option(name: .customLong("style-size"), help: "Longest side of the style image (default: the content's working longest side).")
    var styleSize: Int?

    @Option(help: "Loss-and-gradient evaluations to run (0 evaluates the start image and stops). Default 500.")
    var iterations: Int?

    @Option(help: "Content weight α.")
    var alpha: Double = 1

    @Option(help: "Style weight β.")
    var beta: Double = 10

    @Option(help: "Total-variation weight γ (smoothness).")
    var tv: Double = 0

    @Option(help: "lbfgs or adam.")
    var optimizer: OptimizerKind = .lbfgs

    @Option(help: "Step size: Adam's learning rate in pixel units (default 1), L-BFGS's step multiplier (default 1).")
    var lr: Double?

    @Option(name: .customLong("lbfgs-history"), help: "L-BFGS history length.")
    var lbfgsHistory: Int = 100

    @Option(name: .customLong("init"), help: "Start image: content, random, or an image file.")
    var initArg: String = "content"

    @Option(name: .customLong("content-layers"), help: "Comma-separated content layers (default relu4_2).")
    var contentLayers: String?

    @Option(name: .customLong("style-layers"), help: "Comma-separated style layers (default relu1_1,relu2_1,relu3_1,relu4_1,relu5_1).")
    var styleLayers: String?

    @Option(help: "Layer preset: 'default', or 'seed' (content and style both relu1_2,relu2_2,relu3_2,relu4_1).")
    var layers: String?

    @Option(help: "Pooling in the network: max or avg.")
    var pooling: Pooling = .max

    @Option(help: "Seed for --init random.")
    var seed: UInt64 = 0

    /// The settings these options describe; throws a one-line usage error naming the option.
    func settings() throws -> Settings {
        var s = Settings()
        func nonNegative(_ v: Double, _ name: String) throws -> Double {
            guard v.isFinite, v >= 0 else { throw RestyleError.badInput("--\(name): must be a finite number ≥ 0, got \(v)") }
            return v
        }
        s.alpha = try nonNegative(alpha, "alpha")
        s.beta = try nonNegative(beta, "beta")
        s.tv = try nonNegative(tv, "tv")
        s.optimizer = optimizer
        if let lr {
            guard lr.isFinite, lr > 0 else { throw RestyleError.badInput("--lr: must be a finite number > 0, got \(lr)") }
            s.learningRate = lr
        }
        guard lbfgsHistory >= 1 else { throw RestyleError.badInput("--lbfgs-history: must be ≥ 1, got \(lbfgsHistory)") }
        s.lbfgsHistory = lbfgsHistory
        if let iterations {
            guard iterations >= 0 else { throw RestyleError.badInput("--iterations: must be ≥ 0, got \(iterations)") }
            s.iterations = iterations
        }
        s.initKind = InitKind(argument: initArg)
        s.pooling = pooling
        s.seed = seed
        switch layers {
        case nil, "default"?: break
        case "seed"?:
            s.contentLayers = Settings.seedLayers
            s.styleLayers = Settings.seedLayers
        case let other?:
            throw RestyleError.badInput("--layers: unknown preset '\(other)' (default, seed)")
        }
        if let contentLayers { s.contentLayers = try LayerNames.parse(contentLayers, option: "--content-layers") }
        if let styleLayers { s.styleLayers = try LayerNames.parse(styleLayers, option: "--style-layers") }
        return s
    }
}

extension OptimizerKind: ExpressibleByArgument {}
extension Pooling: ExpressibleByArgument {}
