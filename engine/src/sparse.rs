//! A CPU forward pass that touches only the nonzero weights.
//!
//! Compiled models are almost all zeros: `reverse` at max_len 20 has 21,665 dense parameters and
//! 554 nonzero ones, and its residual rows are one-hots and a few numbers. [`SparseEngine`]
//! stores every matrix as lists of `(column, weight)` per input row and visits only the rows a
//! matrix reads, skips zero inputs, scores a query against a key over the key's nonzero columns
//! only, treats keys with identical key and value rows as one group with a count (one-hot keys
//! over a small vocabulary: a handful of groups however long the input), and moves values only
//! into the columns a head writes. MLP units held off by a large negative bias unless one input
//! (a one-hot) is on, as the compiler's maps fused with a head's decoding are, are computed only
//! at positions where that input is nonzero, once a per-sequence bound (each other input's range
//! over the positions) proves them zero elsewhere. It computes in f64 what [`Model::forward`] computes, the same sums
//! up to their order (so the same residual up to rounding, and the same decoded outputs: the
//! compiled margins are many orders of magnitude above f64 rounding), without candle's
//! per-operation cost. The candle [`crate::Engine`] remains the engine for the GPU.

use crate::{EngineError, R};
use tessera_compiler::graph::{Mat, Memory, Model, Unembed, apply_memories, decode_output};
use tessera_lang::value::Val;

/// The most key groups a head looks for before it treats every key as its own.
const MAX_GROUPS: usize = 16;

/// A matrix as `(column, weight)` lists per row, for `y += x·M` over the nonzero `x[r]`.
#[derive(Debug, Clone)]
struct Rows {
    rows: Vec<Vec<(usize, f64)>>,
    /// The rows with a nonzero weight: a head or MLP reads a few residual dimensions of many.
    used: Vec<usize>,
}

impl Rows {
    fn new(m: &Mat) -> Rows {
        Rows::from_rows(
            (0..m.rows)
                .map(|r| {
                    (0..m.cols)
                        .filter_map(|c| {
                            let v = m.get(r, c);
                            (v != 0.0).then_some((c, v))
                        })
                        .collect()
                })
                .collect(),
        )
    }

    fn from_rows(rows: Vec<Vec<(usize, f64)>>) -> Rows {
        let used = (0..rows.len()).filter(|&r| !rows[r].is_empty()).collect();
        Rows { rows, used }
    }

    /// `y += x·M` (y already sized to the columns).
    fn apply_add(&self, x: &[f64], y: &mut [f64]) {
        for &r in &self.used {
            let xr = x[r];
            if xr == 0.0 {
                continue;
            }
            for &(c, v) in &self.rows[r] {
                y[c] += xr * v;
            }
        }
    }
}

struct SparseHead {
    wq: Rows,
    wk: Rows,
    /// The value/output map onto the columns it writes (`out`), compacted.
    ov: Rows,
    out: Vec<usize>,
    dk: usize,
}

struct SparseMlp {
    /// The ungated units, numbered compactly: input weights, biases, output weights.
    w1: Rows,
    b1: Vec<f64>,
    w2: Rows,
    /// Units with a large positive input weight on one column (a one-hot that switches them
    /// on, as the compiler's maps fused with a head's decoding have), grouped by that column.
    gated: Vec<GatedUnit>,
    /// Distinct gate columns, and the gated units (indices into `gated`) of each.
    gates: Vec<(usize, Vec<usize>)>,
    /// The columns gated units read besides their gates (whose ranges the bound needs).
    bounded: Vec<usize>,
}

struct GatedUnit {
    gate: usize,
    bias: f64,
    inputs: Vec<(usize, f64)>,
    outputs: Vec<(usize, f64)>,
}

/// A positive input weight at least this large (with a bias at most minus half of it) marks a
/// unit as gated by that input.
const GATE_WEIGHT: f64 = 1000.0;

impl SparseMlp {
    fn new(m: &tessera_compiler::graph::Mlp) -> SparseMlp {
        let w1 = Rows::new(&m.w1);
        let w2 = Rows::new(&m.w2);
        let units = m.b1.len();
        let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); units];
        for (r, row) in w1.rows.iter().enumerate() {
            for &(c, v) in row {
                if let Some(col) = cols.get_mut(c) {
                    col.push((r, v));
                }
            }
        }
        // Ungated units keep their order, renumbered 0.. among themselves.
        let mut compact: Vec<Option<usize>> = vec![None; units];
        let mut gated = Vec::new();
        let mut by_gate: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        let (mut b1, mut w2_rows) = (Vec::new(), Vec::new());
        for (u, col) in cols.into_iter().enumerate() {
            // Gated: the largest positive input weight is large, and the bias holds the unit
            // below zero unless that input is on (a decoder's steep step on a head's number
            // is not: its bias is a threshold, and that input is never zero).
            let gate = col
                .iter()
                .filter(|(_, v)| *v >= GATE_WEIGHT)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, v)| m.b1[u] <= -v / 2.0)
                .map(|(r, _)| *r);
            let outputs = w2.rows.get(u).cloned().unwrap_or_default();
            match gate {
                Some(g) => {
                    by_gate.entry(g).or_default().push(gated.len());
                    gated.push(GatedUnit {
                        gate: g,
                        bias: m.b1[u],
                        inputs: col,
                        outputs,
                    });
                }
                None => {
                    compact[u] = Some(b1.len());
                    b1.push(m.b1[u]);
                    w2_rows.push(outputs);
                }
            }
        }
        let rows = w1
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|(c, v)| Some((compact.get(c).copied().flatten()?, v)))
                    .collect()
            })
            .collect();
        let bounded: Vec<usize> = gated
            .iter()
            .flat_map(|u| u.inputs.iter().map(|(r, _)| *r).filter(|r| *r != u.gate))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        SparseMlp {
            w1: Rows::from_rows(rows),
            b1,
            w2: Rows::from_rows(w2_rows),
            gated,
            gates: by_gate.into_iter().collect(),
            bounded,
        }
    }

    /// Which gated units provably output 0 wherever their gate column is 0 in this sequence:
    /// their bias plus the most every other input can add (from each column's range over the
    /// sequence's positions) is below zero, with a margin far above rounding. Such a unit is
    /// computed only where its gate is nonzero, and the result is the same as computing it
    /// everywhere. The others (`always`) are computed at every position.
    fn skippable(&self, x: &[f64], d: usize, len: usize, b: &mut Scratch) {
        b.skip.clear();
        b.always.clear();
        if self.gated.is_empty() {
            return;
        }
        b.range.clear();
        b.range.resize(d, (f64::INFINITY, f64::NEG_INFINITY));
        for p in 0..len {
            for &c in &self.bounded {
                let v = x[p * d + c];
                let r = &mut b.range[c];
                *r = (r.0.min(v), r.1.max(v));
            }
        }
        for (i, u) in self.gated.iter().enumerate() {
            let mut bound = u.bias;
            for &(r, w) in &u.inputs {
                if r != u.gate {
                    let (lo, hi) = b.range[r];
                    bound += if w > 0.0 { w * hi } else { w * lo };
                }
            }
            let skip = bound < -1e-3;
            b.skip.push(skip);
            if !skip {
                b.always.push(i);
            }
        }
    }

    /// The MLP at one position (`x` is read, then the outputs are added to it).
    fn apply(&self, x: &mut [f64], b: &mut Scratch) {
        b.hidden.clear();
        b.hidden.resize(self.b1.len(), 0.0);
        self.w1.apply_add(x, &mut b.hidden);
        for (hv, bias) in b.hidden.iter_mut().zip(&self.b1) {
            *hv = (*hv + bias).max(0.0);
        }
        // Gated units: those whose gate is on here, and those that cannot be skipped.
        b.active.clear();
        let unit = |i: usize, x: &[f64]| {
            let u = &self.gated[i];
            let h: f64 = u.inputs.iter().map(|&(r, w)| x[r] * w).sum::<f64>() + u.bias;
            h.max(0.0)
        };
        for (g, units) in &self.gates {
            if x[*g] != 0.0 {
                for &i in units {
                    if b.skip[i] {
                        let h = unit(i, x);
                        b.active.push((i, h));
                    }
                }
            }
        }
        for &i in &b.always {
            let h = unit(i, x);
            b.active.push((i, h));
        }
        self.w2.apply_add(&b.hidden, x);
        for &(i, h) in &b.active {
            if h != 0.0 {
                for &(c, w) in &self.gated[i].outputs {
                    x[c] += h * w;
                }
            }
        }
    }
}

struct SparseBilinear {
    u: Rows,
    bu: Vec<f64>,
    v: Rows,
    bv: Vec<f64>,
    w: Rows,
}

struct SparseLayer {
    heads: Vec<SparseHead>,
    /// The residual columns the layer's heads write.
    written: Vec<usize>,
    mlp: Option<SparseMlp>,
    bilinear: Option<SparseBilinear>,
    memories: Vec<Memory>,
}

/// A model prepared for the sparse CPU forward pass.
pub struct SparseEngine {
    vocab: Vec<Val>,
    max_len: usize,
    d: usize,
    token_embed: Rows,
    pos_embed: Rows,
    layers: Vec<SparseLayer>,
    unembed: Unembed,
}

/// Reused buffers of one forward pass.
#[derive(Default)]
struct Scratch {
    x: Vec<f64>,
    delta: Vec<f64>,
    q: Vec<f64>,
    k: Vec<f64>,
    /// Nonzero key columns per position: `knz[kstart[p]..kstart[p + 1]]`.
    knz: Vec<usize>,
    kstart: Vec<usize>,
    v: Vec<f64>,
    scores: Vec<f64>,
    acc: Vec<f64>,
    /// A representative key per group of identical keys, and the group's size.
    groups: Vec<usize>,
    count: Vec<f64>,
    hash: Vec<u64>,
    hidden: Vec<f64>,
    second: Vec<f64>,
    /// Per gated unit of the current MLP: whether it may be skipped where its gate is 0.
    skip: Vec<bool>,
    /// The gated units computed at every position (not provably off where their gate is).
    always: Vec<usize>,
    /// Gated units computed at the current position, with their activations.
    active: Vec<(usize, f64)>,
    /// Each residual column's least and greatest value over the sequence's positions.
    range: Vec<(f64, f64)>,
    /// The bilinear sublayer's output for every position (added after the MLP's).
    products: Vec<f64>,
}

impl SparseEngine {
    pub fn new(model: &Model) -> SparseEngine {
        let layers = model
            .layers
            .iter()
            .map(|l| {
                let heads: Vec<SparseHead> = l
                    .heads
                    .iter()
                    .map(|h| {
                        let ov = Rows::new(&h.wov);
                        let out: Vec<usize> = ov
                            .rows
                            .iter()
                            .flatten()
                            .map(|(c, _)| *c)
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        let compact = Rows::from_rows(
                            ov.rows
                                .iter()
                                .map(|row| {
                                    row.iter()
                                        .map(|(c, v)| (out.binary_search(c).unwrap_or(0), *v))
                                        .collect()
                                })
                                .collect(),
                        );
                        SparseHead {
                            wq: Rows::new(&h.wq),
                            wk: Rows::new(&h.wk),
                            ov: compact,
                            out,
                            dk: h.wq.cols,
                        }
                    })
                    .collect();
                let written: Vec<usize> = heads
                    .iter()
                    .flat_map(|h| h.out.iter().copied())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                SparseLayer {
                    heads,
                    written,
                    mlp: l.mlp.as_ref().map(SparseMlp::new),
                    bilinear: l.bilinear.as_ref().map(|b| SparseBilinear {
                        u: Rows::new(&b.u),
                        bu: b.bu.clone(),
                        v: Rows::new(&b.v),
                        bv: b.bv.clone(),
                        w: Rows::new(&b.w),
                    }),
                    memories: l.memories.clone(),
                }
            })
            .collect();
        SparseEngine {
            vocab: model.vocab.clone(),
            max_len: model.max_len,
            d: model.residual.len(),
            token_embed: Rows::new(&model.token_embed),
            pos_embed: Rows::new(&model.pos_embed),
            layers,
            unembed: model.unembed.clone(),
        }
    }

    /// Run a batch of token sequences; the decoded output of each (as [`crate::Engine`]).
    pub fn forward_batch(&self, batch: &[Vec<Val>]) -> R<Vec<Vec<Val>>> {
        let mut scratch = Scratch::default();
        batch
            .iter()
            .enumerate()
            .map(|(s, seq)| self.forward(s, seq, &mut scratch))
            .collect()
    }

    fn forward(&self, s: usize, tokens: &[Val], b: &mut Scratch) -> R<Vec<Val>> {
        let n = tokens.len();
        if n > self.max_len {
            return Err(EngineError::Input(format!(
                "an input has {n} tokens; the model was compiled for at most {}",
                self.max_len
            )));
        }
        let d = self.d;
        let len = n + 1;
        b.x.clear();
        b.x.resize(len * d, 0.0);
        for p in 0..len {
            let row = if p == 0 {
                self.vocab.len()
            } else {
                let t = &tokens[p - 1];
                self.vocab.iter().position(|v| v == t).ok_or_else(|| {
                    EngineError::Input(format!(
                        "input {s}: token `{t}` at position {} is not in the model's vocabulary",
                        p - 1
                    ))
                })?
            };
            let x = &mut b.x[p * d..(p + 1) * d];
            for &(c, v) in self.token_embed.rows.get(row).into_iter().flatten() {
                x[c] += v;
            }
            for &(c, v) in self.pos_embed.rows.get(p).into_iter().flatten() {
                x[c] += v;
            }
        }
        for layer in &self.layers {
            if !layer.heads.is_empty() {
                b.delta.clear();
                b.delta.resize(len * d, 0.0);
                for h in &layer.heads {
                    self.head(h, len, b);
                }
                // only the columns the heads write have a delta
                for p in 0..len {
                    let (x, dl) = (&mut b.x[p * d..(p + 1) * d], &b.delta[p * d..(p + 1) * d]);
                    for &c in &layer.written {
                        x[c] += dl[c];
                    }
                }
            }
            // The bilinear sublayer reads the residual the MLP reads.
            if let Some(bl) = &layer.bilinear {
                b.products.clear();
                b.products.resize(len * d, 0.0);
                for p in 0..len {
                    let x = &b.x[p * d..(p + 1) * d];
                    b.hidden.clear();
                    b.hidden.extend_from_slice(&bl.bu);
                    bl.u.apply_add(x, &mut b.hidden);
                    b.second.clear();
                    b.second.extend_from_slice(&bl.bv);
                    bl.v.apply_add(x, &mut b.second);
                    for (h, s) in b.hidden.iter_mut().zip(&b.second) {
                        *h *= s;
                    }
                    bl.w.apply_add(&b.hidden, &mut b.products[p * d..(p + 1) * d]);
                }
            }
            if let Some(mlp) = &layer.mlp {
                let mut x = std::mem::take(&mut b.x);
                mlp.skippable(&x, d, len, b);
                for p in 0..len {
                    mlp.apply(&mut x[p * d..(p + 1) * d], b);
                }
                b.x = x;
            }
            if layer.bilinear.is_some() {
                for (x, y) in b.x.iter_mut().zip(&b.products) {
                    *x += y;
                }
            }
            if !layer.memories.is_empty() {
                for p in 1..len {
                    apply_memories(&layer.memories, &mut b.x[p * d..(p + 1) * d]);
                }
            }
        }
        Ok((1..len)
            .map(|p| decode_output(&self.unembed, &b.x[p * d..(p + 1) * d]))
            .collect())
    }

    /// One head's softmax attention over the `len` positions of `b.x`, added to `b.delta`.
    fn head(&self, h: &SparseHead, len: usize, b: &mut Scratch) {
        let d = self.d;
        let (dk, m) = (h.dk, h.out.len());
        b.q.clear();
        b.q.resize(len * dk, 0.0);
        b.k.clear();
        b.k.resize(len * dk, 0.0);
        b.v.clear();
        b.v.resize(len * m, 0.0);
        b.knz.clear();
        b.kstart.clear();
        for p in 0..len {
            let x = &b.x[p * d..(p + 1) * d];
            h.wq.apply_add(x, &mut b.q[p * dk..(p + 1) * dk]);
            h.wk.apply_add(x, &mut b.k[p * dk..(p + 1) * dk]);
            h.ov.apply_add(x, &mut b.v[p * m..(p + 1) * m]);
            b.kstart.push(b.knz.len());
            let krow = &b.k[p * dk..(p + 1) * dk];
            b.knz.extend((0..dk).filter(|&c| krow[c] != 0.0));
        }
        b.kstart.push(b.knz.len());
        // Keys with the same key row and value row (one-hot keys: one per value) are one group
        // with a count: the softmax sums `count · exp(s) · v` over groups instead of keys.
        b.groups.clear();
        b.count.clear();
        b.hash.clear();
        let limit = MAX_GROUPS.min(len / 2);
        for kj in 0..len {
            let h = b.knz[b.kstart[kj]..b.kstart[kj + 1]]
                .iter()
                .map(|&c| (c as u64) ^ b.k[kj * dk + c].to_bits().rotate_left(17))
                .chain(b.v[kj * m..(kj + 1) * m].iter().map(|x| x.to_bits()))
                .fold(0xcbf2_9ce4_8422_2325u64, |a, x| {
                    (a ^ x).wrapping_mul(0x0100_0000_01b3)
                });
            let same = |i: usize| {
                let g = b.groups[i];
                b.hash[i] == h
                    && b.k[g * dk..(g + 1) * dk] == b.k[kj * dk..(kj + 1) * dk]
                    && b.v[g * m..(g + 1) * m] == b.v[kj * m..(kj + 1) * m]
            };
            match (0..b.groups.len()).find(|&i| same(i)) {
                Some(i) => b.count[i] += 1.0,
                None if b.groups.len() < limit => {
                    b.groups.push(kj);
                    b.count.push(1.0);
                    b.hash.push(h);
                }
                None => {
                    // many distinct keys (positions): one group per key
                    b.groups.clear();
                    b.groups.extend(0..len);
                    b.count.clear();
                    b.count.resize(len, 1.0);
                    break;
                }
            }
        }
        let groups = b.groups.len();
        b.scores.resize(groups, 0.0);
        b.acc.resize(m, 0.0);
        for qi in 0..len {
            let qrow = &b.q[qi * dk..(qi + 1) * dk];
            for (gi, &kj) in b.groups.iter().enumerate() {
                let krow = &b.k[kj * dk..(kj + 1) * dk];
                b.scores[gi] = b.knz[b.kstart[kj]..b.kstart[kj + 1]]
                    .iter()
                    .map(|&c| qrow[c] * krow[c])
                    .sum();
            }
            let mx = b.scores[..groups]
                .iter()
                .cloned()
                .fold(f64::NEG_INFINITY, f64::max);
            let mut z = 0.0;
            b.acc.fill(0.0);
            // Compiled heads give most keys one of a few scores (selected, not selected, BOS):
            // remember the last few exponentials instead of recomputing them.
            let mut seen: [(f64, f64); 4] = [(f64::NAN, 0.0); 4];
            let mut next = 0;
            for (gi, &kj) in b.groups.iter().enumerate() {
                let t = b.scores[gi] - mx;
                let w = match seen.iter().find(|(s, _)| *s == t) {
                    Some((_, w)) => *w,
                    None => {
                        let w = t.exp();
                        seen[next] = (t, w);
                        next = (next + 1) % seen.len();
                        w
                    }
                } * b.count[gi];
                z += w;
                if w == 0.0 {
                    continue;
                }
                for (a, v) in b.acc.iter_mut().zip(&b.v[kj * m..(kj + 1) * m]) {
                    *a += w * v;
                }
            }
            let out = &mut b.delta[qi * d..(qi + 1) * d];
            for (c, a) in h.out.iter().zip(&b.acc) {
                out[*c] += a / z;
            }
        }
    }
}
