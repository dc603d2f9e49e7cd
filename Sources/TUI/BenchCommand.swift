import ArgumentParser
import Core
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure seconds per iteration against the machine's sgemm rate.",
        discussion: "Runs the default objective on synthetic images (no files needed) and prints the median seconds per iteration, the effective GFLOP/s counting direct-convolution work, an sgemm GFLOP/s figure measured in the same process, their ratio, and peak RSS.")

    @Option(help: "Working size (square), in pixels.")
    var size: Int = 256

    @Option(help: "Iterations to time (after one warm-up evaluation).")
    var iterations: Int = 10

    @Option(help: "lbfgs or adam.")
    var optimizer: OptimizerKind = .lbfgs

    func run() throws {
        try reportingErrors { try measure() }
    }

    private func measure() throws {
        guard size >= 16 else { throw RestyleError.badInput("--size: must be at least 16, got \(size)") }
        guard iterations >= 1 else { throw RestyleError.badInput("--iterations: must be at least 1, got \(iterations)") }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let weights = try VGGWeights.loadDefault()
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var settings = Settings()
        settings.iterations = iterations
        settings.optimizer = optimizer
        let content = Bench.syntheticImage(width: size, height: size, seed: 1)
        let style = Bench.syntheticImage(width: size, height: size, seed: 2)
        let opt = try Optimization(weights: weights, content: content, style: style, settings: settings)
        var times: [Double] = []
        var last = 0.0
        while !opt.isFinished {
            opt.iterate()
            if opt.iteration > 0 { times.append(opt.elapsed - last) }
            last = opt.elapsed
        }
        let rss = MemoryStats.peakRSS()
        let sessionPath = NSTemporaryDirectory() + "restyle-bench-\(getpid()).session"
        defer { unlink(sessionPath) }
        let save = try Bench.measureSave(opt, to: sessionPath)
        let sgemm = try Bench.sgemmRate()
        let median = times.sorted()[times.count / 2]
        let flops = Bench.convFlops(width: size, height: size, settings: settings)
        let effective = flops / median / 1e9
        print("restyle bench  \(size)×\(size)  \(optimizer.rawValue)  \(iterations) iterations  (OpenBLAS, \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        print(String(format: "  median s/iteration        %.3f   (min %.3f, max %.3f)", median, times.min()!, times.max()!))
        print(String(format: "  conv work / iteration     %.2f GFLOP (direct convolution, forward + input gradient)", flops / 1e9))
        print(String(format: "  effective rate            %.1f GFLOP/s", effective))
        print(String(format: "  sgemm rate (2048³, best)  %.1f GFLOP/s", sgemm))
        print(String(format: "  ratio                     %.2f", effective / sgemm))
        print(String(format: "  peak RSS                  %.0f MB", Double(rss) / 1e6))
        print(String(format: "  weights load              %.3f s", loadSeconds))
        print(String(format: "  autosave                  %.0f MB (%d L-BFGS pairs): run paused %.3f s to copy the state, file written in %.2f s meanwhile",
                     Double(save.bytes) / 1e6, save.historyPairs, save.snapshotSeconds, save.writeSeconds))
        print(String(format: "                            an iteration took %.3f s while it wrote (median %.3f); RSS +%.1f MB",
                     save.iterationWhileWritingSeconds, median, Double(save.rssGrowth) / 1e6))
    }
}
