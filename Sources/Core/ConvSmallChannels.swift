import Foundation

/// The direct convolution for layers with few input channels (conv1_1: 3 → 64). The nine shifted GEMMs of
/// `convForward` have K = cin there, so each is a pass over the whole output that does almost no arithmetic:
/// at 512×512 the nine passes over 67 MB cost 80 ms for 0.9 GFLOP. Here the nine shifts are gathered
/// instead into a column buffer (im2col) a few rows at a time, so one GEMM with K = 9·cin (+1 for the bias)
/// produces each block of output rows, which is written once; the input gradient likewise reads dy once.
/// Blocks run side by side, one single-threaded GEMM each, with their column buffers in a core's cache.
extension Ops {
    /// Input channels up to which `convForward`/`convBackward`, given a scratch, take this path.
    public static let smallChannelsLimit = 8

    /// Output positions (rows × row stride) per block. Forward: the GEMM's C block [cout × n], which
    /// OpenBLAS passes over twice (zeroing, then accumulating), and the columns [(9cin+1) × n] stay in a
    /// 1 MB L2. Backward: C is the small [9cin × n] column block and dy streams through once.
    static let smallForwardColumns = 2048
    static let smallBackwardColumns = 8192

    static func usesSmallChannels(_ s: PaddedShape) -> Bool { s.c <= smallChannelsLimit }

    /// How a plane's rows are cut into blocks, and how many parts (threads) run them, each with a region of
    /// `partFloats` in the scratch; nil if the scratch cannot hold even one block of `minRows` rows.
    struct RowBlocks {
        let rows: Int, count: Int, parts: Int, partFloats: Int

        init?(height h: Int, rowStride rs: Int, floatsPerColumn f: Int, minRows: Int, targetColumns: Int, available: Int) {
            let threads = Swift.max(1, Threads.count)
            let fitting = available / threads / (f * rs)
            let rows = Swift.min(h, Swift.max(minRows, Swift.min(targetColumns / rs, fitting)))
            let partFloats = (f * rows * rs + 15) & ~15
            let count = (h + rows - 1) / rows
            let parts = Swift.min(threads, count, available / partFloats)
            guard parts >= 1 else { return nil }
            self.rows = rows; self.count = count; self.parts = parts; self.partFloats = partFloats
        }

        /// Runs `body(part, first row, rows)` for the blocks whose index ≡ `parity` mod 2 (every block if
        /// nil), shared out among `parts` threads side by side, each GEMM single-threaded.
        func run(height h: Int, work: Int, parity: Int? = nil, _ body: (Int, Int, Int) -> Void) {
            let step = parity == nil ? 1 : 2, first = parity ?? 0
            let mine = count > first ? (count - first + step - 1) / step : 0
            let parts = self.parts, rows = self.rows
            func go() {
                parallelParts(mine, threads: parts, work: work) { part, i in
                    let r0 = (first + i * step) * rows
                    body(part, r0, Swift.min(rows, h - r0))
                }
            }
            if parts > 1 { Threads.withSerialBLAS { go() } } else { go() }
        }
    }

    /// `convForward` by blocked im2col; false (nothing written) if the scratch is too small for it.
    static func smallChannelsForward(x: UnsafePointer<Float>, _ s: PaddedShape, taps: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>, cout: Int, y: UnsafeMutablePointer<Float>,
                                     scratch: WinogradScratch) -> Bool {
        let cin = s.c, k = 9 * cin + 1, rs = s.rowStride, plane = s.plane
        let aFloats = (cout * k + 15) & ~15
        guard let blocks = RowBlocks(height: s.h, rowStride: rs, floatsPerColumn: k, minRows: 1,
                                     targetColumns: smallForwardColumns, available: scratch.buffer.count - aFloats) else { return false }
        // A[o][t·cin + c] = taps[t][o][c], and the bias as a last column, against a row of ones.
        let a = scratch.buffer.ptr, cols = scratch.buffer.ptr + aFloats
        for o in 0..<cout {
            for t in 0..<9 { for c in 0..<cin { a[o * k + t * cin + c] = taps[(t * cout + o) * cin + c] } }
            a[o * k + 9 * cin] = bias[o]
        }
        blocks.run(height: s.h, work: 2 * cout * k * s.h * rs) { part, r0, rows in
            let col = cols + part * blocks.partFloats
            let j0 = r0 * rs, n = rows * rs
            for t in 0..<9 {
                let off = (t / 3) * rs + t % 3
                // The last row's two border columns would read past the plane; they are discarded.
                let m = min(n, plane - off - j0)
                for c in 0..<cin {
                    let dst = col + (t * cin + c) * n
                    memcpy(dst, x + c * plane + off + j0, m * 4)
                    for i in m..<n { dst[i] = 0 }
                }
            }
            let ones = col + 9 * cin * n
            for i in 0..<n { ones[i] = 1 }
            // As in `convForward`, output position j lands at rs + 1 + j: each row's two extra columns fall
            // on the right border of its row and the left border of the next, re-zeroed here while cached.
            GEMM.run(m: cout, n: n, k: k, a: a, lda: k, b: col, ldb: n, beta: 0, c: y + rs + 1 + j0, ldc: plane,
                     parallel: false)
            for o in 0..<cout {
                let q = y + o * plane
                for r in r0..<(r0 + rows) { q[(r + 1) * rs + s.w + 1] = 0; q[(r + 2) * rs] = 0 }
            }
        }
        // What no block writes: the top and bottom rows and the first row's left border.
        for o in 0..<cout {
            let q = y + o * plane
            memset(q, 0, rs * 4)
            q[rs] = 0
            memset(q + (s.h + 1) * rs, 0, rs * 4)
        }
        return true
    }

    /// `convBackward` by a GEMM into columns and col2im, block by block; false (nothing written) if the
    /// scratch is too small for it. A block adds into two rows past its own on each side, so the blocks run
    /// in two phases, even then odd: with at least three rows per block, blocks of one phase never touch
    /// the same float.
    static func smallChannelsBackward(dy: UnsafePointer<Float>, _ s: PaddedShape, taps: UnsafePointer<Float>,
                                      cout: Int, dx: UnsafeMutablePointer<Float>, scratch: WinogradScratch) -> Bool {
        let cin = s.c, k = 9 * cin, rs = s.rowStride, plane = s.plane
        let aFloats = (cout * k + 15) & ~15
        guard let blocks = RowBlocks(height: s.h, rowStride: rs, floatsPerColumn: k, minRows: 3,
                                     targetColumns: smallBackwardColumns, available: scratch.buffer.count - aFloats) else { return false }
        // A[t·cin + c][o] = taps[t][o][c].
        let a = scratch.buffer.ptr, cols = scratch.buffer.ptr + aFloats
        for t in 0..<9 { for o in 0..<cout { for c in 0..<cin { a[(t * cin + c) * cout + o] = taps[(t * cout + o) * cin + c] } } }
        zero(dx, s)
        for parity in 0..<2 {
            blocks.run(height: s.h, work: 2 * cout * k * s.h * rs, parity: parity) { part, r0, rows in
                let col = cols + part * blocks.partFloats
                let j0 = r0 * rs, n = rows * rs
                GEMM.run(m: k, n: n, k: cout, a: a, lda: cout, b: dy + rs + 1 + j0, ldb: plane, beta: 0, c: col, ldc: n,
                         parallel: false)
                for t in 0..<9 {
                    let off = (t / 3) * rs + t % 3
                    // Never past the plane (those positions are border, and another block's).
                    let m = min(n, plane - off - j0)
                    for c in 0..<cin {
                        let dst = dx + c * plane + off + j0, src = col + (t * cin + c) * n
                        for i in 0..<m { dst[i] += src[i] }
                    }
                }
            }
        }
        zeroBorders(dx, s)
        return true
    }
}
