//! RASP's layer analysis of an IR: in which attention layer each operation can run, and how
//! many heads each layer needs.
//!
//! The rules are RASP's own (anchors/rasp.md §1.5), so the numbers compare with its table:
//! inputs and constants are available before layer 1; an elementwise operation (an MLP) runs in
//! the layer where its last input becomes available, at no cost in layers; a selector is usable
//! in the layer after both its keys and queries exist; a reduction through a selector
//! (`aggregate`, `mean`, `width`, `best`) runs in the first layer where its selector is usable
//! and its values exist. `length` is computed by one head in layer 1 (the width of the all-true
//! selector), as in RASP and Tracr. A layer needs one head per distinct selector reduced in it.
//! `gather(best(s, score), xs)` (an aggregate through a `best` whose default is no position) is
//! the `best`'s own head reading `xs` at the winner, as the compiler builds it and as RASP's
//! proposed `best` would: no second head or layer.

use crate::ir::{Ir, NodeId, Op};
use std::collections::BTreeSet;

/// Layers and heads of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The number of attention layers.
    pub layers: usize,
    /// Heads used in each layer (index 0 is layer 1).
    pub heads: Vec<usize>,
    /// For every IR node: the layer whose attention computes it (reductions), or after whose
    /// attention it is available (maps: 0 means before the first attention).
    pub node_layer: Vec<usize>,
}

impl Analysis {
    pub fn max_heads(&self) -> usize {
        self.heads.iter().copied().max().unwrap_or(0)
    }

    /// `2 layers, heads 1/1`.
    pub fn render(&self) -> String {
        let h: Vec<String> = self.heads.iter().map(usize::to_string).collect();
        format!(
            "{} layers, heads {}",
            self.layers,
            if h.is_empty() {
                "-".into()
            } else {
                h.join("/")
            }
        )
    }
}

/// Analyse the live part of an IR.
pub fn analyse(ir: &Ir) -> Analysis {
    let live = ir.live();
    // depth[n]: the number of attention layers before n's value exists; for selectors, the
    // first layer in which they can be used.
    let mut depth = vec![0usize; ir.nodes.len()];
    let mut heads: Vec<BTreeSet<Option<NodeId>>> = Vec::new();
    let use_head =
        |layer: usize, sel: Option<NodeId>, heads: &mut Vec<BTreeSet<Option<NodeId>>>| {
            if heads.len() < layer {
                heads.resize(layer, BTreeSet::new());
            }
            heads[layer - 1].insert(sel);
        };
    for id in live {
        let node = ir.node(id);
        let d = match &node.op {
            Op::Tokens | Op::Indices | Op::Const(_) => 0,
            Op::Length => {
                use_head(1, None, &mut heads);
                1
            }
            Op::Elementwise { inputs, .. } => inputs.iter().map(|&i| depth[i]).max().unwrap_or(0),
            Op::Select { keys, queries, .. } => depth[*keys].max(depth[*queries]) + 1,
            Op::SelAnd(a, b) | Op::SelOr(a, b) => depth[*a].max(depth[*b]),
            Op::SelNot(a) => depth[*a],
            Op::Aggregate { sel, values, .. } if gathered_best(ir, *sel, None).is_some() => {
                let b = gathered_best(ir, *sel, None).unwrap_or(*sel);
                // values that come later than the pointer need a head of their own
                if depth[*values] + 1 > depth[b] {
                    let layer = depth[*values] + 1;
                    use_head(layer, Some(*sel), &mut heads);
                    layer
                } else {
                    depth[b]
                }
            }
            Op::Aggregate { sel, values, .. }
            | Op::Mean { sel, values }
            | Op::Best {
                sel, score: values, ..
            } => {
                let layer = depth[*sel].max(depth[*values] + 1);
                use_head(layer, Some(*sel), &mut heads);
                layer
            }
            Op::Width { sel } => {
                let layer = depth[*sel];
                use_head(layer, Some(*sel), &mut heads);
                layer
            }
            // `sum` bundles through attention; every other VSA operation is positionwise.
            Op::Vsa {
                op: crate::ir::VsaOp::Sum { .. },
                inputs,
            } => {
                let (sel, values) = (inputs[0], inputs[1]);
                let layer = depth[sel].max(depth[values] + 1);
                use_head(layer, Some(sel), &mut heads);
                layer
            }
            Op::Vsa { inputs, .. } => inputs.iter().map(|&i| depth[i]).max().unwrap_or(0),
        };
        depth[id] = d;
    }
    let layers = match &ir.output {
        Some(crate::ir::IrOutput::Seq(n)) | Some(crate::ir::IrOutput::Sel(n)) => depth[*n],
        _ => 0,
    }
    .max(heads.len());
    heads.resize(layers, BTreeSet::new());
    Analysis {
        layers,
        heads: heads.iter().map(BTreeSet::len).collect(),
        node_layer: depth,
    }
}

/// The `best` node `p` of `select(indices, p, ==)` (what `gather(p, xs)` lowers to) when its
/// default is no position: none, a negative integer, or (given `max_len`) one at or past it.
/// The compiler builds such a gather as the pointer's own head.
pub(crate) fn gathered_best(ir: &Ir, sel: NodeId, max_len: Option<usize>) -> Option<NodeId> {
    let Op::Select {
        keys,
        queries,
        pred: crate::ir::Pred::Cmp(tessera_lang::ast::BinOp::Eq),
    } = &ir.node(sel).op
    else {
        return None;
    };
    if !matches!(ir.node(*keys).op, Op::Indices) {
        return None;
    }
    let Op::Best { default, .. } = &ir.node(*queries).op else {
        return None;
    };
    let a_position = |v: &tessera_lang::value::Val| match v {
        tessera_lang::value::Val::Int(i) => {
            usize::try_from(*i).is_ok_and(|i| max_len.is_none_or(|n| i < n))
        }
        _ => false,
    };
    (!default.as_ref().is_some_and(a_position)).then_some(*queries)
}
