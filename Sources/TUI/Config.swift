import Foundation
import Core

/// The TUI's own options (the engine's are in EngineOptions).
struct TUIConfig {
    var fps: Double = 4
    var theme: String = "default"
    var outDir: String = "restyle-out"
    /// Seconds between automatic session saves; 0 turns them off.
    var autosave: Double = 60
    var color: ColorRequest = .auto
    /// Mouse reports (SGR 1006): click and drag the sliders, wheel, view tabs.
    var mouse = true
    /// The preview in pixel graphics (sixel, kitty, iTerm2) or block symbols; auto asks the terminal.
    var preview: PreviewRequest = .auto
    /// The config file `t` remembers the theme in; nil when there is none to write (no HOME, tests).
    var configFile: String?
    /// One line about the config file to show in the status bar at start (it was also printed).
    var notice: String?
    /// Where `p` looks for presets besides the built-ins (`Preset.searchDirs()` in the real TUI).
    var presetDirs: [String] = []
    /// Used to name snapshots and the session file.
    var contentStem: String = "content"
    var styleStem: String = "style"

    /// Where named themes are looked for ($RESTYLE_THEMES, the repository's Themes/, the installed
    /// location; see `NamedFiles.searchDirs`); after these the built-in themes are used.
    static func themeDirs(env: [String: String] = ProcessInfo.processInfo.environment,
                          argv0: String = CommandLine.arguments.first ?? "") -> [String] {
        NamedFiles.searchDirs(envVar: "RESTYLE_THEMES", folder: "Themes", installed: "themes", env: env, argv0: argv0)
    }

    static func stem(_ path: String) -> String {
        let s = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return s.isEmpty ? "image" : s
    }

    /// `<content>-x-<style>-i<iteration>.png`, with -2, -3 … added rather than overwrite anything.
    func snapshotPath(iteration: Int, exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String {
        let base = (outDir as NSString).appendingPathComponent("\(contentStem)-x-\(styleStem)-i\(iteration)")
        var path = base + ".png"
        var n = 2
        while exists(path) { path = "\(base)-\(n).png"; n += 1 }
        return path
    }

    /// Set when the session is not the pair's usual one: a resumed file, or `-2`, `-3` … for a new
    /// session beside an existing one.
    var sessionFile: String?

    /// One session file per content/style pair, rewritten atomically by the engine on every save.
    var sessionPath: String {
        sessionFile ?? (outDir as NSString).appendingPathComponent("\(contentStem)-x-\(styleStem).session")
    }

    /// `<content>-x-<style>-N.session` for the first N ≥ 2 that is free, so a new run never replaces
    /// an earlier run's session.
    func nextFreeSessionPath(exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String {
        let base = (outDir as NSString).appendingPathComponent("\(contentStem)-x-\(styleStem)")
        var n = 2
        while exists("\(base)-\(n).session") { n += 1 }
        return "\(base)-\(n).session"
    }
}
