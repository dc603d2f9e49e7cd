import Foundation

/// How a Winograd F(4×4) layer's tiles are cut into rectangular blocks that one thread carries through
/// input transform, 36 GEMMs and output transform alone. A block's V and M then stay in that core's cache
/// between the three steps, where one pass over all tiles sent tens of MB through memory twice; and the
/// threads meet once per layer (or per phase), not three times per chunk. nil when the layer has too few
/// tiles for every thread to get blocks big enough to keep its GEMMs efficient: deep layers at small sizes,
/// which are better served by the 36 GEMMs side by side over all tiles.
struct TileBlocks {
    let tilesX: Int, tilesY: Int
    /// Tile rows and columns of a full block; the last row or column of blocks may be smaller.
    let rows: Int, cols: Int
    let blocksX: Int, blocksY: Int
    /// Row length of V and M, for rows × cols tiles plus the spill of a vector store.
    let ld: Int
    /// Floats of the scratch each thread's part owns.
    let sliceFloats: Int

    /// Footprint a block aims for: V and M of one block (2 MB) within a core's 1 MB L2 and its share of
    /// L3. Against one pass over all tiles through the 32 MB scratch, conv1_2 at 512² went from 247/267 ms
    /// to 188/238 ms (forward/input gradient, `restyle bench --layers`); other sizes were not compared.
    static let targetFloats = 512 << 10
    /// Below this many tiles per block the GEMMs get short enough for packing and call overhead to dominate
    /// (a judgement, not tuned).
    static let minTiles = 64

    init?(inC: Int, outC: Int, tilesX: Int, tilesY: Int, threads: Int, scratchFloats: Int, schedule: WinogradSchedule) {
        guard case .blocks(let minTiles, let targetFloats) = schedule else { return nil }
        sliceFloats = scratchFloats / max(threads, 1)
        let budget = min(sliceFloats, targetFloats)
        func footprint(_ n: Int) -> Int { 36 * (inC + outC) * winogradRow(n, pad: 7) + 2 * 36 * 32 }
        var n = min(tilesX * tilesY, budget / (36 * (inC + outC)))
        // Enough blocks that every thread gets at least two (the last ones are often partial).
        if threads > 1 { n = min(n, tilesX * tilesY / (2 * threads)) }
        while n > 0 && footprint(n) > budget { n -= 1 }
        guard n >= minTiles else { return nil }
        self.tilesX = tilesX; self.tilesY = tilesY
        if tilesX <= n {
            cols = tilesX; rows = min(tilesY, n / tilesX)
        } else {
            cols = n >= 8 ? n / 8 * 8 : n; rows = 1   // whole groups of eight tiles where it can
        }
        blocksX = (tilesX + cols - 1) / cols
        blocksY = (tilesY + rows - 1) / rows
        ld = winogradRow(rows * cols, pad: 7)
    }

    /// The blocks as (block row, block column) lists to run one after another. Blocks whose 6×6 input
    /// tiles may overlap (neighbours) go to different phases when `overlapping`: blocks two apart never
    /// share a pixel, since a block is at least one tile (4 pixels) and tiles reach 2 pixels past it.
    func phases(overlapping: Bool) -> [[(Int, Int)]] {
        let all = (0..<blocksY).flatMap { by in (0..<blocksX).map { (by, $0) } }
        guard overlapping else { return [all] }
        return [(0, 0), (0, 1), (1, 0), (1, 1)].map { p in all.filter { $0.0 % 2 == p.0 && $0.1 % 2 == p.1 } }
            .filter { !$0.isEmpty }
    }

    /// First tile row and column of a block, and its size in tiles.
    func block(_ b: (Int, Int)) -> (ty0: Int, tx0: Int, rows: Int, cols: Int) {
        let ty0 = b.0 * rows, tx0 = b.1 * cols
        return (ty0, tx0, min(rows, tilesY - ty0), min(cols, tilesX - tx0))
    }
}
