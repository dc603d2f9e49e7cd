/// An RGB image, planar (all R, then all G, then all B), row-major, values 0...255 as Float.
/// Planar because that is the layout the network consumes; the byte formats convert at the edges.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(pixels.count == 3 * width * height)
        self.width = width; self.height = height; self.pixels = pixels
    }
    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: fill, count: 3 * width * height))
    }
    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }
}
