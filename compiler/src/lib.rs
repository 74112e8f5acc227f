//! Tessera's compiler: programs become an IR of RASP operations (`ast_to_ir`), which later
//! passes optimise and lower to model graphs.
//!
//! What is here now: the IR ([`ir`]), the lowering from checked programs ([`ast_to_ir`]) and the
//! IR evaluator ([`eval`]), tested to agree with the reference interpreter, and the RASP layer
//! analysis of an IR ([`analysis`]).
#![deny(clippy::unwrap_used)]

pub mod analysis;
pub mod ast_to_ir;
pub mod eval;
pub mod graph;
pub mod ir;
pub mod ir_to_graph;
pub mod opt;
pub mod to_circuit;

pub use ast_to_ir::{LowerError, ast_to_ir};
pub use eval::{EvalError, eval};
pub use ir::{Fun, Ir, IrOutput, Node, NodeId, Op, Pred};
