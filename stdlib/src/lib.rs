//! The Tessera standard library: `.tess` sources embedded in the binary.
//!
//! `use std::rasp::{sort, hist};` in a program, or `tessera run --entry std::rasp::sort`.

/// Every module, by its path, with its source.
pub const MODULES: &[(&str, &str)] = &[
    ("std::rasp", include_str!("../std/rasp.tess")),
    ("std::vsa", include_str!("../std/vsa.tess")),
    ("std::pointer", include_str!("../std/pointer.tess")),
];

/// The source of one module (`std::rasp`).
pub fn module(path: &str) -> Option<&'static str> {
    MODULES.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
}

/// The paths of all modules.
pub fn modules() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(p, _)| *p)
}

/// The names of the functions a module defines, in order (its `fn NAME(` lines).
pub fn functions(path: &str) -> Vec<&'static str> {
    module(path)
        .map(|src| {
            src.lines()
                .filter_map(|l| l.strip_prefix("fn "))
                .filter_map(|l| l.split('(').next())
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rasp_lists_its_functions() {
        let f = super::functions("std::rasp");
        assert!(f.contains(&"sort") && f.contains(&"long_addition"), "{f:?}");
        assert!(super::functions("std::nope").is_empty());
    }
}
