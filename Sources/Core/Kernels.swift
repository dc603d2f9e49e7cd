import CKernels
import Foundation

/// Which code runs the hot loops: the F(4×4) layers (and so how their weight transform U is laid out)
/// and the pooling.
public enum Kernels: Sendable, CaseIterable {
    /// Swift (SSE: the package builds for the baseline x86-64) and OpenBLAS's GEMM, which packs both
    /// operands and zeroes C on every call. U is [36][cout][cin].
    case portable
    /// restyle's AVX2 + FMA kernels (Sources/CKernels): the F(4×4) transforms of whole groups of eight
    /// tiles, a GEMM that reads U where it lies — [36][cout/6][cin][6], cout padded with zero rows to a
    /// multiple of 6, so six rows of U (or of Uᵀ, for the input gradient) come from a few cache lines —
    /// and the pooling rows.
    case avx2

    /// `avx2` where the CPU has AVX2 and FMA, unless `RESTYLE_KERNELS=portable` asks for the other
    /// (A/B runs; and the path every other CPU takes).
    public static let current: Kernels =
        restyle_kernels_available() && ProcessInfo.processInfo.environment["RESTYLE_KERNELS"] != "portable" ? .avx2 : .portable

    /// The kernels this CPU can run (tests run each).
    public static var runnable: [Kernels] { restyle_kernels_available() ? [.portable, .avx2] : [.portable] }

    /// Floats of one ξ's matrix of U.
    public func floatsPerXi(cout: Int, cin: Int) -> Int { (self == .avx2 ? (cout + 5) / 6 * 6 : cout) * cin }

    /// Floats of the whole transform.
    public func floats(cout: Int, cin: Int) -> Int { 36 * floatsPerXi(cout: cout, cin: cin) }

    /// Where U[ξ][o][c] lies within ξ's matrix: row o's start plus c times `channelStride`.
    @inline(__always) public func rowStart(o: Int, cin: Int) -> Int { self == .avx2 ? o / 6 * 6 * cin + o % 6 : o * cin }
    @inline(__always) public var channelStride: Int { self == .avx2 ? 6 : 1 }
    @inline(__always) public func index(o: Int, c: Int, cin: Int) -> Int { rowStart(o: o, cin: cin) + c * channelStride }

    /// For `restyle bench`'s header.
    public var name: String { self == .avx2 ? "AVX2 kernels" : "Swift + OpenBLAS" }
}

extension GEMM {
    /// One Winograd product C = op(U_ξ)·B (β = 0) with U_ξ in the `avx2` layout: U_ξ is the conv's
    /// cout × cin; forward (not transposed) m = cout, k = cin, transposed m = cin, k = cout. `parallel`
    /// splits the columns over restyle's threads, in multiples of 16 (the kernel's panel width).
    static func winogradProduct(m: Int, n: Int, k: Int, u: UnsafePointer<Float>, transposed: Bool,
                                b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool) {
        let cin = Int32(transposed ? m : k)
        func call(_ j0: Int, _ j1: Int) {
            guard j1 > j0 else { return }
            restyle_winograd_gemm(Int32(m), Int32(j1 - j0), Int32(k), u, cin, transposed, b + j0, ldb, c + j0, ldc)
        }
        let threads = parallel ? Threads.count : 1
        guard threads > 1 && m * n * k >= parallelWork && n >= 32 else { return call(0, n) }
        split(n, unit: 16, threads: threads, call)
    }
}
