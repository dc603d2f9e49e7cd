import Core
import XCTest
@testable import TUI

/// A key must show within 50 ms, so composing a frame must stay well under that even with a long history.
final class FrameTimeTests: XCTestCase {
    func testFrameWithLongHistoryIsFast() {
        let e = FakeEngine()
        e.history = (0..<20_000).map { HistoryPoint(iteration: $0, terms: .init(total: 1e5 / Double($0 + 1) + 3, content: 2, style: 1e3 / Double($0 + 1), tv: 5), alpha: 1, beta: 10, tv: 0.1) }
        e.marks = [100, 5000, 12000]
        e.image = RGBImage(width: 256, height: 192, fill: 90)
        let app = makeApp(e, colorMode: .truecolor)
        let table = StyleTable()
        var g = CellGrid(width: 160, height: 50, table: table)
        app.render(into: &g) // first frame includes the chafa conversion
        let t0 = Date()
        for _ in 0..<20 { g = CellGrid(width: 160, height: 50, table: table); app.handle(.right); app.render(into: &g) }
        let perFrame = Date().timeIntervalSince(t0) / 20
        XCTAssertLessThan(perFrame, 0.025, "frame took \(perFrame * 1000) ms")
        // A new image: conversion plus frame.
        let t1 = Date()
        e.progress.imageGeneration += 1
        g = CellGrid(width: 160, height: 50, table: table)
        app.render(into: &g)
        XCTAssertLessThan(Date().timeIntervalSince(t1), 0.1)
        print("frame: \(perFrame * 1000) ms, with new image: \(Date().timeIntervalSince(t1) * 1000) ms")
    }
}
