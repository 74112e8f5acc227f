//! `gss` items on inputs: the data is `source \0 input words`. Every `gss` item that checks is
//! lowered and run on the words; each run ends with output words or an error that displays
//! (never a panic). At most 64 input words, so one execution stays short. When the input holds
//! a second `\0`, what follows it is read as a saved transition parser
//! (`TransitionParser::from_text`), and a parser that loads parses the words too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::program::{DefKind, Program};

#[path = "common.rs"]
mod common;
use common::NoFiles;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Some((src, input)) = common::source_and_input(data) else {
        return;
    };
    let (input, parser) = match input.split_once('\0') {
        Some((words, text)) => (words, Some(text)),
        None => (input, None),
    };
    if input.split_whitespace().count() > 64 {
        return;
    }
    let parser = parser.and_then(|t| tessera_gss::transition::TransitionParser::from_text(t).ok());
    let (program, mut diags) = Program::load("fuzz.tess", src, &NoFiles);
    diags.extend(tessera_lang::check::check_program(&program));
    let _ = tessera_lang::diag::render(&diags, &program.sources, false);
    for def in &program.defs {
        if let DefKind::Gss(g) = &def.kind
            && let Ok(g) = tessera_lang::gss::lower(g)
        {
            if let Some(p) = &parser {
                let mut names = g.names.clone();
                let toks = names.words(input);
                let _ = p.parse(&g, &names, &toks, 4).map(|t| t.to_sexpr(&names, &toks));
            }
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
