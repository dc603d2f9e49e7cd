import ArgumentParser
import Core
import Foundation

struct BatchStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Count the jobs done, running (by whom), failed (with the error) and pending.",
        discussion: "Exit code 0 only when every job is done; 1 otherwise; 2 bad usage or list.")

    @Argument(help: "The job list (OUTDIR/jobs.jsonl).")
    var jobs: String

    func run() throws {
        try reportingErrors {
            let list = try JobList.read(jobs)
            let s = BatchStatus(list: list)
            print(s.summary)
            for (job, owner) in s.running { print("running  \(Text.escaped(job.output))  \(owner.map { "\($0)" } ?? "(owner unknown)")") }
            for (job, error) in s.failed { print("failed   \(Text.escaped(job.output))  \(Text.escaped(error))") }
            if s.done.count != list.jobs.count { throw ExitCode(1) }
        }
    }
}

/// Each job's state, worked out from the files alone (no process to ask): its output and hash, its lock,
/// its session, and failed.jsonl.
struct BatchStatus {
    var done: [BatchJob] = []
    var running: [(BatchJob, JobLock.Owner?)] = []
    var failed: [(BatchJob, String)] = []
    var pending: [BatchJob] = []
    /// Pending jobs with a saved session (they continue where they stopped).
    var resumable = 0
    let total: Int

    init(list: JobList.Loaded) {
        total = list.jobs.count
        let failures = FailureLog.read(directory: list.directory)
        for job in list.jobs {
            let p = BatchPaths(job: job, list: list)
            if BatchPaths.isDone(p.output, hash: p.hash) { done.append(job); continue }
            if case .held(let owner)? = JobLock.probe(p.lock) { running.append((job, owner)); continue }
            if let f = failures[job.output], f.hash == p.hash { failed.append((job, f.error)); continue }
            pending.append(job)
            if FileManager.default.fileExists(atPath: p.session) { resumable += 1 }
        }
    }

    var summary: String {
        "\(total) jobs: \(done.count) done, \(running.count) running, \(failed.count) failed, \(pending.count) pending"
            + (resumable > 0 ? " (\(resumable) with a saved session)" : "")
    }
}
