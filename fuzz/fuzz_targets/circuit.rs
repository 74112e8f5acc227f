//! The circuit readers (AIGER binary and ASCII, BLIF, BENCH, Verilog, truth tables) on
//! arbitrary bytes: the first byte picks the format. A file that reads must also write in every
//! format, read back, and (when small, and the format byte's upper bits ask for it) be
//! synthesised and proved equivalent to itself by SAT sweeping.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_circuit::io::{self, Format};

const FORMATS: [Format; 6] = [
    Format::Aig,
    Format::Aag,
    Format::Blif,
    Format::Bench,
    Format::Verilog,
    Format::Truth,
];

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = FORMATS[pick as usize % FORMATS.len()];
    let Ok(g) = io::parse(rest, format, "fuzz") else {
        return;
    };
    if g.num_ands() > 2_000 || g.num_inputs() > 16 {
        return;
    }
    for out in [Format::Aig, Format::Aag, Format::Blif, Format::Verilog] {
        let bytes = io::render(&g, out).expect("every graph renders");
        let back = io::parse(&bytes, out, "again").expect("what we write reads back");
        let v = tessera_circuit::cec::cec(&g, &back).expect("same interface");
        assert!(v.is_equivalent(), "{out:?} round trip changed the function");
    }
    // Synthesis (rewriting and refactoring, each cut's function collapsed to a cover) costs
    // several times what reading and the round trips do, so it runs only where the format
    // byte's bits above the format pick ask for it (18 of its 256 values, about one input in
    // fourteen), up to 10 inputs and 64 ANDs; the readers and round trips run on every input.
    if (pick / FORMATS.len() as u8) % 16 == 0 && g.num_ands() <= 64 && g.num_inputs() <= 10 {
        let opt = tessera_circuit::synth::run(&g, tessera_circuit::synth::Effort::Fast);
        let v = tessera_circuit::cec::cec_with(&g, &opt, tessera_circuit::cec::Engine::SatSweep)
            .expect("same interface");
        assert!(v.is_equivalent(), "synthesis changed the function");
    }
});
