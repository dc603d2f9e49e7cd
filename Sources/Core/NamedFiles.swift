import Foundation

/// A problem with a theme or preset file: where, and what. Control characters in the file name are
/// shown escaped (`Text.escaped`), as everywhere a name from outside reaches a message.
public struct NamedFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    public init(file: String, line: Int, message: String) { self.file = file; self.line = line; self.message = message }
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

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

    /// The text a name or path stands for, the name it goes by, and how messages should name it. A path
    /// (see `isPath`) is read as it is; a name is looked up by `find`. The file must be a regular file of
    /// at most `limit` bytes of UTF-8: it may have been sent by anyone. `kind` ("theme", "preset") names
    /// it in messages.
    public func load(_ nameOrPath: String, kind: String, limit: Int) throws -> (text: String, name: String, file: String) {
        func read(_ path: String) throws -> String {
            let bytes: [UInt8]
            do { bytes = try FileRead.regularFile(path, limit: limit, what: kind + " file") } catch let e as RestyleError {
                // FileRead's message starts with the path; this error carries it on its own.
                throw NamedFileError(file: Text.escaped(path), line: 0,
                                     message: "cannot read \(kind) file (\(e.description.dropFirst(path.count + 2)))")
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw NamedFileError(file: Text.escaped(path), line: 0, message: "not UTF-8 text")
            }
            return text
        }
        if isPath(nameOrPath) { return (try read(nameOrPath), Self.stem(nameOrPath), Text.escaped(nameOrPath)) }
        guard let (path, file) = find(nameOrPath) else {
            throw NamedFileError(file: Text.escaped(nameOrPath), line: 0,
                                 message: "no such \(kind) (known: \(availableNames().map { Text.escaped($0) }.joined(separator: ", ")))")
        }
        return (try path.map(read) ?? builtinText[nameOrPath]!, nameOrPath, Text.escaped(file))
    }
}
