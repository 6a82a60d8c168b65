//! OpenSim `.sto` / `.mot` tables (Storage and TimeSeriesTable files).
//!
//! Every header variant OpenSim writes is read: Storage version 1 (`name`,
//! `version=1`, `nRows=`, `nColumns=`, `inDegrees=`), TimeSeriesTable
//! version 3 (`key=value` lines, counts often missing), version-less files
//! (`Angles are in degrees.`) and the SIMM motion header (`datacolumns`,
//! `datarows`, `range`). The header ends at a line `endheader`; the next
//! line holds tab-separated labels (padded with spaces in some files), then
//! whitespace-separated rows. Row and column counts in the header are not
//! trusted: the rows read are counted.
//!
//! Degrees follow OpenSim's `Storage` rule: `inDegrees=yes|y` means degrees
//! and any other value radians; without the key, a line `Angles are in
//! degrees.` / `… radians.` decides, and a version-less `.mot` is in
//! degrees. Only rotational coordinates are affected, which a table cannot
//! know by itself: [`Table::in_degrees`] reports the flag and the model
//! converts (see `model::Model::coordinates_from_table`).

use std::fmt::Write as _;
use std::path::Path;

use crate::MskError;

/// A table of time series: a time column and named data columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// First header line (the table's name), when the file had one.
    pub name: String,
    /// Column labels, without `time`.
    pub labels: Vec<String>,
    pub time: Vec<f64>,
    /// `columns[j][i]`: column `j` at row `i`.
    pub columns: Vec<Vec<f64>>,
    /// Whether rotational values are stored in degrees.
    pub in_degrees: bool,
}

impl Table {
    /// An empty table with the given labels.
    #[must_use]
    pub fn new(name: &str, labels: Vec<String>, in_degrees: bool) -> Self {
        let n = labels.len();
        Self {
            name: name.to_owned(),
            labels,
            time: Vec::new(),
            columns: vec![Vec::new(); n],
            in_degrees,
        }
    }

    /// Appends a row (`values` in label order).
    pub fn push_row(&mut self, t: f64, values: &[f64]) {
        debug_assert_eq!(values.len(), self.columns.len());
        self.time.push(t);
        for (c, v) in self.columns.iter_mut().zip(values) {
            c.push(*v);
        }
    }

    #[must_use]
    pub fn rows(&self) -> usize {
        self.time.len()
    }

    /// The row whose time is within `tolerance` of `t` (the first such).
    #[must_use]
    pub fn row_near(&self, t: f64, tolerance: f64) -> Option<usize> {
        self.time.iter().position(|&x| (x - t).abs() <= tolerance)
    }

    /// The column with this label, also when the file labels columns by
    /// state path (`/jointset/knee_r/knee_angle_r/value` answers to
    /// `knee_angle_r`; `/forceset/soleus_r|length` to `soleus_r|length`).
    #[must_use]
    pub fn column(&self, label: &str) -> Option<&[f64]> {
        self.index_of(label).map(|j| self.columns[j].as_slice())
    }

    /// Index of a column (see [`Table::column`] for the names accepted).
    #[must_use]
    pub fn index_of(&self, label: &str) -> Option<usize> {
        self.labels
            .iter()
            .position(|l| l == label)
            .or_else(|| self.labels.iter().position(|l| short_label(l) == label))
    }

    /// Reads a `.sto` or `.mot` file.
    pub fn read(path: &Path) -> Result<Self, MskError> {
        let text =
            twin_core::limits::read_text(path, twin_core::limits::MAX_TABLE_FILE, "storage file")
                .map_err(|e| MskError::io(path, &e))?;
        let mot = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("mot"));
        Self::parse(&text, mot).map_err(|e| e.in_file(path))
    }

    /// Parses the text of a table; `mot` tells whether the file was a
    /// `.mot` (the degrees rule depends on it).
    pub fn parse(text: &str, mot: bool) -> Result<Self, MskError> {
        let mut lines = text.lines().enumerate();
        let mut name = String::new();
        let mut version: Option<i64> = None;
        let mut in_degrees_key: Option<bool> = None;
        let mut degrees_line: Option<bool> = None;
        let mut ended = false;
        for (i, raw) in lines.by_ref() {
            let line = raw.trim();
            if line.eq_ignore_ascii_case("endheader") {
                ended = true;
                break;
            }
            if i == 0 && !line.contains('=') {
                line.clone_into(&mut name);
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("version") {
                    version = v.parse().ok();
                } else if k.eq_ignore_ascii_case("inDegrees") {
                    in_degrees_key =
                        Some(v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("y"));
                }
            } else if line == "Angles are in degrees." {
                degrees_line = Some(true);
            } else if line == "Angles are in radians." {
                degrees_line = Some(false);
            }
        }
        if !ended {
            return Err(MskError::format("no `endheader` line"));
        }
        let in_degrees =
            in_degrees_key.unwrap_or_else(|| degrees_line.unwrap_or(version.is_none() && mot));
        let Some((label_line, labels_raw)) = lines.find(|(_, l)| !l.trim().is_empty()) else {
            return Err(MskError::format("no column labels after `endheader`"));
        };
        let mut labels: Vec<String> = if labels_raw.contains('\t') {
            labels_raw
                .split('\t')
                .map(|s| s.trim().to_owned())
                .collect()
        } else {
            labels_raw.split_whitespace().map(str::to_owned).collect()
        };
        while labels.last().is_some_and(String::is_empty) {
            labels.pop();
        }
        if labels.first().map(String::as_str) != Some("time") {
            return Err(MskError::format(format!(
                "line {}: the first column is `{}`, not `time`",
                label_line + 1,
                labels.first().map_or("", String::as_str)
            )));
        }
        labels.remove(0);
        let mut table = Self::new(&name, labels, in_degrees);
        let width = table.labels.len() + 1;
        let mut row = Vec::with_capacity(width);
        for (i, raw) in lines {
            if raw.trim().is_empty() {
                continue;
            }
            row.clear();
            for token in raw.split_whitespace() {
                let v = parse_number(token).ok_or_else(|| {
                    MskError::format(format!("line {}: `{token}` is not a number", i + 1))
                })?;
                row.push(v);
            }
            if row.len() != width {
                return Err(MskError::format(format!(
                    "line {}: {} values for {width} columns",
                    i + 1,
                    row.len()
                )));
            }
            table.push_row(row[0], &row[1..]);
        }
        Ok(table)
    }

    /// Writes the table as a Storage version-1 file that OpenSim and this
    /// reader open (`.mot` or `.sto`; the content is the same). Values are
    /// written in the shortest form that reads back to the same `f64`.
    pub fn write(&self, path: &Path) -> Result<(), MskError> {
        std::fs::write(path, self.to_text()).map_err(|e| MskError::io(path, &e))
    }

    /// The text [`Table::write`] writes.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let name = if self.name.is_empty() {
            "Table"
        } else {
            &self.name
        };
        let _ = writeln!(s, "{name}");
        let _ = writeln!(s, "version=1");
        let _ = writeln!(s, "nRows={}", self.rows());
        let _ = writeln!(s, "nColumns={}", self.labels.len() + 1);
        let _ = writeln!(
            s,
            "inDegrees={}",
            if self.in_degrees { "yes" } else { "no" }
        );
        let _ = writeln!(s, "endheader");
        s.push_str("time");
        for l in &self.labels {
            s.push('\t');
            s.push_str(l);
        }
        s.push('\n');
        for i in 0..self.rows() {
            let _ = write!(s, "{:?}", self.time[i]);
            for c in &self.columns {
                let _ = write!(s, "\t{:?}", c[i]);
            }
            s.push('\n');
        }
        s
    }
}

/// The short name of a state-path label: `/jointset/knee_r/knee_angle_r/value`
/// → `knee_angle_r`, `/forceset/soleus_r|length` → `soleus_r|length`.
#[must_use]
pub fn short_label(label: &str) -> &str {
    if !label.starts_with('/') {
        return label;
    }
    let parts: Vec<&str> = label.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [.., name, "value"] => name,
        [.., last] => last,
        [] => label,
    }
}

/// A number as OpenSim writes them: also `nan`/`NaN`, `inf`, and 3-digit
/// exponents.
pub(crate) fn parse_number(token: &str) -> Option<f64> {
    let t = token.trim();
    if t.eq_ignore_ascii_case("nan") || t.eq_ignore_ascii_case("-nan") {
        return Some(f64::NAN);
    }
    t.parse::<f64>()
        .ok()
        .or_else(|| match t.to_ascii_lowercase().as_str() {
            "inf" | "infinity" | "1.#inf" => Some(f64::INFINITY),
            "-inf" | "-infinity" | "-1.#inf" => Some(f64::NEG_INFINITY),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msk(rel: &str) -> Option<std::path::PathBuf> {
        twin_core::testdata::require(std::path::Path::new("msk").join(rel))
    }

    #[test]
    fn every_header_variant_of_the_kit_reads() {
        // (file, rows, data columns, in degrees)
        let cases: [(&str, usize, usize, bool); 8] = [
            // Storage v1, inDegrees=yes
            ("gait10dof18musc/subject01_walk_IK.mot", 151, 10, true),
            // version-less, "Angles are in degrees."
            ("gait2354_subject01/subject01_walk1_ik.mot", 211, 23, true),
            // version-less .sto, no degrees line: radians
            (
                "gait2354_subject01/std_subject01_InverseDynamics.sto",
                73,
                23,
                false,
            ),
            // SIMM motion header, 600 Hz GRF
            (
                "gait10dof18musc/gait10dof18musc_subject01_walk_grf.mot",
                1501,
                18,
                true,
            ),
            // TimeSeriesTable v3 without counts
            (
                "gait10dof18musc/path_lengths/std_testGeometryPathWrapping_walk_gait1018_muscle_lengths.sto",
                151,
                18,
                false,
            ),
            // non-uniform time with a duplicated last row
            (
                "gait10dof18musc/gait10dof18musc_subject_adjusted_Kinematics_q.sto",
                2537,
                10,
                true,
            ),
            // old SIMM-header IK reference, degrees
            (
                "gait2354_subject01/ik_check/std_subject01_walk1_ik.mot",
                73,
                23,
                true,
            ),
            // v3 with full-path labels
            (
                "gait10dof18musc/path_lengths/walk_gait1018_state_reference.mot",
                151,
                10,
                true,
            ),
        ];
        for (rel, rows, cols, deg) in cases {
            let Some(path) = msk(rel) else { return };
            let t = Table::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(
                (t.rows(), t.labels.len(), t.in_degrees),
                (rows, cols, deg),
                "{rel}"
            );
        }
    }

    #[test]
    fn values_and_state_path_labels() {
        let Some(path) = msk("gait2354_subject01/std_subject01_InverseDynamics.sto") else {
            return;
        };
        let t = Table::read(&path).unwrap();
        // MANIFEST §3.2: first row hip_r 45.6586, knee_r 22.0446, ankle_r 1.9650.
        assert!((t.column("hip_flexion_r_moment").unwrap()[0] - 45.6586).abs() < 1e-4);
        assert!((t.column("knee_angle_r_moment").unwrap()[0] - 22.0446).abs() < 1e-4);
        assert!((t.column("ankle_angle_r_moment").unwrap()[0] - 1.9650).abs() < 1e-4);
        let Some(path) = msk("gait10dof18musc/path_lengths/walk_gait1018_state_reference.mot")
        else {
            return;
        };
        let t = Table::read(&path).unwrap();
        assert!(t.column("knee_angle_r").is_some());
        assert!(t.column("/jointset/knee_r/knee_angle_r/value").is_some());
        let Some(path) = msk(
            "gait10dof18musc/path_lengths/std_testGeometryPathWrapping_walk_gait1018_muscle_lengths.sto",
        ) else {
            return;
        };
        let t = Table::read(&path).unwrap();
        // MANIFEST §3.5: soleus_r length 0.303822 m at t = 0.
        assert!((t.column("soleus_r|length").unwrap()[0] - 0.303_822).abs() < 1e-6);
    }

    #[test]
    fn a_written_table_reads_back_identically() {
        let Some(path) = msk("gait10dof18musc/subject01_walk_IK.mot") else {
            return;
        };
        let t = Table::read(&path).unwrap();
        let back = Table::parse(&t.to_text(), true).unwrap();
        assert_eq!(back.labels, t.labels);
        assert_eq!(back.in_degrees, t.in_degrees);
        assert_eq!(
            back.time.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            t.time.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        for (a, b) in back.columns.iter().zip(&t.columns) {
            assert_eq!(
                a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn bad_tables_are_refused_with_the_line() {
        let e = Table::parse("x\nendheader\ntime\ta\n0\t1\t2\n", false).unwrap_err();
        assert!(e.to_string().contains("line 4"), "{e}");
        let e = Table::parse("x\nendheader\ntime\ta\n0\tabc\n", false).unwrap_err();
        assert!(e.to_string().contains("`abc`"), "{e}");
        let e = Table::parse("x\nversion=1\ntime\ta\n", false).unwrap_err();
        assert!(e.to_string().contains("endheader"), "{e}");
        let e = Table::parse("x\nendheader\nframe\ta\n", false).unwrap_err();
        assert!(e.to_string().contains("`frame`"), "{e}");
        // NaN cells are data, not errors.
        let t = Table::parse("x\nendheader\ntime\ta\n0\tNaN\n", false).unwrap();
        assert!(t.columns[0][0].is_nan());
    }
}
