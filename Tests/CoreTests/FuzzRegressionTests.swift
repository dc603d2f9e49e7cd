@testable import Core
import Foundation
import XCTest

/// Replays what the fuzzers found. `scripts/fuzz-swift.sh TARGET` (sessions, safetensors) and
/// `scripts/fuzz.sh image` (the C image decoders) keep every input that crashed, hung or ran out of
/// memory in Tests/Fuzz/TARGET/; once the bug is fixed, each must be refused with a `RestyleError` or
/// read, never crash or throw anything else, exactly as the fuzz harnesses require. The directories
/// are found from this source file, so the test runs from a source checkout; an empty or missing
/// directory only means nothing was found, and passes.
final class FuzzRegressionTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// The regular files in Tests/Fuzz/`target`/, sorted; none if the directory is missing.
    static func inputs(_ target: String) -> [URL] {
        let dir = root.appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        // Notes beside the inputs (README.md) are not inputs.
        return names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".md") }.sorted().map { dir.appendingPathComponent($0) }.filter {
            (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        }
    }

    func expectRestyleErrorOrSuccess(_ input: URL, _ what: String, file: StaticString = #filePath, line: UInt = #line,
                                     _ body: () throws -> Void) {
        do {
            try body()
        } catch is RestyleError {
        } catch {
            XCTFail("\(input.lastPathComponent): \(what) threw \(type(of: error)), not a RestyleError: \(error)",
                    file: file, line: line)
        }
    }

    /// The fixed-size reader on the inputs of both session targets.
    func testSessionInputs() throws {
        for input in Self.inputs("session") + Self.inputs("session-resume") {
            let data = try Data(contentsOf: input)
            expectRestyleErrorOrSuccess(input, "SessionState") {
                let s = try SessionState(data: data, source: input.lastPathComponent)
                // What fuzz/swift/SessionFuzzer.swift requires of an accepted session: what the TUI makes
                // Ints of is in range.
                let iterations = 0...Limits.maxIterations
                XCTAssertLessThanOrEqual(s.elapsed, Limits.maxElapsedSeconds, input.lastPathComponent)
                XCTAssertTrue(s.history.points.allSatisfy { iterations.contains($0.iteration) }, input.lastPathComponent)
                XCTAssertTrue(s.history.marks.allSatisfy { iterations.contains($0) }, input.lastPathComponent)
            }
        }
    }

    /// The whole resume, as fuzz/swift/SessionResumeFuzzer.swift runs it: small random weights, then for
    /// an accepted session one iteration, a save, and the save read back.
    func testSessionResumeInputs() throws {
        let inputs = Self.inputs("session") + Self.inputs("session-resume")
        if inputs.isEmpty { return }
        let weights = VGGWeights(randomSeed: 1)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("restyle-fuzz-regression-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let saved = dir.appendingPathComponent("saved.session").path
        for input in inputs {
            let data = try Data(contentsOf: input)
            expectRestyleErrorOrSuccess(input, "Optimization.resume") {
                let (o, _) = try Optimization.resume(data: data, source: input.lastPathComponent, weights: weights,
                                                     memoryLimit: 400 << 20, convPolicy: .direct)
                if !o.isFinished { o.iterate() }
                try o.writeSession(to: saved)
                do {
                    let again = try Optimization.resume(from: saved, weights: weights, convPolicy: .direct).0
                    XCTAssertEqual(again.iteration, o.iteration, input.lastPathComponent)
                    XCTAssertEqual(again.image, o.image, input.lastPathComponent)
                } catch {
                    XCTFail("\(input.lastPathComponent): the resumed run saved a session it cannot read: \(error)")
                }
            }
        }
    }

    /// The weights-file reader, then every tensor it accepted read back.
    func testSafetensorsInputs() throws {
        for input in Self.inputs("safetensors") {
            let data = try Data(contentsOf: input)
            expectRestyleErrorOrSuccess(input, "SafetensorsFile") {
                let file = try SafetensorsFile(data: data, path: input.lastPathComponent)
                for (name, e) in file.entries {
                    let b = try file.bytes(name, dtype: e.dtype, shape: e.shape)
                    XCTAssertEqual(b.count, e.end - e.begin, "\(input.lastPathComponent): \(name)")
                    if e.dtype == "F32" { _ = try file.floats(name, shape: e.shape) }
                }
            }
        }
    }

    /// The image decoders' inputs (from scripts/fuzz.sh image) through `ImageIO.read` and
    /// `ImageIO.readPNGText`, from a file as a user would give them.
    func testImageInputs() throws {
        let inputs = Self.inputs("image")
        if inputs.isEmpty { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("restyle-fuzz-images-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for input in inputs {
            // Copied, so the path the reader sees is an ordinary one whatever the input's name.
            let path = dir.appendingPathComponent("input").path
            try Data(contentsOf: input).write(to: URL(fileURLWithPath: path))
            expectRestyleErrorOrSuccess(input, "ImageIO.read") {
                let img = try ImageIO.read(path)
                XCTAssertEqual(img.pixels.count, 3 * img.width * img.height, input.lastPathComponent)
            }
            expectRestyleErrorOrSuccess(input, "ImageIO.readPNGText") { _ = try ImageIO.readPNGText(path) }
        }
    }

    /// The directories are where the fuzz scripts write, so a renamed target or a moved test fails
    /// here rather than silently replaying nothing.
    func testTheFuzzDirectoryIsFoundFromTheSource() {
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.root.deletingLastPathComponent()
            .appendingPathComponent("CoreTests/FuzzRegressionTests.swift").path))
    }
}
