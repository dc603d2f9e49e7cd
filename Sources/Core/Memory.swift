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
    /// `transformBytes` counts): measured near 200 MB.
    static let baseline = 240 << 20

    /// The F(4×4) weight transforms a plan through layer `depth` makes: 36 floats per (cin, cout) of every
    /// convolution that `Ops.winogradPays` sends through Winograd (4× its taps).
    static func transformBytes(depth: Int) -> Int {
        var total = 0
        for layer in VGG19.layers.prefix(depth + 1) {
            if case .conv(_, let cin, let cout) = layer.kind, cin * cout >= 40 * (cin + cout) { total += 36 * cin * cout * 4 }
        }
        return total
    }

    /// Floats of one network plan at (height, width) through layer `depth`: activations, the conv copies a
    /// loss may read, two gradient buffers and the Winograd scratch.
    static func networkFloats(height: Int, width: Int, depth: Int) -> Int {
        var shape = PaddedShape(c: 3, h: height, w: width)
        var total = shape.count, largest = shape.count
        for layer in VGG19.layers.prefix(depth + 1) {
            switch layer.kind {
            case .conv(_, _, let cout):
                shape = PaddedShape(c: cout, h: shape.h, w: shape.w)
                total += 2 * shape.count  // output, and a pre-ReLU copy when a loss reads it
            case .pool:
                shape = Ops.pooledShape(shape)
                total += shape.count
            case .relu: break
            }
            largest = max(largest, shape.count)
        }
        return total + 2 * largest + WinogradScratch.defaultFloats
    }

    /// Peak bytes of a run at this working size: the style plan (freed before the working one is
    /// built), the working plan, the image-sized vectors of the optimisation and optimiser (a full
    /// L-BFGS history), and the copies the engine publishes.
    public static func bytes(width: Int, height: Int, styleWidth: Int, styleHeight: Int, settings: Settings) -> Int {
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? VGG19.layers.count - 1
        let n = 3 * width * height
        let net = networkFloats(height: height, width: width, depth: depth)
        let styleNet = networkFloats(height: styleHeight, width: styleWidth, depth: depth)
        let optimizer = settings.optimizer == .lbfgs ? 3 * n + 2 * n * (settings.lbfgsHistory + 1) : 2 * n
        // x, g and their copies from before a step; content, style and start images; published copies.
        let vectors = 4 * n + 3 * n + 3 * styleWidth * styleHeight + 3 * n
        let floats = max(styleNet, net + vectors + optimizer)
        let (b, overflow) = floats.multipliedReportingOverflow(by: 4)
        return overflow ? .max : b + baseline + transformBytes(depth: depth)
    }

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

    /// 80% of `available()`: the default ceiling for one run.
    public static var defaultLimit: Int { available() / 5 * 4 }

    public static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) : "\(bytes >> 20) MB"
    }
}
