import Foundation

/// Small text files found by name — themes, presets — in a list of folders, then among copies compiled
/// into the binary, so that an installed binary on its own still has its own.
public struct NamedFiles: Sendable {
    /// The extension, with its dot: ".theme", ".preset".
    public let suffix: String
    /// Searched in order, first hit wins.
    public let dirs: [String]
    /// The built-in names in their fixed order, and their texts.
    public let builtinNames: [String]
    public let builtinText: [String: String]

    public init(suffix: String, dirs: [String], builtinNames: [String], builtinText: [String: String]) {
        self.suffix = suffix; self.dirs = dirs; self.builtinNames = builtinNames; self.builtinText = builtinText
    }

    /// Where named files are looked for:
    /// 1. the folder in `$envVar`, so a user can point at their own;
    /// 2. the executable's ../../`folder`, which from .build/release/restyle is the repository's folder
    ///    (argv[0] is used unresolved because .build/release is itself a symlink);
    /// 3. the installed location /usr/local/share/restyle/`installed`.
    public static func searchDirs(envVar: String, folder: String, installed: String,
                                  env: [String: String] = ProcessInfo.processInfo.environment,
                                  argv0: String = CommandLine.arguments.first ?? "") -> [String] {
        var dirs: [String] = []
        if let d = env[envVar], !d.isEmpty { dirs.append(d) }
        var exeDirs: [String] = []
        if argv0.contains("/") { exeDirs.append((argv0 as NSString).deletingLastPathComponent) }
        if let real = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            exeDirs.append((real as NSString).deletingLastPathComponent)
        }
        for d in exeDirs {
            let t = ((d as NSString).appendingPathComponent("../../" + folder) as NSString).standardizingPath
            if !dirs.contains(t) { dirs.append(t) }
        }
        dirs.append("/usr/local/share/restyle/" + installed)
        return dirs
    }

    /// Whether the argument names a file rather than a name to look up.
    public func isPath(_ nameOrPath: String) -> Bool { nameOrPath.contains("/") || nameOrPath.hasSuffix(suffix) }

    /// The file a name stands for: the first folder holding NAME`suffix`, else the built-in copy
    /// (`file` is then "<built-in NAME>"); nil when there is neither.
    public func find(_ name: String) -> (path: String?, file: String)? {
        for dir in dirs {
            let path = dir + "/" + name + suffix
            if FileManager.default.fileExists(atPath: path) { return (path, path) }
        }
        return builtinText[name] != nil ? (nil, "<built-in \(name)>") : nil
    }

    /// Built-in names first, in their fixed order, then the others found in `dirs`, sorted, so cycling
    /// through them is predictable.
    public func availableNames() -> [String] {
        var names = builtinNames
        for dir in dirs {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for f in files.sorted() where f.hasSuffix(suffix) && f.count > suffix.count {
                let n = String(f.dropLast(suffix.count))
                if !names.contains(n) { names.append(n) }
            }
        }
        return names
    }

    /// A name's stem for a path argument: "~/p/warm.preset" → "warm".
    public static func stem(_ path: String) -> String {
        ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    }
}
