import XCTest
@testable import TUI

final class SliderTests: XCTestCase {
    func step(_ v: Double, _ n: Int, big: Bool = false, kind: SliderKind = .beta) -> Double {
        SliderMath.step(v, notches: n, big: big, floor: kind.floor, allowsZero: kind.allowsZero)
    }

    func testNotchIsEighthOfADecade() {
        XCTAssertEqual(step(1, 1), pow(10, 1.0 / 8), accuracy: 1e-9)
        XCTAssertEqual(step(10, -1), 10 / pow(10, 1.0 / 8), accuracy: 1e-9)
        // Eight notches make exactly one decade despite float drift.
        var v = 1.0
        for _ in 0..<8 { v = step(v, 1) }
        XCTAssertEqual(v, 10)
        for _ in 0..<16 { v = step(v, -1) }
        XCTAssertEqual(v, 0.1)
    }

    func testBigStepIsHalfADecade() {
        XCTAssertEqual(step(1, 1, big: true), pow(10, 0.5), accuracy: 1e-9)
        XCTAssertEqual(step(step(1, 1, big: true), 1, big: true), 10)
        XCTAssertEqual(step(100, -2, big: true), 10)
    }

    func testZeroFloor() {
        XCTAssertEqual(step(0, 1, kind: .tv), 1e-3)
        XCTAssertEqual(step(0, -1, kind: .tv), 0)
        XCTAssertEqual(step(1e-3, -1, kind: .tv), 0, "below the floor goes to 0")
        XCTAssertEqual(step(1.2e-3, -1, kind: .tv), 0)
        XCTAssertEqual(step(1e-3, 1, kind: .tv), 1e-3 * pow(10, 1.0 / 8), accuracy: 1e-12)
        // lr may not reach 0: it stops at its floor.
        XCTAssertEqual(step(SliderKind.lr.floor, -1, kind: .lr), SliderKind.lr.floor)
        XCTAssertEqual(step(0, -1, kind: .lr), SliderKind.lr.floor)
    }

    func testParse() {
        XCTAssertEqual(try SliderMath.parse("2.5", allowsZero: true).get(), 2.5)
        XCTAssertEqual(try SliderMath.parse(" 1e-3 ", allowsZero: true).get(), 1e-3)
        XCTAssertEqual(try SliderMath.parse("0", allowsZero: true).get(), 0)
        XCTAssertEqual(SliderMath.parse("0", allowsZero: false), .failure(.zeroNotAllowed))
        XCTAssertEqual(SliderMath.parse("abc", allowsZero: true), .failure(.notANumber("abc")))
        XCTAssertEqual(SliderMath.parse("-1", allowsZero: true), .failure(.negative))
        XCTAssertEqual(SliderMath.parse("nan", allowsZero: true), .failure(.notANumber("nan")))
        XCTAssertEqual(SliderMath.parse("inf", allowsZero: true), .failure(.notANumber("inf")))
        XCTAssertEqual(SliderMath.parse("", allowsZero: true), .failure(.notANumber("")))
        XCTAssertEqual(SliderMath.parse("1e400", allowsZero: true), .failure(.notANumber("1e400")))
        XCTAssertEqual(SliderMath.parse("0x10", allowsZero: true), .failure(.notANumber("0x10")))
    }

    func testFormat() {
        XCTAssertEqual(SliderMath.format(0), "0")
        XCTAssertEqual(SliderMath.format(1), "1.00")
        XCTAssertEqual(SliderMath.format(13.335), "13.3")
        XCTAssertEqual(SliderMath.format(1000), "1000")
        XCTAssertEqual(SliderMath.format(1e5), "1.00e5")
        XCTAssertEqual(SliderMath.format(1e-3), "1.00e-3")
        for v in [1e-12, 0.0123, 9999, 1e12] { XCTAssertLessThanOrEqual(SliderMath.format(v).count, 8) }
    }

    func testBarFraction() {
        XCTAssertEqual(SliderMath.fraction(1, lo: 1e-3, hi: 1e3), 0.5, accuracy: 1e-12)
        XCTAssertEqual(SliderMath.fraction(0, lo: 1e-3, hi: 1e3), 0)
        XCTAssertEqual(SliderMath.fraction(1e9, lo: 1e-3, hi: 1e3), 1)
    }
}
