//! End-to-end tests live in `tests/`; this library holds what several of
//! them share: the fixed-seed file mutations of the robustness tests
//! (docs/ROBUSTNESS.md).

pub mod hostile;
