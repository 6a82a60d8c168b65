//! Contours of one-slice masks and masks of contours, so that a segmentation
//! can be shown, reviewed and corrected as polygons.
//!
//! [`trace`] follows the cracks between set and unset pixels (points at pixel
//! corners, pixel centres at integer coordinates), so the polygon's area is
//! the mask's pixel count exactly and [`fill`] (pixel centres inside, even–odd
//! rule) gives the same pixels back: an unedited contour round-trips.

use std::collections::HashMap;

/// The outer boundary of the largest 4-connected region of a one-slice
/// mask (`nx × ny`, row-major), counter-clockwise in pixel coordinates
/// (x right, y down: clockwise on screen), without collinear points. Empty
/// when nothing is set.
#[must_use]
pub fn trace(mask: &[u8], nx: usize, ny: usize) -> Vec<[f64; 2]> {
    let set = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && (x as usize) < nx
            && (y as usize) < ny
            && mask[x as usize + nx * y as usize] != 0
    };
    // Directed crack edges around each set pixel (positive shoelace area in
    // pixel coordinates), by start corner;
    // corner (x, y) is the top-left corner of pixel (x, y).
    let mut next: HashMap<(i64, i64), Vec<(i64, i64)>> = HashMap::new();
    for y in 0..ny as i64 {
        for x in 0..nx as i64 {
            if !set(x, y) {
                continue;
            }
            if !set(x, y - 1) {
                next.entry((x, y)).or_default().push((x + 1, y));
            }
            if !set(x + 1, y) {
                next.entry((x + 1, y)).or_default().push((x + 1, y + 1));
            }
            if !set(x, y + 1) {
                next.entry((x + 1, y + 1)).or_default().push((x, y + 1));
            }
            if !set(x - 1, y) {
                next.entry((x, y + 1)).or_default().push((x, y));
            }
        }
    }
    let mut loops: Vec<Vec<(i64, i64)>> = Vec::new();
    let mut starts: Vec<(i64, i64)> = next.keys().copied().collect();
    starts.sort_unstable();
    for s in starts {
        while next.get(&s).is_some_and(|v| !v.is_empty()) {
            let mut ring = vec![s];
            let mut at = s;
            let mut prev_dir = (0, 0);
            while let Some(outs) = next.get_mut(&at) {
                if outs.is_empty() {
                    break;
                }
                // At a corner shared by two diagonal pixels, turn towards the
                // set pixel (keeps 4-connected regions apart).
                let pick = if outs.len() > 1 {
                    let left = (-prev_dir.1, prev_dir.0);
                    outs.iter()
                        .position(|&o| (o.0 - at.0, o.1 - at.1) == left)
                        .unwrap_or(0)
                } else {
                    0
                };
                let to = outs.swap_remove(pick);
                prev_dir = (to.0 - at.0, to.1 - at.1);
                at = to;
                if at == s {
                    break;
                }
                ring.push(at);
            }
            loops.push(ring);
        }
    }
    let area = |r: &Vec<(i64, i64)>| {
        let n = r.len();
        (0..n)
            .map(|i| {
                let (a, b) = (r[i], r[(i + 1) % n]);
                (a.0 * b.1 - b.0 * a.1) as f64
            })
            .sum::<f64>()
            / 2.0
    };
    // Outer boundaries have positive area in this orientation; holes negative.
    let Some(best) = loops
        .into_iter()
        .filter(|r| area(r) > 0.0)
        .max_by(|a, b| area(a).total_cmp(&area(b)))
    else {
        return Vec::new();
    };
    let n = best.len();
    best.iter()
        .enumerate()
        .filter(|&(i, p)| {
            let (a, b) = (best[(i + n - 1) % n], best[(i + 1) % n]);
            (p.0 - a.0) * (b.1 - p.1) != (p.1 - a.1) * (b.0 - p.0)
        })
        .map(|(_, p)| [p.0 as f64 - 0.5, p.1 as f64 - 0.5])
        .collect()
}

/// The pixels of an `nx × ny` slice whose centres lie inside `polygon`
/// (pixel coordinates; even–odd rule).
#[must_use]
pub fn fill(polygon: &[[f64; 2]], nx: usize, ny: usize) -> Vec<u8> {
    let mut out = vec![0u8; nx * ny];
    if polygon.len() < 3 {
        return out;
    }
    let mut xs: Vec<f64> = Vec::new();
    for y in 0..ny {
        let yf = y as f64;
        xs.clear();
        for i in 0..polygon.len() {
            let (a, b) = (polygon[i], polygon[(i + 1) % polygon.len()]);
            if (a[1] > yf) != (b[1] > yf) {
                xs.push(a[0] + (yf - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let from = pair[0].ceil().max(0.0);
            let to = pair[1].floor().min(nx as f64 - 1.0);
            // Half-open on the right: a centre exactly on the right edge is out.
            let to = if (to - pair[1]).abs() < 1e-12 {
                to - 1.0
            } else {
                to
            };
            if to < from {
                continue;
            }
            for x in from as usize..=to as usize {
                out[x + nx * y] = 1;
            }
        }
    }
    out
}

/// Area enclosed by a polygon (pixel² , positive counter-clockwise in
/// pixel coordinates).
#[must_use]
pub fn area(polygon: &[[f64; 2]]) -> f64 {
    let n = polygon.len();
    (0..n)
        .map(|i| {
            let (a, b) = (polygon[i], polygon[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc(nx: usize, ny: usize, c: [f64; 2], r: f64) -> Vec<u8> {
        (0..nx * ny)
            .map(|i| {
                let (x, y) = ((i % nx) as f64, (i / nx) as f64);
                u8::from((x - c[0]).hypot(y - c[1]) <= r)
            })
            .collect()
    }

    #[test]
    fn a_traced_mask_fills_back_to_itself() {
        let (nx, ny) = (40, 30);
        for (c, r) in [([20.0, 15.0], 9.3), ([3.0, 4.0], 6.0), ([10.5, 12.2], 1.0)] {
            let m = disc(nx, ny, c, r);
            let p = trace(&m, nx, ny);
            let count = m.iter().filter(|&&v| v != 0).count() as f64;
            assert!((area(&p) - count).abs() < 1e-9, "{} vs {count}", area(&p));
            assert_eq!(fill(&p, nx, ny), m);
        }
        // A region touching the image edge, and one single pixel.
        let mut m = vec![0u8; nx * ny];
        m[0] = 1;
        let p = trace(&m, nx, ny);
        assert_eq!(p.len(), 4);
        assert_eq!(fill(&p, nx, ny), m);
        assert!(trace(&vec![0u8; nx * ny], nx, ny).is_empty());
    }

    #[test]
    fn the_largest_region_is_kept_and_holes_are_filled() {
        let (nx, ny) = (40, 30);
        let mut m = disc(nx, ny, [12.0, 15.0], 8.0);
        let small = disc(nx, ny, [33.0, 15.0], 3.0);
        let hole = disc(nx, ny, [12.0, 15.0], 2.0);
        let filled = m.clone();
        for i in 0..m.len() {
            m[i] = u8::from((m[i] != 0 && hole[i] == 0) || small[i] != 0);
        }
        let p = trace(&m, nx, ny);
        assert_eq!(fill(&p, nx, ny), filled);
    }

    #[test]
    fn diagonal_neighbours_are_two_regions() {
        // Two pixels touching only at a corner: 4-connected, so two regions
        // of one pixel; the trace keeps one.
        let mut m = vec![0u8; 16];
        m[5] = 1;
        m[10] = 1;
        let p = trace(&m, 4, 4);
        assert!((area(&p) - 1.0).abs() < 1e-12, "{p:?}");
    }
}
