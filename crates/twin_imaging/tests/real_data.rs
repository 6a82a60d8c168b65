//! Real public data from ../shared/data (skipped with a message when absent,
//! failing when TWIN_REQUIRE_DATA=1).

use twin_core::Progress;
use twin_core::testdata::require;
use twin_imaging::volume::DEFAULT_BUDGET_BYTES;
use twin_imaging::{load_stack, scan_folder};

#[test]
fn chest_ct_jpeg_lossless_loads_in_spatial_order() {
    let Some(dir) = require("dicom/ct_chest_covidctmd_normal001/dicom") else {
        return;
    };
    let report = scan_folder(&dir, &Progress::new()).expect("scan");
    let (_, _, stack) = report.stacks().next().expect("stack");
    assert_eq!(stack.positions.len(), 154);
    let vol = load_stack(stack, 0, &Progress::new(), DEFAULT_BUDGET_BYTES).expect("load");
    assert_eq!(vol.dims, [512, 512, 154]);
    let sp = vol.spacing();
    assert!((sp[2] - 2.0).abs() < 1e-3, "slice spacing {}", sp[2]);
    // Positions strictly ascending along the normal.
    assert!(stack.positions.windows(2).all(|w| w[1] > w[0]));
    // Air outside the body ≈ −1000 HU, soft tissue at the centre of the chest 0–100 HU somewhere.
    let corner = vol.get(5, 5, 77);
    assert!((-1100.0..-900.0).contains(&corner), "corner {corner}");
    let (lo, hi) = vol.range();
    assert!(lo >= -3100.0 && hi > 1000.0, "range {lo}..{hi}");
}
