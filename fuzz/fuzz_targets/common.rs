//! What the fuzz targets share: a module loader without files (`check`, `interp`, `gss`) and the
//! last-input file (all of them).

use tessera_lang::program::ModuleLoader;

/// `std::vsa` on `use`, and no file system (`use "x.tess"` fails cleanly). Not `std::rasp`:
/// loading and checking all of it on every execution costs ~15 ms (63 executions per second);
/// the standard library has its own tests. `std::vsa` is not preloaded for qualified names
/// (`std_modules` is empty): parsing it on every execution took two thirds of the time of a
/// small input, and programs that `use std::vsa` still load it.
#[allow(dead_code)] // not every target loads programs
pub struct NoFiles;

impl ModuleLoader for NoFiles {
    fn std_module(&self, path: &str) -> Option<&str> {
        (path == "std::vsa")
            .then(|| tessera_stdlib::module(path))
            .flatten()
    }
    fn std_modules(&self) -> Vec<String> {
        Vec::new()
    }
    fn read_file(&self, _: &std::path::Path) -> Result<String, String> {
        Err("no files while fuzzing".into())
    }
}

/// `source \0 input` as two strings (`None` when either is not UTF-8).
#[allow(dead_code)] // not every target reads an input
pub fn source_and_input(data: &[u8]) -> Option<(&str, &str)> {
    let (prog, input) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    Some((
        std::str::from_utf8(prog).ok()?,
        std::str::from_utf8(input).ok()?,
    ))
}

/// With `TESSERA_FUZZ_LAST=FILE` in the environment, writes each input to FILE before it runs,
/// so an input that kills the process without a libFuzzer report (a stack overflow: the
/// harness's `main` is libFuzzer's, so no Rust overflow handler runs, and an alternate signal
/// stack did not get libFuzzer's crash handler to run either) can still be found.
#[allow(dead_code)] // not every target includes it
pub fn remember(data: &[u8]) {
    static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    if let Some(p) = PATH.get_or_init(|| std::env::var_os("TESSERA_FUZZ_LAST").map(Into::into)) {
        let _ = std::fs::write(p, data);
    }
}
