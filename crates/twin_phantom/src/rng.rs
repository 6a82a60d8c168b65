//! A tiny deterministic random source (`SplitMix64`) for reproducible phantom noise.
//!
//! Noise is drawn per pixel from a hash of (seed, image, pixel) rather than from a
//! running stream, so images can be generated in parallel and still be identical.

pub use twin_core::rng::{mix64, unit};

/// Two independent standard normal deviates for the key `key` (Box–Muller).
#[must_use]
pub fn normal_pair(key: u64) -> (f64, f64) {
    let u1 = unit(mix64(key));
    let u2 = unit(mix64(key ^ 0xD1B5_4A32_D192_ED03));
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_moments_are_standard() {
        let n = 200_000u64;
        let (mut s, mut s2) = (0.0, 0.0);
        for k in 0..n {
            let (a, b) = normal_pair(k);
            s += a + b;
            s2 += a * a + b * b;
        }
        let m = s / (2 * n) as f64;
        let v = s2 / (2 * n) as f64 - m * m;
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((v - 1.0).abs() < 0.01, "variance {v}");
    }

    #[test]
    fn deterministic() {
        assert_eq!(mix64(42), mix64(42));
        assert_ne!(mix64(42), mix64(43));
    }
}
