//! Deterministic random numbers shared by the phantoms (noise hashed per
//! pixel) and the optimisers (seeded streams): the `SplitMix64` finaliser
//! and its mapping to the open unit interval.

/// `SplitMix64` finaliser: a high-quality 64-bit mix of `x` (the golden
/// ratio increment added first, so `mix64(s + k·φ)` for k = 0, 1, … is the
/// `SplitMix64` stream seeded with `s`).
#[must_use]
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(GOLDEN);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `SplitMix64` increment (2⁶⁴/φ).
pub const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Uniform number in (0, 1] from a 64-bit hash: never 0, so its logarithm
/// is finite (the largest hashes round to 1).
#[must_use]
pub fn unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_never_zero() {
        assert_eq!(mix64(42), mix64(42));
        assert_ne!(mix64(42), mix64(43));
        for h in [0, 1, u64::MAX, mix64(7)] {
            let u = unit(h);
            assert!(u > 0.0 && u <= 1.0, "{u}");
        }
    }
}
