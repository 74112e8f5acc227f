//! What the `check` and `interp` targets share.

use tessera_lang::program::ModuleLoader;

/// `std::vsa` on `use`, and no file system (`use "x.tess"` fails cleanly). Not `std::rasp`:
/// loading and checking all of it on every execution costs ~15 ms (63 executions per second);
/// the standard library has its own tests. `std::vsa` is not preloaded for qualified names
/// (`std_modules` is empty): parsing it on every execution took two thirds of the time of a
/// small input, and programs that `use std::vsa` still load it.
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

/// libFuzzer's crash handler runs on the alternate signal stack when the thread has one; without
/// one, a stack overflow kills the process with a bare SIGSEGV, no report and no saved input
/// (the harness's `main` is libFuzzer's, so Rust's runtime never installs its own). Installs a
/// 256 KiB alternate stack for the calling thread, once.
#[allow(dead_code)] // not every target includes it
pub fn alt_stack() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let size = 256 * 1024;
        let mem: &'static mut [u8] = Box::leak(vec![0u8; size].into_boxed_slice());
        let ss = libc::stack_t {
            ss_sp: mem.as_mut_ptr().cast(),
            ss_flags: 0,
            ss_size: size,
        };
        // SAFETY: `ss` describes memory that lives for the rest of the process.
        unsafe {
            libc::sigaltstack(&ss, std::ptr::null_mut());
        }
    });
}

/// With `TESSERA_FUZZ_LAST=FILE` in the environment, writes each input to FILE before it runs,
/// so an input that kills the process without a libFuzzer report can still be found.
#[allow(dead_code)] // not every target includes it
pub fn remember(data: &[u8]) {
    static PATH: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    if let Some(p) = PATH.get_or_init(|| std::env::var_os("TESSERA_FUZZ_LAST").map(Into::into)) {
        let _ = std::fs::write(p, data);
    }
}
