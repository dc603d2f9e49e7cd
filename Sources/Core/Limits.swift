import Foundation

/// Sane bounds for every number a user or a file can give. Options are refused with one line beyond them,
/// and a session file holding a value beyond them is corrupt, before anything is allocated from it.
public enum Limits {
    /// α, β and γ. Far above any useful value (β 1e5 already paints over everything), far below where
    /// the loss overflows a Double.
    public static let maxWeight = 1e9
    public static let maxLearningRate = 1e6
    /// L-BFGS pairs: each holds two image-sized vectors, so memory bounds it long before this.
    public static let maxHistory = 10_000
    public static let maxIterations = 100_000_000
    /// Seconds a run may have taken (a session's clock): over 30,000 years, beyond any real run, and far
    /// below where the TUI's whole-second clock (`Int(elapsed)`) would trap.
    public static let maxElapsedSeconds = 1e12
    public static let minSide = 16
    public static let maxSide = ImageIO.maxSide
    public static let maxPixels = ImageIO.maxPixels
    /// A session file at the largest working size with a long history is tens of GB; beyond this it is
    /// not one of ours.
    public static let maxSessionBytes = 1 << 40
}
