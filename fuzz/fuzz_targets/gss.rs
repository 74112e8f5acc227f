//! `gss` items on inputs: the data is `source \0 input words`. Every `gss` item that checks is
//! lowered and run on the words; each run ends with output words or an error that displays
//! (never a panic). At most 64 input words, so one execution stays short.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::program::{DefKind, Program};

#[path = "common.rs"]
mod common;
use common::NoFiles;

fuzz_target!(|data: &[u8]| {
    let Some((src, input)) = common::source_and_input(data) else {
        return;
    };
    if input.split_whitespace().count() > 64 {
        return;
    }
    let (program, mut diags) = Program::load("fuzz.tess", src, &NoFiles);
    diags.extend(tessera_lang::check::check_program(&program));
    let _ = tessera_lang::diag::render(&diags, &program.sources, false);
    for def in &program.defs {
        if let DefKind::Gss(g) = &def.kind
            && let Ok(g) = tessera_lang::gss::lower(g)
        {
            match g.run(input) {
                Ok((words, tree)) => {
                    let _ = (words.len(), tree.len());
                    let _ = g.to_source();
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
});
