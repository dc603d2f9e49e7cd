@testable import Core
import XCTest

/// The compact memory plan (ReLU masks as bits, max-pool choices as bytes, two shared work buffers) must
/// give the keep-everything plan's results bit for bit, and `MemoryEstimate` must count what it allocates.
final class MemoryPlanTests: XCTestCase {
    var rng = SplitMix64(seed: 77)

    /// Relu mask bits against the float mask, on both kernel paths, on counts that are not multiples of 8
    /// and on values at the edges (±0, NaN, ±inf, subnormals); and the forward pass.
    func testReluBitsMatchTheFloatMask() throws {
        for count in [1, 7, 8, 9, 63, 65, 1000, 70_001] {
            var a = randomFloats(count, &rng)
            let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
            for (k, v) in specials.enumerated() where k < count { a[(k * 7919) % count] = v }
            let g0 = randomFloats(count, &rng)
            let expected = zip(a, g0).map { $0 > 0 ? $1 : 0 }.map(\.bitPattern)
            var viaFloat = g0
            a.withUnsafeBufferPointer { ap in
                viaFloat.withUnsafeMutableBufferPointer { Ops.reluBackward($0.baseAddress!, output: ap.baseAddress!, count: count) }
            }
            XCTAssertEqual(viaFloat.map(\.bitPattern), expected, "count \(count)")
            for kernels in Kernels.runnable {
                var viaBits = g0
                let bits = try ByteBuffer(count: Ops.maskBytes(count))
                a.withUnsafeBufferPointer { Ops.reluMask($0.baseAddress!, count: count, bits: bits.ptr, kernels: kernels) }
                viaBits.withUnsafeMutableBufferPointer { Ops.reluBackward($0.baseAddress!, bits: bits.ptr, count: count, kernels: kernels) }
                XCTAssertEqual(viaBits.map(\.bitPattern), expected, "\(kernels), count \(count)")
            }
            var forward = a
            forward.withUnsafeMutableBufferPointer { Ops.reluForward($0.baseAddress!, count: count) }
            XCTAssertEqual(forward.map(\.bitPattern), a.map { $0 > 0 ? $0 : 0 }.map(\.bitPattern), "forward, count \(count)")
        }
    }

    /// The recorded max-pool choice sends the gradient where the comparison of the input would, ties and
    /// NaNs included; and the AVX2 pooling rows (eight outputs at a time, then a scalar tail) give the
    /// portable loops' results bit for bit, max and average, forward and backward; the backward writes every
    /// entry of dx (odd sides' last row and column, and the border, as zeros).
    func testPoolArgmaxMatchesTheInputComparison() throws {
        for (c, h, w) in [(1, 2, 2), (3, 5, 7), (4, 8, 6), (2, 9, 11), (2, 9, 35), (3, 6, 16), (1, 3, 49)] {
            let s = PaddedShape(c: c, h: h, w: w), o = Ops.pooledShape(s)
            let x = try FloatBuffer(count: s.count), dy = try FloatBuffer(count: o.count)
            for i in 0..<s.count { x.ptr[i] = Float(Int(rng.next() % 5)) - 2 }  // many ties
            x.ptr[s.at(0, 0)] = .nan; x.ptr[s.at(1, 1)] = .infinity
            if w > 20 { x.ptr[s.at(0, 19)] = .nan; x.ptr[s.at(1, 16)] = .nan; x.ptr[s.at(1, 18)] = -.infinity }
            for ch in 0..<o.c { for i in 0..<o.h { for j in 0..<o.w { dy.ptr[ch * o.plane + o.at(i, j)] = rng.nextSymmetric() } } }
            dy.ptr[o.at(0, 0)] = -0.0; dy.ptr[o.at(o.h - 1, o.w - 1)] = -0.0  // written as +0, as adding to zeros gives
            let y1 = try FloatBuffer(count: o.count), average = try FloatBuffer(count: o.count)
            Ops.poolForward(x: x.ptr, s, y: y1.ptr, max: true, kernels: .portable)
            Ops.poolForward(x: x.ptr, s, y: average.ptr, max: false, kernels: .portable)
            let a = try FloatBuffer(count: s.count)
            Ops.poolBackward(dy: dy.ptr, x: x.ptr, s, dx: a.ptr, max: true)
            for kernels in Kernels.runnable {
                let what = "\(c)×\(h)×\(w) \(kernels)"
                let y2 = try FloatBuffer(count: o.count), y3 = try FloatBuffer(count: o.count)
                let argmax = try ByteBuffer(count: Ops.argmaxBytes(s))
                Ops.poolForward(x: x.ptr, s, y: y2.ptr, max: true, argmax: argmax.ptr, kernels: kernels)
                XCTAssertEqual(y1.array.map(\.bitPattern), y2.array.map(\.bitPattern), "recording changes nothing forward: \(what)")
                Ops.poolForward(x: x.ptr, s, y: y3.ptr, max: false, kernels: kernels)
                XCTAssertEqual(average.array.map(\.bitPattern), y3.array.map(\.bitPattern), "average: \(what)")
                let b = try FloatBuffer(count: s.count)
                for i in 0..<b.count { b.ptr[i] = .nan }  // every entry, border included, must be written
                Ops.poolBackward(dy: dy.ptr, argmax: argmax.ptr, s, dx: b.ptr, kernels: kernels)
                XCTAssertEqual(a.array.map(\.bitPattern), b.array.map(\.bitPattern), what)
            }
        }
    }

    /// Runs a network and its backward with a fixed gradient at the read stages; returns the read
    /// outputs and the image gradient.
    func run(_ net: VGGNetwork, read: [Int], image: RGBImage) -> (outputs: [[Float]], grad: [Float]) {
        // Read as they are made: a recomputed stage is readable only then.
        var seen: [Int: [Float]] = [:]
        _ = image.pixels.withUnsafeBufferPointer {
            net.forward($0.baseAddress!) { stage in
                if read.contains(stage) { seen[stage] = Array(UnsafeBufferPointer(start: net.output(stage), count: net.stages[stage].outShape.count)) }
            }
        }
        let outputs = read.map { seen[$0]! }
        var grad = [Float](repeating: 0, count: 3 * image.width * image.height)
        grad.withUnsafeMutableBufferPointer { gp in
            _ = net.backward(addGradient: { stage, g in
                guard read.contains(stage) else { return }
                let f = net.output(stage), n = net.stages[stage].outShape.count
                // A gradient that depends on the features, like the losses' (Gram, content difference).
                for i in 0..<n { g[i] += 0.01 * f[i] - 0.003 * Float(i % 13) * (f[i] > 0 ? 1 : 0) }
            }, rgbGrad: gp.baseAddress!)
        }
        return (outputs, grad)
    }

    func testCompactPlanGivesTheSameGradientsBitForBit() throws {
        let weights = VGGWeights(randomSeed: 11)
        let image = Bench.syntheticImage(width: 37, height: 33, seed: 4)
        let names = [["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu4_2"], ["conv1_2", "pool2", "relu3_2"], ["conv3_1"]]
        for policy in [VGGNetwork.ConvPolicy.direct, .winograd4, .auto] {
            for pooling in [Pooling.max, .avg] {
                for layers in names {
                    let read = layers.map { VGG19.index(of: $0)! }
                    let taps = Set(read.filter { VGG19.layers[$0].isConv })
                    let depth = read.max()!
                    let all = try VGGNetwork(weights: weights, height: 33, width: 37, depth: depth, pooling: pooling,
                                             tappedConvs: taps, convPolicy: policy)
                    let compact = try VGGNetwork(weights: weights, height: 33, width: 37, depth: depth, pooling: pooling,
                                                 tappedConvs: taps, read: Set(read), memoryPlan: .compact, convPolicy: policy)
                    let a = run(all, read: read, image: image), b = run(compact, read: read, image: image)
                    let what = "\(policy) \(pooling) \(layers)"
                    for (x, y) in zip(a.outputs, b.outputs) { XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "outputs, \(what)") }
                    XCTAssertEqual(a.grad.map(\.bitPattern), b.grad.map(\.bitPattern), "gradient, \(what)")
                    XCTAssertTrue(a.grad.contains { $0 != 0 }, "a gradient to compare, \(what)")
                    // A second pass over the reused work buffers gives the same again.
                    XCTAssertEqual(run(compact, read: read, image: image).grad.map(\.bitPattern), b.grad.map(\.bitPattern), what)
                }
            }
        }
    }

    /// F(4×4) weight transforms made again on every use (`transientTiles` 0: every layer) give the kept
    /// transforms' results bit for bit, forward and backward, twice over (the shared buffer is rewritten
    /// between layers); the estimate counts one buffer of the largest layer instead of the transforms.
    func testTransientTransformsGiveTheSameResultsBitForBit() throws {
        let weights = VGGWeights(randomSeed: 12)
        let image = Bench.syntheticImage(width: 29, height: 26, seed: 6)
        let read = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2"].map { VGG19.index(of: $0)! }
        func net(_ tiles: Int) throws -> VGGNetwork {
            try VGGNetwork(weights: weights, height: 26, width: 29, depth: read.max()!, pooling: .max, read: Set(read),
                           memoryPlan: .compact, convPolicy: .winograd4, transientTiles: tiles)
        }
        let kept = try net(VGGNetwork.transientTiles), transient = try net(0)
        XCTAssertNil(kept.transientTransform4)
        XCTAssertTrue(transient.keptTransforms4.isEmpty)
        let largest = Kernels.current.floats(cout: 512, cin: 512)
        XCTAssertEqual(transient.transientTransform4?.count, largest, "one buffer, of the largest layer (conv4_2)")
        let a = run(kept, read: read, image: image)
        for _ in 0..<2 {
            let b = run(transient, read: read, image: image)
            for (x, y) in zip(a.outputs, b.outputs) { XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), "outputs") }
            XCTAssertEqual(a.grad.map(\.bitPattern), b.grad.map(\.bitPattern), "gradient")
        }
        // At 1024² the default keeps only the layers below 128×128 (conv5_1 of the default layers).
        let plan = try VGGNetwork.Plan(height: 1024, width: 1024, depth: VGG19.index(of: "relu5_1")!, pooling: .max,
                                       read: [], tappedConvs: [], memoryPlan: .compact)
        let t = VGGNetwork.transforms4(plan.stages) { i in
            if case .conv = plan.stages[i].kind { return Ops.winogradPays(plan.stages[i].inShape, cout: plan.stages[i].outShape.c) }
            return false
        }
        XCTAssertEqual(t.kept.map { plan.stages[$0].name }, ["conv5_1"])
        XCTAssertEqual(t.transientFloats, largest)
        XCTAssertEqual(MemoryEstimate.transformBytes(plan.stages), 4 * 2 * largest)
    }

    /// A kept F(4×4) transform lives as long as a plan holds it, and no longer: a style plan's transforms
    /// do not stay behind for a working plan that makes its own.
    func testKeptTransformsAreFreedWithTheirPlan() throws {
        let weights = VGGWeights(randomSeed: 13)
        let conv = weights.convs[4]  // conv3_1
        weak var seen: VGGWeights.Transform4?
        do {
            let net = try VGGNetwork(weights: weights, height: 20, width: 20, depth: VGG19.index(of: "relu3_1")!, pooling: .max,
                                     convPolicy: .winograd4)
            seen = conv.winograd4Transform()
            XCTAssertTrue(seen === net.keptTransforms4.values.first { $0 === seen })
            XCTAssertEqual(seen?.u, Winograd.transformWeights4(taps: conv.taps, cout: conv.cout, cin: conv.cin))
        }
        XCTAssertNil(seen, "freed with the plan")
    }

    /// The plan's byte count is what the network allocates, and the compact plan is far smaller.
    func testPlanBytesAreWhatTheNetworkAllocates() throws {
        let weights = VGGWeights(randomSeed: 3)
        let read = Set((Settings.defaultContentLayers + Settings.defaultStyleLayers).map { VGG19.index(of: $0)! })
        for plan in [VGGNetwork.MemoryPlan.keepAll, .compact, .forwardOnly] {
            let net = try VGGNetwork(weights: weights, height: 50, width: 61, depth: read.max()!, pooling: .max,
                                     read: read, memoryPlan: plan, convPolicy: .direct)
            var bytes = 4 * (net.inputBuffer.count + net.activations.reduce(0) { $0 + $1.count } + net.convTaps.values.reduce(0) { $0 + $1.count })
            if plan == .keepAll { bytes += 4 * (net.gradA.count + net.gradB.count) }
            bytes += net.reluBits.values.reduce(0) { $0 + $1.count } + net.poolArgmax.values.reduce(0) { $0 + $1.count }
            let p = try VGGNetwork.Plan(height: 50, width: 61, depth: read.max()!, pooling: .max, read: read, tappedConvs: [], memoryPlan: plan)
            XCTAssertEqual(p.bytes, bytes, "\(plan)")
        }
        let big = { (plan: VGGNetwork.MemoryPlan) in
            try VGGNetwork.Plan(height: 768, width: 1024, depth: read.max()!, pooling: .max, read: read, tappedConvs: [], memoryPlan: plan).bytes
        }
        XCTAssertLessThan(try Double(big(.compact)), 0.6 * Double(try big(.keepAll)))
    }

    func testEstimateGrowsWithSizeAndHistoryAndShrinksWithHalfPairs() {
        var s = Settings()
        s.lbfgsPrecision = .float
        var last = 0
        for side in [64, 128, 256, 512, 1024, 2048] {
            let b = MemoryEstimate.bytes(width: side, height: side, styleWidth: side, styleHeight: side, settings: s)
            XCTAssertGreaterThan(b, last, "size \(side)")
            last = b
        }
        last = 0
        for h in [1, 2, 5, 10, 50, 100, 1000] {
            let b = MemoryEstimate.bytes(width: 512, height: 512, styleWidth: 512, styleHeight: 512, settings: s, history: h)
            XCTAssertGreaterThan(b, last, "history \(h)")
            last = b
        }
        var half = s
        half.lbfgsPrecision = .half
        let f = MemoryEstimate.bytes(width: 512, height: 512, styleWidth: 512, styleHeight: 512, settings: s)
        let hb = MemoryEstimate.bytes(width: 512, height: 512, styleWidth: 512, styleHeight: 512, settings: half)
        // 101 pairs of two 3·512² vectors: half precision saves 2 bytes each.
        XCTAssertEqual(f - hb, 101 * 2 * 2 * 3 * 512 * 512)
    }

    func testTheLargestFittingHistoryIsChosen() {
        var s = Settings()
        s.lbfgsHistory = 100
        func need(_ h: Int) -> Int { MemoryEstimate.bytes(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s, history: h) }
        // Everything fits: the full history.
        XCTAssertEqual(MemoryEstimate.fittingHistory(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s,
                                                     limit: need(100))?.history, 100)
        for h in [5, 6, 37, 99] {
            for limit in [need(h), need(h + 1) - 1] {
                let fit = MemoryEstimate.fittingHistory(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s, limit: limit)
                XCTAssertEqual(fit?.history, h, "limit \(limit)")
                XCTAssertEqual(fit?.bytes, need(h))
            }
        }
        XCTAssertNil(MemoryEstimate.fittingHistory(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s, limit: need(5) - 1))
        // Adam has no history to shrink.
        s.optimizer = .adam
        let adam = MemoryEstimate.bytes(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s)
        XCTAssertNil(MemoryEstimate.fittingHistory(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s, limit: adam - 1))
        XCTAssertEqual(MemoryEstimate.fittingHistory(width: 1024, height: 768, styleWidth: 1024, styleHeight: 768, settings: s, limit: adam)?.bytes, adam)
    }

    /// `Inputs.load` under a limit: the longest history that fits, said in one line; a refusal in one
    /// line with the estimate when not even the smallest history fits.
    func testLoadShortensTheHistoryOrRefusesInOneLine() throws {
        let dir = tempDir(), content = dir + "/c.png", style = dir + "/s.png"
        try ImageIO.write(Bench.syntheticImage(width: 64, height: 48, seed: 1), to: content)
        try ImageIO.write(Bench.syntheticImage(width: 48, height: 48, seed: 2), to: style)
        var s = Settings()
        s.lbfgsHistory = 100
        func need(_ h: Int) -> Int { MemoryEstimate.bytes(width: 64, height: 48, styleWidth: 48, styleHeight: 48, settings: s, history: h) }
        let full = try Inputs.load(content: content, style: style, size: 64, styleSize: 48, settings: s, memoryLimit: need(100))
        XCTAssertNil(full.fittedHistory)
        XCTAssertEqual(full.estimatedBytes, need(100))
        XCTAssertEqual(full.fitted(s).lbfgsHistory, 100)

        let short = try Inputs.load(content: content, style: style, size: 64, styleSize: 48, settings: s, memoryLimit: need(41) + 1)
        XCTAssertEqual(short.fittedHistory, 41)
        XCTAssertEqual(short.estimatedBytes, need(41))
        XCTAssertEqual(short.fitted(s).lbfgsHistory, 41)
        XCTAssertEqual(short.warnings.last?.hasPrefix("memory: L-BFGS history shortened from 100 to 41 pairs"), true, "\(short.warnings)")

        XCTAssertThrowsError(try Inputs.load(content: content, style: style, size: 64, styleSize: 48, settings: s, memoryLimit: need(5) - 1)) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("needs about \(MemoryEstimate.describe(need(5)))") && m.contains("history of 5"), m)
            XCTAssertFalse(m.contains("\n"), m)
        }
    }
}
