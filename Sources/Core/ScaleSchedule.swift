import Foundation

/// Coarse-to-fine: the working sizes a run goes through and the iteration at which each stage ends.
///
/// Why: large structures form cheaply at a small size, and the final size then needs few iterations
/// (Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", 2017; crowsonkb's
/// style-transfer-pytorch). Each stage is the final run shrunk uniformly: the content to the stage's
/// longest side, each style by the same factor (so `--style-scale` and `--style-size` mean the same at
/// every stage), and the last stage is exactly the single-scale run at the final size.
///
/// Stored in the session (JSON), so a resumed run continues the schedule; read as hostile input.
public struct ScaleSchedule: Codable, Equatable, Sendable {
    /// Longest side of the working image at each stage, strictly increasing; the last is the final size.
    public var sides: [Int]
    /// The iteration at which each stage but the last ends (one fewer than `sides`); the last stage runs
    /// to the iteration limit, so raising the limit lengthens it.
    public var ends: [Int]
    /// The stage now running (0-based).
    public var stage: Int
    /// `--style-size` at the final stage, when one was given; earlier stages scale it with the content.
    public var styleSize: Int?

    public static let maxScales = 8
    public static let stepRange = 1.1...4.0

    /// One stage at `side`: what every run without `--scales` has.
    public static func single(side: Int) -> ScaleSchedule { ScaleSchedule(sides: [side], ends: [], stage: 0, styleSize: nil) }

    public var count: Int { sides.count }
    public var isLastStage: Bool { stage >= sides.count - 1 }
    public var finalSide: Int { sides[sides.count - 1] }

    /// Longest sides for `scales` stages ending at `final`, each `step` times the one before (rounded).
    public static func sides(final: Int, scales: Int, step: Double) -> [Int] {
        (0..<scales).map { k in Int((Double(final) / pow(step, Double(scales - 1 - k))).rounded()) }
    }

    /// Iterations per stage: `given` when not empty, else the default schedule for `total`: the final stage
    /// gets a quarter (at least 1) and the earlier stages share the rest equally, the earliest taking any
    /// remainder. A small stage costs a fraction of a final-size iteration (a quarter per ×2 step), so most
    /// iterations go where they are cheap.
    public static func iterationsPerStage(total: Int, scales: Int, given: [Int]) -> [Int] {
        if !given.isEmpty { return given }
        guard scales > 1 else { return [total] }
        let last = max(1, total / 4)
        let rest = max(0, total - last), early = scales - 1
        return (0..<early).map { rest / early + ($0 < rest % early ? 1 : 0) } + [last]
    }

    /// The schedule for a run whose final working content is `width`×`height`, or a one-line error naming
    /// the option when a stage would be too small for the network or two stages would be the same size.
    public static func make(settings s: Settings, width: Int, height: Int, styleSize: Int?,
                            styleSizes: [(width: Int, height: Int)]) throws -> ScaleSchedule {
        let final = max(width, height)
        guard s.scales > 1 else { return single(side: final) }
        let sides = Self.sides(final: final, scales: s.scales, step: s.scaleStep)
        let perStage = iterationsPerStage(total: s.iterations, scales: s.scales, given: s.scaleIterations)
        guard perStage.count == s.scales, perStage.allSatisfy({ $0 >= 1 }) else {
            throw RestyleError.badInput("--scales \(s.scales): every stage needs at least one iteration; --iterations \(s.iterations) is too few")
        }
        var ends: [Int] = [], sum = 0
        for n in perStage.dropLast() { sum += n; ends.append(sum) }
        let schedule = ScaleSchedule(sides: sides, ends: ends, stage: 0, styleSize: styleSize)
        try schedule.check(settings: s, width: width, height: height, styleSizes: styleSizes, option: "--scales \(s.scales)")
        return schedule
    }

    /// The longest side of the styles at stage `k`: as `Inputs.load` sizes them for a run at this stage's
    /// size, with `--style-size` scaled as the content is (so the last stage is the single-scale run).
    public func styleSides(stage k: Int, count: Int, settings s: Settings) -> [Int] {
        let f = Double(sides[k]) / Double(finalSide)
        return (0..<count).map { _ in
            let scaled = Inputs.styleSide(contentSide: sides[k], styleSize: styleSize.map { max(1, Int((Double($0) * f).rounded())) },
                                          scale: s.styleScale)
            return max(1, min(Limits.maxSide, scaled))
        }
    }

    /// The content's and styles' working sizes at stage `k`, from the final ones.
    public func geometry(stage k: Int, width: Int, height: Int, styleSizes: [(width: Int, height: Int)],
                         settings s: Settings) -> (content: (width: Int, height: Int), styles: [(width: Int, height: Int)]) {
        let content = fitSize(width: width, height: height, longestSide: sides[k])
        let ss = styleSides(stage: k, count: styleSizes.count, settings: s).enumerated().map { j, side in
            fitSize(width: styleSizes[j].width, height: styleSizes[j].height, longestSide: side)
        }
        return (content, ss)
    }

    /// Every stage from the current one on fits the network and the limits, the sides increase, the ends
    /// are in order; `option` names what to change in the error.
    func check(settings s: Settings, width: Int, height: Int, styleSizes: [(width: Int, height: Int)], option: String) throws {
        guard (1...Self.maxScales).contains(sides.count), ends.count == sides.count - 1, (0..<sides.count).contains(stage) else {
            throw RestyleError.badInput("\(option): 1 to \(Self.maxScales) stages, with one end per stage but the last")
        }
        guard max(width, height) == finalSide else {
            throw RestyleError.badInput("\(option): final size \(width)×\(height) is not the last stage's \(finalSide)")
        }
        if let styleSize, !(Limits.minSide...Limits.maxSide).contains(styleSize) {
            throw RestyleError.badInput("\(option): style size \(styleSize) outside \(Limits.minSide)…\(Limits.maxSide)")
        }
        for (a, b) in zip(sides, sides.dropFirst()) where a >= b {
            throw RestyleError.badInput("\(option): stages \(a) and \(b) px are not increasing (use fewer scales or a larger --scale-step)")
        }
        var last = 0
        for e in ends {
            guard e >= last, e <= Limits.maxIterations else { throw RestyleError.badInput("\(option): stage ends out of order") }
            last = e
        }
        let depth = (s.contentLayers + s.styleLayers).compactMap(VGG19.index).max() ?? 0
        let minSide = max(Limits.minSide, VGG19.minimumSide(depth: depth))
        for k in stage..<sides.count {
            let g = geometry(stage: k, width: width, height: height, styleSizes: styleSizes, settings: s)
            for (what, size) in [("content", g.content)] + g.styles.map({ ("style", $0) }) {
                guard min(size.width, size.height) >= minSide else {
                    throw RestyleError.badInput("\(option): stage \(k + 1) would make the \(what) \(size.width)×\(size.height); layer "
                                                + "\(VGG19.layers[depth].name) needs at least \(minSide) pixels on each side (use fewer scales, a smaller --scale-step or a larger --size)")
                }
                guard size.width <= Limits.maxSide, size.height <= Limits.maxSide, size.width * size.height <= Limits.maxPixels else {
                    throw RestyleError.badInput("\(option): stage \(k + 1) would make the \(what) \(size.width)×\(size.height), over the size limit")
                }
            }
        }
    }

    /// "256, 512, 1024" for messages and `--dry-run`.
    public var describedSides: String { sides.map(String.init).joined(separator: ", ") }

    /// "scale 2/3 · 512²" (or "512×384"): what the TUI's status bar and the logs say.
    public static func label(stage: Int, of count: Int, width: Int, height: Int) -> String {
        "scale \(stage + 1)/\(count) · " + (width == height ? "\(width)²" : "\(width)×\(height)")
    }

    /// "40,30,10" → [40, 30, 10]: one count per stage, each at least 1.
    public static func parseIterations(_ text: String, option: String = "--scale-iterations") throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...maxScales).contains(parts.count) else {
            throw RestyleError.badInput("\(option): 1 to \(maxScales) counts, got \(parts.count)")
        }
        let counts = try parts.map { p -> Int in
            guard let v = Int(p), (1...Limits.maxIterations).contains(v) else {
                throw RestyleError.badInput("\(option): '\(Text.escaped(p))' is not a count from 1 to \(Limits.maxIterations)")
            }
            return v
        }
        guard counts.reduce(0, +) <= Limits.maxIterations else {
            throw RestyleError.badInput("\(option): more than \(Limits.maxIterations) iterations in all")
        }
        return counts
    }
}
