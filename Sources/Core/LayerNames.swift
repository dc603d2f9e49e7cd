import Foundation
/// The names of VGG19's layers in order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …, relu5_4, pool5.
public enum LayerNames {
    /// Convolutions per block.
    public static let convsPerBlock = [2, 2, 4, 4, 4]
    /// Output channels per block.
    public static let channelsPerBlock = [64, 128, 256, 512, 512]

    public static let all: [String] = {
        var names: [String] = []
        for (b, n) in convsPerBlock.enumerated() {
            for i in 1...n { names += ["conv\(b + 1)_\(i)", "relu\(b + 1)_\(i)"] }
            names.append("pool\(b + 1)")
        }
        return names
    }()

    public static func index(of name: String) -> Int? { all.firstIndex(of: name) }

    /// Parse a comma-separated list of layer names; an unknown name is a usage error naming the option.
    public static func parse(_ list: String, option: String) throws -> [String] {
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw RestyleError.badInput("\(option): no layer names given") }
        for n in names where index(of: n) == nil {
            throw RestyleError.badInput("\(option): unknown layer '\(n)' (conv1_1 … relu5_4, pool1 … pool5)")
        }
        return names
    }
}
