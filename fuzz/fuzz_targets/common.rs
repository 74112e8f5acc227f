//! What the `check` and `interp` targets share.

use tessera_lang::program::ModuleLoader;

/// `std::vsa` and no file system (`use "x.tess"` fails cleanly). Not `std::rasp`: loading and
/// checking all of it on every execution costs ~15 ms (63 executions per second); the standard
/// library has its own tests.
pub struct NoFiles;

impl ModuleLoader for NoFiles {
    fn std_module(&self, path: &str) -> Option<&str> {
        (path == "std::vsa").then(|| tessera_stdlib::module(path)).flatten()
    }
    fn std_modules(&self) -> Vec<String> {
        vec!["std::vsa".to_string()]
    }
    fn read_file(&self, _: &std::path::Path) -> Result<String, String> {
        Err("no files while fuzzing".into())
    }
}
