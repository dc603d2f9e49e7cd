/// How often, and how many bytes of, graphics frames may be sent: a sixel or kitty frame is tens to
/// hundreds of KB where a symbol frame's changes are a few KB, so over SSH they must be rationed.
///
/// Two rules: a new image at most every `minInterval` seconds, and on average at most `bytesPerSecond`
/// (a token bucket `burst` bytes deep that may go into debt by one frame, which the next frames then
/// wait out). A re-send because the layout changed (resize, help closed) does not wait for the
/// interval, as the pane would otherwise stay empty, but its bytes count all the same. Pure: the
/// clock is passed in.
struct GraphicsBudget {
    var minInterval: Double = 2
    var bytesPerSecond: Double = 100_000
    /// Bytes that may go out at once after a quiet spell.
    var burst: Double = 200_000

    private var tokens: Double?
    private var lastRefill = 0.0
    private(set) var lastFrame = -Double.infinity
    /// Totals since start, for the figures in help and the tests.
    private(set) var framesSent = 0
    private(set) var bytesSent = 0

    init(minInterval: Double = 2, bytesPerSecond: Double = 100_000, burst: Double = 200_000) {
        self.minInterval = minInterval; self.bytesPerSecond = bytesPerSecond; self.burst = burst
    }

    private mutating func refill(_ now: Double) {
        guard let t = tokens else { tokens = burst; lastRefill = now; return }
        tokens = min(burst, t + max(0, now - lastRefill) * bytesPerSecond)
        lastRefill = now
    }

    /// Whether a new image (same place on screen) may be sent now.
    mutating func allowsUpdate(now: Double) -> Bool {
        refill(now)
        return now - lastFrame >= minInterval && (tokens ?? 0) >= 0
    }

    /// Whether a re-send after a layout change may go now: only the byte budget applies.
    mutating func allowsResend(now: Double) -> Bool {
        refill(now)
        return (tokens ?? 0) >= 0
    }

    mutating func spent(_ bytes: Int, now: Double) {
        refill(now)
        tokens = (tokens ?? burst) - Double(bytes)
        lastFrame = now
        framesSent += 1
        bytesSent += bytes
    }
}
