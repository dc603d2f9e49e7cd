import Foundation

/// VGG19's layers in order, typed: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …, relu5_4, pool5.
/// Everything that needs to know what a layer is asks this table rather than parsing its name.
public enum VGG19 {
    public enum Kind: Equatable, Sendable {
        /// `index` counts convolutions from 0 (conv1_1) to 15 (conv5_4).
        case conv(index: Int, cin: Int, cout: Int)
        case relu
        case pool
    }

    public struct Layer: Equatable, Sendable {
        public let name: String
        public let kind: Kind
        /// 1…5
        public let block: Int
        public var isConv: Bool { if case .conv = kind { return true }; return false }
        public var isPool: Bool { kind == .pool }
    }

    /// Convolutions per block and their output channels.
    static let convsPerBlock = [2, 2, 4, 4, 4]
    static let channelsPerBlock = [64, 128, 256, 512, 512]

    public static let layers: [Layer] = {
        var out: [Layer] = []
        var cin = 3, conv = 0
        for (b, n) in convsPerBlock.enumerated() {
            let cout = channelsPerBlock[b]
            for i in 1...n {
                out.append(Layer(name: "conv\(b + 1)_\(i)", kind: .conv(index: conv, cin: cin, cout: cout), block: b + 1))
                out.append(Layer(name: "relu\(b + 1)_\(i)", kind: .relu, block: b + 1))
                cin = cout; conv += 1
            }
            out.append(Layer(name: "pool\(b + 1)", kind: .pool, block: b + 1))
        }
        return out
    }()

    /// The 16 convolutions: name, input and output channels.
    public static let convs: [(name: String, cin: Int, cout: Int)] = layers.compactMap {
        if case .conv(_, let cin, let cout) = $0.kind { return ($0.name, cin, cout) }
        return nil
    }

    public static func index(of name: String) -> Int? { layers.firstIndex { $0.name == name } }

    /// The smallest image side that still has at least one pixel after every pooling up to `depth`.
    public static func minimumSide(depth: Int) -> Int {
        1 << layers.prefix(depth + 1).filter(\.isPool).count
    }

    /// Parses a comma-separated list of layer names; an unknown name is a usage error naming the option.
    public static func parse(_ list: String, option: String) throws -> [String] {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw RestyleError.badInput("\(option): no layer names given") }
        for n in names where index(of: n) == nil {
            throw RestyleError.badInput("\(option): unknown layer '\(Text.escaped(n))' (conv1_1 … relu5_4, pool1 … pool5)")
        }
        return names
    }
}
