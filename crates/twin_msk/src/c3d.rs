//! C3D trials (through the `c3dio` crate): markers, analog channels and
//! force plates.
//!
//! Force plates are turned into the ground reaction force, the moment about
//! the plate's surface centre, the centre of pressure and the free moment,
//! all in the lab frame, for plate types 1–4 of the C3D specification:
//!
//! * plate axes from `FORCE_PLATFORM:CORNERS` (x = corner 1 − corner 2,
//!   y = corner 1 − corner 4, z = x × y, pointing into the plate), the
//!   surface centre is the corners' mean;
//! * type 1: Fx Fy Fz, COP x y (plate frame) and Tz;
//!   type 2: Fx Fy Fz Mx My Mz about the transducer, which lies at
//!   `FORCE_PLATFORM:ORIGIN` from the surface centre (plate frame);
//!   type 3 (Kistler): fx12 fx34 fy14 fy23 fz1…fz4 from sensors at
//!   (±a, ±b) with `ORIGIN` = (a, b, az0);
//!   type 4: as type 2 after the 6 × 6 `CAL_MATRIX`;
//! * COP on the surface where the moment's in-plane part vanishes
//!   (`x = −My/Fz`, `y = Mx/Fz` about the centre), free moment about the
//!   normal there.
//!
//! Units: lengths follow `POINT:UNITS` (mm → m), moments follow each
//! channel's unit (`Nmm` → N·m). Axes stay the lab's (often Z up);
//! [`C3dTrial::rotate`] turns a trial into OpenSim's Y-up frame.

use std::path::Path;

use nalgebra::{Matrix3, Rotation3, Vector3};

use crate::MskError;
use crate::trc::Markers;

/// One force plate's record at the analog rate, lab frame, SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRecord {
    /// C3D plate type (1–4).
    pub kind: u8,
    /// Corners (m), in the file's order.
    pub corners: [[f64; 3]; 4],
    /// Surface centre (m).
    pub centre: [f64; 3],
    /// Ground reaction force as the plate reports it (N).
    pub force: Vec<[f64; 3]>,
    /// Moment about the surface centre (N·m).
    pub moment: Vec<[f64; 3]>,
    /// Centre of pressure on the surface (m); NaN while `|Fz|` (along the
    /// plate normal) is below [`COP_MIN_FORCE_N`].
    pub cop: Vec<[f64; 3]>,
    /// Free moment about the plate normal at the COP (N·m); zero while the
    /// COP is undefined.
    pub free_moment: Vec<[f64; 3]>,
}

/// Below this normal force (N) the centre of pressure is undefined.
pub const COP_MIN_FORCE_N: f64 = 1e-6;

/// A C3D trial in SI units.
#[derive(Debug, Clone, PartialEq)]
pub struct C3dTrial {
    /// Marker trajectories (m, lab frame); missing samples are NaN.
    pub markers: Markers,
    /// Analog samples per second.
    pub analog_rate: f64,
    pub analog_labels: Vec<String>,
    pub analog_units: Vec<String>,
    /// `analog[channel][sample]`, scaled as the file's parameters say.
    pub analog: Vec<Vec<f64>>,
    pub plates: Vec<PlateRecord>,
}

impl C3dTrial {
    /// Reads a C3D file.
    pub fn read(path: &Path) -> Result<Self, MskError> {
        twin_core::limits::check_size(path, twin_core::limits::MAX_C3D_FILE, "C3D file")
            .map_err(|e| MskError::io(path, &e))?;
        let c3d = twin_core::limits::contain_panic(|| {
            c3dio::C3d::load_path(path.to_owned()).map_err(|e| format!("{e:?}"))
        })
        .and_then(|r| r)
        .map_err(|e| MskError::format(format!("not a readable C3D file: {e}")).in_file(path))?;
        Self::from_c3d(&c3d).map_err(|e| e.in_file(path))
    }

    fn from_c3d(c3d: &c3dio::C3d) -> Result<Self, MskError> {
        let points = &c3d.points;
        let units: String = points.units.iter().collect::<String>().trim().to_owned();
        let length_scale = match units.to_ascii_lowercase().as_str() {
            "mm" | "" => 1e-3,
            "cm" => 1e-2,
            "m" => 1.0,
            other => {
                return Err(MskError::format(format!(
                    "POINT:UNITS `{other}` is not a length unit (mm, cm, m)"
                )));
            }
        };
        let rate = f64::from(points.frame_rate);
        if !(rate.is_finite() && rate > 0.0) {
            return Err(MskError::format(format!("POINT:RATE {rate} is not a rate")));
        }
        let (frames, n_markers) = points.points.size();
        // The header's frame range (16-bit; a longer trial wraps, so only a
        // shortfall is an error).
        let announced = usize::from(points.last_frame)
            .checked_sub(usize::from(points.first_frame))
            .map_or(0, |d| d + 1);
        if n_markers > 0 && frames < announced {
            return Err(MskError::format(format!(
                "holds {frames} of the {announced} frames its header announces: truncated or damaged"
            )));
        }
        let mut positions = Vec::with_capacity(frames);
        for f in 0..frames {
            let row = (0..n_markers)
                .map(|m| {
                    let p = &points.points[(f, m)];
                    // A negative residual marks an invalid sample.
                    if p.residual < 0.0 {
                        [f64::NAN; 3]
                    } else {
                        p.point.map(|v| f64::from(v) * length_scale)
                    }
                })
                .collect();
            positions.push(row);
        }
        let markers = Markers {
            rate,
            names: points.labels.iter().map(|s| s.trim().to_owned()).collect(),
            time: (0..frames).map(|f| f as f64 / rate).collect(),
            positions,
        };
        let analog = &c3d.analog;
        let (samples, channels) = analog.analog.size();
        let data: Vec<Vec<f64>> = (0..channels)
            .map(|c| (0..samples).map(|s| analog.analog[(s, c)]).collect())
            .collect();
        let analog_units: Vec<String> = analog.units.iter().map(|u| u.trim().to_owned()).collect();
        let mut plates = Vec::new();
        for (i, plate) in c3d.forces.iter().enumerate() {
            plates.push(plate_record(i, plate, &data, &analog_units, length_scale)?);
        }
        Ok(Self {
            markers,
            analog_rate: f64::from(analog.rate),
            analog_labels: analog.labels.iter().map(|s| s.trim().to_owned()).collect(),
            analog_units,
            analog: data,
            plates,
        })
    }

    /// Rotates everything (markers, plates) by `r`, e.g.
    /// [`z_up_to_y_up`] for OpenSim.
    pub fn rotate(&mut self, r: &Rotation3<f64>) {
        let rot = |p: &mut [f64; 3]| {
            let v = r * Vector3::from(*p);
            *p = [v.x, v.y, v.z];
        };
        for frame in &mut self.markers.positions {
            frame.iter_mut().for_each(rot);
        }
        for plate in &mut self.plates {
            plate.corners.iter_mut().for_each(rot);
            rot(&mut plate.centre);
            for v in [
                &mut plate.force,
                &mut plate.moment,
                &mut plate.cop,
                &mut plate.free_moment,
            ] {
                v.iter_mut().for_each(rot);
            }
        }
    }
}

impl PlateRecord {
    /// The reaction along the plate's outward normal per sample (N):
    /// positive while it carries a load, negative for an unzeroed plate
    /// that reads a pull. (The plate axes' z points into the plate.)
    #[must_use]
    pub fn normal_force(&self) -> Vec<f64> {
        let c = |i: usize| Vector3::from(self.corners[i]);
        let inward = (c(0) - c(1)).cross(&(c(0) - c(3))).normalize();
        self.force
            .iter()
            .map(|f| -Vector3::from(*f).dot(&inward))
            .collect()
    }
}

impl C3dTrial {
    /// The plates' loads as an OpenSim GRF table at the analog rate:
    /// per plate `p` (1-based) `ground_force_p_vx/vy/vz` (N),
    /// `ground_force_p_px/py/pz` (COP, m) and `ground_torque_p_x/y/z` (free
    /// moment, N·m), in the trial's current frame. While the force along the
    /// plate normal is below `threshold_n` the plate carries no load: force
    /// and torque are zero and the point is the plate's centre (OpenSim
    /// reads NaN as data); a negative reading (an unzeroed plate pulling)
    /// counts as unloaded. `None` without plates.
    #[must_use]
    pub fn grf_table(&self, threshold_n: f64) -> Option<crate::Table> {
        let n = self.plates.first()?.force.len();
        let mut labels = Vec::new();
        for p in 1..=self.plates.len() {
            for (what, axes) in [
                ("ground_force", ["vx", "vy", "vz"]),
                ("ground_force", ["px", "py", "pz"]),
                ("ground_torque", ["x", "y", "z"]),
            ] {
                labels.extend(axes.iter().map(|a| format!("{what}_{p}_{a}")));
            }
        }
        let mut t = crate::Table::new("GRF", labels, false);
        let reactions: Vec<Vec<f64>> = self.plates.iter().map(PlateRecord::normal_force).collect();
        let mut row = Vec::with_capacity(9 * self.plates.len());
        for s in 0..n {
            row.clear();
            for (plate, reaction) in self.plates.iter().zip(&reactions) {
                let loaded = reaction[s] >= threshold_n && plate.cop[s][0].is_finite();
                if loaded {
                    row.extend_from_slice(&plate.force[s]);
                    row.extend_from_slice(&plate.cop[s]);
                    row.extend_from_slice(&plate.free_moment[s]);
                } else {
                    row.extend_from_slice(&[0.0; 3]);
                    row.extend_from_slice(&plate.centre);
                    row.extend_from_slice(&[0.0; 3]);
                }
            }
            t.push_row(s as f64 / self.analog_rate, &row);
        }
        Some(t)
    }
}

/// The rotation from a Z-up lab (X forward) to OpenSim's ground frame
/// (Y up, X forward, Z to the right): x → x, y → −z, z → y.
#[must_use]
pub fn z_up_to_y_up() -> Rotation3<f64> {
    Rotation3::from_axis_angle(&Vector3::x_axis(), -std::f64::consts::FRAC_PI_2)
}

#[allow(
    clippy::needless_range_loop,
    reason = "one sample index across the plate's 6 or 8 channels"
)]
fn plate_record(
    index: usize,
    plate: &c3dio::forces::ForcePlatform,
    analog: &[Vec<f64>],
    units: &[String],
    length_scale: f64,
) -> Result<PlateRecord, MskError> {
    use c3dio::forces::ForcePlatformType as T;
    let name = format!("force plate {}", index + 1);
    let kind: u8 = match plate.plate_type {
        T::Type1 => 1,
        T::Type2 => 2,
        T::Type3 => 3,
        T::Type4 => 4,
    };
    let n_channels = if kind == 3 { 8 } else { 6 };
    let mut chans = Vec::with_capacity(n_channels);
    for (k, &c) in plate.channels.iter().take(n_channels).enumerate() {
        let c = usize::from(c);
        if c == 0 || c > analog.len() {
            return Err(MskError::format(format!(
                "{name}: channel {} refers to analog channel {c}, and the file has {}",
                k + 1,
                analog.len()
            )));
        }
        chans.push(c - 1);
    }
    let corners: [[f64; 3]; 4] =
        std::array::from_fn(|i| plate.corners[i].map(|v| f64::from(v) * length_scale));
    let c0 = Vector3::from(corners[0]);
    let x = c0 - Vector3::from(corners[1]);
    let y0 = c0 - Vector3::from(corners[3]);
    let z = x.cross(&y0);
    if x.norm() == 0.0 || z.norm() == 0.0 {
        return Err(MskError::format(format!(
            "{name}: its corners do not span a plate"
        )));
    }
    let y = z.cross(&x);
    let r = Matrix3::from_columns(&[x.normalize(), y.normalize(), z.normalize()]);
    let centre = corners
        .iter()
        .fold(Vector3::zeros(), |a, c| a + Vector3::from(*c))
        / 4.0;
    let origin = Vector3::from(plate.origin.map(|v| f64::from(v) * length_scale));
    // Moment channels in N·mm (or N·m), by their unit label; without one,
    // they follow the point units.
    let moment_scale = |ch: usize| match units.get(ch).map(|u| u.to_ascii_lowercase()) {
        Some(u) if u.contains("mm") => 1e-3,
        Some(u) if u == "nm" || u == "n.m" || u == "n*m" => 1.0,
        _ => length_scale,
    };
    let cal = plate
        .cal_matrix
        .map(|m| nalgebra::Matrix6::from_fn(|i, j| f64::from(m[i][j])));
    if kind == 4 && cal.is_none() {
        return Err(MskError::format(format!(
            "{name}: type 4 without a CAL_MATRIX"
        )));
    }
    let samples = analog[chans[0]].len();
    let mut rec = PlateRecord {
        kind,
        corners,
        centre: centre.into(),
        force: Vec::with_capacity(samples),
        moment: Vec::with_capacity(samples),
        cop: Vec::with_capacity(samples),
        free_moment: Vec::with_capacity(samples),
    };
    for s in 0..samples {
        let a = |k: usize| analog[chans[k]][s];
        // Force and moment about the surface centre, plate frame (N, N·m).
        let (f, m) = match kind {
            1 => {
                let f = Vector3::new(a(0), a(1), a(2));
                // COP (plate frame, length units) and Tz given: rebuild
                // the centre moment from them.
                let d = Vector3::new(a(3) * length_scale, a(4) * length_scale, 0.0);
                let t = Vector3::new(0.0, 0.0, a(5) * moment_scale(chans[5]));
                (f, d.cross(&f) + t)
            }
            3 => {
                let (ax, by, az0) = (origin.x, origin.y, origin.z);
                let (fx12, fx34, fy14, fy23) = (a(0), a(1), a(2), a(3));
                let (fz1, fz2, fz3, fz4) = (a(4), a(5), a(6), a(7));
                let f = Vector3::new(fx12 + fx34, fy14 + fy23, fz1 + fz2 + fz3 + fz4);
                let m_sensors = Vector3::new(
                    by * (fz1 + fz2 - fz3 - fz4),
                    ax * (-fz1 + fz2 + fz3 - fz4),
                    by * (-fx12 + fx34) + ax * (fy14 - fy23),
                );
                // The sensor plane lies −az0 along the plate's z.
                (f, m_sensors + Vector3::new(0.0, 0.0, -az0).cross(&f))
            }
            _ => {
                let raw = nalgebra::Vector6::from_fn(|k, _| {
                    if k < 3 {
                        a(k)
                    } else {
                        a(k) * moment_scale(chans[k])
                    }
                });
                let v = match (kind, cal) {
                    (4, Some(c)) => c * raw,
                    _ => raw,
                };
                let f = Vector3::new(v[0], v[1], v[2]);
                let m = Vector3::new(v[3], v[4], v[5]);
                (f, m + origin.cross(&f))
            }
        };
        let (cop, tz) = if f.z.abs() > COP_MIN_FORCE_N {
            let d = Vector3::new(-m.y / f.z, m.x / f.z, 0.0);
            let tz = m.z - (d.x * f.y - d.y * f.x);
            ((centre + r * d).into(), r * Vector3::new(0.0, 0.0, tz))
        } else {
            ([f64::NAN; 3], Vector3::zeros())
        };
        rec.force.push((r * f).into());
        rec.moment.push((r * m).into());
        rec.cop.push(cop);
        rec.free_moment.push(tz.into());
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Table;

    fn trial() -> Option<(C3dTrial, std::path::PathBuf)> {
        let root = twin_core::testdata::require("msk/c3d")?;
        Some((C3dTrial::read(&root.join("walking2.c3d")).unwrap(), root))
    }

    #[test]
    fn a_truncated_trial_is_refused_not_read_short() {
        let Some(root) = twin_core::testdata::require("msk/c3d") else {
            return;
        };
        let bytes = std::fs::read(root.join("walking2.c3d")).unwrap();
        let dir = std::env::temp_dir().join(format!("twin-c3d-cut-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cut = dir.join("cut.c3d");
        // A quarter of the file: the parameters are whole, the data short.
        std::fs::write(&cut, &bytes[..bytes.len() / 4]).unwrap();
        let e = C3dTrial::read(&cut).unwrap_err().to_string();
        assert!(
            e.contains("cut.c3d") && e.contains("of the 1249 frames its header announces"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn walking2_matches_opensims_c3d_adapter() {
        let Some((t, root)) = trial() else { return };
        // MANIFEST §1.4: 44 markers, 1249 frames at 250 Hz, 12 analog
        // channels at 2000 Hz, 2 plates.
        assert_eq!(
            (t.markers.names.len(), t.markers.frames(), t.markers.rate),
            (44, 1249, 250.0)
        );
        assert_eq!(
            (t.analog.len(), t.analog_rate, t.plates.len()),
            (12, 2000.0, 2)
        );
        assert_eq!(t.analog[0].len(), 1249 * 8);
        // Markers: OpenSim's table keeps every 10th frame (mm, NaN missing,
        // 5 significant digits).
        let std = crate::trc::Markers::read_trc(&root.join("std_walking2_markers.trc")).unwrap();
        assert_eq!(std.names, t.markers.names);
        let mut compared = 0;
        for (k, &time) in std.time.iter().enumerate() {
            let f = (time * 250.0).round() as usize;
            for m in 0..44 {
                let (a, b) = (t.markers.positions[f][m], std.positions[k][m]);
                assert_eq!(a[0].is_nan(), b[0].is_nan(), "frame {f} marker {m}");
                if a[0].is_finite() {
                    for i in 0..3 {
                        // The reference is printed to 5 significant digits.
                        assert!(
                            (a[i] - b[i]).abs() <= 5e-5 * b[i].abs() + 1e-7,
                            "frame {f} marker {m}: {a:?} vs {b:?}"
                        );
                    }
                    compared += 1;
                }
            }
        }
        assert!(compared > 2500, "{compared}");
        // Forces at the plate centre and at the COP, every 100th sample.
        for (file, at_cop) in [
            ("std_walking2_grfs.sto", false),
            ("std_cop_walking2_grfs.sto", true),
        ] {
            let std = Table::read(&root.join(file)).unwrap();
            for (row, &time) in std.time.iter().enumerate() {
                let s = (time * 2000.0).round() as usize;
                for (p, plate) in t.plates.iter().enumerate() {
                    let col =
                        |q: &str, i: usize| std.column(&format!("{q}{}_{i}", p + 1)).unwrap()[row];
                    for i in 0..3 {
                        assert!(
                            (plate.force[s][i] - col("f", i + 1)).abs() < 1e-4,
                            "{file} f{p} row {row}"
                        );
                        let (point, moment) = if at_cop {
                            (plate.cop[s][i], plate.free_moment[s][i])
                        } else {
                            (plate.centre[i], plate.moment[s][i])
                        };
                        // OpenSim's table: mm and N·mm.
                        assert!(
                            (point * 1000.0 - col("p", i + 1)).abs() < 1e-3,
                            "{file} p{p} row {row}"
                        );
                        assert!(
                            (moment * 1000.0 - col("m", i + 1)).abs() < 1e-2,
                            "{file} m{p} row {row}"
                        );
                    }
                }
            }
        }
        // Vertical GRF peaks over the reference's samples (MANIFEST: f1_3
        // up to 948.3 N, f2_3 741.1 N); at the full 2000 Hz they are higher.
        let peak = |p: &PlateRecord, step: usize| {
            p.force
                .iter()
                .step_by(step)
                .map(|f| f[2])
                .fold(f64::MIN, f64::max)
        };
        assert!((peak(&t.plates[0], 100) - 948.3).abs() < 0.1);
        assert!((peak(&t.plates[1], 100) - 741.1).abs() < 0.1);
        eprintln!(
            "vertical GRF peaks at 2000 Hz: {:.1} N, {:.1} N",
            peak(&t.plates[0], 1),
            peak(&t.plates[1], 1)
        );
        assert!(peak(&t.plates[0], 1) >= 948.3 && peak(&t.plates[1], 1) >= 741.1);
    }

    /// A plate of `kind` loaded by force `f` (plate frame, N) at surface
    /// point `d` (plate frame, m) with free moment `tz` (N·m): its analog
    /// channels as a C3D file would hold them (N, mm, N·mm).
    fn loaded_plate(
        kind: u8,
        f: Vector3<f64>,
        d: Vector3<f64>,
        tz: f64,
    ) -> (c3dio::forces::ForcePlatform, Vec<Vec<f64>>, Vec<String>) {
        use c3dio::forces::{ForcePlatform, ForcePlatformType as T};
        let mut plate = ForcePlatform {
            plate_type: [T::Type1, T::Type2, T::Type3, T::Type4][usize::from(kind - 1)].clone(),
            ..ForcePlatform::default()
        };
        *plate.corners = [
            [664.6, 379.32, 0.0],
            [664.6, 842.87, 0.0],
            [1172.6, 842.87, 0.0],
            [1172.6, 379.32, 0.0],
        ];
        plate.channels = [1, 2, 3, 4, 5, 6, 7, 8];
        // Moment about the surface centre (plate frame, N·m).
        let m_c = d.cross(&f) + Vector3::new(0.0, 0.0, tz);
        let mm = 1000.0;
        let (channels, units): (Vec<f64>, Vec<&str>) = match kind {
            1 => (
                vec![f.x, f.y, f.z, d.x * mm, d.y * mm, tz * mm],
                vec!["N", "N", "N", "mm", "mm", "Nmm"],
            ),
            3 => {
                let (a, b, az0) = (0.2, 0.3, -0.05);
                *plate.origin = [(a * mm) as f32, (b * mm) as f32, (az0 * mm) as f32];
                // Moment about the sensor plane's centre.
                let m_s = m_c - Vector3::new(0.0, 0.0, -az0).cross(&f);
                // fz: total, Mx, My and no twist (fz1 − fz2 + fz3 − fz4 = 0).
                let q = nalgebra::Matrix4::new(
                    1.0, 1.0, 1.0, 1.0, b, b, -b, -b, -a, a, a, -a, 1.0, -1.0, 1.0, -1.0,
                );
                let fz = q.try_inverse().unwrap() * nalgebra::Vector4::new(f.z, m_s.x, m_s.y, 0.0);
                let (fy14, fy23) = (f.y / 2.0, f.y / 2.0);
                // Mz = b(−fx12 + fx34) + a(fy14 − fy23), fx12 + fx34 = Fx.
                let diff = (m_s.z - a * (fy14 - fy23)) / b;
                let (fx12, fx34) = ((f.x - diff) / 2.0, f.x.midpoint(diff));
                (
                    vec![fx12, fx34, fy14, fy23, fz[0], fz[1], fz[2], fz[3]],
                    vec!["N"; 8],
                )
            }
            _ => {
                let o = Vector3::new(1.0, -2.0, 40.0) / mm;
                *plate.origin = [1.0, -2.0, 40.0];
                let m_t = m_c - o.cross(&f);
                let mut w = nalgebra::Vector6::new(f.x, f.y, f.z, m_t.x, m_t.y, m_t.z);
                if kind == 4 {
                    let cal = nalgebra::Matrix6::from_fn(|i, j| {
                        if i == j {
                            2.0
                        } else if j == i + 1 {
                            0.1
                        } else {
                            0.0
                        }
                    });
                    plate.cal_matrix = Some(std::array::from_fn(|i| {
                        std::array::from_fn(|j| cal[(i, j)] as f32)
                    }));
                    // The file holds the uncalibrated signals (moments in
                    // N·mm by their unit).
                    w = cal.map(f64::from).try_inverse().unwrap() * w;
                }
                let mut v: Vec<f64> = w.iter().copied().collect();
                for m in &mut v[3..] {
                    *m *= mm;
                }
                (v, vec!["N", "N", "N", "Nmm", "Nmm", "Nmm"])
            }
        };
        let mut analog: Vec<Vec<f64>> = channels.into_iter().map(|v| vec![v]).collect();
        analog.resize(8, vec![0.0]);
        let mut units: Vec<String> = units.into_iter().map(str::to_owned).collect();
        units.resize(8, String::new());
        (plate, analog, units)
    }

    #[test]
    fn every_plate_type_gives_the_applied_load_back() {
        let f = Vector3::new(12.0, -25.0, -700.0);
        let d = Vector3::new(0.05, -0.1, 0.0);
        let tz = 3.0;
        for kind in 1..=4u8 {
            let (plate, analog, units) = loaded_plate(kind, f, d, tz);
            let rec = plate_record(0, &plate, &analog, &units, 1e-3).unwrap();
            // The walking2 plate-1 axes: plate x → −lab y, y → −lab x, z → −lab z.
            let expect_f = [-f.y, -f.x, -f.z];
            let expect_cop = [0.9186 - d.y, 0.611_095 - d.x, 0.0];
            for i in 0..3 {
                assert!(
                    (rec.force[0][i] - expect_f[i]).abs() < 1e-3,
                    "type {kind} force {:?}",
                    rec.force[0]
                );
                assert!(
                    (rec.cop[0][i] - expect_cop[i]).abs() < 1e-5,
                    "type {kind} cop {:?}",
                    rec.cop[0]
                );
            }
            assert!(
                (rec.free_moment[0][2] + tz).abs() < 1e-3,
                "type {kind} tz {:?}",
                rec.free_moment[0]
            );
            assert_eq!(rec.kind, kind);
        }
    }

    #[test]
    fn a_plate_wired_to_a_missing_channel_is_refused() {
        let (mut plate, analog, units) =
            loaded_plate(2, Vector3::new(0.0, 0.0, -1.0), Vector3::zeros(), 0.0);
        plate.channels[2] = 40;
        let e = plate_record(1, &plate, &analog, &units, 1e-3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("force plate 2") && e.contains("40"), "{e}");
        let (mut plate, analog, units) =
            loaded_plate(4, Vector3::new(0.0, 0.0, -1.0), Vector3::zeros(), 0.0);
        plate.cal_matrix = None;
        let e = plate_record(0, &plate, &analog, &units, 1e-3)
            .unwrap_err()
            .to_string();
        assert!(e.contains("CAL_MATRIX"), "{e}");
    }

    #[test]
    fn the_grf_table_holds_each_plates_load_when_loaded() {
        let Some((mut t, _)) = trial() else { return };
        t.rotate(&z_up_to_y_up());
        let g = t.grf_table(20.0).unwrap();
        assert_eq!((g.rows(), g.labels.len()), (1249 * 8, 18));
        assert!((g.time[2000] - 1.0).abs() < 1e-12);
        let (fy, py) = (
            g.column("ground_force_1_vy").unwrap(),
            g.column("ground_force_1_py").unwrap(),
        );
        let peak = fy.iter().fold(0.0f64, |a, &b| a.max(b));
        assert!((peak - 951.0).abs() < 0.1, "{peak}");
        // Unloaded samples: no force, the point at the plate's centre.
        let idle = fy.iter().position(|v| *v == 0.0).unwrap();
        assert!(
            (g.column("ground_force_1_px").unwrap()[idle] - t.plates[0].centre[0]).abs() < 1e-12
        );
        // Loaded samples: the COP lies on the plate surface (y = 0 here).
        let loaded = fy.iter().position(|v| *v > 500.0).unwrap();
        assert!(py[loaded].abs() < 1e-9);
    }

    #[test]
    fn rotating_to_y_up_keeps_vertical_force_vertical() {
        let Some((mut t, _)) = trial() else { return };
        let before = t.plates[0].force[4000];
        let cop = t.plates[0].cop[4000];
        t.rotate(&z_up_to_y_up());
        let after = t.plates[0].force[4000];
        assert!((after[1] - before[2]).abs() < 1e-9 && (after[2] + before[1]).abs() < 1e-9);
        assert!((t.plates[0].cop[4000][1] - cop[2]).abs() < 1e-9);
    }

    #[test]
    fn a_file_that_is_not_c3d_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("twin_msk_c3d_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.c3d");
        std::fs::write(&path, b"definitely not a c3d file").unwrap();
        let e = C3dTrial::read(&path).unwrap_err().to_string();
        assert!(e.contains("broken.c3d") && e.contains("C3D"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
