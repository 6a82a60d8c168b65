//! Segment recipes: a threshold range or a region grown from a seed (in
//! patient mm) → a mask, islands dropped or only the largest piece kept →
//! an anti-aliased, smoothed, decimated closed surface in patient mm. The
//! app's segment editor makes new segments and rebuilds a reopened twin's
//! segments with [`build`]; `twin mesh` makes its surface with
//! [`build_with`].

use twin_core::Progress;
use twin_imaging::Volume;
use twin_mesh::segment::{self, Connectivity, Mask};
use twin_mesh::surface::{SurfaceOptions, mask_surface};
use twin_mesh::{Grid, TriMesh};
use twin_scenario::document::{SegmentRecipe, SegmentSource};

use crate::SessionError;

/// A volume as the meshing crate reads it.
#[must_use]
pub fn grid(v: &Volume) -> Grid<'_> {
    Grid {
        dims: v.dims,
        data: &v.data,
        affine: &v.affine,
    }
}

/// The anti-aliasing blur of a recipe that asks for it (voxels).
pub const ANTIALIAS_SIGMA: f64 = 0.7;

/// What is done with a mask's connected pieces (6-connected).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Islands {
    Keep,
    /// Only the largest piece.
    Largest,
    /// Pieces smaller than this (mm³) dropped.
    Smaller(f64),
}

/// A segment made: its mask, surface and enclosed volume.
#[derive(Debug)]
pub struct BuiltSegment {
    pub mask: Mask,
    pub mesh: TriMesh,
    /// The mask's volume (mL).
    pub volume_ml: f64,
    /// A default name from how it was made, e.g. `Segment 2 (200..3000 HU)`.
    pub name: String,
}

impl BuiltSegment {
    /// A line about it: volume, triangles, closed or open.
    #[must_use]
    pub fn summary(&self) -> String {
        let stats = self.mesh.stats();
        format!(
            "{:.1} mL · {} triangles · {}",
            self.volume_ml,
            stats.triangles,
            if stats.watertight() { "closed" } else { "open" }
        )
    }
}

/// The mask of `source` in `volume`: voxels in a range, or the region
/// grown 6-connected from a seed within a tolerance of its value.
///
/// # Errors
/// The range selects nothing or the seed lies outside the volume (named
/// with its position), or it is cancelled.
pub fn source_mask(
    volume: &Volume,
    source: &SegmentSource,
    progress: &Progress,
) -> Result<Mask, SessionError> {
    match *source {
        SegmentSource::Threshold { lo, hi } => Ok(segment::threshold(
            volume.dims,
            volume.spacing(),
            &volume.data,
            lo,
            hi,
        )?),
        SegmentSource::Grow {
            seed_mm: p,
            tolerance,
        } => segment::region_grow_at(grid(volume), p, tolerance, Connectivity::Six, progress)
            .map_err(|e| {
                SessionError::input(
                    format!(
                        "seed at {:.1}, {:.1}, {:.1} mm (patient, LPS)",
                        p[0], p[1], p[2]
                    ),
                    e,
                )
            }),
    }
}

/// Segments `volume` by `source`, deals with its islands and builds the
/// surface with `options`; `n` numbers the default name.
///
/// # Errors
/// As [`source_mask`]; the surface cannot be made or it is cancelled.
pub fn build_with(
    volume: &Volume,
    source: &SegmentSource,
    islands: Islands,
    options: SurfaceOptions,
    n: usize,
    progress: &Progress,
) -> Result<BuiltSegment, SessionError> {
    let mut mask = source_mask(volume, source, progress)?;
    mask = match islands {
        Islands::Largest => segment::keep_largest(&mask, Connectivity::Six, progress)?,
        Islands::Smaller(mm3) if mm3 > 0.0 => {
            segment::remove_islands(&mask, mm3, Connectivity::Six, progress)?
        }
        Islands::Keep | Islands::Smaller(_) => mask,
    };
    let mesh = mask_surface(&mask, &volume.affine, options, progress)?;
    let volume_ml = mask.volume_mm3() / 1000.0;
    let name = match *source {
        SegmentSource::Threshold { lo, hi } => {
            format!("Segment {n} ({lo:.0}..{hi:.0} {})", volume.unit)
        }
        SegmentSource::Grow { tolerance, .. } => {
            format!("Segment {n} (grown ±{tolerance:.0} {})", volume.unit)
        }
    };
    Ok(BuiltSegment {
        mask,
        mesh,
        volume_ml,
        name,
    })
}

/// The surface options of a recipe.
#[must_use]
pub fn surface_options(recipe: &SegmentRecipe) -> SurfaceOptions {
    SurfaceOptions {
        antialias_sigma: if recipe.antialias {
            ANTIALIAS_SIGMA
        } else {
            0.0
        },
        smooth_iterations: recipe.smooth_iterations,
        target_triangles: (recipe.target_triangles >= 4).then_some(recipe.target_triangles),
    }
}

/// Makes the segment `recipe` describes (the app's editor and a reopened
/// twin's segments).
///
/// # Errors
/// A field of the recipe is out of range (named), or as [`build_with`].
pub fn build(
    volume: &Volume,
    recipe: &SegmentRecipe,
    n: usize,
    progress: &Progress,
) -> Result<BuiltSegment, SessionError> {
    recipe
        .check()
        .map_err(|e| SessionError::input("segment recipe", e))?;
    let islands = if recipe.largest_only {
        Islands::Largest
    } else {
        Islands::Smaller(recipe.min_island_mm3)
    };
    build_with(
        volume,
        &recipe.source,
        islands,
        surface_options(recipe),
        n,
        progress,
    )
}

/// Rebuilds a twin's segments on `volume` from their recipes, in order,
/// keeping each one's name; a segment without a recipe is an error naming
/// it.
///
/// # Errors
/// A segment has no recipe or its recipe fails (named).
pub fn rebuild(
    volume: &Volume,
    segments: &[twin_scenario::document::Segment],
    progress: &Progress,
) -> Result<Vec<BuiltSegment>, SessionError> {
    segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let recipe = s.recipe.as_ref().ok_or_else(|| {
                SessionError::input(
                    format!("segment “{}”", s.name),
                    "saved without the settings that made it; it can be listed, not rebuilt",
                )
            })?;
            let mut b = build(volume, recipe, i + 1, progress)
                .map_err(|e| SessionError::input(format!("segment “{}”", s.name), e))?;
            b.name.clone_from(&s.name);
            Ok(b)
        })
        .collect()
}
