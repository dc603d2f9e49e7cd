import CBLAS
import Foundation

/// How many cores one process computes on: OpenBLAS's thread pool and the loops `parallelFor` spreads.
/// Lowered when several processes share a machine (shards of `restyle batch run`, a Slurm task's
/// `--cpus-per-task`), so that N of them do not each start a thread per core and fight over the cores.
public enum Threads {
    private static let limit = LockedBox(ProcessInfo.processInfo.activeProcessorCount)

    /// The number in force (at least 1).
    public static var count: Int { limit.withLock { $0 } }

    /// Sets both OpenBLAS's pool and `parallelFor`'s width; values are clamped to 1…1024.
    public static func set(_ n: Int) {
        let v = min(max(n, 1), 1024)
        limit.withLock { $0 = v }
        openblas_set_num_threads(Int32(v))
    }

    /// The default for batch work: `$SLURM_CPUS_PER_TASK` when Slurm sets it, else every core.
    public static func defaultCount(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let s = environment["SLURM_CPUS_PER_TASK"], let n = Int(s.trimmingCharacters(in: .whitespaces)), n >= 1 {
            return min(n, 1024)
        }
        return ProcessInfo.processInfo.activeProcessorCount
    }
}
