//! Tessera's front end and reference interpreter.
#![deny(clippy::unwrap_used)]

pub mod ast;
pub mod check;
pub mod diag;
pub mod interp;
pub mod kernels;
pub mod lexer;
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
