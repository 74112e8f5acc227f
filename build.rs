//! Generates one test per corpus file under `tests/cases/` (see tests/it/corpus.rs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "tess") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let cases = root.join("tests").join("cases");
    println!("cargo:rerun-if-changed=tests/cases");
    let mut files = Vec::new();
    collect(&cases, &mut files);
    let mut code = String::new();
    for f in &files {
        let rel = f.strip_prefix(&cases).unwrap_or(f);
        let name: String = rel
            .with_extension("")
            .to_string_lossy()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let _ = writeln!(
            code,
            "#[test]\nfn {name}() {{ crate::corpus::run_case({:?}); }}",
            f.to_string_lossy()
        );
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into()));
    if let Err(e) = std::fs::write(out.join("corpus_cases.rs"), code) {
        println!("cargo:warning=cannot write the corpus test list: {e}");
    }
}
