import CBLAS
import Foundation

/// How many threads the engine computes on: OpenBLAS's own pool and `parallelFor` together, so that
/// `restyle bench --threads N` measures one consistent setting (1 for the serial baseline, all cores by
/// default), and so that several processes sharing a machine (shards of `restyle batch run`, a Slurm
/// task's `--cpus-per-task`) do not each start a thread per core and fight over the cores.
public enum Threads {
    private struct State: Sendable {
        var count = ProcessInfo.processInfo.activeProcessorCount
        /// Callers inside `withSerialBLAS`: while any is, OpenBLAS runs every call on its caller's thread.
        var serialDepth = 0
        /// Callers inside `withBLASPool`.
        var poolDepth = 0
    }
    /// OpenBLAS is single-threaded from the first use on: `GEMM` splits the work over our threads.
    /// `RESTYLE_BLAS=pool` keeps OpenBLAS's own pool for single GEMMs instead, for A/B runs.
    static let ownsBLAS = ProcessInfo.processInfo.environment["RESTYLE_BLAS"] != "pool"
    private static let state: LockedBox<State> = {
        let s = State()
        openblas_set_num_threads(ownsBLAS ? 1 : Int32(s.count))
        return LockedBox(s)
    }()

    /// The current thread count (≥ 1).
    public static var count: Int { state.withLock { $0.count } }

    /// OpenBLAS's thread count outside `withSerialBLAS` and `withBLASPool`.
    private static func blasThreads(_ s: State) -> Int32 { Int32(ownsBLAS && s.poolDepth == 0 ? 1 : s.count) }

    /// Sets both OpenBLAS's and our own parallelism to `n` threads (clamped to 1…256).
    public static func set(_ n: Int) {
        let n = min(max(n, 1), 256)
        state.withLock { s in
            s.count = n
            if s.serialDepth == 0 { openblas_set_num_threads(blasThreads(s)) }
        }
    }

    /// The default for batch work: `$SLURM_CPUS_PER_TASK` when Slurm sets it, else every core.
    public static func defaultCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let s = environment["SLURM_CPUS_PER_TASK"], let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 1 {
            return min(n, 256)
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Runs `body` with OpenBLAS single-threaded, for independent GEMMs that our own workers run side by
    /// side: each then runs start to finish on one core, with no wake-up and no barrier per call. Nested and
    /// concurrent callers are counted, so the pool is restored only when the last one leaves; a GEMM another
    /// thread issues meanwhile is merely slower, never wrong.
    static func withSerialBLAS<R>(_ body: () -> R) -> R {
        state.withLock { s in
            if s.serialDepth == 0 && s.count > 1 { openblas_set_num_threads(1) }
            s.serialDepth += 1
        }
        defer {
            state.withLock { s in
                s.serialDepth -= 1
                if s.serialDepth == 0 && s.count > 1 { openblas_set_num_threads(blasThreads(s)) }
            }
        }
        return body()
    }

    /// Runs `body` with OpenBLAS's own pool on `count` threads: the yardstick sgemm of `restyle bench`,
    /// which is what the machine's BLAS does with all its cores.
    static func withBLASPool<R>(_ body: () -> R) -> R {
        state.withLock { s in
            s.poolDepth += 1
            if s.serialDepth == 0 { openblas_set_num_threads(blasThreads(s)) }
        }
        defer {
            state.withLock { s in
                s.poolDepth -= 1
                if s.serialDepth == 0 { openblas_set_num_threads(blasThreads(s)) }
            }
        }
        return body()
    }
}

/// Runs `body(i)` for i in 0..<n on up to `Threads.count` threads when the work is large enough to pay for
/// it, in runs of contiguous indices handed out as threads come free (`parallelParts`).
@inline(__always)
func parallelFor(_ n: Int, work: Int, _ body: (Int) -> Void) {
    parallelParts(n, threads: Threads.count, work: work) { _, i in body(i) }
}

/// Σ body(part) for part in 0..<parts, the parts run as `parallelFor` runs them; their sums are added in
/// part order, so the result does not depend on how many threads there are.
func parallelSum(parts: Int, work: Int, _ body: (Int) -> Double) -> Double {
    let sums = LockedBox([Double](repeating: 0, count: parts))
    parallelFor(parts, work: work) { part in
        let s = body(part)
        sums.withLock { $0[part] = s }
    }
    return sums.withLock { $0.reduce(0, +) }
}

/// `parallelFor` over channels, or a plain loop where the caller already runs on one thread of many.
@inline(__always)
func channels(_ n: Int, parallel: Bool, work: Int, _ body: (Int) -> Void) {
    if parallel { parallelFor(n, work: work, body) } else { for i in 0..<n { body(i) } }
}

/// Runs `body(part, i)` for i in 0..<n on `threads` threads, each knowing its part number (0..<threads), so
/// it can use its own slice of a scratch buffer. Work under `1 << 16` (the caller's estimate) is not worth
/// waking threads for and runs here, all as part 0.
///
/// The indices go out in runs of about n / (8 · parts) contiguous ones, each to whichever part asks next,
/// not in one fixed range per part: on a shared machine one core often runs far slower than the other for
/// a while (its neighbours' load), and with fixed ranges the whole step waited for it (two threads' equal
/// halves of a layer took 51 and 84 ms in one measurement).
func parallelParts(_ n: Int, threads: Int, work: Int = Int.max, _ body: (Int, Int) -> Void) {
    let parts = min(n, threads)
    if parts < 2 || work < 1 << 16 {
        for i in 0..<n { body(0, i) }
        return
    }
    let run = max(1, n / (8 * parts))
    let next = LockedBox(0)
    // Audited unchecked sendability: concurrentPerform returns only after every call has finished, so
    // `body` never outlives this frame, and each index works on memory no other index touches (the
    // contract of every caller: disjoint channel, row or tile ranges of plain buffers, and its own part of
    // any scratch).
    withoutActuallyEscaping(body) { escaping in
        nonisolated(unsafe) let b = escaping
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            while true {
                let first = next.withLock { i -> Int in defer { i += run }; return i }
                if first >= n { return }
                for i in first..<min(n, first + run) { b(part, i) }
            }
        }
    }
}
