import Core
import Foundation

enum Snapshot {
    /// The PNG text chunks that say how an image was made.
    static func textChunks(settings: Settings, iteration: Int, content: String, style: String, width: Int, height: Int) -> [(String, String)] {
        [("Software", "restyle \(Restyle.version)"), ("restyle-version", Restyle.version),
         ("content", content), ("style", style), ("size", "\(width)x\(height)"), ("iteration", "\(iteration)")]
            + settings.keyValues
    }

    /// out.png → out-i00050.png
    static func numbered(_ path: String, iteration: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension.isEmpty ? "png" : url.pathExtension
        let stem = url.deletingPathExtension().path
        return stem + String(format: "-i%05d.", iteration) + ext
    }
}
