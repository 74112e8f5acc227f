//! The lexer and parser on arbitrary bytes: never a panic, and printing what was parsed gives
//! source that parses again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_lang::parser::parse_module;
use tessera_lang::span::SourceMap;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = SourceMap::new();
    let file = sources.add("fuzz.tess", src);
    let (module, diags) = parse_module(src, file);
    if diags.is_empty() {
        let printed = tessera_lang::print::to_source(&module);
        let file2 = sources.add("printed.tess", &printed);
        let (_, again) = parse_module(&printed, file2);
        assert!(
            again.is_empty(),
            "printed source does not parse:\n{printed}"
        );
    }
});
