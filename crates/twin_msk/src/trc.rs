//! Marker trajectories and OpenSim's `.trc` format.
//!
//! Layout: `PathFileType` line, a line of keys (`DataRate … Units …`), their
//! values, a line `Frame#  Time  <name>    <name> …` (names followed by
//! empty cells, aligned differently by different writers, so names are
//! taken in order, not by position), an `X1 Y1 Z1 …` line, an optional
//! blank line, then rows of frame, time and x y z per marker. Cells are
//! tab-separated; an empty cell or `NaN` is a missing marker. Positions are
//! converted to metres from the file's `Units` (`mm`, `cm` or `m`).

use std::fmt::Write as _;
use std::path::Path;

use crate::MskError;
use crate::storage::parse_number;

/// Marker positions over time, in metres, in the file's lab frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Markers {
    /// Frames per second.
    pub rate: f64,
    pub names: Vec<String>,
    pub time: Vec<f64>,
    /// `positions[frame][marker]` (m); all three components NaN when the
    /// marker is missing in that frame.
    pub positions: Vec<Vec<[f64; 3]>>,
}

impl Markers {
    #[must_use]
    pub fn frames(&self) -> usize {
        self.time.len()
    }

    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Whether marker `m` is present in frame `f`.
    #[must_use]
    pub fn present(&self, f: usize, m: usize) -> bool {
        self.positions[f][m].iter().all(|v| v.is_finite())
    }

    /// Reads a `.trc` file.
    pub fn read_trc(path: &Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_TABLE_FILE, "marker file")
                .map_err(|e| MskError::io(path, &e))?;
        Self::parse_trc(&text).map_err(|e| e.in_file(path))
    }

    /// Parses the text of a `.trc` file.
    pub fn parse_trc(text: &str) -> Result<Self, MskError> {
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() < 5 || !lines[0].starts_with("PathFileType") {
            return Err(MskError::format(
                "not a TRC file (the first line is not `PathFileType …`)",
            ));
        }
        let keys: Vec<&str> = lines[1].split('\t').map(str::trim).collect();
        let values: Vec<&str> = lines[2].split('\t').map(str::trim).collect();
        let value = |key: &str| {
            keys.iter()
                .position(|k| k.eq_ignore_ascii_case(key))
                .and_then(|i| values.get(i).copied())
        };
        let rate: f64 = value("DataRate")
            .and_then(|v| v.parse().ok())
            .filter(|r: &f64| r.is_finite() && *r > 0.0)
            .ok_or_else(|| MskError::format("line 3: no valid DataRate"))?;
        let units = value("Units").unwrap_or("m");
        let scale = match units.to_ascii_lowercase().as_str() {
            "mm" => 1e-3,
            "cm" => 1e-2,
            "m" => 1.0,
            other => {
                return Err(MskError::format(format!(
                    "line 3: unknown Units `{other}` (mm, cm or m)"
                )));
            }
        };
        let header: Vec<&str> = lines[3].split('\t').map(str::trim).collect();
        if header.first().is_none_or(|h| !h.starts_with("Frame")) {
            return Err(MskError::format(
                "line 4: expected `Frame#  Time  <markers>`",
            ));
        }
        let names: Vec<String> = header
            .iter()
            .skip(2)
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned())
            .collect();
        let n = names.len();
        let mut out = Self {
            rate,
            names,
            time: Vec::new(),
            positions: Vec::new(),
        };
        for (i, raw) in lines.iter().enumerate().skip(5) {
            if raw.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = if raw.contains('\t') {
                raw.split('\t').map(str::trim).collect()
            } else {
                raw.split_whitespace().collect()
            };
            if cells.len() < 2 {
                return Err(MskError::format(format!("line {}: too few cells", i + 1)));
            }
            let number = |s: &str| -> Result<f64, MskError> {
                if s.is_empty() {
                    return Ok(f64::NAN);
                }
                parse_number(s).ok_or_else(|| {
                    MskError::format(format!("line {}: `{s}` is not a number", i + 1))
                })
            };
            let t = number(cells[1])?;
            if !t.is_finite() {
                return Err(MskError::format(format!("line {}: no time", i + 1)));
            }
            let data = &cells[2..];
            // A trailing tab adds one empty cell; fewer cells than markers
            // means the rest are missing.
            if data.len() > 3 * n + 1 {
                return Err(MskError::format(format!(
                    "line {}: {} values for {n} markers",
                    i + 1,
                    data.len()
                )));
            }
            let mut frame = Vec::with_capacity(n);
            for m in 0..n {
                let mut p = [f64::NAN; 3];
                for (k, v) in p.iter_mut().enumerate() {
                    if let Some(s) = data.get(3 * m + k) {
                        *v = number(s)? * scale;
                    }
                }
                if p.iter().any(|v| !v.is_finite()) {
                    p = [f64::NAN; 3];
                }
                frame.push(p);
            }
            out.time.push(t);
            out.positions.push(frame);
        }
        if out.time.is_empty() {
            return Err(MskError::format("no marker frames"));
        }
        Ok(out)
    }

    /// The `.trc` text (positions in millimetres; missing markers `NaN`).
    #[must_use]
    pub fn to_trc_text(&self, name: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "PathFileType\t4\t(X/Y/Z)\t{name}");
        let _ = writeln!(
            s,
            "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames"
        );
        let nf = self.frames();
        let nm = self.names.len();
        let _ = writeln!(s, "{r}\t{r}\t{nf}\t{nm}\tmm\t{r}\t1\t{nf}", r = self.rate);
        s.push_str("Frame#\tTime");
        for n in &self.names {
            let _ = write!(s, "\t{n}\t\t");
        }
        s.push_str("\n\t");
        for m in 1..=nm {
            let _ = write!(s, "\tX{m}\tY{m}\tZ{m}");
        }
        s.push_str("\n\n");
        for f in 0..nf {
            let _ = write!(s, "{}\t{:?}", f + 1, self.time[f]);
            for p in &self.positions[f] {
                for v in p {
                    let _ = write!(s, "\t{:?}", v * 1000.0);
                }
            }
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_and_synthetic_trials_read_in_metres() {
        let Some(root) = twin_core::testdata::require("msk/gait2354_subject01") else {
            return;
        };
        // mm, trailing tabs, names followed by two empty cells.
        let m = Markers::read_trc(&root.join("subject01_walk1.trc")).unwrap();
        assert_eq!((m.frames(), m.names.len(), m.rate), (151, 41, 60.0));
        assert_eq!(m.names[0], "R.ASIS");
        // First row: R.ASIS at 617.24762, 1055.27502, 170.78198 mm.
        let p = m.positions[0][0];
        assert!((p[0] - 0.617_247_62).abs() < 1e-9 && (p[2] - 0.170_781_98).abs() < 1e-9);
        assert!((m.time[150] - 2.5).abs() < 1e-9);
        // m, names shifted by one cell.
        let s =
            Markers::read_trc(&root.join("ik_check/subject01_synthetic_marker_data.trc")).unwrap();
        assert_eq!((s.frames(), s.names.len()), (73, 31));
        assert_eq!(s.names[0], "Sternum");
        assert!(s.positions[0][0][1] > 1.0 && s.positions[0][0][1] < 2.0);
    }

    #[test]
    fn gaps_are_missing_markers_and_a_round_trip_keeps_the_data() {
        let text = "PathFileType\t4\t(X/Y/Z)\tx.trc\n\
            DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n\
            100\t100\t2\t2\tmm\n\
            Frame#\tTime\tA\t\t\tB\t\t\n\
            \t\tX1\tY1\tZ1\tX2\tY2\tZ2\n\
            \n\
            1\t0\t1\t2\t3\t\t\t\t\n\
            2\t0.01\t4\t5\t6\tNaN\tNaN\tNaN\n";
        let m = Markers::parse_trc(text).unwrap();
        assert!(m.present(0, 0) && !m.present(0, 1) && !m.present(1, 1));
        assert!((m.positions[1][0][2] - 0.006).abs() < 1e-12);
        let back = Markers::parse_trc(&m.to_trc_text("x.trc")).unwrap();
        assert_eq!(back.names, m.names);
        assert!((back.positions[1][0][2] - 0.006).abs() < 1e-12);
        assert!(!back.present(1, 1));
    }

    #[test]
    fn bad_trc_files_name_the_problem() {
        assert!(
            Markers::parse_trc("hello")
                .unwrap_err()
                .to_string()
                .contains("TRC")
        );
        let bad_units = "PathFileType\t4\n\
            DataRate\tUnits\n100\tinches\nFrame#\tTime\tA\n\t\tX1\tY1\tZ1\n1\t0\t1\t2\t3\n";
        assert!(
            Markers::parse_trc(bad_units)
                .unwrap_err()
                .to_string()
                .contains("inches")
        );
        let no_rate = "PathFileType\t4\nDataRate\tUnits\n0\tmm\nFrame#\tTime\tA\n\t\tX1\tY1\tZ1\n";
        assert!(
            Markers::parse_trc(no_rate)
                .unwrap_err()
                .to_string()
                .contains("DataRate")
        );
        let bad_value = "PathFileType\t4\nDataRate\tUnits\n100\tmm\nFrame#\tTime\tA\n\t\tX1\tY1\tZ1\n1\t0\t1\tx\t3\n";
        assert!(
            Markers::parse_trc(bad_value)
                .unwrap_err()
                .to_string()
                .contains("line 6")
        );
    }
}
