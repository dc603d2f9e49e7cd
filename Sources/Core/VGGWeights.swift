import Foundation

/// The 16 convolutions of VGG19, dequantised and repacked for the shifted-GEMM convolution:
/// for each of the 9 kernel taps k = 3·ky + kx, a Cout × Cin row-major matrix; plus the Winograd transform.
public final class VGGWeights: Sendable {
    public final class Conv: Sendable {
        public let name: String
        public let cin: Int
        public let cout: Int
        /// [k][cout][cin]
        public let taps: [Float]
        public let bias: [Float]
        private let transformed = LockedBox<[Float]?>(nil)
        private let transformed4 = LockedBox(WeakTransform4())

        public init(name: String, cin: Int, cout: Int, taps: [Float], bias: [Float]) {
            self.name = name; self.cin = cin; self.cout = cout; self.taps = taps; self.bias = bias
        }

        /// Winograd F(2×2, 3×3) transform G g Gᵀ of every kernel, [16][cout][cin]. Made on first use (a
        /// network plan asks for it up front, so no iteration pays): layers the loss never reaches, such
        /// as conv5_2…conv5_4 with the default layers, cost no memory. The backward pass reads it rotated,
        /// so there is no second copy.
        public var winograd: [Float] {
            transformed.withLock { t in
                if let t { return t }
                let made = Winograd.transformWeights(taps: taps, cout: cout, cin: cin)
                t = made
                return made
            }
        }

        /// Winograd F(4×4, 3×3) transform, 36 matrices cout × cin laid out for `Kernels.current`. Both
        /// directions read it (the backward as its transpose). Unlike `winograd` it is not kept for the process's life: a network plan that keeps it
        /// holds the `Transform4`, and it is freed with the last such plan, so a plan that makes it again
        /// on every use (`VGGNetwork`'s transient transforms) saves its memory even after a smaller plan
        /// (the style network's) kept it.
        public func winograd4Transform() -> Transform4 {
            transformed4.withLock { w in
                if let t = w.value { return t }
                let made = Transform4(u: Winograd.transformWeights4(taps: taps, cout: cout, cin: cin))
                w.value = made
                return made
            }
        }

        /// `winograd4Transform()`'s values, for callers that hold them only while they use them.
        public var winograd4: [Float] { winograd4Transform().u }
    }

    public final class Transform4: Sendable {
        public let u: [Float]
        init(u: [Float]) { self.u = u }
    }

    struct WeakTransform4: Sendable {
        weak var value: Transform4?
    }

    public let convs: [Conv]
    public let path: String

    public static let fileName = "vgg19.safetensors"

    /// `$RESTYLE_HOME`, else `$XDG_CACHE_HOME/restyle`, else `~/.cache/restyle`.
    public static var home: String {
        let env = ProcessInfo.processInfo.environment
        if let h = env["RESTYLE_HOME"], !h.isEmpty { return h }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/restyle" }
        return NSHomeDirectory() + "/.cache/restyle"
    }
    public static var defaultPath: String { home + "/" + fileName }

    /// The command that fetches the weights and demo images: `make -C <source folder> setup` when this
    /// binary sits in a source tree's .build/, else plain `make setup`.
    public static var setupCommand: String {
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            for _ in 0..<4 {
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("scripts/setup.sh").path) {
                    return "make -C \(dir.path) setup"
                }
                dir = dir.deletingLastPathComponent()
            }
        }
        return "make setup"
    }

    /// Loads the default file, or says in one line how to get it.
    public static func loadDefault() throws -> VGGWeights {
        let p = defaultPath
        guard FileManager.default.fileExists(atPath: p) else {
            throw RestyleError.badInput("\(p): VGG19 weights not found; fetch and convert them with: \(setupCommand)")
        }
        return try VGGWeights(path: p)
    }

    public init(path: String) throws {
        let file = try SafetensorsFile(path: path)
        var convs: [Conv] = []
        for (name, cin, cout) in VGG19.convs {
            // conv3_2 is stored as block3_conv2.
            let src = "block" + name.dropFirst(4).replacingOccurrences(of: "_", with: "_conv")
            let q = try file.bytes(src + "_W_q", dtype: "U8", shape: [cout, cin, 3, 3])
            let table = try file.floats(src + "_W_table", shape: [256])
            let bias = try file.floats(src + "_b", shape: [cout])
            var taps = [Float](repeating: 0, count: 9 * cout * cin)
            q.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let qb = raw.bindMemory(to: UInt8.self)
                taps.withUnsafeMutableBufferPointer { t in
                  table.withUnsafeBufferPointer { table in
                    for o in 0..<cout {
                        for c in 0..<cin {
                            let base = (o * cin + c) * 9
                            for k in 0..<9 { t[(k * cout + o) * cin + c] = table[Int(qb[base + k])] }
                        }
                    }
                  }
                }
            }
            // The table holds every weight value there is, so checking it checks them all.
            guard table.allSatisfy({ $0.isFinite }), bias.allSatisfy({ $0.isFinite }) else {
                throw RestyleError.badInput("\(path): tensor '\(src)' holds non-finite values")
            }
            convs.append(Conv(name: name, cin: cin, cout: cout, taps: taps, bias: bias))
        }
        self.convs = convs
        self.path = path
    }

    /// Random weights of the right shapes, for gradient checks that must not depend on the real file.
    public init(randomSeed: UInt64, scale: Float = 0.1) {
        var rng = SplitMix64(seed: randomSeed)
        var convs: [Conv] = []
        for (name, cin, cout) in VGG19.convs {
            let fan = Float(cin * 9)
            let taps = (0..<(9 * cout * cin)).map { _ in rng.nextSymmetric() * scale * 3 / fan.squareRoot() }
            let bias = (0..<cout).map { _ in rng.nextSymmetric() * 0.1 }
            convs.append(Conv(name: name, cin: cin, cout: cout, taps: taps, bias: bias))
        }
        self.convs = convs
        self.path = "<random>"
    }
}

/// Small deterministic generator: the same seed gives the same start image on every machine.
public struct SplitMix64 {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
    /// Uniform in [-1, 1).
    public mutating func nextSymmetric() -> Float { nextUnit() * 2 - 1 }
}
