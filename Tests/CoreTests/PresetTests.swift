import Foundation
import XCTest
@testable import Core

/// Presets (issue 9 §6): the files in Presets/, their built-in copies, what applying one does, and the
/// parser on hostile text.
final class PresetTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testBuiltInsAreTheFilesInPresets() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repo.appendingPathComponent("Presets").path)
            .filter { $0.hasSuffix(".preset") }.map { String($0.dropLast(7)) }
        XCTAssertEqual(Set(files), Set(BuiltinPresets.names))
        for name in BuiltinPresets.names {
            let file = try String(contentsOf: Self.repo.appendingPathComponent("Presets/\(name).preset"), encoding: .utf8)
            XCTAssertEqual(BuiltinPresets.text[name]!.trimmingCharacters(in: .whitespacesAndNewlines),
                           file.trimmingCharacters(in: .whitespacesAndNewlines), "\(name): run scripts/gen-builtins.py")
        }
    }

    func testEachBuiltInSetsWhatItSays() throws {
        var s = Settings()
        try Preset.load("strong", dirs: []).apply(to: &s)
        XCTAssertEqual(s.beta, 100); XCTAssertEqual(s.styleScale, 0.75); XCTAssertEqual(s.preset, "strong")
        try Preset.load("soft", dirs: []).apply(to: &s)
        // Going from strong to soft does not keep strong's style scale.
        XCTAssertEqual(s.beta, 3); XCTAssertEqual(s.tv, 10); XCTAssertEqual(s.styleScale, 1)
        try Preset.load("colour-keep", dirs: []).apply(to: &s)
        XCTAssertEqual(s.colors, .luminance); XCTAssertEqual(s.beta, 10); XCTAssertEqual(s.tv, 0)
        var c = Settings()
        c.alpha = 7; c.optimizer = .adam; c.pooling = .avg; c.learningRate = 3; c.styleLayers = ["relu1_1"]
        c.iterations = 77; c.styleBlend = [0.2, 0.8]; c.lbfgsHistory = 9; c.seed = 5
        try Preset.load("classic", dirs: []).apply(to: &c)
        // classic is the defaults for what a preset sets; the rest is the run's.
        var expected = Settings()
        expected.iterations = 77; expected.styleBlend = [0.2, 0.8]; expected.lbfgsHistory = 9; expected.seed = 5
        expected.preset = "classic"
        XCTAssertEqual(c, expected)
    }

    func testEveryKeyParses() throws {
        let text = """
        alpha = 2
        beta=50   # a comment
        tv = 0.5\r
        colors = match
        style-scale = 2
        optimizer = adam
        lr = 4
        pooling = avg
        content-layers = relu3_2
        style-layers = relu1_1, relu2_1
        """
        let p = try Preset.parse(text, name: "mine", file: "mine.preset")
        var s = Settings()
        p.apply(to: &s)
        XCTAssertEqual(s.alpha, 2); XCTAssertEqual(s.beta, 50); XCTAssertEqual(s.tv, 0.5); XCTAssertEqual(s.colors, .match)
        XCTAssertEqual(s.styleScale, 2); XCTAssertEqual(s.optimizer, .adam); XCTAssertEqual(s.learningRate, 4)
        XCTAssertEqual(s.pooling, .avg); XCTAssertEqual(s.contentLayers, ["relu3_2"]); XCTAssertEqual(s.styleLayers, ["relu1_1", "relu2_1"])
        var t = Settings()
        try Preset.parse("layers = seed", name: "x", file: "x").apply(to: &t)
        XCTAssertEqual(t.contentLayers, Settings.seedLayers); XCTAssertEqual(t.styleLayers, Settings.seedLayers)
        XCTAssertEqual(p.summary.prefix(17), "alpha 2, beta 50,")
    }

    func testHostileTextIsRefusedWithItsLine() {
        let cases: [(String, Int, String)] = [
            ("beta = 100\nsize = 4096", 2, "cannot be set by a preset"),
            ("lbfgs-history = 5", 1, "cannot be set by a preset"),
            ("beta 100", 1, "expected `key = value`"),
            ("beta = 1\nbeta = 2", 2, "set twice"),
            ("beta = lots", 1, "not a number"),
            ("beta = nan", 1, "not a number"),
            ("beta = 1e300", 1, "--beta"),
            ("alpha = -1", 1, "--alpha"),
            ("style-scale = 9", 1, "--style-scale"),
            ("colors = sepia", 1, "not one of style, luminance, match"),
            ("layers = fancy", 1, "unknown layer set"),
            ("style-layers = relu9_9", 1, "unknown layer"),
            ("content-layers = ,", 1, "no layer names"),
            ("\u{1B}]0;pwned\u{07} = 1", 1, "\\e]0;pwned\\x07"),
            ("content-layers = relu1_1\nstyle-layers = relu1_1\n" + "= 3", 3, "cannot be set by a preset"),
        ]
        for (text, line, words) in cases {
            XCTAssertThrowsError(try Preset.parse(text, name: "bad", file: "bad.preset"), text) { e in
                guard let e = e as? PresetError else { return XCTFail("\(text): \(e)") }
                XCTAssertEqual(e.line, line, "\(text): \(e)")
                XCTAssertTrue(e.description.contains(words), "\(text): \(e)")
                XCTAssertFalse(e.description.contains("\u{1B}"), "\(text): \(e)")
            }
        }
        XCTAssertThrowsError(try Preset.parse(String(repeating: "# x\n", count: 5000), name: "big", file: "big.preset")) {
            XCTAssertTrue("\($0)".contains("over 16 KB"), "\($0)")
        }
        XCTAssertThrowsError(try Preset.parse("beta = 1", name: "a\u{7}b", file: "x.preset")) {
            XCTAssertTrue("\($0)".contains("printable"), "\($0)")
        }
    }

    func testFilesAreFoundByNameAndPathAndReadAsHostile() throws {
        let dir = NSTemporaryDirectory() + "presets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "beta = 42\n".write(toFile: dir + "/warm.preset", atomically: true, encoding: .utf8)
        // A folder's preset of a built-in's name wins over the built-in.
        try "beta = 7\n".write(toFile: dir + "/strong.preset", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: dir + "/dir.preset", withIntermediateDirectories: true)
        try Data([0xFF, 0xFE, 0x3D]).write(to: URL(fileURLWithPath: dir + "/latin.preset"))
        try Data(repeating: 0x23, count: 20_000).write(to: URL(fileURLWithPath: dir + "/huge.preset"))
        XCTAssertEqual(try Preset.load("warm", dirs: [dir]).entries, [.init(key: "beta", value: "42")])
        XCTAssertEqual(try Preset.load("strong", dirs: [dir]).entries, [.init(key: "beta", value: "7")])
        XCTAssertEqual(try Preset.load(dir + "/warm.preset", dirs: []).name, "warm")
        XCTAssertEqual(Preset.files(dirs: [dir]).availableNames(),
                       ["classic", "strong", "soft", "colour-keep", "dir", "huge", "latin", "warm"])
        for (name, words) in [("dir", "directory"), ("latin", "not UTF-8"), ("huge", "limit for a preset file is 16 KB"),
                              ("nothing", "no such preset (known: classic, strong, soft, colour-keep, dir")] {
            XCTAssertThrowsError(try Preset.load(name, dirs: [dir]), name) {
                XCTAssertTrue("\($0)".contains(words), "\(name): \($0)")
            }
        }
    }

    func testThePresetNameRoundTripsAndIsRecordedOnlyWhenSet() throws {
        var s = Settings()
        XCTAssertFalse(s.keyValues.contains { $0.0 == "preset" })
        s.preset = "strong"
        XCTAssertTrue(s.keyValues.contains { $0 == ("preset", "strong") })
        let back = try Settings.decode(json: JSONEncoder().encode(s)).settings
        XCTAssertEqual(back, s)
        // A session's preset name is text from a file: control characters are refused.
        s.preset = "x\u{1B}[2J"
        XCTAssertThrowsError(try s.validate())
    }
}
