//! The integration-test binary: the corpus (`tests/cases/**/*.tess`, one test per file), the
//! command line, and properties of the standard library.

mod circuits;
mod cli;
mod corpus;
mod limits;
mod pointer;
mod props;
mod repl;
mod tutorial;
