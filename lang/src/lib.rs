//! Tessera's front end and reference interpreter.
#![deny(clippy::unwrap_used)]

pub mod ast;
pub mod lexer;
pub mod span;
pub mod diag;
pub mod value;
pub mod parser;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_qualifications, dead_code)]
    grammar
);
