import CBLAS
import Foundation

/// The Gatys loss at one working size: L = α·E_c + β·E_s + γ·E_tv, with content and style measured as
/// relative errors so that α/β mean the same at every resolution (see docs/DESIGN.md).
public final class Objective {
    public let width: Int
    public let height: Int
    public private(set) var settings: Settings
    let net: VGGNetwork
    let contentStages: [Int]
    let styleStages: [Int]
    /// Content features F_l(c), padded layout, and ‖F_l(c)‖².
    var contentTargets: [Int: (FloatBuffer, Double)] = [:]
    /// Per style image k, its Grams G_l(s_k) (C×C) and ‖G_l(s_k)‖².
    var styleTargets: [[Int: ([Float], Double)]] = []
    /// Per style stage: the Gram of the current image, then (after evaluate) the blend's dE/dG up to a
    /// factor: Σ_k r_k (G − G_l(s_k)), r_k = w_k ‖G_l(s_0)‖² / ‖G_l(s_k)‖².
    var grams: [Int: FloatBuffer] = [:]
    /// G itself while the blend's difference is summed, when there is more than one style.
    var gramScratch: [Int: FloatBuffer] = [:]
    /// `gram`'s partial sums at the working size.
    let gramPartials: FloatBuffer
    /// The network's share of the gradient, before the TV term is added.
    let netGrad: FloatBuffer
    let styleGramsKey: StyleGrams.Key
    var contentScale: [Int: Float] = [:]
    var styleScale: [Int: Float] = [:]

    public convenience init(weights: VGGWeights, content: RGBImage, style: RGBImage, settings: Settings,
                            convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment, styleGrams: StyleGrams? = nil) throws {
        try self.init(weights: weights, content: content, styles: [style], settings: settings, convPolicy: convPolicy,
                      styleGrams: styleGrams)
    }

    /// Builds the network for the content's size, and the targets: content features and each style's
    /// Grams (the style images may have any sizes; each Gram is normalised by its own pixel count).
    /// `settings.styleBlend` holds one weight per style.
    /// - Parameter styleGrams: the targets of an earlier objective on the same style images at the same
    ///   sizes with the same pooling (`styleGrams` of it); the style network is then not run again.
    public init(weights: VGGWeights, content: RGBImage, styles: [RGBImage], settings: Settings,
                convPolicy: VGGNetwork.ConvPolicy = .fromEnvironment, styleGrams: StyleGrams? = nil) throws {
        guard !styles.isEmpty, styles.count == settings.styleBlend.count else {
            throw RestyleError.badInput("--style-blend: \(settings.styleBlend.count) weights for \(styles.count) style images")
        }
        func stage(_ name: String) throws -> Int {
            guard let i = VGG19.index(of: name) else { throw RestyleError.badInput("unknown layer '\(name)'") }
            return i
        }
        let cs = try settings.contentLayers.map(stage)
        let ss = try settings.styleLayers.map(stage)
        guard !cs.isEmpty || !ss.isEmpty else { throw RestyleError.badInput("no content or style layers given") }
        let depth = (cs + ss).max()!
        let minSide = VGG19.minimumSide(depth: depth)
        let deepest = VGG19.layers[depth].name
        for (what, img) in [("content", content)] + styles.map({ ("style", $0) }) where min(img.width, img.height) < minSide {
            throw RestyleError.badInput("\(what) image \(img.width)×\(img.height) is too small for layer \(deepest): each side must be at least \(minSide) pixels")
        }
        let taps = Set((cs + ss).filter { VGG19.layers[$0].isConv })
        self.width = content.width; self.height = content.height; self.settings = settings
        self.contentStages = cs; self.styleStages = ss

        if let styleGrams, styleGrams.matches(styles: styles, pooling: settings.pooling, layers: Set(ss)) {
            styleTargets = styleGrams.targets
        } else {
            // Styles first, each in a plan of its own that is freed before the next and the working plan.
            for style in styles {
                let sNet = try VGGNetwork(weights: weights, height: style.height, width: style.width, depth: depth,
                                          pooling: settings.pooling, tappedConvs: taps, read: Set(ss),
                                          memoryPlan: .forwardOnly, convPolicy: convPolicy)
                _ = style.pixels.withUnsafeBufferPointer { sNet.forward($0.baseAddress!) }
                var targets: [Int: ([Float], Double)] = [:]
                let partials = try FloatBuffer(count: max(1, Self.gramPartialFloats(ss.map { sNet.stages[$0].outShape })))
                for l in Set(ss) {
                    let shape = sNet.stages[l].outShape
                    let g = try FloatBuffer(count: shape.c * shape.c)
                    Self.gram(sNet.output(l), shape, into: g.ptr, partials: partials.ptr)
                    targets[l] = (g.array, Self.sumSquares(g.array))
                }
                styleTargets.append(targets)
            }
        }
        self.styleGramsKey = StyleGrams.Key(styles: styles, pooling: settings.pooling)
        net = try VGGNetwork(weights: weights, height: height, width: width, depth: depth,
                             pooling: settings.pooling, tappedConvs: taps, read: Set(cs + ss),
                             memoryPlan: .compact, convPolicy: convPolicy)
        netGrad = try FloatBuffer(count: 3 * width * height)
        gramPartials = try FloatBuffer(count: max(1, Self.gramPartialFloats(ss.map { [net] in net.stages[$0].outShape })))
        for l in Set(cs) {
            let shape = net.stages[l].outShape
            let b = try FloatBuffer(count: shape.count)
            contentTargets[l] = (b, 0)
        }
        // Copied as each is made: the compact plan may not keep a stage after the pass.
        _ = content.pixels.withUnsafeBufferPointer {
            net.forward($0.baseAddress!) { [net] l in
                guard let (b, _) = self.contentTargets[l] else { return }
                b.copy(from: net.output(l), count: b.count)
            }
        }
        for (l, (b, _)) in contentTargets {
            contentTargets[l] = (b, Self.sumSquares(UnsafeBufferPointer(start: b.ptr, count: b.count)))
        }
        for l in Set(ss) {
            let c = net.stages[l].outShape.c
            grams[l] = try FloatBuffer(count: c * c)
            if styles.count > 1 { gramScratch[l] = try FloatBuffer(count: c * c) }
        }
    }

    /// This objective's style targets, to build another objective on the same styles without running the
    /// style network again (`restyle batch run` shares them between the jobs of one style and size).
    public var styleGrams: StyleGrams { StyleGrams(key: styleGramsKey, targets: styleTargets) }

    public var styleCount: Int { styleTargets.count }

    /// α, β, γ and the blend may change freely (the blend keeps its count); layers and pooling need a
    /// new Objective.
    public func setWeights(alpha: Double, beta: Double, tv: Double, styleBlend: [Double]? = nil) {
        settings.alpha = alpha; settings.beta = beta; settings.tv = tv
        if let styleBlend, styleBlend.count == styleTargets.count { settings.styleBlend = styleBlend }
    }

    static func sumSquares<C: Collection>(_ v: C) -> Double where C.Element == Float {
        var s = 0.0
        for x in v { s += Double(x) * Double(x) }
        return s
    }

    /// G = F Fᵀ / M over the padded layout (border zeros add nothing), M = H·W, by `ssyrk` (the upper
    /// triangle only, F packed once) over `gramChunks(s)` ranges of F's columns side by side: chunk 0 into
    /// g, chunk j into `partials` + (j − 1)·C², summed in chunk order and mirrored. Cutting F's rows into
    /// blocks instead packed every row again for each block below it, nearly as much copying as
    /// multiplying (`perf`: sgemm_incopy 2.1% against the Grams' 2.6% of sgemm_kernel). The chunks depend
    /// on the shape alone, so G does not depend on the thread count.
    static func gram(_ f: UnsafePointer<Float>, _ s: PaddedShape, into g: UnsafeMutablePointer<Float>,
                     partials: UnsafeMutablePointer<Float>) {
        let c = s.c, cc = c * c, k = gramChunks(s), alpha = 1 / Float(s.h * s.w)
        Threads.withSerialBLAS {
            parallelFor(k, work: cc * s.plane) { j in
                let p0 = s.plane * j / k, p1 = s.plane * (j + 1) / k
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(c), Int32(p1 - p0), alpha, f + p0,
                            Int32(s.plane), 0, j == 0 ? g : partials + (j - 1) * cc, Int32(c))
            }
        }
        for i in 0..<c {
            for j in i..<c {
                var v = g[i * c + j]
                for q in 1..<k { v += partials[(q - 1) * cc + i * c + j] }
                g[i * c + j] = v; g[j * c + i] = v
            }
        }
    }

    /// Column chunks of a Gram: up to `maxGramChunks`, each at least 256 columns (a chunk packs its C rows
    /// once for C²·columns / 2 multiply-adds).
    static func gramChunks(_ s: PaddedShape) -> Int { max(1, min(maxGramChunks, s.plane / 256)) }
    static let maxGramChunks = 8

    /// Floats of the `partials` that `gram` needs for every one of these shapes.
    static func gramPartialFloats(_ shapes: [PaddedShape]) -> Int {
        shapes.map { ($0.c * $0.c) * (gramChunks($0) - 1) }.max() ?? 0
    }

    /// Loss at `x` (RGB planar 0…255, this objective's size). With `grad`, also writes dL/dx there.
    @discardableResult
    public func evaluate(_ x: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>?) -> LossTerms {
        evaluate(x, grad: grad, cancel: nil)!
    }

    /// As `evaluate`, but nil if `cancel` was set before it finished (then `grad` holds garbage).
    public func evaluate(_ x: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>?, cancel: CancelFlag?) -> LossTerms? {
        let a = settings.alpha, b = settings.beta
        var ec = 0.0, es = 0.0
        let nc = Double(max(1, contentStages.count)), ns = Double(max(1, styleStages.count))
        // Each read stage is measured as the pass makes it (the compact plan may not keep it), and the
        // terms are summed afterwards in the order of the layer lists.
        var contentTerms: [Int: Double] = [:], styleTerms: [Int: [Double]] = [:]
        let contentSet = Set(contentStages), styleSet = Set(styleStages)
        let finished = net.forward(x, cancel: cancel) { l in
            if contentSet.contains(l) { contentTerms[l] = self.contentTerm(l, nc: nc) }
            if styleSet.contains(l) { styleTerms[l] = self.styleTerms(l, ns: ns) }
        }
        guard finished else { return nil }
        for l in contentStages { ec += contentTerms[l]! }
        for l in styleStages { for t in styleTerms[l]! { es += t } }
        let etv = TotalVariation.evaluate(x, width: width, height: height, grad: grad, weight: settings.tv)
        let terms = LossTerms(total: a * ec + b * es + settings.tv * etv, content: ec, style: es, tv: etv)
        guard let grad else { return terms }

        let tmp = netGrad.ptr
        let completed = net.backward(addGradient: { stage, g in
            for l in contentStages where l == stage && a != 0 {
                let k = contentScale[l]!, f = net.output(l), t = contentTargets[l]!.0.ptr
                for i in 0..<net.stages[l].outShape.count { g[i] += k * (f[i] - t[i]) }
            }
            for l in styleStages where l == stage && b != 0 {
                let s = net.stages[l].outShape
                GEMM.run(m: s.c, n: s.plane, k: s.c, alpha: styleScale[l]!, a: grams[l]!.ptr, lda: s.c,
                         b: net.output(l), ldb: s.plane, beta: 1, c: g, ldc: s.plane)
            }
        }, rgbGrad: tmp, cancel: cancel)
        guard completed else { return nil }
        let n = 3 * width * height
        for i in 0..<n { grad[i] += tmp[i] }
        return terms
    }

    /// Content stage `l`'s share of E_c, as the forward pass makes it; sets its gradient's scale.
    private func contentTerm(_ l: Int, nc: Double) -> Double {
        let (target, norm) = contentTargets[l]!
        let f = net.output(l), t = target.ptr, n = net.stages[l].outShape.count
        var d2 = 0.0
        for i in 0..<n { let d = Double(f[i] - t[i]); d2 += d * d }
        let denom = max(norm, 1e-30)
        contentScale[l] = Float(settings.alpha * 2 / denom / nc)
        return d2 / denom / nc
    }

    /// Style stage `l`'s shares of E_s (one per style), as the forward pass makes it; leaves the blend's
    /// dE/dG in `grams[l]` and sets its gradient's scale.
    private func styleTerms(_ l: Int, ns: Double) -> [Double] {
        let blend = settings.normalizedBlend
        var es: [Double] = []
        let shape = net.stages[l].outShape
        let cc = shape.c * shape.c
        let g = grams[l]!.ptr
        let denom0 = max(styleTargets[0][l]!.1, 1e-30)
        if styleTargets.count == 1 {
            // One style: G − G_s in place; E_s is exactly the single-style relative error.
            let target = styleTargets[0][l]!.0
            Self.gram(net.output(l), shape, into: g, partials: gramPartials.ptr)
            var d2 = 0.0
            for i in 0..<cc { g[i] -= target[i]; d2 += Double(g[i]) * Double(g[i]) }
            es.append(blend[0] * (d2 / denom0) / ns)
        } else {
            // E_s = Σ_k w_k E_s(k); its gradient in G is 2 Σ_k w_k (G − G_k)/‖G_k‖², accumulated in g
            // relative to the first style's norm so that the scale below is the single-style one.
            let gx = gramScratch[l]!.ptr
            Self.gram(net.output(l), shape, into: gx, partials: gramPartials.ptr)
            for i in 0..<cc { g[i] = 0 }
            for (k, targets) in styleTargets.enumerated() {
                let (target, norm) = targets[l]!
                let denom = max(norm, 1e-30)
                var d2 = 0.0
                let r = Float(blend[k] * denom0 / denom)
                for i in 0..<cc {
                    let d = gx[i] - target[i]
                    d2 += Double(d) * Double(d)
                    g[i] += r * d
                }
                es.append(blend[k] * (d2 / denom) / ns)
            }
        }
        styleScale[l] = Float(settings.beta * 4 / (Double(shape.h * shape.w) * denom0 * ns))
        return es
    }
}

/// E_tv on u = x/255: mean squared horizontal plus mean squared vertical neighbour difference.
enum TotalVariation {
    /// Returns E_tv; when `grad` is given, overwrites it with weight·dE_tv/dx.
    static func evaluate(_ x: UnsafePointer<Float>, width w: Int, height h: Int,
                         grad: UnsafeMutablePointer<Float>?, weight: Double) -> Double {
        let n1 = Double(3 * h * (w - 1)), n2 = Double(3 * (h - 1) * w)
        if let grad { memset(grad, 0, 3 * w * h * 4) }
        var s1 = 0.0, s2 = 0.0
        let k1 = Float(weight * 2 / (n1 * 255 * 255)), k2 = Float(weight * 2 / (n2 * 255 * 255))
        for c in 0..<3 {
            for i in 0..<h {
                for j in 0..<w {
                    let p = (c * h + i) * w + j
                    if j + 1 < w {
                        let d = x[p + 1] - x[p]
                        s1 += Double(d) * Double(d)
                        if let grad, weight != 0 { grad[p + 1] += k1 * d; grad[p] -= k1 * d }
                    }
                    if i + 1 < h {
                        let d = x[p + w] - x[p]
                        s2 += Double(d) * Double(d)
                        if let grad, weight != 0 { grad[p + w] += k2 * d; grad[p] -= k2 * d }
                    }
                }
            }
        }
        return (n1 > 0 ? s1 / n1 : 0) / (255 * 255) + (n2 > 0 ? s2 / n2 : 0) / (255 * 255)
    }
}

/// Style Gram targets G_l(s_k) and ‖G_l(s_k)‖² per style and style stage, with the style sizes and pooling
/// they hold for. The caller keys them by style files (and colour mode: `match` and `luminance` change the
/// styles per content); `matches` refuses them for other sizes, pooling or layers.
public struct StyleGrams: Sendable {
    struct Key: Equatable, Sendable {
        var sizes: [Int]
        var pooling: Pooling
        init(styles: [RGBImage], pooling: Pooling) {
            sizes = styles.flatMap { [$0.width, $0.height] }; self.pooling = pooling
        }
    }
    let key: Key
    let targets: [[Int: ([Float], Double)]]

    func matches(styles: [RGBImage], pooling: Pooling, layers: Set<Int>) -> Bool {
        key == Key(styles: styles, pooling: pooling) && targets.allSatisfy { layers.isSubset(of: Set($0.keys)) }
    }
}
