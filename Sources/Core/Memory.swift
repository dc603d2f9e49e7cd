import Foundation

public enum MemoryStats {
    /// Peak resident set size of this process (VmHWM), in bytes; 0 where /proc is absent.
    public static func peakRSS() -> Int { field("VmHWM:") }
    /// Starts a new peak from the current RSS (Linux ≥ 4.0: "5" to clear_refs), so the peak of one
    /// operation can be measured; false where that is not possible.
    @discardableResult
    public static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }
    /// Current resident set size (VmRSS), in bytes.
    public static func currentRSS() -> Int { field("VmRSS:") }

    static func field(_ name: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(name) {
            let kb = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}

/// What a run will need, computed from the plan before anything is allocated, and what the machine can
/// give, so that a size too large is refused with one line instead of dying in an allocation.
public enum MemoryEstimate {
    /// Weights (taps), the runtime and OpenBLAS's buffers, without the Winograd transforms (which
    /// `networkBytes` counts): measured near 200 MB.
    static let baseline = 240 << 20

    /// The F(4×4) weight transforms a plan keeps (36 floats per (cin, cout), 4× its taps, cout rounded up
    /// to a multiple of 6 in the AVX2 kernels' layout) and the one buffer its transient ones share, for the
    /// convolutions `Ops.winogradPays` sends through F(4×4).
    static func transformBytes(_ stages: [VGGNetwork.Stage]) -> Int {
        let t = VGGNetwork.transforms4(stages) { i in
            if case .conv = stages[i].kind { return Ops.winogradPays(stages[i].inShape, cout: stages[i].outShape.c) }
            return false
        }
        return 4 * (t.kept.reduce(0) { $0 + Kernels.current.floats(cout: stages[$1].outShape.c, cin: stages[$1].inShape.c) }
                     + t.transientFloats)
    }

    /// Bytes of the network plan an objective builds at (height, width) for these layers: exactly what
    /// `VGGNetwork` allocates for activations, copies, backward records and weight transforms, plus the
    /// convolution scratch (Winograd's, also the column buffers of conv1_1's blocked im2col: every plan
    /// has one). A plan's kept transforms are freed with it, so the style plan's do not add to the working one's.
    static func networkBytes(height: Int, width: Int, settings: Settings, memoryPlan: VGGNetwork.MemoryPlan) -> Int {
        let cs = settings.contentLayers.compactMap(VGG19.index), ss = settings.styleLayers.compactMap(VGG19.index)
        let depth = (cs + ss).max() ?? VGG19.layers.count - 1
        let taps = Set((cs + ss).filter { VGG19.layers[$0].isConv })
        let read = memoryPlan == .forwardOnly ? Set(ss) : Set(cs + ss)
        guard let plan = try? VGGNetwork.Plan(height: height, width: width, depth: depth, pooling: settings.pooling,
                                              read: read, tappedConvs: taps, memoryPlan: memoryPlan) else { return 0 }
        // The objective's copies of the content features.
        let contentCopies = Set(cs).reduce(0) { $0 + plan.stages[$1].outShape.count }
        // And the Grams' partial sums, which both plans use.
        let gramPartials = Objective.gramPartialFloats(ss.map { plan.stages[$0].outShape })
        return plan.bytes + transformBytes(plan.stages)
            + 4 * (WinogradScratch.defaultFloats + gramPartials + (memoryPlan == .forwardOnly ? 0 : contentCopies))
    }

    /// Bytes the optimiser holds for `n` image floats with a history of `history` pairs: L-BFGS keeps
    /// three vectors and, while a new pair replaces the oldest, one pair more than its history.
    public static func optimizerBytes(n: Int, settings: Settings, history: Int? = nil) -> Int {
        guard settings.optimizer == .lbfgs else { return 2 * n * 4 }
        let pairs = (history ?? settings.lbfgsHistory) + 1
        return 3 * n * 4 + 2 * pairs * LBFGS.pairBytes(count: n, precision: settings.lbfgsPrecision)
    }

    /// Peak bytes of a run at this working size: the style plan (freed before the working one is
    /// built), the working plan, the image-sized vectors of the optimisation and optimiser (a full
    /// L-BFGS history unless `history` is given), the copies the engine publishes, and an autosave's.
    public static func bytes(width: Int, height: Int, styleWidth: Int, styleHeight: Int, settings: Settings,
                             history: Int? = nil) -> Int {
        let n = 3 * width * height
        let net = networkBytes(height: height, width: width, settings: settings, memoryPlan: .compact)
        let styleNet = networkBytes(height: styleHeight, width: styleWidth, settings: settings, memoryPlan: .forwardOnly)
        // x, g and their copies from before a step; content, style and start images; published copies;
        // an autosave's snapshot.
        let snapshot = snapshotFloats(width: width, height: height, styleWidth: styleWidth, styleHeight: styleHeight)
        let vectors = 4 * (4 * n + 3 * n + 3 * styleWidth * styleHeight + 3 * n + snapshot)
        let (opt, o1) = optimizerBytes(n: n, settings: settings, history: history).addingReportingOverflow(vectors)
        let (working, o2) = opt.addingReportingOverflow(net)
        guard !o1, !o2 else { return .max }
        return max(styleNet, working) + baseline
    }

    /// The largest L-BFGS history from `settings.lbfgsHistory` down to `minimumHistory` whose estimate fits
    /// in `limit`, with that estimate; nil if not even the smallest fits. The estimate grows with the
    /// history, so the largest fitting one is found by bisection.
    public static func fittingHistory(width: Int, height: Int, styleWidth: Int, styleHeight: Int, settings: Settings,
                                      limit: Int) -> (history: Int, bytes: Int)? {
        func need(_ h: Int) -> Int { bytes(width: width, height: height, styleWidth: styleWidth, styleHeight: styleHeight, settings: settings, history: h) }
        let full = settings.lbfgsHistory
        if need(full) <= limit { return (full, need(full)) }
        guard settings.optimizer == .lbfgs else { return nil }
        let low = min(minimumHistory, full)
        guard need(low) <= limit else { return nil }
        var lo = low, hi = full  // need(lo) fits, need(hi) does not
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if need(mid) <= limit { lo = mid } else { hi = mid }
        }
        return (lo, need(lo))
    }

    /// Below this many pairs L-BFGS is hardly better than gradient descent: a run that cannot keep them
    /// is refused instead.
    public static let minimumHistory = 5

    /// The memory this process may use: the smallest of physical memory, the cgroup's limit and
    /// `ulimit -v`.
    public static func available() -> Int {
        var limit = Int(ProcessInfo.processInfo.physicalMemory)
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let s = try? String(contentsOfFile: file, encoding: .utf8),
               let v = Int(s.trimmingCharacters(in: .whitespacesAndNewlines)), v > 0 {
                limit = min(limit, v)
            }
        }
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, rl.rlim_cur < rlim_t(Int.max) {
            limit = min(limit, Int(rl.rlim_cur))
        }
        return limit
    }

    /// Floats an autosave's snapshot copies and holds while its file is written (`SessionSnapshot`): x, g,
    /// the optimiser's two image-sized vectors, and the content, start and (largest) style images. Without
    /// them the peak at 2048² was 31 MB above the estimate.
    static func snapshotFloats(width: Int, height: Int, styleWidth: Int, styleHeight: Int) -> Int {
        6 * 3 * width * height + 3 * styleWidth * styleHeight
    }

    /// The largest of the style sizes, which `bytes` takes as its style.
    public static func largest(_ styles: [(width: Int, height: Int)]) -> (width: Int, height: Int) {
        styles.max { $0.width * $0.height < $1.width * $1.height } ?? (0, 0)
    }

    /// What the style images other than the largest add to `bytes`: each held once, and copied once more
    /// into an autosave's snapshot.
    public static func otherStylesBytes(_ styles: [(width: Int, height: Int)]) -> Int {
        let l = largest(styles)
        return 2 * 12 * (styles.map { $0.width * $0.height }.reduce(0, +) - l.width * l.height)
    }

    /// 80% of `available()`: the default ceiling for one run.
    public static var defaultLimit: Int { available() / 5 * 4 }

    public static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) : "\(bytes >> 20) MB"
    }
}

extension Optimization {
    /// The pre-flight estimate of this run's peak memory at its present working size and settings.
    public var memoryEstimate: Int {
        let sizes = styleImages.map { ($0.width, $0.height) }, largest = MemoryEstimate.largest(sizes)
        return MemoryEstimate.bytes(width: width, height: height, styleWidth: largest.width, styleHeight: largest.height,
                                    settings: settings) + MemoryEstimate.otherStylesBytes(sizes)
    }
}
