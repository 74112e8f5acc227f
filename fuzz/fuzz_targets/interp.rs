//! The interpreter on well-typed programs with inputs: the data is `source \0 input tokens`.
//! Every run ends with a value or a diagnostic (never a panic), and the diagnostic renders.
//!
//! Bounds kept by the harness (not by the language): at most 12 input tokens, and programs that
//! declare a space of more than 4,096 dimensions are skipped, so one execution stays within the
//! fuzzer's time limit (a legitimately huge computation is not a hang of Tessera's).
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::interp::{EntryArgs, Interp};
use tessera_lang::program::Program;
use tessera_lang::value::Val;

#[path = "common.rs"]
mod common;
use common::NoFiles;

fn big_space(src: &str) -> bool {
    src.split("dim").skip(1).any(|rest| {
        let digits: String = rest
            .trim_start_matches([' ', ':', '\t'])
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.len() > 4 || digits.parse::<u64>().is_ok_and(|d| d > 4096)
    }) || (src.contains("space") && !src.contains("dim"))
}

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Some((src, input)) = common::source_and_input(data) else {
        return;
    };
    if big_space(src) {
        return;
    }
    let (program, mut diags) = Program::load("fuzz.tess", src, &NoFiles);
    diags.extend(tessera_lang::check::check_program(&program));
    if diags
        .iter()
        .any(|d| d.severity == tessera_lang::diag::Severity::Error)
    {
        return;
    }
    let tokens: Vec<Val> = input
        .split_whitespace()
        .take(12)
        .map(Val::from_token)
        .collect();
    for entry in ["main", "f", "g"] {
        let Ok(def) = program.resolve_str(entry) else {
            continue;
        };
        match Interp::new(&program, Some(&tokens)).run_entry(def, &EntryArgs::default()) {
            Ok(out) => {
                let _ = out.render();
                let _ = out.to_json();
            }
            Err(e) => {
                let _ = tessera_lang::diag::render(&[e.to_diagnostic()], &program.sources, false);
            }
        }
    }
});
