//! Fixed-seed mutations of real files for the robustness tests: bit flips,
//! truncations, huge numbers, NaN and infinite values in text formats,
//! deleted lines, duplicated blocks, and (for binary formats with a known
//! layout) chosen fields overwritten. The same keys give the same files on
//! every run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

pub use twin_phantom::rng::mix64;

/// An empty scratch folder `twin-NAME-PID` in the temp folder.
#[must_use]
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One generic mutation of `bytes`, chosen and placed by `key`.
#[must_use]
pub fn mutate(bytes: &[u8], key: u64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let n = out.len().max(1);
    let at = (mix64(key) as usize) % n;
    match mix64(key ^ 0x5555) % 6 {
        0 => {
            // Flip one to eight bits.
            for k in 0..=(mix64(key ^ 7) % 8) {
                let i = (mix64(key ^ k) as usize) % n;
                if let Some(b) = out.get_mut(i) {
                    *b ^= 1 << (mix64(key ^ k ^ 0x63) % 8);
                }
            }
        }
        1 => out.truncate(at),
        2 | 3 => {
            // Replace the number around `at` (text formats).
            let junk: &[u8] = match mix64(key ^ 3) % 5 {
                0 => b"NaN",
                1 => b"inf",
                2 => b"-1e308",
                3 => b"99999999999999999999",
                _ => b"-",
            };
            let end = (at + 6).min(out.len());
            out.splice(at..end, junk.iter().copied());
        }
        4 => {
            // Delete a line.
            let start = out[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            let end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |i| at + i + 1);
            out.drain(start..end);
        }
        _ => {
            // Duplicate a block (long lines, repeated elements).
            let end = (at + 4096).min(out.len());
            let block = out[at..end].to_vec();
            out.splice(at..at, block);
        }
    }
    out
}

/// Overwrites `width` bytes at `at` (clamped to the file) with a value
/// chosen by `key`: all ones, zero, a huge or a negative little-endian
/// number, or a NaN (as f32).
#[must_use]
pub fn overwrite_field(bytes: &[u8], at: usize, width: usize, key: u64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let end = (at + width).min(out.len());
    if at >= end {
        return out;
    }
    let value: [u8; 8] = match mix64(key) % 5 {
        0 => [0xFF; 8],
        1 => [0; 8],
        2 => 0x7FFF_FFF0_u64.to_le_bytes(),
        3 => (-5_i64).to_le_bytes(),
        _ => {
            let mut v = [0u8; 8];
            v[..4].copy_from_slice(&f32::NAN.to_le_bytes());
            v
        }
    };
    for (k, b) in out[at..end].iter_mut().enumerate() {
        *b = value[k % 8];
    }
    out
}

/// What a reader did with one mutated file.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub read: u64,
    pub refused: u64,
}

/// Runs `read` on the file at `target` (already written) and checks that it
/// returned without panicking and that an error names `name`.
///
/// # Panics
/// When the reader panics or its error does not name the file.
pub fn check(
    tally: &mut Tally,
    target: &Path,
    name: &str,
    what: &str,
    read: &dyn Fn(&Path) -> Result<(), String>,
) {
    match catch_unwind(AssertUnwindSafe(|| read(target))) {
        Ok(Ok(())) => tally.read += 1,
        Ok(Err(e)) => {
            assert!(
                e.contains(name) || e.contains(&target.display().to_string()),
                "{what}: the error does not name the file `{name}`: {e}"
            );
            tally.refused += 1;
        }
        Err(payload) => panic!(
            "{what}: the reader panicked: {:?} {:?}",
            payload.downcast_ref::<String>(),
            payload.downcast_ref::<&str>()
        ),
    }
}

/// Runs `read` on `rounds` generic mutations of `original`, written into
/// `scratch` under the original's name.
///
/// # Panics
/// As [`check`].
pub fn survive(
    original: &Path,
    scratch: &Path,
    rounds: u64,
    read: &dyn Fn(&Path) -> Result<(), String>,
) -> Tally {
    let bytes = std::fs::read(original).unwrap();
    let name = original.file_name().unwrap().to_string_lossy().to_string();
    let target = scratch.join(&name);
    let mut tally = Tally::default();
    for r in 0..rounds {
        let key = mix64(r ^ (name.len() as u64 * 0x1000_0000));
        std::fs::write(&target, mutate(&bytes, key)).unwrap();
        check(
            &mut tally,
            &target,
            &name,
            &format!("{name}, mutation {r} (key {key:#x})"),
            read,
        );
    }
    tally
}

/// One data element of an explicit-VR little-endian DICOM file: where it
/// starts, where its VR and length fields are, and where its value starts.
#[derive(Debug, Clone, Copy)]
pub struct DicomField {
    pub start: usize,
    pub group: u16,
    pub element: u16,
    pub vr_at: usize,
    pub length_at: usize,
    pub length_width: usize,
    pub value_at: usize,
    pub length: usize,
}

/// The top-level elements of an explicit-VR little-endian file (after the
/// 128-byte preamble and `DICM`), up to and including Pixel Data or the
/// first element of undefined length. Empty for other files.
#[must_use]
pub fn dicom_fields(bytes: &[u8]) -> Vec<DicomField> {
    let mut out = Vec::new();
    if bytes.get(128..132) != Some(b"DICM") {
        return out;
    }
    let mut at = 132;
    while at + 8 <= bytes.len() {
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let (group, element) = (u16_at(at), u16_at(at + 2));
        let vr = &bytes[at + 4..at + 6];
        let long = matches!(
            vr,
            b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR"
        );
        let (length_at, length_width, value_at) = if long {
            (at + 8, 4, at + 12)
        } else {
            (at + 6, 2, at + 8)
        };
        if value_at > bytes.len() {
            break;
        }
        let length = if long {
            u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize
        } else {
            usize::from(u16_at(at + 6))
        };
        out.push(DicomField {
            start: at,
            group,
            element,
            vr_at: at + 4,
            length_at,
            length_width,
            value_at,
            length,
        });
        if length == 0xFFFF_FFFF || (group, element) == (0x7FE0, 0x0010) {
            break;
        }
        at = value_at + length;
    }
    out
}

/// Transfer syntax, rows, columns, bits allocated and stored, samples per
/// pixel, number of frames, pixel spacing, image position and orientation,
/// slice thickness, pixel data.
const IMAGE_ATTRIBUTES: [(u16, u16); 12] = [
    (0x0002, 0x0010),
    (0x0028, 0x0010),
    (0x0028, 0x0011),
    (0x0028, 0x0100),
    (0x0028, 0x0101),
    (0x0028, 0x0002),
    (0x0028, 0x0008),
    (0x0028, 0x0030),
    (0x0020, 0x0032),
    (0x0020, 0x0037),
    (0x0018, 0x0050),
    (0x7FE0, 0x0010),
];

/// A DICOM-aware mutation: truncation at an element boundary (inside the
/// tag, VR, length or value), a huge or absurd length, a wrong VR, or an
/// image attribute (rows, columns, bits, frames, pixel spacing, position,
/// transfer syntax, pixel data) overwritten. Falls back to [`mutate`] for
/// files without explicit-VR elements.
#[must_use]
pub fn mutate_dicom(bytes: &[u8], key: u64) -> Vec<u8> {
    let fields = dicom_fields(bytes);
    if fields.is_empty() || mix64(key ^ 0xD1C0).is_multiple_of(4) {
        return mutate(bytes, key);
    }
    let important: Vec<&DicomField> = fields
        .iter()
        .filter(|f| IMAGE_ATTRIBUTES.contains(&(f.group, f.element)))
        .collect();
    let pick =
        |k: u64, set: &[&DicomField]| -> DicomField { *set[(mix64(key ^ k) as usize) % set.len()] };
    let all: Vec<&DicomField> = fields.iter().collect();
    let f = if important.is_empty() || mix64(key ^ 1).is_multiple_of(2) {
        pick(2, &all)
    } else {
        pick(3, &important)
    };
    let mut out = bytes.to_vec();
    match mix64(key ^ 0xF00D) % 5 {
        0 => {
            // Truncate at a boundary of this element.
            let cut = [
                f.start,
                f.start + 2,
                f.vr_at,
                f.length_at,
                f.value_at,
                f.value_at + f.length / 2,
            ];
            out.truncate(cut[(mix64(key ^ 4) as usize) % cut.len()].min(out.len()));
            out
        }
        1 => overwrite_field(&out, f.length_at, f.length_width, key ^ 5),
        2 => {
            // A wrong VR.
            let vrs: [&[u8; 2]; 8] = [b"US", b"OB", b"SQ", b"DS", b"UN", b"FD", b"PN", b"\0\0"];
            let vr = vrs[(mix64(key ^ 6) as usize) % vrs.len()];
            out[f.vr_at..f.vr_at + 2].copy_from_slice(vr);
            out
        }
        3 => {
            // The value: a binary field overwritten, or text made absurd.
            let width = f.length.clamp(1, 8);
            if mix64(key ^ 8).is_multiple_of(2) {
                overwrite_field(&out, f.value_at, width, key ^ 7)
            } else {
                let junk: &[u8] = match mix64(key ^ 9) % 4 {
                    0 => b"NaN\\inf\\-1e308",
                    1 => b"99999999999",
                    2 => b"-0",
                    _ => b"\\\\\\",
                };
                let end = (f.value_at + f.length).min(out.len());
                let mut value = junk.to_vec();
                value.resize(end.saturating_sub(f.value_at), b' ');
                out.splice(f.value_at.min(end)..end, value);
                out
            }
        }
        _ => mutate(&out, key),
    }
}
