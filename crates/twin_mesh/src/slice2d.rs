//! One short-axis slice as plain numbers: sampling, filtering and centroids
//! shared by the cine methods ([`crate::cine`], [`crate::cine_net`],
//! [`crate::cine_wall`]).

use crate::segment::Mask;

/// Bilinear value at a fractional pixel position (`None` outside).
pub(crate) fn bilinear(values: &[f32], [nx, ny]: [usize; 2], x: f64, y: f64) -> Option<f32> {
    if !(x >= 0.0 && y >= 0.0 && x <= (nx - 1) as f64 && y <= (ny - 1) as f64) {
        return None;
    }
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(nx - 1), (y0 + 1).min(ny - 1));
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let v = |x: usize, y: usize| values[x + nx * y];
    Some(
        (v(x0, y0) * (1.0 - fx) + v(x1, y0) * fx) * (1.0 - fy)
            + (v(x0, y1) * (1.0 - fx) + v(x1, y1) * fx) * fy,
    )
}

/// A slice through a 3 × 3 median filter (edges keep their place).
pub(crate) fn median3x3(values: &[f32], nx: usize, ny: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    let mut w = Vec::with_capacity(9);
    for y in 0..ny {
        for x in 0..nx {
            w.clear();
            for yy in y.saturating_sub(1)..=(y + 1).min(ny - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(nx - 1) {
                    w.push(values[xx + nx * yy]);
                }
            }
            w.sort_by(f32::total_cmp);
            out[x + nx * y] = w[w.len() / 2];
        }
    }
    out
}

/// The in-plane centroid (pixels) of the set pixels of a one-slice mask
/// (`data` is `nx` wide).
pub(crate) fn centroid_px(data: &[u8], nx: usize) -> Option<[f64; 2]> {
    let (mut s, mut n) = ([0.0, 0.0], 0usize);
    for (i, &m) in data.iter().enumerate() {
        if m != 0 {
            s[0] += (i % nx) as f64;
            s[1] += (i / nx) as f64;
            n += 1;
        }
    }
    (n > 0).then(|| [s[0] / n as f64, s[1] / n as f64])
}

/// [`centroid_px`] of a one-slice [`Mask`].
pub(crate) fn centroid(mask: &Mask) -> Option<[f64; 2]> {
    centroid_px(&mask.data, mask.dims[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_interpolates_and_refuses_outside() {
        let v = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(bilinear(&v, [2, 2], 0.5, 0.5), Some(1.5));
        assert_eq!(bilinear(&v, [2, 2], 1.0, 0.0), Some(1.0));
        assert_eq!(bilinear(&v, [2, 2], 1.5, 0.0), None);
    }

    #[test]
    fn median_removes_a_single_spike() {
        let mut v = vec![1.0; 25];
        v[12] = 100.0;
        assert!(
            median3x3(&v, 5, 5)
                .iter()
                .all(|&x| (x - 1.0).abs() < f32::EPSILON)
        );
    }

    #[test]
    fn centroid_of_two_pixels() {
        assert_eq!(centroid_px(&[1, 0, 0, 1], 2), Some([0.5, 0.5]));
        assert_eq!(centroid_px(&[0, 0], 2), None);
    }
}
