import Foundation

/// Turns SIGINT, SIGTERM and SIGHUP into a callback on a background queue, so the work in progress is
/// saved instead of lost (an SSH drop sends SIGHUP).
final class Interrupts {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var caught: Int32?
    var signal: Int32? { lock.lock(); defer { lock.unlock() }; return caught }

    static func onTermination(_ handler: @escaping (Int32) -> Void) -> Interrupts {
        let i = Interrupts()
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            Foundation.signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler { [weak i] in
                guard let i else { return }
                i.lock.lock(); if i.caught == nil { i.caught = sig }; i.lock.unlock()
                handler(sig)
            }
            src.resume()
            i.sources.append(src)
        }
        return i
    }
}
