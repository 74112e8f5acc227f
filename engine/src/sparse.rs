//! A CPU forward pass that touches only the nonzero weights.
//!
//! Compiled models are almost all zeros: `reverse` at max_len 20 has 21,665 dense parameters and
//! 554 nonzero ones, and its residual rows are one-hots and a few numbers. [`SparseEngine`]
//! stores every matrix as lists of `(column, weight)` per input row and visits only the rows a
//! matrix reads, skips zero inputs, scores a query against a key over the key's nonzero columns
//! only, treats keys with identical key and value rows as one group with a count (one-hot keys
//! over a small vocabulary: a handful of groups however long the input), and moves values only
//! into the columns a head writes. It computes in f64 what [`Model::forward`] computes, the same sums
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
    w1: Rows,
    b1: Vec<f64>,
    w2: Rows,
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
                    mlp: l.mlp.as_ref().map(|m| SparseMlp {
                        w1: Rows::new(&m.w1),
                        b1: m.b1.clone(),
                        w2: Rows::new(&m.w2),
                    }),
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
                for p in 0..len {
                    let x = &mut b.x[p * d..(p + 1) * d];
                    b.hidden.clear();
                    b.hidden.resize(mlp.b1.len(), 0.0);
                    mlp.w1.apply_add(x, &mut b.hidden);
                    for (hv, bias) in b.hidden.iter_mut().zip(&mlp.b1) {
                        *hv = (*hv + bias).max(0.0);
                    }
                    mlp.w2.apply_add(&b.hidden, x);
                }
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
