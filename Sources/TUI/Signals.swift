import Core
import Dispatch
import Foundation
import Synchronization

/// The program's one signal path. Each watched signal is set to SIG_IGN and delivered through a
/// DispatchSource, whose handler runs on a Dispatch queue like any other code; no raw signal handler runs
/// Swift. What a signal means is up to the `handler` each command installs: `run` stops its loop, the
/// screen queues it for its input loop and saves on its own thread.
enum Signals {
    private static let sources = Mutex<[Int32: any DispatchSourceSignal]>([:])
    private static let queue = DispatchQueue(label: "restyle.signals")

    /// Starts (or re-targets) delivery of `signals` to `handler`, on a background queue. SIGPIPE is
    /// ignored as well, so writing to a closed pipe is an EPIPE error the writer reports, not a death.
    static func watch(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        signal(SIGPIPE, SIG_IGN)
        sources.withLock { all in
            for sig in signals {
                all[sig]?.cancel()
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                src.setEventHandler { handler(sig) }
                src.resume()
                all[sig] = src
            }
        }
    }

    /// Gives `sig` back its default action (a suspend needs SIGTSTP's), and ignores it again after.
    static func withDefaultAction(_ sig: Int32, _ body: () -> Void) {
        signal(sig, SIG_DFL)
        body()
        signal(sig, SIG_IGN)
    }
}

/// Signals waiting for the screen's input loop, which acts on them between frames.
final class SignalInbox: Sendable {
    private let pending = LockedBox<[Int32]>([])
    func post(_ sig: Int32) { pending.withLock { $0.append(sig) } }
    func take() -> Int32? { pending.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
}
