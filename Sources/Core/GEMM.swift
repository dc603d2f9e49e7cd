import CBLAS
import Foundation

/// Every GEMM restyle issues goes through `GEMM.run`. OpenBLAS always runs single-threaded on the calling
/// thread (`Threads`), and a GEMM worth it is cut into blocks of C's rows (or, when C has few rows, of its
/// columns) that run side by side on restyle's own threads. With OpenBLAS's own pool, each call woke its
/// threads and left them spinning in `sched_yield` afterwards, taking the cores from the transforms and
/// loops that followed (about 8% of an iteration in `perf`, issue 8).
enum GEMM {
    /// Below this many multiply-adds a GEMM runs on the caller's thread alone.
    static let parallelWork = 1 << 21

    /// C = alpha·op(A)·op(B) + beta·C, row-major, as `cblas_sgemm`.
    static func run(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
                    c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true) {
        func call(_ m0: Int, _ m1: Int, _ n0: Int, _ n1: Int) {
            guard m1 > m0 && n1 > n0 else { return }
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m1 - m0), Int32(n1 - n0), Int32(k), alpha,
                        a + (transA ? m0 : m0 * lda), Int32(lda), b + (transB ? n0 * ldb : n0), Int32(ldb),
                        beta, c + m0 * ldc + n0, Int32(ldc))
        }
        let threads = parallel && Threads.ownsBLAS ? Threads.count : 1
        guard threads > 1 && m * n * k >= parallelWork else { return call(0, m, 0, n) }
        // Each block of rows packs all of B (k × n) again, each block of columns all of A (m × k): cut the
        // longer side, unless it has too few units for every thread. (The style gradients, m = C and n the
        // plane, were cut into rows: conv1_1's at 512², 64 × 264K, took 40 ms in two row blocks and 32 in
        // two column blocks on one thread.) Blocks of rows are multiples of 8 and of columns multiples of
        // 64, so each stays aligned with the kernel's panels.
        let rowUnits = (m + 7) / 8, columnUnits = (n + 63) / 64
        let byRows = m >= n ? rowUnits >= threads || rowUnits >= columnUnits : columnUnits < threads && rowUnits > columnUnits
        split(byRows ? m : n, unit: byRows ? 8 : 64, threads: threads) { lo, hi in
            if byRows { call(lo, hi, 0, n) } else { call(0, m, lo, hi) }
        }
    }

    /// 0..<extent cut into at most `threads` ranges of whole units (the last may end short), run side by
    /// side: body(lo, hi).
    static func split(_ extent: Int, unit: Int, threads: Int, _ body: (Int, Int) -> Void) {
        let units = (extent + unit - 1) / unit
        let parts = min(threads, units)
        parallelParts(parts, threads: parts) { _, p in
            body(min(extent, units * p / parts * unit), min(extent, units * (p + 1) / parts * unit))
        }
    }
}
