// libFuzzer target `session-resume` (scripts/fuzz-swift.sh session-resume): the whole session reader,
// `Optimization.resume(data:source:weights:memoryLimit:convPolicy:)`, with small random weights; then,
// for a session it accepts, what `restyle resume` does next: one iteration, a save, and reading that
// save back. Slower per input than `session` (an accepted input builds the network), so it finds less
// per second, but it covers the image-sized vectors and the optimisers' state. Shares
// SessionMutator.swift with `session`.

@testable import Core
import Foundation

nonisolated(unsafe) var weights: VGGWeights!
let scratch = NSTemporaryDirectory() + "/restyle-fuzz-resume-\(getpid()).session"

@_cdecl("LLVMFuzzerInitialize")
public func resumeInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    weights = VGGWeights(randomSeed: 1)
    writeSeedsIfAsked { weights }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func resumeTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    expectRestyleErrorOrSuccess("Optimization.resume") {
        // A limit small enough that a long L-BFGS history or a large style image can meet it.
        let (o, _) = try Optimization.resume(data: bytes, source: "fuzz.session", weights: weights,
                                             memoryLimit: 400 << 20, convPolicy: .direct)
        if !o.isFinished { o.iterate() }
        try o.writeSession(to: scratch)
        defer { unlink(scratch) }
        // Whatever was accepted and continued must save as a session that reads back the same.
        let again: (Optimization, notes: [String])
        do {
            again = try Optimization.resume(from: scratch, weights: weights, convPolicy: .direct)
        } catch {
            fatalError("a resumed session saved a file it cannot read: \(error)")
        }
        let a = again.0
        precondition(a.iteration == o.iteration && a.settings == o.settings && a.image == o.image
                     && a.history == o.history && a.marks == o.marks,
                     "a saved session reads back different")
    }
    return 0
}
