//! A walk over a DICOM file's element headers that checks every declared
//! value length against the bytes the file has, before dicom-rs reads the
//! file. dicom-rs reserves (and zero-fills) each value's declared length
//! before reading it, so a 30 KB file declaring a 4 GB Pixel Data would make
//! it allocate 4 GB (found by the `dicom_folder` fuzz target; see
//! docs/ROBUSTNESS.md). Values are skipped by seeking: only headers are read.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Checks the declared lengths of every element (nested items and
/// encapsulated fragments included) of the file at `path`. Files without
/// the `DICM` preamble and deflated files are not walked (dicom-rs refuses
/// the first; the second cannot be walked without inflating).
pub fn check_element_lengths(path: &Path) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut r = BufReader::new(file);
    let mut pre = [0u8; 132];
    if r.read_exact(&mut pre).is_err() || &pre[128..132] != b"DICM" {
        return Ok(());
    }
    let mut at: u64 = 132;
    // The meta group: explicit VR little endian.
    let mut ts = String::new();
    let mut walker = Walker {
        explicit: true,
        big: false,
        size,
        fragments: false,
    };
    loop {
        let mut tag = [0u8; 4];
        if r.read_exact(&mut tag).is_err() {
            return Ok(());
        }
        if u16::from_le_bytes([tag[0], tag[1]]) != 0x0002 {
            r.seek_relative(-4).map_err(|e| e.to_string())?;
            break;
        }
        let (_, len, header) = walker.value_header(&mut r, true, at)?;
        let element = u16::from_le_bytes([tag[2], tag[3]]);
        at += 4 + header;
        walker.fits(len, at, (0x0002, element))?;
        if element == 0x0010 && len < 256 {
            let mut v = vec![0u8; len as usize];
            r.read_exact(&mut v).map_err(|e| e.to_string())?;
            ts.clear();
            ts.push_str(String::from_utf8_lossy(&v).trim_end_matches(['\0', ' ']));
        } else {
            r.seek_relative(i64::from(len)).map_err(|e| e.to_string())?;
        }
        at += u64::from(len);
    }
    match ts.as_str() {
        "1.2.840.10008.1.2.1.99" => return Ok(()),
        "1.2.840.10008.1.2" => walker.explicit = false,
        "1.2.840.10008.1.2.2" => walker.big = true,
        _ => {}
    }
    walker.walk(&mut r, at)
}

struct Walker {
    explicit: bool,
    big: bool,
    size: u64,
    /// Inside encapsulated pixel data: items are fragments (skipped).
    fragments: bool,
}

impl Walker {
    fn u16(&self, b: [u8; 2]) -> u16 {
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(&self, b: [u8; 4]) -> u32 {
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// Reads the VR (when explicit; else blank) and the length after a
    /// tag; returns them with the number of header bytes read after the tag.
    fn value_header<R: Read>(
        &self,
        r: &mut R,
        explicit: bool,
        at: u64,
    ) -> Result<([u8; 2], u32, u64), String> {
        let truncated = |_| format!("the file ends inside the element header at byte {at}");
        if !explicit {
            let mut l = [0u8; 4];
            r.read_exact(&mut l).map_err(truncated)?;
            return Ok((*b"  ", self.u32(l), 4));
        }
        let mut vr = [0u8; 4];
        r.read_exact(&mut vr).map_err(truncated)?;
        let code = [vr[0], vr[1]];
        // As dicom-rs decodes it: these VRs have a 16-bit length; every
        // other one, unknown VRs included (read as UN), 2 reserved bytes and
        // a 32-bit length.
        if matches!(
            &code,
            b"AE"
                | b"AS"
                | b"AT"
                | b"CS"
                | b"DA"
                | b"DS"
                | b"DT"
                | b"FL"
                | b"FD"
                | b"IS"
                | b"LO"
                | b"LT"
                | b"PN"
                | b"SH"
                | b"SL"
                | b"SS"
                | b"ST"
                | b"TM"
                | b"UI"
                | b"UL"
                | b"US"
        ) {
            Ok((code, u32::from(self.u16([vr[2], vr[3]])), 4))
        } else {
            let mut l = [0u8; 4];
            r.read_exact(&mut l).map_err(truncated)?;
            Ok((code, self.u32(l), 8))
        }
    }

    fn fits(&self, len: u32, at: u64, tag: (u16, u16)) -> Result<(), String> {
        if len != UNDEFINED && u64::from(len) > self.size.saturating_sub(at) {
            return Err(format!(
                "damaged file: element ({:04X},{:04X}) at byte {at} declares {len} bytes, but the file has only {} bytes left",
                tag.0,
                tag.1,
                self.size.saturating_sub(at)
            ));
        }
        Ok(())
    }

    fn walk<R: Read + Seek>(&mut self, r: &mut BufReader<R>, mut at: u64) -> Result<(), String> {
        loop {
            let mut tag = [0u8; 4];
            if r.read_exact(&mut tag).is_err() {
                return Ok(()); // The end (or a truncated tag: dicom-rs says so).
            }
            let group = self.u16([tag[0], tag[1]]);
            let element = self.u16([tag[2], tag[3]]);
            if group == 0xFFFE {
                // Item and delimiters: a length, never a VR.
                let mut l = [0u8; 4];
                if r.read_exact(&mut l).is_err() {
                    return Ok(());
                }
                let len = self.u32(l);
                at += 8;
                match element {
                    0xE000 if self.fragments => {
                        self.fits(len, at, (group, element))?;
                        if len == UNDEFINED {
                            return Err(format!(
                                "a pixel data fragment at byte {at} has no length"
                            ));
                        }
                        r.seek_relative(i64::from(len)).map_err(|e| e.to_string())?;
                        at += u64::from(len);
                    }
                    0xE000 => self.fits(len, at, (group, element))?, // into the item
                    0xE0DD => self.fragments = false,
                    _ => {}
                }
                continue;
            }
            let Ok((vr, len, header)) = self.value_header(r, self.explicit, at) else {
                return Ok(()); // A truncated header: dicom-rs says so.
            };
            at += 4 + header;
            self.fits(len, at, (group, element))?;
            if len == UNDEFINED {
                // A sequence, or encapsulated pixel data: walk into it.
                if (group, element) == (0x7FE0, 0x0010) {
                    self.fragments = true;
                }
                continue;
            }
            // A defined-length sequence: walk its items. (Implicit VR has no
            // VR to tell; dicom-rs asks its dictionary, we look for an item.)
            if &vr == b"SQ" || !self.explicit && self.starts_with_item(r)? {
                continue;
            }
            r.seek_relative(i64::from(len)).map_err(|e| e.to_string())?;
            at += u64::from(len);
        }
    }

    /// Whether the next bytes are an item tag (a sequence's first item).
    fn starts_with_item<R: Read + Seek>(&self, r: &mut BufReader<R>) -> Result<bool, String> {
        let mut t = [0u8; 4];
        if r.read_exact(&mut t).is_err() {
            return Ok(false);
        }
        r.seek_relative(-4).map_err(|e| e.to_string())?;
        Ok(self.u16([t[0], t[1]]) == 0xFFFE && self.u16([t[2], t[3]]) == 0xE000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal explicit-VR LE file: meta group, Rows, and a Pixel Data
    /// element declaring `pixel_len` bytes, followed by `have` bytes.
    fn file(pixel_len: u32, have: usize) -> Vec<u8> {
        let mut b = vec![0u8; 128];
        b.extend_from_slice(b"DICM");
        let ts = b"1.2.840.10008.1.2.1\0";
        b.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        b.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        b.extend_from_slice(ts);
        b.extend_from_slice(&[0x28, 0x00, 0x10, 0x00, b'U', b'S', 2, 0, 4, 0]);
        // A sequence of undefined length with one item holding a string.
        b.extend_from_slice(&[0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0]);
        b.extend_from_slice(&UNDEFINED.to_le_bytes());
        b.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 10, 0, 0, 0]);
        b.extend_from_slice(&[0x08, 0x00, 0x50, 0x11, b'U', b'I', 2, 0, b'1', 0]);
        b.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        b.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        b.extend_from_slice(&pixel_len.to_le_bytes());
        b.extend(std::iter::repeat_n(7u8, have));
        b
    }

    #[test]
    fn a_declared_length_beyond_the_file_is_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("twin-lengths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.dcm");
        std::fs::write(&p, file(32, 32)).unwrap();
        check_element_lengths(&p).unwrap();
        std::fs::write(&p, file(0xC000_0000, 32)).unwrap();
        let e = check_element_lengths(&p).unwrap_err();
        assert!(e.contains("(7FE0,0010)") && e.contains("3221225472"), "{e}");
        // A length inside a nested item.
        let mut b = file(32, 32);
        let at = b
            .windows(4)
            .position(|w| w == [0x08, 0x00, 0x50, 0x11])
            .unwrap();
        b[at + 6] = 0xFF;
        b[at + 7] = 0xFF;
        std::fs::write(&p, &b).unwrap();
        let e = check_element_lengths(&p).unwrap_err();
        assert!(e.contains("(0008,1150)"), "{e}");
        // An unknown VR: dicom-rs reads a 32-bit length after 2 reserved
        // bytes (the second fuzz finding: `$\xFA` and a 4.2 GB length).
        let mut b = file(32, 32);
        let at = b
            .windows(4)
            .position(|w| w == [0x28, 0x00, 0x10, 0x00])
            .unwrap();
        b.splice(at + 4..at + 10, [b'$', 0xFA, 0, 0, 0x24, 0x00, 0x24, 0xFA]);
        std::fs::write(&p, &b).unwrap();
        let e = check_element_lengths(&p).unwrap_err();
        assert!(e.contains("(0028,0010)") && e.contains("4196663332"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
