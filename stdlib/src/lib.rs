//! The Tessera standard library: `.tess` sources embedded in the binary.
//!
//! `use std::rasp::{sort, hist};` in a program, or `tessera run --entry std::rasp::sort`.

/// Every module, by its path, with its source.
pub const MODULES: &[(&str, &str)] = &[("std::rasp", include_str!("../std/rasp.tess"))];

/// The source of one module (`std::rasp`).
pub fn module(path: &str) -> Option<&'static str> {
    MODULES.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// The paths of all modules.
pub fn modules() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(p, _)| *p)
}
