//! Circuits for Tessera: and-inverter graphs (AIGs) with structural hashing; readers and
//! writers for AIGER, BLIF, BENCH, IWLS `.truth` and structural Verilog; synthesis passes
//! (balancing, cut rewriting, refactoring, resubstitution, SAT sweeping) run as scripts; proofs
//! of equivalence for every output (exhaustive bit-parallel simulation, or simulation-guided SAT
//! sweeping) with a counterexample when two circuits differ; and a generator that builds
//! circuits token by token and can never produce a wrong one.
//!
//! ```
//! use tessera_circuit::{Aig, cec};
//! let (mut g, x) = Aig::with_inputs(2);
//! let o = g.xor(x[0], x[1]);
//! g.add_output(o, None);
//! let better = tessera_circuit::synth::run(&g, tessera_circuit::synth::Effort::Fast);
//! assert!(cec::cec(&g, &better).unwrap().is_equivalent());
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod aig;
pub mod bench;
pub mod cec;
pub mod dc;
pub mod eqsat;
pub mod generate;
pub mod io;
pub mod mutate;
pub mod net;
pub mod opt;
pub mod sim;
pub mod synth;
pub mod tt;

pub use aig::{Aig, Lit, Node};

use std::fmt;

/// Everything that can go wrong reading, writing or comparing circuits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircuitError {
    /// A malformed file: where, and what was expected.
    Parse {
        file: String,
        line: usize,
        msg: String,
    },
    /// A file could not be read or written.
    Io(String),
    /// A request that cannot be carried out (mismatched interfaces, unknown formats, limits).
    Usage(String),
}

impl fmt::Display for CircuitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CircuitError::Parse { file, line, msg } => write!(f, "{file}:{line}: {msg}"),
            CircuitError::Io(m) | CircuitError::Usage(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CircuitError {}
