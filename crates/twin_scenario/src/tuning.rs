//! A device tuning's landscape (`twin gait tune`, the app's Predicted
//! gait pane): every stiffness × neutral angle searched under every seed,
//! the optimum per seed by one rule, and whether it holds. Kept in the
//! twin with a predicted walk ([`crate::document::PredictedGait`]) and
//! reported.

use twin_msk::predict::Outcome;

/// One device setting under one seed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TuneCell {
    pub stiffness: f64,
    pub neutral_deg: f64,
    pub seed: u64,
    pub outcome: Outcome,
    /// Stance-time asymmetry after the first second (%).
    pub stance_asymmetry_percent: f64,
    pub parameters: Vec<f64>,
}

impl TuneCell {
    /// Whether the search found a walk: it did not fall and kept within
    /// 0.1 m/s of the speed band (speed penalty below 1; a search that
    /// ends standing or shuffling is no walk to rank a device by).
    #[must_use]
    pub fn walked(&self) -> bool {
        !self.outcome.fell && self.outcome.speed_penalty < 1.0
    }
}

/// A tuning's landscape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Landscape {
    pub stiffness: Vec<f64>,
    pub neutral_deg: Vec<f64>,
    pub seeds: Vec<u64>,
    /// Every setting under every seed, stiffness-major, seeds innermost.
    pub cells: Vec<TuneCell>,
    /// Per seed, the grid indices (stiffness, neutral) of the lowest
    /// metabolic cost of transport among the walks
    /// ([`TuneCell::walked`]); `None` when none walked.
    pub optimum: Vec<Option<[usize; 2]>>,
    /// Whether the seeds' optima lie within one grid step of each other
    /// on both axes (false when a seed found no walk).
    pub stable: bool,
}

impl Landscape {
    /// The mean over seeds of `value` at (stiffness index, neutral index),
    /// over the walks ([`TuneCell::walked`]); `None` when none walked.
    #[must_use]
    pub fn mean(&self, i: usize, j: usize, value: impl Fn(&TuneCell) -> f64) -> Option<f64> {
        let ns = self.seeds.len();
        let start = (i * self.neutral_deg.len() + j) * ns;
        let walks: Vec<f64> = self.cells[start..start + ns]
            .iter()
            .filter(|c| c.walked())
            .map(value)
            .collect();
        (!walks.is_empty()).then(|| walks.iter().sum::<f64>() / walks.len() as f64)
    }
}

/// Per seed, the grid indices of the lowest cost of transport among the
/// walks, and whether they agree within one grid step.
fn optima(cells: &[TuneCell], nk: usize, nn: usize, ns: usize) -> (Vec<Option<[usize; 2]>>, bool) {
    let optimum: Vec<Option<[usize; 2]>> = (0..ns)
        .map(|s| {
            let mut best: Option<([usize; 2], f64)> = None;
            for i in 0..nk {
                for j in 0..nn {
                    let c = &cells[(i * nn + j) * ns + s];
                    let cot = c.outcome.cost_of_transport;
                    if c.walked() && best.is_none_or(|(_, b)| cot < b) {
                        best = Some(([i, j], cot));
                    }
                }
            }
            best.map(|(ij, _)| ij)
        })
        .collect();
    let stable = optimum.iter().all(Option::is_some)
        && (0..2).all(|axis| {
            let v: Vec<usize> = optimum.iter().flatten().map(|o| o[axis]).collect();
            v.iter()
                .max()
                .zip(v.iter().min())
                .is_some_and(|(a, b)| a - b <= 1)
        });
    (optimum, stable)
}

impl Landscape {
    /// The landscape of `cells` (stiffness-major, seeds innermost) on the
    /// grid: the optimum per seed and its stability computed from them
    /// (a saved landscape read again is judged by the current rule).
    ///
    /// # Errors
    /// The cells do not fill the grid (said how).
    pub fn from_cells(
        stiffness: Vec<f64>,
        neutral_deg: Vec<f64>,
        seeds: Vec<u64>,
        cells: Vec<TuneCell>,
    ) -> Result<Self, String> {
        let (nk, nn, ns) = (stiffness.len(), neutral_deg.len(), seeds.len());
        if cells.len() != nk * nn * ns {
            return Err(format!(
                "{} cells for a {nk}×{nn} grid under {ns} seeds",
                cells.len()
            ));
        }
        let (optimum, stable) = optima(&cells, nk, nn, ns);
        Ok(Self {
            stiffness,
            neutral_deg,
            seeds,
            cells,
            optimum,
            stable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweep_from_the_compliant_walk_reads_as_documented() {
        // examples/gait/tuning-landscape-2d-compliant.json (docs/models/
        // predictive.md, Device tuning, sweep 3): 4 of 12 searches walk,
        // the seeds' optima at 600, 600 and 450 N·m/rad.
        let l: Landscape = serde_json::from_str(include_str!(
            "../../../examples/gait/tuning-landscape-2d-compliant.json"
        ))
        .unwrap();
        let again = Landscape::from_cells(
            l.stiffness.clone(),
            l.neutral_deg.clone(),
            l.seeds.clone(),
            l.cells.clone(),
        )
        .unwrap();
        assert_eq!(again, l, "the file's optimum is the current rule's");
        assert_eq!(l.cells.iter().filter(|c| c.walked()).count(), 4);
        let at = |o: Option<[usize; 2]>| o.map(|[i, _]| l.stiffness[i]);
        let optima: Vec<_> = l.optimum.iter().map(|o| at(*o)).collect();
        assert_eq!(optima, [Some(600.0), Some(600.0), Some(450.0)]);
        assert!(l.stable);
        assert!(
            l.mean(0, 0, |c| c.outcome.cost_of_transport).is_none(),
            "300: no walk"
        );
    }

    fn cell(k: f64, n: f64, seed: u64, cot: f64, fell: bool) -> TuneCell {
        TuneCell {
            stiffness: k,
            neutral_deg: n,
            seed,
            outcome: Outcome {
                cost_of_transport: cot,
                fell,
                ..Outcome::default()
            },
            stance_asymmetry_percent: 0.0,
            parameters: Vec::new(),
        }
    }

    #[test]
    fn the_optimum_is_the_cheapest_walk_per_seed_and_stable_within_a_step() {
        // 3 stiffnesses × 1 neutral angle × 2 seeds; seed 0 cheapest at
        // index 1, seed 1 at index 2 (index 0 cheaper but fell).
        let cells = vec![
            cell(200.0, 0.0, 0, 5.0, false),
            cell(200.0, 0.0, 1, 1.0, true),
            cell(400.0, 0.0, 0, 4.0, false),
            cell(400.0, 0.0, 1, 6.0, false),
            cell(600.0, 0.0, 0, 4.5, false),
            cell(600.0, 0.0, 1, 5.5, false),
        ];
        let (o, stable) = optima(&cells, 3, 1, 2);
        assert_eq!(o, vec![Some([1, 0]), Some([2, 0])]);
        assert!(stable);
        // Two steps apart: not stable.
        let mut far = cells.clone();
        far[5].outcome.cost_of_transport = 7.0;
        far[1].outcome.fell = false;
        let (o, stable) = optima(&far, 3, 1, 2);
        assert_eq!(o, vec![Some([1, 0]), Some([0, 0])]);
        assert!(stable, "one step apart is stable");
        far[0].outcome.cost_of_transport = 9.0;
        far[2].outcome.cost_of_transport = 9.0;
        let (o, stable) = optima(&far, 3, 1, 2);
        assert_eq!(o, vec![Some([2, 0]), Some([0, 0])]);
        assert!(!stable);
        // A seed with no walk: no optimum, not stable.
        let mut fell = cells.clone();
        for c in fell.iter_mut().filter(|c| c.seed == 1) {
            c.outcome.fell = true;
        }
        let (o, stable) = optima(&fell, 3, 1, 2);
        assert_eq!(o[1], None);
        assert!(!stable);
        // Standing or shuffling (far below the speed band) is no walk
        // either, however cheap per metre it looks.
        let mut slow = cells.clone();
        slow[0].outcome.cost_of_transport = 1.0;
        slow[0].outcome.speed_penalty = 75.7;
        assert!(!slow[0].walked() && slow[2].walked());
        let (o, _) = optima(&slow, 3, 1, 2);
        assert_eq!(o[0], Some([1, 0]));
    }
}
