//! Single-gate mutations, to test that equivalence checking catches every bug.

use crate::aig::{Aig, Lit, Node};

/// The kinds of single-gate bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// Complement one fanin of an AND.
    FlipFanin { node: u32, which: usize },
    /// Complement an AND's output (every use of it).
    FlipNode { node: u32 },
    /// Turn an AND into an OR (`a·b` into `a+b`).
    AndToOr { node: u32 },
}

/// `g` with one mutation applied (same interface). Returns `None` for a node that is not an
/// AND.
pub fn apply(g: &Aig, m: Mutation) -> Option<Aig> {
    let target = match m {
        Mutation::FlipFanin { node, .. }
        | Mutation::FlipNode { node }
        | Mutation::AndToOr { node } => node,
    };
    if !g.is_and(target) {
        return None;
    }
    let (mut ng, mut map) = g.empty_like();
    for (v, n) in g.nodes().iter().enumerate() {
        let Node::And(a, b) = *n else { continue };
        let (mut x, mut y) = (Aig::map_lit(&map, a), Aig::map_lit(&map, b));
        let mut out_compl = false;
        if v as u32 == target {
            match m {
                Mutation::FlipFanin { which, .. } => {
                    if which == 0 {
                        x = !x;
                    } else {
                        y = !y;
                    }
                }
                Mutation::FlipNode { .. } => out_compl = true,
                Mutation::AndToOr { .. } => {
                    x = !x;
                    y = !y;
                    out_compl = true;
                }
            }
        }
        map[v] = ng.and(x, y).xor(out_compl);
    }
    g.finish_like(&mut ng, &map);
    Some(ng)
}

/// Whether a node's value can reach an output (mutating a dangling node changes nothing).
pub fn observable_nodes(g: &Aig) -> Vec<u32> {
    let outs: Vec<Lit> = g.outputs().to_vec();
    g.cone(&outs)
}
