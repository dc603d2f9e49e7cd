@testable import Core
import XCTest

/// The blocks a thread carries alone must cover every tile exactly once, fit their scratch slice, and
/// (for the input gradient) never share a pixel with another block of the same phase.
final class TileBlocksTests: XCTestCase {
    func testBlocksCoverEveryTileOnceAndPhasesNeverOverlap() throws {
        let cases: [(inC: Int, outC: Int, tx: Int, ty: Int, threads: Int, target: Int)] = [
            (64, 64, 128, 128, 2, 512 << 10), (64, 128, 64, 64, 2, 512 << 10), (128, 128, 64, 64, 4, 512 << 10),
            (3, 5, 37, 11, 2, 36 * 8 * 40), (3, 5, 37, 11, 3, 36 * 8 * 20), (1, 1, 200, 3, 2, 36 * 2 * 300),
            (256, 256, 32, 32, 2, 512 << 10), (64, 64, 512, 384, 32, 512 << 10),
        ]
        var blocked = 0
        for c in cases {
            let scratch = WinogradScratch.defaultFloats
            guard let b = TileBlocks(inC: c.inC, outC: c.outC, tilesX: c.tx, tilesY: c.ty, threads: c.threads,
                                     scratchFloats: scratch, schedule: .blocks(minTiles: 4, targetFloats: c.target)) else { continue }
            blocked += 1
            let footprint = 36 * (c.inC + c.outC) * b.ld + 2 * 36 * 32
            XCTAssertLessThanOrEqual(footprint, min(c.target, scratch / c.threads), "\(c)")
            // A group of eight tiles is stored whole: ragged blocks need room for the spill.
            let whole = b.cols % 8 == 0 && c.tx % b.cols == 0
            XCTAssertGreaterThanOrEqual(b.ld, b.rows * b.cols + (whole ? 0 : 7), "\(c): a vector store past the last tile")
            for overlapping in [false, true] {
                var seen = [Int](repeating: 0, count: c.tx * c.ty)
                for phase in b.phases(overlapping: overlapping) {
                    // Pixels each block's 6×6 input tiles reach, padded coordinates.
                    var owner = [Int: Int]()
                    for (k, id) in phase.enumerated() {
                        let (ty0, tx0, rows, cols) = b.block(id)
                        XCTAssertTrue(rows >= 1 && cols >= 1)
                        for y in ty0..<(ty0 + rows) { for x in tx0..<(tx0 + cols) { seen[y * c.tx + x] += 1 } }
                        guard overlapping else { continue }
                        for py in (4 * ty0)..<(4 * (ty0 + rows) + 2) { for px in (4 * tx0)..<(4 * (tx0 + cols) + 2) {
                            let key = py * (4 * c.tx + 8) + px
                            if let other = owner[key], other != k { XCTFail("\(c): blocks \(other) and \(k) of one phase share a pixel"); return }
                            owner[key] = k
                        } }
                    }
                }
                XCTAssertEqual(Set(seen), [1], "\(c): every tile in exactly one block")
            }
        }
        XCTAssertGreaterThanOrEqual(blocked, 6, "most cases must be cut into blocks, or this test checks nothing")
        // Too few tiles for two blocks per thread of at least minTiles: the all-threads schedule.
        XCTAssertNil(TileBlocks(inC: 512, outC: 512, tilesX: 8, tilesY: 8, threads: 2, scratchFloats: 8 << 20,
                                schedule: .defaultBlocks))
        XCTAssertNil(TileBlocks(inC: 64, outC: 64, tilesX: 128, tilesY: 128, threads: 2, scratchFloats: 8 << 20, schedule: .sideBySide))
    }

    /// The default blocks at VGG19's layer shapes (512² and a size that is not a multiple of 32): no ragged
    /// last block where the tile row allows it, blocks of 16 tiles or more only while the layer's U stays
    /// in cache, and the deepest layers side by side.
    func testDefaultBlocksAtVGGShapes() {
        func blocks(_ inC: Int, _ outC: Int, _ tiles: Int) -> TileBlocks? {
            TileBlocks(inC: inC, outC: outC, tilesX: tiles, tilesY: tiles, threads: 2, scratchFloats: WinogradScratch.defaultFloats,
                       schedule: .defaultBlocks)
        }
        for (inC, outC, tiles) in [(64, 64, 128), (64, 128, 64), (128, 128, 64), (128, 256, 32)] {
            guard let b = blocks(inC, outC, tiles) else { XCTFail("\(inC)→\(outC) at \(tiles)² tiles: no blocks"); continue }
            XCTAssertEqual(tiles % b.cols, 0, "\(inC)→\(outC): a ragged last block of \(tiles % b.cols) tiles")
            XCTAssertEqual(b.cols % 8, 0)
            XCTAssertGreaterThanOrEqual(b.rows * b.cols, TileBlocks.minTiles)
            XCTAssertLessThanOrEqual(36 * (inC + outC) * b.ld + 2 * 36 * 32, TileBlocks.targetFloats)
        }
        // conv3_2 on: U of 9–38 MB, too few tiles for blocks of 64.
        XCTAssertNil(blocks(256, 256, 32))
        XCTAssertNil(blocks(256, 512, 16))
        XCTAssertNil(blocks(512, 512, 16))
        // 40 tiles a row (160 px) and room for 37: 8 divides the row but would make blocks of 8, so ragged
        // blocks of 32 (and 8) instead, their rows padded for the spill.
        let ragged = TileBlocks.shape(tiles: 37, tilesX: 40, tilesY: 40)
        XCTAssertEqual(ragged.cols, 32)
        XCTAssertGreaterThanOrEqual(ragged.ld, 32 + 7)
        XCTAssertEqual(TileBlocks.shape(tiles: 37, tilesX: 64, tilesY: 64).cols, 32)
        XCTAssertEqual(TileBlocks.shape(tiles: 37, tilesX: 64, tilesY: 64).ld, 32)
        // 125 tiles a row (500 px): no divisor is a multiple of 8, so ragged blocks with padded rows.
        let odd = blocks(64, 64, 125)
        XCTAssertNotNil(odd)
        if let odd { XCTAssertGreaterThanOrEqual(odd.ld, odd.rows * odd.cols + 7) }
    }
}
