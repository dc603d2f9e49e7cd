import ArgumentParser
import Core
import Foundation

struct BatchRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the jobs of a list (or of one shard of it) that are not done yet.",
        discussion: """
            Job k belongs to shard k mod N. A job whose output already holds its settings hash is skipped; one that \
            was interrupted continues from OUTDIR/.sessions/; one that another runner holds (its lock file in \
            .sessions/ names the PID and host) is left to it. Failures go to OUTDIR/failed.jsonl and do not stop \
            the others. Exit codes: 0 every job of the shard done (or held by another runner), 1 some failed, \
            2 bad usage or list, 128+signal interrupted (SIGTERM from Slurm: the job in flight is saved first).
            """)

    @Argument(help: "The job list (OUTDIR/jobs.jsonl).")
    var jobs: String

    @Option(help: "Run only shard I of N (0 ≤ I < N): the jobs whose index mod N is I. Default $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT when set, else every job.")
    var shard: String?

    @Option(help: "Threads each job computes with (default: $SLURM_CPUS_PER_TASK when set, else every core).")
    var threads: Int?

    @Option(name: .customLong("save-every"), help: "Save the job in flight to OUTDIR/.sessions/ every N iterations (0: only when interrupted).")
    var saveEvery: Int = 50

    @Option(name: .customLong("max-memory"), help: "Refuse a job estimated to need more memory than this, e.g. 8G (default: 80% of what this process may use).")
    var maxMemory: String?

    @Flag(help: "No per-job lines or progress bar; only errors.")
    var quiet = false

    func run() throws {
        try reportingErrors {
            let state = RunSignals()
            Signals.watch([SIGINT, SIGTERM, SIGHUP]) { sig in
                if state.record(sig) { Foundation.exit(sig == SIGINT ? 130 : 128 + sig) }
            }
            let (index, count) = try Shard.resolve(shard, environment: ProcessInfo.processInfo.environment)
            guard saveEvery >= 0 else { throw RestyleError.badInput("--save-every: must be ≥ 0, got \(saveEvery)") }
            if let threads, threads < 1 { throw RestyleError.badInput("--threads: must be at least 1, got \(threads)") }
            let memoryLimit = try maxMemory.map { try parseByteSize($0, option: "--max-memory") } ?? MemoryEstimate.defaultLimit
            let list = try JobList.read(jobs)
            if !quiet { for n in list.notes { printWarning(n) } }
            Threads.set(threads ?? Threads.defaultCount())
            let mine = list.jobs.filter { $0.index % count == index }
            let runner = try BatchRunner(list: list, signals: state, saveEvery: saveEvery, memoryLimit: memoryLimit, quiet: quiet)
            guard state.startIterating(CancelFlag()) else { throw ExitCode(130) }
            var tally: [BatchRunner.Result.Kind: Int] = [:]
            for job in mine {
                if state.caught != nil { break }
                let r = runner.run(job)
                tally[r.kind, default: 0] += 1
                if !quiet || r.kind == .failed { runner.report(r, job: job, total: list.jobs.count) }
            }
            if !quiet {
                let parts = [("done", Result.done), ("skipped", .skipped), ("held by others", .held), ("failed", .failed), ("interrupted", .interrupted)]
                    .compactMap { (name, k) in tally[k].map { "\($0) \(name)" } }
                writeStderr("shard \(index)/\(count): \(mine.count) jobs: \(parts.isEmpty ? "none" : parts.joined(separator: ", ")) (\(Threads.count) threads)\n")
            }
            if let sig = state.caught { throw ExitCode(sig == SIGINT ? 130 : 128 + sig) }
            if tally[.failed, default: 0] > 0 { throw ExitCode(1) }
        }
    }
    typealias Result = BatchRunner.Result.Kind
}

/// `--shard I/N`, or Slurm's array variables.
enum Shard {
    static func resolve(_ option: String?, environment env: [String: String]) throws -> (index: Int, count: Int) {
        if let option { return try parse(option, what: "--shard") }
        if let id = env["SLURM_ARRAY_TASK_ID"], let n = env["SLURM_ARRAY_TASK_COUNT"] {
            return try parse("\(id)/\(n)", what: "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (submit the array as --array=0-(N-1), or give --shard)")
        }
        return (0, 1)
    }

    static func parse(_ text: String, what: String) throws -> (index: Int, count: Int) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw RestyleError.badInput("\(what): expected I/N such as 0/4, got '\(Text.escaped(text))'")
        }
        guard n >= 1, n <= JobList.maxJobs, i >= 0, i < n else {
            throw RestyleError.badInput("\(what): need 0 ≤ I < N and N from 1 to \(JobList.maxJobs), got \(i)/\(n)")
        }
        return (i, n)
    }
}

/// Runs jobs one after another in this process: the weights loaded once, the style Gram targets of the
/// last few styles kept for the jobs that share them.
final class BatchRunner {
    let list: JobList.Loaded
    let signals: RunSignals
    let saveEvery: Int
    let memoryLimit: Int
    let quiet: Bool
    let weights: VGGWeights
    let sessionDir: String
    private var grams: [(key: String, grams: StyleGrams)] = []
    static let gramsKept = 16

    struct Result {
        enum Kind: Hashable { case done, skipped, held, failed, interrupted }
        var kind: Kind
        var detail: String
    }

    init(list: JobList.Loaded, signals: RunSignals, saveEvery: Int, memoryLimit: Int, quiet: Bool) throws {
        self.list = list; self.signals = signals; self.saveEvery = saveEvery
        self.memoryLimit = memoryLimit; self.quiet = quiet
        sessionDir = (list.directory as NSString).appendingPathComponent(".sessions")
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: sessionDir, isDirectory: &isDir) {
            do { try FileManager.default.createDirectory(atPath: sessionDir, withIntermediateDirectories: true) } catch {
                throw RestyleError.badInput("\(sessionDir): cannot make the folder: \((error as NSError).localizedDescription)")
            }
        } else if !isDir.boolValue {
            throw RestyleError.badInput("\(sessionDir): exists and is not a folder")
        }
        weights = try VGGWeights.loadDefault()
    }

    func report(_ r: Result, job: BatchJob, total: Int) {
        let name = Text.escaped(job.output)
        let word: String
        switch r.kind {
        case .done: word = "done"
        case .skipped: word = "skip"
        case .held: word = "held"
        case .failed: word = "FAILED"
        case .interrupted: word = "stopped"
        }
        let line = "[\(job.index + 1)/\(total)] \(word) \(name)" + (r.detail.isEmpty ? "" : "  " + Text.escaped(r.detail))
        if r.kind == .failed && quiet { printError(line) } else { writeStdout(line + "\n") }
    }

    func run(_ job: BatchJob) -> Result {
        let paths = BatchPaths(job: job, list: list)
        if BatchPaths.isDone(paths.output, hash: paths.hash) { return Result(kind: .skipped, detail: "already done") }
        let lock: JobLock
        do {
            switch try JobLock.acquire(paths.lock) {
            case .acquired(let l): lock = l
            case .held(let owner): return Result(kind: .held, detail: "by " + (owner.map { "\($0)" } ?? "another runner"))
            }
        } catch {
            return fail(job, paths, "\(error)")
        }
        return withExtendedLifetime(lock) {
            // Another runner may have finished it between the check and the lock.
            if BatchPaths.isDone(paths.output, hash: paths.hash) { return Result(kind: .skipped, detail: "already done") }
            do { return try execute(job, paths) } catch {
                return fail(job, paths, "\(error)")
            }
        }
    }

    private func execute(_ job: BatchJob, _ paths: BatchPaths) throws -> Result {
        // Never replace a file that restyle batch did not write.
        if FileManager.default.fileExists(atPath: paths.output) {
            let ours = (try? ImageIO.readPNGText(paths.output))?.contains { $0.0 == BatchPaths.hashKey } ?? false
            guard ours else {
                throw RestyleError.badInput("\(paths.output): exists and was not written by restyle batch; move it away or change the job's output")
            }
        }
        _ = try checkWritable(paths.output, option: "output")
        // A start image's relative path is taken from the list's folder, as the inputs' are.
        var settings = job.settings
        if case .image(let p) = settings.initKind { settings.initKind = .image(list.resolve(p)) }
        var resumedFrom: Int?
        var opt: Optimization?
        if FileManager.default.fileExists(atPath: paths.session) {
            do {
                let (o, _) = try Optimization.resume(from: paths.session, weights: weights, memoryLimit: memoryLimit)
                // A job whose history the memory limit shortened resumes with that history.
                var asked = o.settings
                if asked.lbfgsHistory < settings.lbfgsHistory { asked.lbfgsHistory = settings.lbfgsHistory }
                if asked == settings { opt = o; resumedFrom = o.iteration }
            } catch {
                if !quiet { printWarning("\(paths.session): \(error); starting the job again") }
            }
        }
        if opt == nil {
            let inputs = try Inputs.load(content: list.resolve(job.content), styles: job.styles.map(list.resolve), size: job.size,
                                         styleSize: job.styleSize, settings: settings, memoryLimit: memoryLimit)
            if !quiet, let shortened = inputs.warnings.first(where: { $0.hasPrefix("memory:") }) { printWarning(shortened) }
            let key = "\(list.resolve(job.styles[0]))|\(inputs.style.width)x\(inputs.style.height)|\(job.settings.pooling)|\(job.settings.styleLayers)"
            // Only the plain colour mode's targets of a single style are the style's own: `match` and
            // `luminance` derive them from each content, a blend's are the blend's, and a coarse-to-fine
            // job starts with a smaller stage's targets.
            let shareable = settings.colors == .style && job.styles.count == 1 && settings.scales == 1
            let cached = shareable ? grams.first { $0.key == key }?.grams : nil
            let o = try inputs.makeOptimization(weights: weights, settings: settings, styleGrams: cached)
            if shareable && cached == nil {
                grams.append((key, o.styleGrams))
                if grams.count > Self.gramsKept { grams.removeFirst() }
            }
            opt = o
        }
        let o = opt!
        guard signals.startIterating(o.cancelFlag) else { return try interrupted(o, paths) }
        let bar = (!quiet && isatty(STDERR_FILENO) != 0) ? ProgressBar() : nil
        var warnedSave = false
        let failure = iterateToEnd(o, signals: signals, bar: bar) { o in
            if saveEvery > 0, o.iteration > 0, o.iteration % saveEvery == 0, !o.isFinished {
                do { try o.writeSession(to: paths.session) } catch {
                    if !warnedSave { warnedSave = true; above(bar) { printWarning("--save-every: \(error)") } }
                }
            }
        }
        bar?.clear()
        if let failure { throw RestyleError.badInput("\(failure); no image was made (lower α, β or γ)") }
        if signals.caught != nil { return try interrupted(o, paths) }
        if o.acceptedSteps == 0 && o.rejectedSteps > 0 {
            throw RestyleError.badInput("no step was accepted: every step went non-finite (lower α, β, γ or lr)")
        }
        var text = Snapshot.textChunks(settings: o.settings, iteration: o.iteration, content: job.content,
                                       style: job.styles.joined(separator: ","), width: o.width, height: o.height)
        text.append((BatchPaths.hashKey, paths.hash))
        try ImageIO.write(o.image, to: paths.output, format: .png, text: text, alpha: o.alpha)
        unlink(paths.session)
        let from = resumedFrom.map { ", resumed from iteration \($0)" } ?? ""
        return Result(kind: .done, detail: String(format: "%d it  loss %.9g  %.1f s%@", o.iteration, o.terms.total, o.elapsed, from))
    }

    /// Saves the job so the next run continues it.
    private func interrupted(_ o: Optimization, _ paths: BatchPaths) throws -> Result {
        try o.writeSession(to: paths.session)
        return Result(kind: .interrupted, detail: "at iteration \(o.iteration); saved to \(paths.session)")
    }

    private func fail(_ job: BatchJob, _ paths: BatchPaths, _ message: String) -> Result {
        FailureLog.append(directory: list.directory, output: job.output, hash: paths.hash, error: message)
        return Result(kind: .failed, detail: message)
    }
}

/// Where a job's output, session and lock live, and whether it is done.
struct BatchPaths {
    /// The PNG text key holding the job's settings hash.
    static let hashKey = "restyle-job"
    let output: String, session: String, lock: String, hash: String

    init(job: BatchJob, list: JobList.Loaded) {
        output = list.resolve(job.output)
        hash = job.settingsHash
        let dir = (list.directory as NSString).appendingPathComponent(".sessions")
        // The output's name for people, and a hash of its full path so two outputs never share a lock.
        var h = BatchJob(content: "", style: "", output: "", size: 16, settings: Settings())
        h.content = (output as NSString).standardizingPath
        let key = BatchPlan.stem(job.output) + "-" + String(h.settingsHash.prefix(8))
        session = (dir as NSString).appendingPathComponent("\(key).\(hash).session")
        lock = (dir as NSString).appendingPathComponent("\(key).lock")
    }

    /// The output exists and its text says it was made with these settings.
    static func isDone(_ output: String, hash: String) -> Bool {
        guard let text = try? ImageIO.readPNGText(output) else { return false }
        return text.contains { $0.0 == hashKey && $0.1 == hash }
    }
}

/// OUTDIR/failed.jsonl: one JSON object per failure, appended (one write each, so lines from several
/// runners never interleave); `batch status` shows the newest for each job not done since.
enum FailureLog {
    struct Entry: Codable {
        var output: String
        var hash: String
        var error: String
        var host: String?
        var pid: Int32?
        var time: String?
    }

    static func path(_ directory: String) -> String { (directory as NSString).appendingPathComponent("failed.jsonl") }

    static func append(directory: String, output: String, hash: String, error: String) {
        let e = Entry(output: output, hash: hash, error: error, host: JobLock.hostName, pid: getpid(),
                      time: ISO8601DateFormatter().string(from: Date()))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(e) else { return }
        let bytes = Array(data) + [0x0A]
        let fd = open(path(directory), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else { printWarning("\(path(directory)): cannot record the failure: \(String(cString: strerror(errno)))"); return }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    /// The newest entry per output, from a file read as hostile: bounded, bad lines skipped.
    static func read(directory: String) -> [String: Entry] {
        guard let bytes = try? FileRead.regularFile(path(directory), limit: JobList.maxBytes, what: "failure log") else { return [:] }
        var out: [String: Entry] = [:]
        for line in bytes.split(separator: 0x0A) where line.count <= JobList.maxLineBytes {
            if let e = try? JSONDecoder().decode(Entry.self, from: Data(line)) { out[e.output] = e }
        }
        return out
    }
}
