import ArgumentParser
import Core
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure seconds per iteration against the machine's sgemm rate.",
        discussion: """
            Runs the default objective on synthetic images (no files needed) on 1 thread and on --threads \
            in turns, an iteration each, and prints for each the median seconds per iteration (wall and \
            CPU), the effective \
            GFLOP/s counting \
            direct-convolution work, the sgemm GFLOP/s measured on as many threads between iterations, \
            their ratio (the median of each iteration's against the better rate just before and after it), \
            the median of the rounds' time on --threads over time on 1, and peak RSS. RESTYLE_CONV=direct|winograd2|winograd4 forces one convolution \
            algorithm. --conv-error prints instead the float32 error of each Winograd variant against the \
            direct convolution on every VGG19 layer; --layers the seconds of each convolution layer, \
            forward and input gradient, by each algorithm.
            """)

    @Option(help: "Working size (square), in pixels.")
    var size: Int = 256

    @Option(help: "Iterations to time on each thread count (after one warm-up evaluation).")
    var iterations: Int = 10

    @Option(help: "lbfgs or adam.")
    var optimizer: OptimizerKind = .lbfgs

    @Option(name: .customLong("lbfgs-history"), help: "L-BFGS history length (default 100).")
    var lbfgsHistory: Int = Settings().lbfgsHistory

    @Option(name: .customLong("lbfgs-precision"), help: "float, half or byte: how L-BFGS stores its history (default byte).")
    var lbfgsPrecision: LBFGSPrecision = Settings().lbfgsPrecision

    @Option(help: "Threads restyle computes on (its loops and GEMMs) in the second measurement (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Only the --threads measurement (skip the 1-thread turns).")
    var skipSerial = false

    @Flag(help: "Print the Winograd error against direct convolution per VGG19 layer instead of timing.")
    var convError = false

    @Flag(help: "Time each convolution layer (forward and input gradient) by each algorithm instead.")
    var layers = false

    @Option(help: "With --conv-error: a picture whose activations to use (default: a synthetic one).")
    var image: String?

    func run() throws {
        try reportingErrors { try convError ? measureError() : layers ? measureLayers() : measure() }
    }

    /// Medians over the timed iterations, except min and max; `ratio` is the median of each iteration's
    /// effective GFLOP/s over the sgemm rate measured around it.
    private struct Timing { var median, min, max, cpu, sgemm, ratio: Double }

    /// CPU seconds this process has used (all threads, user + system).
    private static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// One run that times `iterations` on each thread count in `counts`, taking turns iteration by
    /// iteration, so that every count runs under the same neighbours' load: run one after the other, the
    /// two halves of a bench saw loads far enough apart that the N-thread / 1-thread figure of the same
    /// build moved from 0.46 to 0.62 between runs. `rounds` holds each round's time on the first count
    /// over its time on the second.
    ///
    /// The sgemm rate on as many threads is measured (one product) around every iteration, and each
    /// iteration is compared with the better of the rates just before and just after it on its count,
    /// what the machine could do right then (a burst that slows one product does not flatter the ratio
    /// unless it slows both). The first count's rates are taken after its iterations, the others' before
    /// theirs. OpenBLAS's pool threads spin for a while after a multi-threaded product, so `counts` puts
    /// N threads first: their product is followed by the 1-thread product (which outlasts the spinning),
    /// not by an iteration. Followed by the 1-thread iteration, the spinning counted in its CPU seconds
    /// (1.94 against 1.84 wall); followed by the N-thread one, it slowed it (1.07–1.15 s against 0.96).
    private func timed(counts: [Int], weights: VGGWeights, settings: Settings, content: RGBImage, style: RGBImage,
                       flops: Double) throws -> (timings: [Timing], rounds: [Double], optimization: Optimization) {
        let yardstick = try SgemmYardstick()
        var settings = settings
        settings.iterations = iterations * counts.count
        let opt = try Optimization(weights: weights, content: content, style: style, settings: settings)
        Threads.set(counts[0])
        opt.iterate()  // warm-up: first touch of every buffer, weight transforms
        // rates[k][i] and rates[k][i + 1] are the rates around count k's iteration i.
        var rates = [[yardstick.rate(repetitions: 1, warmUp: true)]] + counts.dropFirst().map { _ in [Double]() }
        var times = [[Double]](repeating: [], count: counts.count), cpu = times
        var last = opt.elapsed
        for _ in 0..<iterations {
            for (k, n) in counts.enumerated() where !opt.isFinished {
                Threads.set(n)
                if k > 0 { rates[k].append(yardstick.rate(repetitions: 1, warmUp: rates[k].isEmpty)) }
                let c0 = Self.cpuSeconds()
                opt.iterate()
                times[k].append(opt.elapsed - last); cpu[k].append(Self.cpuSeconds() - c0)
                last = opt.elapsed
                if k == 0 { rates[k].append(yardstick.rate(repetitions: 1)) }
            }
        }
        for k in counts.indices.dropFirst() {
            Threads.set(counts[k])
            rates[k].append(yardstick.rate(repetitions: 1))
        }
        // What follows (the autosave measurement) runs on --threads, as the run it is compared with.
        Threads.set(counts[0])
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        let timings = counts.indices.map { k in
            let ratios = times[k].indices.map { i in flops / times[k][i] / 1e9 / max(rates[k][i], rates[k][i + 1]) }
            return Timing(median: median(times[k]), min: times[k].min()!, max: times[k].max()!, cpu: median(cpu[k]),
                          sgemm: median(rates[k]), ratio: median(ratios))
        }
        let rounds = counts.count == 2 ? zip(times[0], times[1]).map { $0 / $1 } : []
        return (timings, rounds, opt)
    }

    private func measure() throws {
        guard size >= 16 else { throw RestyleError.badInput("--size: must be at least 16, got \(size)") }
        guard iterations >= 1 else { throw RestyleError.badInput("--iterations: must be at least 1, got \(iterations)") }
        guard (1...256).contains(threads) else { throw RestyleError.badInput("--threads: must be 1 … 256, got \(threads)") }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let weights = try VGGWeights.loadDefault()
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var settings = Settings()
        settings.iterations = iterations
        settings.optimizer = optimizer
        settings.lbfgsHistory = lbfgsHistory
        settings.lbfgsPrecision = lbfgsPrecision
        try settings.validate()
        let content = Bench.syntheticImage(width: size, height: size, seed: 1)
        let style = Bench.syntheticImage(width: size, height: size, seed: 2)
        let flops = Bench.convFlops(width: size, height: size, settings: settings)
        let conv = ProcessInfo.processInfo.environment["RESTYLE_CONV"] ?? "auto"
        let counts = skipSerial || threads == 1 ? [threads] : [threads, 1]
        print("restyle bench  \(size)×\(size)  \(optimizer.rawValue)  \(iterations) iterations\(counts.count > 1 ? " each" : "")  conv \(conv)  F(4×4) on \(Kernels.current.name)  (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print(String(format: "  conv work / iteration  %.2f GFLOP (direct convolution, forward + input gradient)", flops / 1e9))
        // CPU s/iteration counts every thread's time, spinning included: on a shared machine it moves less
        // than the wall time, and above the wall time × threads it shows threads waiting on each other.
        print("  threads  s/iteration (min … max)   CPU s/it  GFLOP/s  sgemm GFLOP/s  ratio")
        let (timings, rounds, opt) = try timed(counts: counts, weights: weights, settings: settings, content: content,
                                              style: style, flops: flops)
        for (n, t) in zip(counts, timings).sorted(by: { $0.0 < $1.0 }) {
            let effective = flops / t.median / 1e9
            print(String(format: "  %7d  %6.3f (%.3f … %.3f)  %8.3f  %7.1f  %13.1f  %5.2f", n, t.median, t.min, t.max, t.cpu,
                         effective, t.sgemm, t.ratio))
        }
        if !rounds.isEmpty {
            let sorted = rounds.sorted()
            print(String(format: "  scaling  time on %d threads / time on 1 = %.2f (median of %d rounds, %.2f … %.2f)",
                         threads, sorted[sorted.count / 2], sorted.count, sorted.first!, sorted.last!))
        }
        let rss = MemoryStats.peakRSS()
        let sessionPath = NSTemporaryDirectory() + "restyle-bench-\(getpid()).session"
        defer { unlink(sessionPath) }
        let save = try Bench.measureSave(opt, to: sessionPath)
        let median = timings[0].median
        // The pre-flight estimate for the history this bench filled (one pair per step after the first),
        // so the two can be compared; a run's estimate assumes the full history.
        let pairs = settings.optimizer == .lbfgs ? min(settings.lbfgsHistory, max(1, iterations * counts.count - 1)) : nil
        let estimate = MemoryEstimate.bytes(width: size, height: size, styleWidth: size, styleHeight: size, settings: settings, history: pairs)
        let full = MemoryEstimate.bytes(width: size, height: size, styleWidth: size, styleHeight: size, settings: settings)
        print(String(format: "  peak RSS               %.0f MB (estimate %.0f MB with %d pairs; %.0f MB with the full history of %d, ",
                     Double(rss) / 1e6, Double(estimate) / 1e6, pairs ?? 0, Double(full) / 1e6, settings.lbfgsHistory)
              + settings.lbfgsPrecision.rawValue + ")")
        // The save above filled the history and reset the peak, so this is an iteration's peak with all of it.
        let fullPeak = MemoryStats.peakRSS()
        print(String(format: "  peak RSS, full history %.0f MB (%d pairs: an iteration while an autosave was written; estimate %.0f MB)",
                     Double(fullPeak) / 1e6, save.historyPairs, Double(full) / 1e6))
        print(String(format: "  weights load           %.3f s", loadSeconds))
        print(String(format: "  autosave               %.0f MB (%d L-BFGS pairs): run paused %.3f s to copy the state, file written in %.2f s meanwhile",
                     Double(save.bytes) / 1e6, save.historyPairs, save.snapshotSeconds, save.writeSeconds))
        print(String(format: "                         an iteration took %.3f s while it wrote (median %.3f); RSS +%.1f MB",
                     save.iterationWhileWritingSeconds, median, Double(save.rssGrowth) / 1e6))
    }

    private func measureError() throws {
        guard size >= 16 else { throw RestyleError.badInput("--size: must be at least 16, got \(size)") }
        let weights = try VGGWeights.loadDefault()
        let picture: RGBImage
        if let image {
            let full = try ImageIO.read(image)
            let fit = fitSize(width: full.width, height: full.height, longestSide: size)
            picture = resized(full, width: fit.width, height: fit.height)
        } else {
            picture = Bench.syntheticImage(width: size, height: size, seed: 1)
        }
        print("restyle bench --conv-error  \(picture.width)×\(picture.height)  \(image ?? "synthetic image")")
        print("  max |winograd − direct| / max |direct| over each layer's output; forward, then input gradient")
        print("  layer       cin→cout  size      F(2×2) fwd  F(4×4) fwd  F(2×2) bwd  F(4×4) bwd")
        for row in try Bench.convErrors(weights: weights, image: picture) {
            print(String(format: "  %-10@ %4d→%-4d %4d×%-4d  %10.2e  %10.2e  %10.2e  %10.2e", row.name as NSString, row.cin, row.cout,
                         row.width, row.height, row.forward2, row.forward4, row.backward2, row.backward4))
        }
    }

    private func measureLayers() throws {
        guard size >= 16 else { throw RestyleError.badInput("--size: must be at least 16, got \(size)") }
        guard (1...256).contains(threads) else { throw RestyleError.badInput("--threads: must be 1 … 256, got \(threads)") }
        Threads.set(threads)
        let weights = try VGGWeights.loadDefault()
        let settings = Settings()
        let depth = (settings.contentLayers + settings.styleLayers).compactMap(VGG19.index).max() ?? 0
        let rows = try Bench.convTimings(weights: weights, width: size, height: size, depth: depth)
        let sgemm = try Bench.sgemmRate()
        print("restyle bench --layers  \(size)×\(size)  \(threads) threads  sgemm \(String(format: "%.1f", sgemm)) GFLOP/s  F(4×4) on \(Kernels.current.name)")
        print("  ms per pass (best of 3); ratio = direct-convolution GFLOP/s of the chosen path / sgemm GFLOP/s")
        print("  F(4×4) all: each step over all threads; blocks: blocks of tiles, one thread each (the default)")
        print("  layer       cin→cout  size       direct fwd/bwd    F(2×2) fwd/bwd  F(4×4) all fwd/bwd  blocks fwd/bwd  chosen  ratio")
        var total = 0.0, flops = 0.0
        for r in rows {
            let i = r.chosen == "direct" ? 0 : 3
            let t = r.forward[i] + r.backward[i]
            total += t; flops += 2 * r.flops
            print(String(format: "  %-10@ %4d→%-4d %4d×%-4d  %7.1f %7.1f   %7.1f %7.1f   %7.1f %7.1f   %7.1f %7.1f  %-7@ %5.2f",
                         r.name as NSString, r.cin, r.cout, r.width, r.height,
                         r.forward[0] * 1e3, r.backward[0] * 1e3, r.forward[1] * 1e3, r.backward[1] * 1e3,
                         r.forward[2] * 1e3, r.backward[2] * 1e3, r.forward[3] * 1e3, r.backward[3] * 1e3,
                         r.chosen as NSString, 2 * r.flops / t / 1e9 / sgemm))
        }
        print(String(format: "  all layers, chosen paths: %.3f s per forward + input gradient; ratio %.2f", total, flops / total / 1e9 / sgemm))
    }
}
