//! Loading (with the standard library, no files) and type checking arbitrary source: never a
//! panic, and rendering every diagnostic works.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::program::{ModuleLoader, Program};

/// No file system: `use "x.tess"` fails cleanly.
struct NoFiles;

impl ModuleLoader for NoFiles {
    // `std::vsa` only: loading and checking all of `std::rasp` on every execution would cost
    // ~15 ms (63 executions per second); the standard library has its own tests.
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

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (program, mut diags) = Program::load("fuzz.tess", src, &NoFiles);
    diags.extend(tessera_lang::check::check_program(&program));
    let _ = tessera_lang::diag::render(&diags, &program.sources, false);
});
