//! Loading (with `std::vsa`, no files) and type checking arbitrary source: never a
//! panic, and rendering every diagnostic works.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::program::Program;

#[path = "common.rs"]
mod common;
use common::NoFiles;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let (program, mut diags) = Program::load("fuzz.tess", src, &NoFiles);
    diags.extend(tessera_lang::check::check_program(&program));
    let _ = tessera_lang::diag::render(&diags, &program.sources, false);
});
