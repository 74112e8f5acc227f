//! What the `check` and `interp` targets share.

use tessera_lang::program::ModuleLoader;

/// `std::vsa` and no file system (`use "x.tess"` fails cleanly). Not `std::rasp`: loading and
/// checking all of it on every execution costs ~15 ms (63 executions per second); the standard
/// library has its own tests.
pub struct NoFiles;

impl ModuleLoader for NoFiles {
    fn std_module(&self, path: &str) -> Option<&str> {
        (path == "std::vsa")
            .then(|| tessera_stdlib::module(path))
            .flatten()
    }
    fn std_modules(&self) -> Vec<String> {
        vec!["std::vsa".to_string()]
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
