//! Tessera's front end and reference interpreter.
#![deny(clippy::unwrap_used)]

pub mod ast;

/// Run a recursive step with enough stack: grows the stack on the heap when less than 128 KiB
/// is left, so deep (but bounded) recursion works on any thread.
pub fn with_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, f)
}

pub mod check;
pub mod circuit;
pub mod diag;
pub mod gss;
pub mod interp;
pub mod kernels;
pub mod lexer;
pub mod limits;
pub mod parser;
pub mod print;
pub mod program;
pub mod span;
pub mod types;
pub mod value;
pub mod values;

lalrpop_util::lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        unused_qualifications,
        dead_code
    )]
    grammar
);
