@testable import Core
import XCTest

/// What the tests of each L-BFGS pair precision share: a quadratic to converge on, a state with a full
/// short history, its encoding, and the exact round trip through that encoding.

/// f = ½ Σ c_i (x_i − t_i)² over n = 301 values, after 60 steps (history 10) from x = 0, and f at x = 0.
func quadraticAfterLBFGS(_ precision: LBFGSPrecision) throws -> (end: Double, start: Double) {
    let n = 301
    let opt = try LBFGS(count: n, history: 10, precision: precision)
    var x = [Float](repeating: 0, count: n)
    func f() -> (Double, [Float]) {
        var g = [Float](repeating: 0, count: n), v = 0.0
        for i in 0..<n { let c = Float(1 + i % 9), d = x[i] - Float(i % 11); g[i] = c * d; v += 0.5 * Double(c * d * d) }
        return (v, g)
    }
    let start = f().0
    for _ in 0..<60 { let (_, g) = f(); opt.step(x: &x, grad: g, count: n, learningRate: 1) }
    return (f().0, start)
}

/// An L-BFGS state of n values whose history of 3 pairs is full.
func lbfgsState(n: Int, precision: LBFGSPrecision) throws -> LBFGS {
    let o = try LBFGS(count: n, history: 3, precision: precision)
    var x = [Float](repeating: 0, count: n)
    for _ in 0..<6 {
        var g = [Float](repeating: 0, count: n)
        for i in 0..<n { g[i] = Float(1 + i % 4) * (x[i] - Float(i % 5)) + 1e-7 * Float(i) }
        o.step(x: &x, grad: g, count: n, learningRate: 0.5)
    }
    XCTAssertEqual(o.s.count, 3)
    return o
}

func encoded(_ o: Optimizer) throws -> Data {
    var w = BinaryWriter(DataSink())
    try o.encode(into: &w)
    return w.sink.data
}

/// `o` (from `lbfgsState`) encodes to `bytes` bytes, decodes from them exactly (nothing left over, the same
/// bytes again) and then steps on exactly as the original.
func assertExactRoundTrip(_ o: LBFGS, bytes: Int, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
    let n = o.count
    let a = try encoded(o)
    XCTAssertEqual(a.count, bytes, message, file: file, line: line)
    var r = BinaryReader(a, source: "s.session")
    let back = try LBFGS(count: n, history: 3, precision: o.precision)
    try back.decode(from: &r, count: n)
    XCTAssertEqual(r.remaining, 0, file: file, line: line)
    XCTAssertEqual(try encoded(back), a, file: file, line: line)
    var x1 = [Float](repeating: 1, count: n), x2 = x1
    let g = (0..<n).map { Float($0) - 2 }
    o.step(x: &x1, grad: g, count: n, learningRate: 0.5); back.step(x: &x2, grad: g, count: n, learningRate: 0.5)
    XCTAssertEqual(x1, x2, "it steps on exactly as the original", file: file, line: line)
}
