//! A regular grid of height posts and its bilinear interpolation, shared by the sources.

/// Posts per side of a block: the grid is stored in blocks of 8 × 8 posts (256 bytes), so the
/// four posts of a lookup and those of the next ones along a path, whatever its direction,
/// sit in a few cache lines (row-major, a north–south path would touch a new line at
/// every row).
const BLOCK: usize = 8;

/// Heights on a regular grid, rows from the first, stored block by block; `NaN` marks a void.
/// The padding of the last blocks is 0 and never read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    cols: usize,
    rows: usize,
    /// Blocks per row of blocks.
    blocks_per_row: usize,
    values_m: Vec<f32>,
}

impl Grid {
    /// A grid of `cols` × `rows` posts from `values_m`, row-major from the first row;
    /// `values_m.len()` must be `cols * rows` (the sources check their sizes before building
    /// one).
    pub(crate) fn new(cols: usize, rows: usize, values_m: &[f32]) -> Option<Self> {
        if !(cols >= 2 && rows >= 2 && values_m.len() == cols * rows) {
            return None;
        }
        let blocks_per_row = cols.div_ceil(BLOCK);
        let block_rows = rows.div_ceil(BLOCK);
        let mut blocked = vec![0.0; blocks_per_row * block_rows * BLOCK * BLOCK];
        for (row, line) in values_m.chunks_exact(cols).enumerate() {
            for (block_col, run) in line.chunks(BLOCK).enumerate() {
                let at = Self::index_in(blocks_per_row, block_col * BLOCK, row);
                blocked[at..at + run.len()].copy_from_slice(run);
            }
        }
        Some(Self {
            cols,
            rows,
            blocks_per_row,
            values_m: blocked,
        })
    }

    /// Where post (`col`, `row`) is stored.
    const fn index_in(blocks_per_row: usize, col: usize, row: usize) -> usize {
        let block = (row / BLOCK) * blocks_per_row + col / BLOCK;
        block * BLOCK * BLOCK + (row % BLOCK) * BLOCK + col % BLOCK
    }

    pub(crate) const fn cols(&self) -> usize {
        self.cols
    }

    /// The post at (`col`, `row`); `None` outside or over a void.
    pub(crate) fn post(&self, col: usize, row: usize) -> Option<f64> {
        if col >= self.cols || row >= self.rows {
            return None;
        }
        let v = self.values_m[Self::index_in(self.blocks_per_row, col, row)];
        (!v.is_nan()).then_some(f64::from(v))
    }

    /// Bilinear interpolation at fractional post coordinates (`col` right, `row` down).
    /// `None` outside the grid or when a post with a non-zero weight is a void.
    pub(crate) fn bilinear(&self, col: f64, row: f64) -> Option<f64> {
        // A point on the last row or column (within rounding) is on the grid.
        const EDGE: f64 = 1e-9;
        let (max_c, max_r) = ((self.cols - 1) as f64, (self.rows - 1) as f64);
        if !(col >= -EDGE && row >= -EDGE && col <= max_c + EDGE && row <= max_r + EDGE) {
            return None;
        }
        let (col, row) = (col.clamp(0.0, max_c), row.clamp(0.0, max_r));
        let c0 = (col.floor() as usize).min(self.cols - 2);
        let r0 = (row.floor() as usize).min(self.rows - 2);
        let (fc, fr) = (col - c0 as f64, row - r0 as f64);
        let mut sum = 0.0;
        for (dc, dr, w) in [
            (0, 0, (1.0 - fc) * (1.0 - fr)),
            (1, 0, fc * (1.0 - fr)),
            (0, 1, (1.0 - fc) * fr),
            (1, 1, fc * fr),
        ] {
            if w > 0.0 {
                sum += w * self.post(c0 + dc, r0 + dr)?;
            }
        }
        Some(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_is_exact_on_a_plane_and_refuses_voids() {
        // z = 10 + 2·col + 3·row on a 3 × 3 grid, with a void at (2, 2).
        let mut v: Vec<f32> = (0..9)
            .map(|i| 10.0 + 2.0 * (i % 3) as f32 + 3.0 * (i / 3) as f32)
            .collect();
        v[8] = f32::NAN;
        let g = Grid::new(3, 3, &v).unwrap();
        assert!((g.bilinear(0.5, 0.25).unwrap() - 11.75).abs() < 1e-9);
        assert!((g.bilinear(1.0, 1.0).unwrap() - 15.0).abs() < 1e-9);
        // On the edge shared with the void cell, the void has weight 0.
        assert!((g.bilinear(1.0, 1.5).unwrap() - 16.5).abs() < 1e-9);
        assert_eq!(g.bilinear(1.5, 1.5), None);
        assert_eq!(g.bilinear(-0.1, 0.0), None);
        assert_eq!(g.bilinear(0.0, 2.1), None);
    }
}
