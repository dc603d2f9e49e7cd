// libFuzzer target `session` (scripts/fuzz-swift.sh session): the session reader's fixed-size part,
// `SessionState(data:source:)`, which parses and validates every field before the image-sized vectors
// (settings and history JSON, counters, flags, the three images and their sizes against the layers).
// The custom mutator in SessionMutator.swift keeps the envelope valid.

@testable import Core
import Foundation

@_cdecl("LLVMFuzzerInitialize")
public func sessionInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    writeSeedsIfAsked { VGGWeights(randomSeed: 1) }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func sessionTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    expectRestyleErrorOrSuccess("SessionState(data:source:)") {
        let s = try SessionState(data: bytes, source: "fuzz.session")
        // What the reader promises about what it accepted.
        precondition(s.content.width >= 1 && s.content.height >= 1 && s.style.width >= 1 && s.style.height >= 1)
        precondition(s.start.width == s.content.width && s.start.height == s.content.height)
        precondition(s.elapsed.isFinite && s.elapsed >= 0 && (0...Limits.maxIterations).contains(s.iteration))
        precondition(s.rest.remaining >= 0 && s.rest.remaining <= bytes.count)
        // What the TUI converts to Int (the status line's elapsed time) or offsets (the chart's iteration
        // axis and marks: i + 1, Int(x) of a scaled position) must be in range too.
        precondition(s.elapsed < 0x1p62, "elapsed time \(s.elapsed) s")
        let iterations = 0...Limits.maxIterations
        precondition(s.history.points.allSatisfy { iterations.contains($0.iteration) }, "history iteration out of range")
        precondition(s.history.marks.allSatisfy { iterations.contains($0) }, "mark out of range")
    }
    return 0
}
