import ArgumentParser
import Core
import Foundation

/// `restyle batch`: many images as a list of idempotent jobs, run by shards (Slurm array tasks, GNU
/// parallel jobs) that may overlap, fail, be preempted and run again.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Plan, run and look at many style transfers (contents × styles × settings).",
        discussion: """
            restyle batch plan --contents photos/ --styles paintings/ --beta 10,100 --size 256 -o out/
            restyle batch run out/jobs.jsonl [--shard I/N]
            restyle batch status out/jobs.jsonl
            restyle batch sheet out/jobs.jsonl -o sheet.png [--show]
            """,
        subcommands: [BatchPlanCommand.self, BatchRunCommand.self, BatchStatusCommand.self, BatchSheetCommand.self])
}

struct BatchPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Write OUTDIR/jobs.jsonl: every content with every style and every combination of the swept settings.",
        discussion: """
            Any option of `restyle run` that shapes the result may follow (--size, --iterations, --alpha, --beta, --tv, \
            --lr, --optimizer, --pooling, --layers, --content-layers, --style-layers, --init, --seed, …). Several values \
            make a sweep: separated by commas (--beta 10,100) or by repeating the option (needed for the layer options, \
            whose one value is itself a comma list). Jobs are ordered by content, then style, then the swept values in \
            the order the options were given; output names say what each job is: CONTENT__STYLE__beta100.png.
            """)

    @Option(parsing: .upToNextOption, help: "Content images, or folders of them (their .png/.jpg/.jpeg files, by name).")
    var contents: [String]

    @Option(parsing: .upToNextOption, help: "Style images, or folders of them.")
    var styles: [String] = []

    @Option(name: .customLong("style-set"), help: "Style images blended as one style of the plan, comma-separated (a.jpg,b.jpg); give it again for more sets. Weights from --style-blend (repeat it to sweep), else equal.")
    var styleSets: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Folder for jobs.jsonl, the results, .sessions/ and failed.jsonl (made if missing).")
    var outdir: String

    @Flag(help: "Replace an existing OUTDIR/jobs.jsonl.")
    var force = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var engineArguments: [String] = []

    func run() throws {
        try reportingErrors {
            let plan = try BatchPlan.make(contents: contents, styles: styles, styleSets: styleSets, engineArguments: engineArguments)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: outdir, isDirectory: &isDir) {
                guard isDir.boolValue else { throw RestyleError.badInput("-o \(outdir): exists and is not a folder") }
            } else {
                do { try FileManager.default.createDirectory(atPath: outdir, withIntermediateDirectories: true) } catch {
                    throw RestyleError.badInput("-o \(outdir): cannot make the folder: \((error as NSError).localizedDescription)")
                }
            }
            let list = (outdir as NSString).appendingPathComponent("jobs.jsonl")
            if FileManager.default.fileExists(atPath: list) && !force {
                throw RestyleError.badInput("\(list) exists; give --force to replace it (finished jobs whose settings did not change are still skipped)")
            }
            try JobList.write(plan.jobs, to: list)
            let swept = plan.swept.isEmpty ? "" : ", sweeping " + plan.swept.joined(separator: ", ")
            func n(_ k: Int, _ word: String) -> String { "\(k) \(word)\(k == 1 ? "" : "s")" }
            print("wrote \(Text.escaped(list)): \(n(plan.jobs.count, "job")) (\(n(plan.contentCount, "content")) × \(n(plan.styleCount, "style")) × \(n(plan.combinationCount, "setting"))\(swept))")
        }
    }
}

/// The cross product behind `batch plan`, separate from the command so tests can call it.
struct BatchPlan {
    var jobs: [BatchJob]
    var contentCount: Int, styleCount: Int, combinationCount: Int
    /// The options given more than one value.
    var swept: [String]

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]
    /// Options whose single value is already a comma list: their sweep values come from repeating them.
    static let listValued: Set<String> = ["--content-layers", "--style-layers", "--style-blend", "--scale-iterations"]
    /// Options of `run` that are not part of a job.
    static let notForJobs: Set<String> = ["--max-memory"]

    static func make(contents: [String], styles: [String], styleSets: [String] = [], engineArguments: [String]) throws -> BatchPlan {
        let cs = try expand(contents, option: "--contents")
        guard !styles.isEmpty || !styleSets.isEmpty else { throw RestyleError.badInput("--styles: give at least one image or folder (or --style-set)") }
        var ss = try styles.isEmpty ? [] : expand(styles, option: "--styles").map { [$0] }
        for set in styleSets {
            let files = set.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard (2...Settings.maxStyles).contains(files.count), !files.contains(where: \.isEmpty) else {
                throw RestyleError.badInput("--style-set '\(Text.escaped(set))': 2 to \(Settings.maxStyles) image files, separated by commas")
            }
            ss.append(try files.map { f in
                let e = try expand([f], option: "--style-set")
                guard e.count == 1 else { throw RestyleError.badInput("--style-set \(Text.escaped(f)): a set lists image files, not folders") }
                return e[0]
            })
        }
        let sweeps = try parseSweeps(engineArguments)
        // Each combination of swept values, as the arguments `restyle run` would take, parsed by the
        // same EngineOptions so every engine option (and any added later) means the same here.
        var combos: [[(String, String)]] = [[]]
        for (name, values) in sweeps {
            combos = combos.flatMap { c in values.map { c + [(name, $0)] } }
        }
        guard combos.count <= JobList.maxJobs, cs.count * ss.count * combos.count <= JobList.maxJobs else {
            throw RestyleError.badInput("batch plan: \(cs.count) × \(ss.count) × \(combos.count) jobs is over the limit of \(JobList.maxJobs)")
        }
        let swept = sweeps.filter { $0.values.count > 1 }.map(\.name)
        var made: [(settings: Settings, size: Int, styleSize: Int?, tag: String, blendGiven: Bool)] = []
        for combo in combos {
            let args = combo.flatMap { [$0.0, $0.1] }
            let engine: EngineOptions
            do { engine = try EngineOptions.parse(args) } catch {
                throw RestyleError.badInput("batch plan: \(EngineOptions.message(for: error))")
            }
            var settings = try engine.settings()
            if engine.iterations == nil && engine.scaleIterations == nil { settings.iterations = 500 }
            if case .image(let p) = settings.initKind { settings.initKind = .image(try expand([p], option: "--init")[0]) }
            let tag = combo.filter { swept.contains($0.0) }.map { tagPart($0.0, $0.1) }.joined(separator: "__")
            made.append((settings, engine.size ?? JobList.defaultSize, engine.styleSize, tag, engine.styleBlend != nil))
        }
        var jobs: [BatchJob] = []
        var names: Set<String> = []
        for c in cs {
            for s in ss {
                for m in made {
                    var settings = m.settings
                    if settings.styleBlend.count != s.count {
                        guard !m.blendGiven else {
                            throw RestyleError.badInput("batch plan: --style-blend gives \(settings.styleBlend.count) weights, but the style \(s.map(stem).joined(separator: "+")) has \(s.count) images")
                        }
                        settings.styleBlend = Array(repeating: 1 / Double(s.count), count: s.count)
                    }
                    var name = [stem(c), s.map(stem).joined(separator: "+"), m.tag].filter { !$0.isEmpty }.joined(separator: "__")
                    // Two inputs of the same name from different folders: number the later ones.
                    if names.contains(name.lowercased()) {
                        var k = 2
                        while names.contains("\(name)-\(k)".lowercased()) { k += 1 }
                        name += "-\(k)"
                    }
                    names.insert(name.lowercased())
                    jobs.append(BatchJob(index: jobs.count, line: jobs.count + 1, content: c, styles: s, output: name + ".png",
                                         size: m.size, styleSize: m.styleSize, settings: settings))
                }
            }
        }
        return BatchPlan(jobs: jobs, contentCount: cs.count, styleCount: ss.count, combinationCount: combos.count, swept: swept)
    }

    /// Files as absolute paths (so the list works from any folder and host sharing it); folders as their
    /// image files sorted by name. Every file must exist.
    static func expand(_ items: [String], option: String) throws -> [String] {
        guard !items.isEmpty else { throw RestyleError.badInput("\(option): give at least one image or folder") }
        let cwd = FileManager.default.currentDirectoryPath
        var out: [String] = []
        for item in items {
            let abs = ((item.hasPrefix("/") ? item : (cwd as NSString).appendingPathComponent(item)) as NSString).standardizingPath
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: abs, isDirectory: &isDir) else {
                throw RestyleError.badInput("\(option) \(Text.escaped(item)): no such file or folder")
            }
            if isDir.boolValue {
                let names: [String]
                do { names = try FileManager.default.contentsOfDirectory(atPath: abs) } catch {
                    throw RestyleError.badInput("\(option) \(Text.escaped(item)): cannot list the folder")
                }
                let images = names.filter { !$0.hasPrefix(".") && imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
                guard !images.isEmpty else { throw RestyleError.badInput("\(option) \(Text.escaped(item)): no .png, .jpg or .jpeg files in the folder") }
                out += images.map { (abs as NSString).appendingPathComponent($0) }
            } else {
                out.append(abs)
            }
        }
        return out
    }

    /// `--beta 10,100 --size=64 --beta 1000` → [("--beta", ["10","100","1000"]), ("--size", ["64"])], in
    /// the order options first appear. Values taken by position: every option of `run` takes one.
    static func parseSweeps(_ args: [String]) throws -> [(name: String, values: [String])] {
        var out: [(name: String, values: [String])] = []
        var i = 0
        while i < args.count {
            var name = args[i], value: String
            guard name.hasPrefix("--"), name.count > 2 else {
                throw RestyleError.badInput("batch plan: unexpected argument '\(Text.escaped(name))' (options of restyle run go after the inputs, e.g. --beta 10,100)")
            }
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...]); name = String(name[..<eq])
                i += 1
            } else {
                guard i + 1 < args.count else { throw RestyleError.badInput("batch plan: \(name) needs a value") }
                value = args[i + 1]
                i += 2
            }
            guard !notForJobs.contains(name) else { throw RestyleError.badInput("batch plan: give \(name) to batch run, not to plan") }
            let values = listValued.contains(name) ? [value] : value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard !values.contains(where: { $0.isEmpty }) else { throw RestyleError.badInput("batch plan: \(name) '\(Text.escaped(value))' has an empty value") }
            if let k = out.firstIndex(where: { $0.name == name }) {
                for v in values where !out[k].values.contains(v) { out[k].values.append(v) }
            } else {
                out.append((name, values))
            }
        }
        return out
    }

    /// The file name without folder and extension, reduced to characters safe in any file name.
    static func stem(_ path: String) -> String {
        safe(((path as NSString).lastPathComponent as NSString).deletingPathExtension)
    }

    /// `--beta 100` → beta100; `--style-layers relu1_1,relu2_1` → style-layers-relu1_1-relu2_1.
    static func tagPart(_ option: String, _ value: String) -> String {
        let key = String(option.dropFirst(2))
        let v = value.contains("/") ? stem(value) : safe(value)
        return v.first.map { $0.isNumber || $0 == "." } == true ? key + v : key + "-" + v
    }

    static func safe(_ s: String) -> String {
        let mapped = s.unicodeScalars.map { u -> Character in
            (u.isASCII && (CharacterSet.alphanumerics.contains(u) || "._-".unicodeScalars.contains(u))) ? Character(u) : "-"
        }
        let r = String(mapped).trimmingCharacters(in: CharacterSet(charactersIn: ".-"))
        return r.isEmpty ? "x" : String(r.prefix(80))
    }
}
