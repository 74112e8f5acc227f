#![allow(dead_code)]
use std::path::{Path, PathBuf};
use tessera_circuit::Aig;

pub fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The benchmark circuits with at most `max_ands` ANDs in their input form, by name.
pub fn small_circuits(max_ands: usize) -> Vec<(String, Aig)> {
    let entries = tessera_circuit::bench::read_manifest(&data().join("manifest.csv")).unwrap();
    entries
        .iter()
        .filter(|e| e.ands_in <= max_ands)
        .map(|e| {
            let (g, _) = tessera_circuit::bench::load(&data(), e).unwrap();
            (format!("{}/{}", e.suite, e.name), g)
        })
        .collect()
}

pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-circuit-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
