//! Deterministic, valid DICOM UIDs under the `2.25` (UUID-derived) root.
//!
//! PS3.5 §B.2 allows `2.25.<decimal of a 128-bit UUID>`; we derive the 128 bits
//! from a hash of a descriptive key, so the same phantom always gets the same UIDs
//! and different keys practically never collide.

use crate::rng::mix64;

/// A UID `2.25.N` where `N` is a 128-bit hash of `key` (at most 44 characters).
#[must_use]
pub fn uid_for(key: &str) -> String {
    let mut h1 = 0xCBF2_9CE4_8422_2325u64;
    let mut h2 = 0x8422_2325_CBF2_9CE4u64;
    for b in key.bytes() {
        h1 = mix64(h1 ^ u64::from(b));
        h2 = mix64(h2.wrapping_add(u64::from(b)).rotate_left(7));
    }
    // Variant/version bits as in a random (v4) UUID, then the integer value.
    let mut v = (u128::from(h1) << 64) | u128::from(h2);
    v &= !(0xF_u128 << 76);
    v |= 0x4_u128 << 76;
    v &= !(0x3_u128 << 62);
    v |= 0x2_u128 << 62;
    format!("2.25.{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_stable() {
        let a = uid_for("study/cardiac");
        assert_eq!(a, uid_for("study/cardiac"));
        assert_ne!(a, uid_for("study/legs"));
        assert!(a.len() <= 64);
        assert!(a.starts_with("2.25."));
        let tail = &a[5..];
        assert!(tail.bytes().all(|c| c.is_ascii_digit()));
        assert!(!tail.starts_with('0'));
    }
}
