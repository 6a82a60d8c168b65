//! JPEG-LS decoder (ITU-T T.87 / ISO 14495-1), lossless and near-lossless,
//! for single-component images — the transfer syntaxes 1.2.840.10008.1.2.4.80
//! and .81.
//!
//! dicom-rs offers JPEG-LS only through CharLS (C++, built with cmake), so this
//! pure-Rust decoder keeps the build free of a C++ tool chain. It follows the
//! standard's decoding procedure (context modelling, median edge detector,
//! limited-length Golomb codes, run mode with run interruption samples) and is
//! checked against pydicom + pylibjpeg-libjpeg on every JPEG-LS file of the
//! shared test data (the pixel oracle in `tests/pixel_oracle.rs`).

use std::fmt;

/// A decoded single-component image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JlsImage {
    pub width: usize,
    pub height: usize,
    /// Sample precision in bits (2–16).
    pub precision: u8,
    /// Row-major samples.
    pub samples: Vec<u16>,
}

/// Why a JPEG-LS stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JlsError(pub String);

impl fmt::Display for JlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JPEG-LS: {}", self.0)
    }
}

impl std::error::Error for JlsError {}

fn err<T>(msg: impl Into<String>) -> Result<T, JlsError> {
    Err(JlsError(msg.into()))
}

const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Largest image accepted (samples); larger declared sizes are refused before
/// allocation.
const MAX_SAMPLES: usize = 1 << 28;

#[derive(Default, Clone, Copy)]
struct Preset {
    maxval: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
}

/// Decodes a JPEG-LS code stream (SOI … EOI).
pub fn decode(data: &[u8]) -> Result<JlsImage, JlsError> {
    let mut pos = 0usize;
    let byte = |pos: usize| {
        data.get(pos)
            .copied()
            .ok_or_else(|| JlsError("truncated stream".into()))
    };
    let u16_at = |pos: usize| -> Result<usize, JlsError> {
        Ok(usize::from(byte(pos)?) << 8 | usize::from(byte(pos + 1)?))
    };
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return err("missing SOI marker (not a JPEG-LS stream)");
    }
    pos += 2;
    let mut frame: Option<(usize, usize, u8)> = None;
    let mut preset = Preset::default();
    loop {
        // Skip fill bytes before a marker.
        while byte(pos)? == 0xFF && byte(pos + 1)? == 0xFF {
            pos += 1;
        }
        if byte(pos)? != 0xFF {
            return err(format!("expected a marker at byte {pos}"));
        }
        let marker = byte(pos + 1)?;
        pos += 2;
        match marker {
            0xD9 => return err("end of image before any scan"),
            0xF7 => {
                // SOF55: P, Y, X, Nf, components.
                let len = u16_at(pos)?;
                let p = byte(pos + 2)?;
                let y = u16_at(pos + 3)?;
                let x = u16_at(pos + 5)?;
                let nf = byte(pos + 7)?;
                if nf != 1 {
                    return err(format!(
                        "{nf} components: only single-component (greyscale) images are supported"
                    ));
                }
                if !(2..=16).contains(&p) {
                    return err(format!("sample precision {p} bits is outside 2–16"));
                }
                if x == 0 || y == 0 {
                    return err("zero image width or height (line count in DNL is not supported)");
                }
                if x * y > MAX_SAMPLES {
                    return err(format!(
                        "declared size {x}×{y} is beyond the decoder's limit"
                    ));
                }
                frame = Some((x, y, p));
                pos += len;
            }
            0xF8 => {
                // LSE: preset coding parameters (id 1); other ids (mapping tables) unsupported.
                let len = u16_at(pos)?;
                let id = byte(pos + 2)?;
                if id == 1 {
                    let v = |o: usize| u16_at(pos + 3 + 2 * o).map(|v| v as i32);
                    preset = Preset {
                        maxval: v(0)?,
                        t1: v(1)?,
                        t2: v(2)?,
                        t3: v(3)?,
                        reset: v(4)?,
                    };
                } else {
                    return err(format!(
                        "LSE marker segment id {id} (mapping tables) is not supported"
                    ));
                }
                pos += len;
            }
            0xDD => {
                let len = u16_at(pos)?;
                let ri = u16_at(pos + 2)?;
                if ri != 0 {
                    return err("restart intervals are not supported");
                }
                pos += len;
            }
            0xDA => {
                let len = u16_at(pos)?;
                let ns = byte(pos + 2)?;
                if ns != 1 {
                    return err(format!("scan with {ns} components is not supported"));
                }
                let table = byte(pos + 4)?;
                let near = i32::from(byte(pos + 5)?);
                let point_transform = byte(pos + 7)? & 0x0F;
                if table != 0 {
                    return err("mapping tables are not supported");
                }
                if point_transform != 0 {
                    return err("point transform is not supported");
                }
                pos += len;
                let Some((w, h, p)) = frame else {
                    return err("scan before the frame header (SOF55)");
                };
                let samples = decode_scan(&data[pos..], w, h, p, near, preset)?;
                return Ok(JlsImage {
                    width: w,
                    height: h,
                    precision: p,
                    samples,
                });
            }
            0xD8 => return err("second SOI marker"),
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                return err("this is a JPEG (not JPEG-LS) frame");
            }
            _ => {
                // APPn, COM and other segments with a length: skip.
                let len = u16_at(pos)?;
                if len < 2 {
                    return err(format!("marker segment FF{marker:02X} with length {len}"));
                }
                pos += len;
            }
        }
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    /// The previous byte was 0xFF: the next one carries only 7 bits.
    after_ff: bool,
    /// Bits past the end of the data were consumed.
    past_end: bool,
    /// Zero bytes fed past the end.
    zeros_fed: u32,
}

impl Bits<'_> {
    fn fill(&mut self) {
        while self.n <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                // Past the end: feed zeros; decoding then fails as truncated.
                self.past_end = true;
                self.zeros_fed += 1;
                self.n += 8;
                continue;
            };
            if self.after_ff {
                if b & 0x80 != 0 {
                    // A marker: the scan's data ended; feed zeros.
                    self.n += 8;
                    continue;
                }
                self.acc |= u64::from(b) << (57 - self.n);
                self.n += 7;
            } else {
                self.acc |= u64::from(b) << (56 - self.n);
                self.n += 8;
            }
            self.after_ff = b == 0xFF;
            self.pos += 1;
        }
    }

    fn bit(&mut self) -> bool {
        if self.n == 0 {
            self.fill();
        }
        let b = self.acc >> 63 != 0;
        self.acc <<= 1;
        self.n -= 1;
        b
    }

    fn read(&mut self, count: u32) -> i32 {
        if count == 0 {
            return 0;
        }
        if self.n < count {
            self.fill();
        }
        let v = (self.acc >> (64 - count)) as i32;
        self.acc <<= count;
        self.n -= count;
        v
    }

    /// Counts zero bits before the next one bit (consuming the one).
    fn unary(&mut self, limit: i32) -> Result<i32, JlsError> {
        let mut q = 0;
        while !self.bit() {
            q += 1;
            if q > limit {
                if self.past_end {
                    return err("truncated scan data (the code stream ends early)");
                }
                return err("corrupt code (Golomb prefix too long)");
            }
        }
        Ok(q)
    }

    fn exhausted(&self) -> bool {
        self.zeros_fed > 16
    }
}

#[derive(Clone, Copy)]
struct Ctx {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

#[derive(Clone, Copy)]
struct RunCtx {
    a: i32,
    n: i32,
    nn: i32,
}

#[allow(clippy::too_many_lines)]
fn decode_scan(
    data: &[u8],
    w: usize,
    h: usize,
    p: u8,
    near: i32,
    preset: Preset,
) -> Result<Vec<u16>, JlsError> {
    let maxval = if preset.maxval > 0 {
        preset.maxval
    } else {
        (1i32 << p) - 1
    };
    if near > maxval / 2 {
        return err(format!("NEAR {near} is too large for MAXVAL {maxval}"));
    }
    let (t1, t2, t3) = default_thresholds(maxval, near);
    let t1 = if preset.t1 > 0 { preset.t1 } else { t1 };
    let t2 = if preset.t2 > 0 { preset.t2 } else { t2 };
    let t3 = if preset.t3 > 0 { preset.t3 } else { t3 };
    let reset = if preset.reset > 0 { preset.reset } else { 64 };
    let qstep = 2 * near + 1;
    let range = (maxval + 2 * near) / qstep + 1;
    let qbpp = ceil_log2(range);
    let bpp = ceil_log2(maxval + 1).max(2);
    let limit = 2 * (bpp + bpp.max(8)) as i32;
    let a_init = ((range + 32) / 64).max(2);
    let mut ctx = vec![
        Ctx {
            a: a_init,
            b: 0,
            c: 0,
            n: 1,
        };
        365
    ];
    let mut run_ctx = [RunCtx {
        a: a_init,
        n: 1,
        nn: 0,
    }; 2];
    let mut run_index = 0usize;
    let mut bits = Bits {
        data,
        pos: 0,
        acc: 0,
        n: 0,
        after_ff: false,
        past_end: false,
        zeros_fed: 0,
    };
    let quant = |d: i32| -> i32 {
        if d <= -t3 {
            -4
        } else if d <= -t2 {
            -3
        } else if d <= -t1 {
            -2
        } else if d < -near {
            -1
        } else if d <= near {
            0
        } else if d < t1 {
            1
        } else if d < t2 {
            2
        } else if d < t3 {
            3
        } else {
            4
        }
    };
    let fix = |mut v: i32| -> i32 {
        if v < -near {
            v += range * qstep;
        } else if v > maxval + near {
            v -= range * qstep;
        }
        v.clamp(0, maxval)
    };
    let decode_value = |bits: &mut Bits, k: u32, lim: i32| -> Result<i32, JlsError> {
        let q = bits.unary(lim)?;
        if q >= lim - (qbpp as i32 + 1) {
            Ok(bits.read(qbpp) + 1)
        } else if k == 0 {
            Ok(q)
        } else {
            Ok((q << k) + bits.read(k))
        }
    };

    let mut out = vec![0u16; w * h];
    // Previous and current lines with one sample of border on each side.
    let mut prev = vec![0i32; w + 2];
    let mut cur = vec![0i32; w + 2];
    for y in 0..h {
        cur[0] = prev[1];
        prev[w + 1] = prev[w];
        let mut x = 1usize;
        while x <= w {
            let ra = cur[x - 1];
            let rb = prev[x];
            let rc = prev[x - 1];
            let rd = prev[x + 1];
            let (d1, d2, d3) = (rd - rb, rb - rc, rc - ra);
            if d1.abs() <= near && d2.abs() <= near && d3.abs() <= near {
                // Run mode.
                let remaining = w + 1 - x;
                let mut count = 0usize;
                let mut hit_end = false;
                while bits.bit() {
                    let block = 1usize << J[run_index];
                    let n = block.min(remaining - count);
                    count += n;
                    if n == block && run_index < 31 {
                        run_index += 1;
                    }
                    if count == remaining {
                        hit_end = true;
                        break;
                    }
                    if bits.exhausted() {
                        return err("truncated scan data");
                    }
                }
                if !hit_end {
                    count += bits.read(J[run_index]) as usize;
                    if count > remaining {
                        return err("corrupt run length");
                    }
                }
                for v in &mut cur[x..x + count] {
                    *v = ra;
                }
                x += count;
                if x > w {
                    break;
                }
                if hit_end {
                    continue;
                }
                // Run interruption sample.
                let rb = prev[x];
                let ri_type = usize::from((ra - rb).abs() <= near);
                let rc_ = run_ctx[ri_type];
                let temp = if ri_type == 1 {
                    rc_.a + (rc_.n >> 1)
                } else {
                    rc_.a
                };
                let mut k = 0u32;
                while (rc_.n << k) < temp {
                    k += 1;
                }
                let glimit = limit - J[run_index] as i32 - 1;
                let em = decode_value(&mut bits, k, glimit)?;
                let t = em + ri_type as i32;
                let map = t & 1;
                let abs = i32::midpoint(t, map);
                let negative = (k != 0 || 2 * rc_.nn >= rc_.n) == (map == 1);
                let errval = if negative { -abs } else { abs };
                let r = &mut run_ctx[ri_type];
                if errval < 0 {
                    r.nn += 1;
                }
                r.a += (em + 1 - ri_type as i32) >> 1;
                if r.n == reset {
                    r.a >>= 1;
                    r.n >>= 1;
                    r.nn >>= 1;
                }
                r.n += 1;
                let rx = if ri_type == 1 {
                    fix(ra + errval * qstep)
                } else {
                    let sign = if rb - ra < 0 { -1 } else { 1 };
                    fix(rb + errval * sign * qstep)
                };
                cur[x] = rx;
                run_index = run_index.saturating_sub(1);
                x += 1;
                continue;
            }
            // Regular mode.
            let (mut q1, mut q2, mut q3) = (quant(d1), quant(d2), quant(d3));
            let sign = if q1 < 0 || (q1 == 0 && (q2 < 0 || (q2 == 0 && q3 < 0))) {
                q1 = -q1;
                q2 = -q2;
                q3 = -q3;
                -1
            } else {
                1
            };
            let q = (81 * q1 + 9 * q2 + q3) as usize;
            let c = ctx[q];
            let mut px = if rc >= ra.max(rb) {
                ra.min(rb)
            } else if rc <= ra.min(rb) {
                ra.max(rb)
            } else {
                ra + rb - rc
            };
            px = (px + sign * c.c).clamp(0, maxval);
            let mut k = 0u32;
            while (c.n << k) < c.a {
                k += 1;
                if k > 24 {
                    return err("corrupt context (Golomb parameter)");
                }
            }
            let m = decode_value(&mut bits, k, limit)?;
            let mut errval = if m & 1 == 0 { m >> 1 } else { -((m + 1) >> 1) };
            if near == 0 && k == 0 && 2 * c.b + c.n - 1 < 0 {
                errval = !errval;
            }
            let cx = &mut ctx[q];
            cx.a += errval.abs();
            cx.b += errval * qstep;
            if cx.n == reset {
                cx.a >>= 1;
                cx.b >>= 1;
                cx.n >>= 1;
            }
            cx.n += 1;
            if cx.b + cx.n <= 0 {
                cx.b += cx.n;
                if cx.b <= -cx.n {
                    cx.b = -cx.n + 1;
                }
                if cx.c > -128 {
                    cx.c -= 1;
                }
            } else if cx.b > 0 {
                cx.b -= cx.n;
                if cx.b > 0 {
                    cx.b = 0;
                }
                if cx.c < 127 {
                    cx.c += 1;
                }
            }
            cur[x] = fix(px + sign * errval * qstep);
            x += 1;
        }
        if bits.exhausted() {
            return err(format!("truncated scan data (line {} of {h})", y + 1));
        }
        for (o, v) in out[y * w..(y + 1) * w].iter_mut().zip(&cur[1..=w]) {
            *o = *v as u16;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Ok(out)
}

fn ceil_log2(v: i32) -> u32 {
    let mut n = 0;
    while (1i64 << n) < i64::from(v) {
        n += 1;
    }
    n
}

fn default_thresholds(maxval: i32, near: i32) -> (i32, i32, i32) {
    let clamp = |i: i32, j: i32| if i > maxval || i < j { j } else { i };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        // BASIC_T1 − 2 = 1.
        let t1 = clamp(factor + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * (7 - 3) + 3 + 5 * near, t1);
        let t3 = clamp(factor * (21 - 4) + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_and_truncation_with_a_message() {
        assert!(decode(b"not jpeg").unwrap_err().0.contains("SOI"));
        // SOI + SOF55 header declaring 3 components.
        let s = [
            0xFF, 0xD8, 0xFF, 0xF7, 0, 14, 8, 0, 4, 0, 4, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0,
        ];
        assert!(decode(&s).unwrap_err().0.contains("components"));
        assert!(
            decode(&[0xFF, 0xD8, 0xFF])
                .unwrap_err()
                .0
                .contains("truncated")
        );
    }

    #[test]
    fn default_thresholds_match_the_standard_table() {
        // T.87 Table C.3 (8-bit lossless): 3, 7, 21; 16-bit: 18, 67, 276.
        assert_eq!(default_thresholds(255, 0), (3, 7, 21));
        assert_eq!(default_thresholds(65535, 0), (18, 67, 276));
    }
}
