//! OpenSim storage files (`.mot` and `.sto`; the first byte picks which).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: twin_fuzz::contained_panics_are_errors(), |data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let name = if pick & 1 == 0 { "trial.mot" } else { "trial.sto" };
    let path = twin_fuzz::write(name, body);
    match twin_msk::Table::read(&path) {
        Ok(table) => {
            let _ = table.to_text();
        }
        Err(e) => twin_fuzz::names_file(&e.to_string(), &path),
    }
});
