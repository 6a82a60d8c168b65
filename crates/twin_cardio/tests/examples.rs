//! Every bundled timeline (`examples/timelines/`) reads, validates and runs
//! (its first minutes: the whole files run in the CLI tests and the docs).

use twin_cardio::Timeline;
use twin_core::Progress;

#[test]
fn every_example_timeline_reads_validates_and_runs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/timelines");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut t: Timeline =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        t.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The first event and a minute after it.
        let first = t
            .events
            .iter()
            .map(|e| e.at_min)
            .fold(f64::INFINITY, f64::min);
        t.duration_min = t.duration_min.min(first + 1.0).max(0.5);
        t.events.retain(|e| e.at_min <= t.duration_min);
        let run = t
            .run(&Progress::new())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(run.beats() > 10, "{}", path.display());
        n += 1;
    }
    assert!(n >= 4, "{n} timelines in {}", dir.display());
}
