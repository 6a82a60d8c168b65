//! Decoding stored pixel values (before rescale) of one file, for every
//! transfer syntax in the test data: uncompressed (little/big endian,
//! implicit/explicit), deflate, RLE, JPEG baseline/extended/lossless and
//! JPEG 2000 through dicom-pixeldata's pure-Rust codecs, and JPEG-LS through
//! [`crate::jpegls`].

use std::path::Path;

use dicom::dictionary_std::tags;
use dicom::object::{DefaultDicomObject, open_file};
use dicom::pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};

const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];

/// The stored values of some frames of one file (greyscale only).
#[derive(Debug, Clone)]
pub struct StoredFrames {
    pub rows: usize,
    pub columns: usize,
    /// Bits stored (for MONOCHROME1 inversion).
    pub bits_stored: u16,
    /// One row-major vector per requested frame, in request order.
    pub frames: Vec<Vec<i32>>,
}

/// Opens `path` and decodes the stored values of `frames` (0-based). The
/// error names what is wrong; the caller adds the file name.
pub fn decode_frames(path: &Path, frames: &[u32]) -> Result<StoredFrames, String> {
    crate::lengths::check_element_lengths(path).map_err(|e| format!("cannot read: {e}"))?;
    twin_core::limits::contain_panic(|| {
        let obj = open_file(path).map_err(|e| format!("cannot read: {e}"))?;
        decode_object_frames(&obj, frames)
    })
    .and_then(|r| r)
}

/// As [`decode_frames`], on an opened object.
pub fn decode_object_frames(
    obj: &DefaultDicomObject,
    frames: &[u32],
) -> Result<StoredFrames, String> {
    let ts = obj.meta().transfer_syntax().trim_end_matches('\0');
    if JPEG_LS.contains(&ts) {
        return decode_jpegls(obj, frames);
    }
    let decoded = obj
        .decode_pixel_data()
        .map_err(|e| format!("cannot decode pixel data: {e}"))?;
    if decoded.samples_per_pixel() != 1 {
        return Err(format!(
            "{} samples per pixel (colour images are not volumes)",
            decoded.samples_per_pixel()
        ));
    }
    let options = ConvertOptions::new().with_modality_lut(ModalityLutOption::None);
    let (rows, columns) = (decoded.rows() as usize, decoded.columns() as usize);
    let mut out = Vec::with_capacity(frames.len());
    for &f in frames {
        if f >= decoded.number_of_frames() {
            return Err(format!(
                "frame {} requested, the file holds {}",
                f + 1,
                decoded.number_of_frames()
            ));
        }
        let v: Vec<i32> = decoded
            .to_vec_frame_with_options(f, &options)
            .map_err(|e| format!("cannot convert pixel data of frame {}: {e}", f + 1))?;
        if v.len() != rows * columns {
            return Err(format!(
                "frame {} holds {} values, Rows × Columns = {}",
                f + 1,
                v.len(),
                rows * columns
            ));
        }
        out.push(v);
    }
    Ok(StoredFrames {
        rows,
        columns,
        bits_stored: decoded.bits_stored(),
        frames: out,
    })
}

fn uint(obj: &DefaultDicomObject, tag: dicom::core::Tag) -> Option<u32> {
    obj.get(tag)?.to_int::<u32>().ok()
}

fn decode_jpegls(obj: &DefaultDicomObject, frames: &[u32]) -> Result<StoredFrames, String> {
    let rows = uint(obj, tags::ROWS).ok_or("Rows missing")? as usize;
    let columns = uint(obj, tags::COLUMNS).ok_or("Columns missing")? as usize;
    let spp = uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if spp != 1 {
        return Err(format!(
            "{spp} samples per pixel (colour images are not volumes)"
        ));
    }
    let bits_stored = uint(obj, tags::BITS_STORED).unwrap_or(16).clamp(1, 16) as u16;
    let signed = uint(obj, tags::PIXEL_REPRESENTATION) == Some(1);
    let n_frames = uint(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    let pixel = obj.get(tags::PIXEL_DATA).ok_or("no Pixel Data element")?;
    let fragments = pixel
        .value()
        .fragments()
        .ok_or("JPEG-LS transfer syntax but the pixel data is not encapsulated")?;
    let offsets = pixel.value().offset_table().unwrap_or(&[]);
    // One code stream per frame: fragments grouped by the offset table, one
    // fragment per frame, or all fragments for a single frame.
    let streams: Vec<Vec<u8>> = if fragments.len() == n_frames {
        fragments.to_vec()
    } else if n_frames == 1 {
        vec![fragments.concat()]
    } else if offsets.len() == n_frames {
        let mut starts = Vec::new();
        let mut at = 0u64;
        for f in fragments {
            starts.push(at);
            at += f.len() as u64 + 8;
        }
        (0..n_frames)
            .map(|i| {
                let (lo, hi) = (
                    u64::from(offsets[i]),
                    offsets.get(i + 1).map_or(u64::MAX, |&o| u64::from(o)),
                );
                fragments
                    .iter()
                    .zip(&starts)
                    .filter(|(_, s)| **s >= lo && **s < hi)
                    .flat_map(|(f, _)| f.iter().copied())
                    .collect()
            })
            .collect()
    } else {
        return Err(format!(
            "{} fragments for {n_frames} frames and no usable offset table",
            fragments.len()
        ));
    };
    let mut out = Vec::with_capacity(frames.len());
    for &f in frames {
        let stream = streams
            .get(f as usize)
            .ok_or_else(|| format!("frame {} requested, the file holds {n_frames}", f + 1))?;
        let img = crate::jpegls::decode(stream).map_err(|e| format!("frame {}: {e}", f + 1))?;
        if img.width != columns || img.height != rows {
            return Err(format!(
                "frame {}: the JPEG-LS stream is {}×{}, Rows × Columns is {rows}×{columns}",
                f + 1,
                img.width,
                img.height
            ));
        }
        let shift = 32 - u32::from(bits_stored);
        out.push(
            img.samples
                .into_iter()
                .map(|v| {
                    let v = i32::from(v);
                    if signed { (v << shift) >> shift } else { v }
                })
                .collect(),
        );
    }
    Ok(StoredFrames {
        rows,
        columns,
        bits_stored,
        frames: out,
    })
}
