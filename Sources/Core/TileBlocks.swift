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
    /// Row length of V and M, for rows × cols tiles plus the spill of a vector store (none when every group
    /// of eight tiles is whole).
    let ld: Int
    /// Floats of the scratch each thread's part owns.
    let sliceFloats: Int

    /// Footprint a block aims for: V and M of one block (2 MB), within a core's share of L3 (its L2 is
    /// 512 KB on the Zen 3 these figures come from). Against one pass over all tiles through the 32 MB
    /// scratch, conv1_2 at 512² went from 247/267 ms to 188/238 ms (forward/input gradient,
    /// `restyle bench --layers`).
    static let targetFloats = 512 << 10
    /// Fewest tiles per block. Each block reads all 36 of the layer's U matrices, so each U value serves
    /// 2·n flops: at 16 tiles that pays only while U stays in cache between blocks, hence the weight
    /// limit below; larger U (conv3_2 on, 9–38 MB) needs blocks of at least `minTilesLargeWeights`,
    /// which their few tiles rarely allow, and then runs the 36 GEMMs side by side over all tiles.
    /// Blocks of 16 tiles made conv2_2 at 512² about 1.6× faster than that pass over all tiles (a C
    /// harness of the same kernels, 2 threads: 45–52 ms against 80–90 ms forward).
    static let minTiles = 16
    static let minTilesLargeWeights = 64
    /// U floats (36·cin·cout) up to which blocks may be as small as `minTiles`: 6 MB, conv3_1's 4.7 MB
    /// but not conv3_2's 9.4 MB, whose blocks of 16 tiles ran its input gradient 1.3–2× slower than the
    /// 36 GEMMs side by side (`restyle bench --layers --size 512`), rereading U for each block.
    static let smallBlockWeights = 3 << 19

    init?(inC: Int, outC: Int, tilesX: Int, tilesY: Int, threads: Int, scratchFloats: Int, schedule: WinogradSchedule) {
        guard case .blocks(let minTiles, let targetFloats) = schedule else { return nil }
        sliceFloats = scratchFloats / max(threads, 1)
        let budget = min(sliceFloats, targetFloats)
        var n = min(tilesX * tilesY, budget / (36 * (inC + outC)))
        // Enough blocks that every thread gets at least two (the last ones are often partial).
        if threads > 1 { n = min(n, tilesX * tilesY / (2 * threads)) }
        var shape = Self.shape(tiles: n, tilesX: tilesX, tilesY: tilesY)
        func footprint() -> Int { 36 * (inC + outC) * shape.ld + 2 * 36 * 32 }
        while n > 0 && footprint() > budget {
            n -= 1
            shape = Self.shape(tiles: n, tilesX: tilesX, tilesY: tilesY)
        }
        let least = 36 * inC * outC <= Self.smallBlockWeights ? minTiles : max(minTiles, Self.minTilesLargeWeights)
        guard shape.rows * shape.cols >= least else { return nil }
        self.tilesX = tilesX; self.tilesY = tilesY
        (rows, cols, ld) = shape
        blocksX = (tilesX + cols - 1) / cols
        blocksY = (tilesY + rows - 1) / rows
    }

    /// The block for at most n tiles: whole tile rows when n holds one, else one row of `cols` tiles,
    /// where it can a multiple of 8 that divides the tile row and is at least n / 2 (no ragged last
    /// block, and every group of eight tiles whole, so no vector store spills past the block and its rows
    /// need no padding; a smaller divisor would make blocks too short for the GEMMs).
    static func shape(tiles n: Int, tilesX: Int, tilesY: Int) -> (rows: Int, cols: Int, ld: Int) {
        let rows: Int, cols: Int
        if tilesX <= n {
            cols = tilesX; rows = min(tilesY, n / tilesX)
        } else if let even = stride(from: n / 8 * 8, to: 0, by: -8).first(where: { tilesX % $0 == 0 && 2 * $0 >= n }) {
            cols = even; rows = 1
        } else {
            cols = n >= 8 ? n / 8 * 8 : n; rows = 1   // whole groups of eight tiles where it can
        }
        let exact = cols > 0 && cols % 8 == 0 && tilesX % cols == 0
        let count = max(rows * cols, 1)
        // A short row of whole groups only needs whole lines; the odd multiple of 16 (`winogradRow`) keeps
        // long rows of B, kilobytes apart, off the same cache sets.
        let ld = exact && count <= 64 ? (count + 15) / 16 * 16 : winogradRow(count, pad: exact ? 0 : 7)
        return (rows, cols, ld)
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
