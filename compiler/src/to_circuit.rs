//! Bit-blasting: a whole RASP program as one and-inverter graph over the one-hot encoded input.
//!
//! **Encoding.** Input position `p < max_len` has one bit per vocabulary token (`in3=a`); a
//! position past the end of the input has all its bits 0 (inputs are one-hot and contiguous
//! from position 0; other bit patterns are don't-cares). Every sequence node carries, at every
//! position, one bit per value of its *value set* (the values it can take over every input of
//! at most `max_len` tokens, computed here by forward rules, a superset when inputs are
//! correlated); the bits are one-hot at present positions and all 0 past the end. A selector
//! is a matrix of bits `S[q][k]`, 0 whenever `q` or `k` is past the end.
//!
//! **Operations.** A map is a lookup over the product of its inputs' value sets; `select`
//! compares value pairs; `aggregate` collects, per query, which values the selected keys hold
//! (two different ones is `AggregateConflict`, none takes the default or is `EmptySelection`);
//! `width` counts with a one-hot counter; `best` keeps the selected key no other selected key
//! beats on (score, lower index). The circuit has one output group per position (`out2=b`, one
//! bit per value of the result) and an `error` output that is 1 exactly when the interpreter
//! stops with an error on that input.
//!
//! `mean` tracks, per query, the (count, running sum) pairs the selected keys can produce, in
//! key order as the interpreter adds them, so even float rounding agrees.
//!
//! Not bit-blasted (a clear error): hypervector operations, a selector or a constant as the
//! result.

// Position-indexed matrices (S[q][k], bits[p][v]) read more clearly with index loops.
#![allow(clippy::needless_range_loop)]

use crate::ir::{Fun, Ir, IrOutput, NodeId, Op, Pred};
use crate::ir_to_graph::CompileError;
use std::cmp::Ordering;
use tessera_circuit::{Aig, Lit};
use tessera_lang::kernels::cmp_vals;
use tessera_lang::value::Val;

/// The largest product of value-set sizes one map or selector may enumerate.
pub const MAX_CIRCUIT_TABLE: usize = 200_000;
/// The longest input a bit-blasted circuit takes (selectors are `max_len²` bits).
pub const MAX_CIRCUIT_LEN: usize = 64;

/// A program bit-blasted for one vocabulary and maximum length.
#[derive(Clone, Debug)]
pub struct CircuitModel {
    pub aig: Aig,
    pub vocab: Vec<Val>,
    pub max_len: usize,
    /// The result's value set: output `p·|values| + i` is `out{p}={values[i]}`; the last output
    /// is `error`.
    pub values: Vec<Val>,
}

impl CircuitModel {
    /// The input bits of a token sequence; `None` for a token outside the vocabulary or a
    /// sequence longer than `max_len`.
    pub fn encode(&self, tokens: &[Val]) -> Option<Vec<bool>> {
        if tokens.len() > self.max_len {
            return None;
        }
        let v = self.vocab.len();
        let mut bits = vec![false; self.max_len * v];
        for (p, t) in tokens.iter().enumerate() {
            let i = self.vocab.iter().position(|x| x == t)?;
            bits[p * v + i] = true;
        }
        Some(bits)
    }

    /// The circuit's result on a token sequence: `Err(())` when its `error` output is set,
    /// `Ok(None)` when an output group is not one-hot.
    pub fn run(&self, tokens: &[Val]) -> Option<Result<Option<Vec<Val>>, ()>> {
        let bits = self.encode(tokens)?;
        let out = self.aig.eval(&bits);
        if out.last().copied().unwrap_or(false) {
            return Some(Err(()));
        }
        let w = self.values.len();
        let mut vals = Vec::with_capacity(tokens.len());
        for p in 0..tokens.len() {
            let group = &out[p * w..(p + 1) * w];
            let hot: Vec<usize> = (0..w).filter(|&i| group[i]).collect();
            match hot.as_slice() {
                [i] => vals.push(self.values[*i].clone()),
                _ => return Some(Ok(None)),
            }
        }
        // Past the end every group must be silent.
        if out[tokens.len() * w..self.max_len * w].iter().any(|&b| b) {
            return Some(Ok(None));
        }
        Some(Ok(Some(vals)))
    }
}

fn fail<T>(ir: &Ir, id: NodeId, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        message: message.into(),
        span: ir.node(id).span,
    })
}

/// A sequence node: its value set and one-hot bits per position.
struct SeqBits {
    values: Vec<Val>,
    bits: Vec<Vec<Lit>>,
}

enum Bits {
    Seq(SeqBits),
    Sel(Vec<Vec<Lit>>),
    Unused,
}

struct Blaster<'a> {
    ir: &'a Ir,
    g: Aig,
    n: usize,
    present: Vec<Lit>,
    errors: Vec<Lit>,
}

/// Sorted, deduplicated values (the interpreter's total order).
fn value_set(mut v: Vec<Val>) -> Vec<Val> {
    v.sort_by(|a, b| a.total_cmp(b));
    v.dedup_by(|a, b| a.total_cmp(b).is_eq());
    v
}

fn index_of(values: &[Val], v: &Val) -> Option<usize> {
    values.binary_search_by(|x| x.total_cmp(v)).ok()
}

/// Bit-blasts `ir` for inputs of at most `max_len` tokens from `vocab`.
pub fn ir_to_circuit(ir: &Ir, vocab: &[Val], max_len: usize) -> Result<CircuitModel, CompileError> {
    let out_node = match &ir.output {
        Some(IrOutput::Seq(n)) => *n,
        Some(IrOutput::Sel(n)) => {
            return fail(ir, *n, "a selector cannot be the output of a circuit");
        }
        _ => {
            return Err(CompileError {
                message: "a program with a constant result needs no circuit".into(),
                span: Default::default(),
            });
        }
    };
    if max_len > MAX_CIRCUIT_LEN {
        return Err(CompileError {
            message: format!(
                "bit-blasting takes inputs of at most {MAX_CIRCUIT_LEN} tokens (`--max-len {max_len}`)"
            ),
            span: Default::default(),
        });
    }
    let vocab: Vec<Val> = {
        let mut v = vocab.to_vec();
        v.sort();
        v.dedup();
        v
    };
    let mut g = Aig::new();
    let mut tok: Vec<Vec<Lit>> = Vec::new();
    for p in 0..max_len {
        tok.push(
            vocab
                .iter()
                .map(|t| g.add_input(Some(format!("in{p}={t}"))))
                .collect(),
        );
    }
    let present: Vec<Lit> = tok.iter().map(|row| g.or_many(row)).collect();
    let mut b = Blaster {
        ir,
        g,
        n: max_len,
        present,
        errors: Vec::new(),
    };
    let mut bits: Vec<Bits> = (0..ir.nodes.len()).map(|_| Bits::Unused).collect();
    for id in ir.live() {
        bits[id] = b.node(id, &vocab, &tok, &bits)?;
    }
    let Bits::Seq(out) = std::mem::replace(&mut bits[out_node], Bits::Unused) else {
        return fail(ir, out_node, "the result is not a sequence");
    };
    let mut g = b.g;
    for p in 0..max_len {
        for (i, v) in out.values.iter().enumerate() {
            g.add_output(out.bits[p][i], Some(format!("out{p}={v}")));
        }
    }
    let err = g.or_many(&b.errors);
    g.add_output(err, Some("error".into()));
    Ok(CircuitModel {
        aig: g.cleanup(),
        vocab,
        max_len,
        values: out.values,
    })
}

impl Blaster<'_> {
    fn seq<'b>(&self, bits: &'b [Bits], id: NodeId) -> Result<&'b SeqBits, CompileError> {
        match &bits[id] {
            Bits::Seq(s) => Ok(s),
            _ => fail(self.ir, id, "expected a sequence here"),
        }
    }
    fn sel<'b>(&self, bits: &'b [Bits], id: NodeId) -> Result<&'b Vec<Vec<Lit>>, CompileError> {
        match &bits[id] {
            Bits::Sel(s) => Ok(s),
            _ => fail(self.ir, id, "expected a selector here"),
        }
    }

    /// One-hot bits for per-position literals of each value.
    fn constant_at(&self, v: Val, at: impl Fn(usize) -> Lit) -> SeqBits {
        SeqBits {
            values: vec![v],
            bits: (0..self.n).map(|p| vec![at(p)]).collect(),
        }
    }

    fn node(
        &mut self,
        id: NodeId,
        vocab: &[Val],
        tok: &[Vec<Lit>],
        bits: &[Bits],
    ) -> Result<Bits, CompileError> {
        let n = self.n;
        let ir = self.ir;
        Ok(match &ir.node(id).op {
            Op::Tokens => Bits::Seq(SeqBits {
                values: vocab.to_vec(),
                bits: tok.to_vec(),
            }),
            Op::Indices => Bits::Seq(SeqBits {
                values: (0..n).map(|i| Val::Int(i as i64)).collect(),
                bits: (0..n)
                    .map(|p| {
                        (0..n)
                            .map(|i| if i == p { self.present[p] } else { Lit::FALSE })
                            .collect()
                    })
                    .collect(),
            }),
            Op::Length => {
                // length = L exactly when position L-1 is present and position L is not.
                let is_len: Vec<Lit> = (1..=n)
                    .map(|l| {
                        let next = self.present.get(l).copied().unwrap_or(Lit::FALSE);
                        self.g.and(self.present[l - 1], !next)
                    })
                    .collect();
                let mut rows = Vec::with_capacity(n);
                for p in 0..n {
                    let row: Vec<Lit> = is_len
                        .iter()
                        .map(|&l| self.g.and(self.present[p], l))
                        .collect();
                    rows.push(row);
                }
                Bits::Seq(SeqBits {
                    values: (1..=n).map(|l| Val::Int(l as i64)).collect(),
                    bits: rows,
                })
            }
            Op::Const(v) => {
                let present = self.present.clone();
                Bits::Seq(self.constant_at(v.clone(), |p| present[p]))
            }
            Op::Elementwise { inputs, f } => Bits::Seq(self.map(id, inputs, f, bits)?),
            Op::Select {
                keys,
                queries,
                pred,
            } => {
                let (k, q) = (self.seq(bits, *keys)?, self.seq(bits, *queries)?);
                if k.values.len().saturating_mul(q.values.len()) > MAX_CIRCUIT_TABLE {
                    return fail(
                        ir,
                        id,
                        format!(
                            "the selector's table has {} × {} value pairs (limit {MAX_CIRCUIT_TABLE})",
                            k.values.len(),
                            q.values.len()
                        ),
                    );
                }
                // Which (key value, query value) pairs are selected; errors of the predicate.
                let mut pairs: Vec<(usize, usize)> = Vec::new();
                let mut bad: Vec<(usize, usize)> = Vec::new();
                for (a, kv) in k.values.iter().enumerate() {
                    for (c, qv) in q.values.iter().enumerate() {
                        let on = match pred {
                            Pred::True => Ok(true),
                            Pred::False => Ok(false),
                            Pred::Cmp(op) => Ok(cmp_vals(*op, kv, qv)),
                            Pred::Fun(f) => match f.eval(&[kv.clone(), qv.clone()]) {
                                Ok(Val::Bool(b)) => Ok(b),
                                _ => Err(()),
                            },
                        };
                        match on {
                            Ok(true) => pairs.push((a, c)),
                            Ok(false) => {}
                            Err(()) => bad.push((a, c)),
                        }
                    }
                }
                let (kb, qb) = (k.bits.clone(), q.bits.clone());
                let mut s = vec![vec![Lit::FALSE; n]; n];
                for qp in 0..n {
                    for kp in 0..n {
                        let terms: Vec<Lit> = if matches!(pred, Pred::True) {
                            vec![self.g.and(self.present[qp], self.present[kp])]
                        } else {
                            pairs
                                .iter()
                                .map(|&(a, c)| self.g.and(kb[kp][a], qb[qp][c]))
                                .collect()
                        };
                        s[qp][kp] = self.g.or_many(&terms);
                        for &(a, c) in &bad {
                            let e = self.g.and(kb[kp][a], qb[qp][c]);
                            self.errors.push(e);
                        }
                    }
                }
                Bits::Sel(s)
            }
            Op::SelAnd(a, c) | Op::SelOr(a, c) => {
                let (x, y) = (self.sel(bits, *a)?.clone(), self.sel(bits, *c)?.clone());
                let and = matches!(ir.node(id).op, Op::SelAnd(..));
                let mut s = vec![vec![Lit::FALSE; n]; n];
                for qp in 0..n {
                    for kp in 0..n {
                        s[qp][kp] = if and {
                            self.g.and(x[qp][kp], y[qp][kp])
                        } else {
                            self.g.or(x[qp][kp], y[qp][kp])
                        };
                    }
                }
                Bits::Sel(s)
            }
            Op::SelNot(a) => {
                let x = self.sel(bits, *a)?.clone();
                let mut s = vec![vec![Lit::FALSE; n]; n];
                for qp in 0..n {
                    for kp in 0..n {
                        let both = self.g.and(self.present[qp], self.present[kp]);
                        s[qp][kp] = self.g.and(both, !x[qp][kp]);
                    }
                }
                Bits::Sel(s)
            }
            Op::Aggregate {
                sel,
                values,
                default,
            } => {
                let s = self.sel(bits, *sel)?.clone();
                let v = self.seq(bits, *values)?;
                let (vals, vb) = (v.values.clone(), v.bits.clone());
                let mut out_values = vals.clone();
                if let Some(d) = default {
                    out_values.push(d.clone());
                }
                let out_values = value_set(out_values);
                let mut rows = Vec::with_capacity(n);
                for q in 0..n {
                    let has: Vec<Lit> = (0..vals.len())
                        .map(|w| {
                            let t: Vec<Lit> =
                                (0..n).map(|k| self.g.and(s[q][k], vb[k][w])).collect();
                            self.g.or_many(&t)
                        })
                        .collect();
                    // Two different selected values: AggregateConflict.
                    let (mut one, mut two) = (Lit::FALSE, Lit::FALSE);
                    for &h in &has {
                        let both = self.g.and(one, h);
                        two = self.g.or(two, both);
                        one = self.g.or(one, h);
                    }
                    self.errors.push(two);
                    let none = self.g.and(self.present[q], !one);
                    let mut row = vec![Lit::FALSE; out_values.len()];
                    for (w, val) in vals.iter().enumerate() {
                        if let Some(i) = index_of(&out_values, val) {
                            row[i] = self.g.or(row[i], has[w]);
                        }
                    }
                    match default.as_ref().and_then(|d| index_of(&out_values, d)) {
                        Some(i) => row[i] = self.g.or(row[i], none),
                        None => self.errors.push(none),
                    }
                    rows.push(row);
                }
                Bits::Seq(SeqBits {
                    values: out_values,
                    bits: rows,
                })
            }
            Op::Width { sel } => {
                let s = self.sel(bits, *sel)?.clone();
                let mut rows = Vec::with_capacity(n);
                for q in 0..n {
                    // One-hot counter: c[j] = exactly j of the keys seen so far are selected.
                    let mut c: Vec<Lit> = vec![Lit::TRUE];
                    for k in 0..n {
                        let x = s[q][k];
                        let mut next = Vec::with_capacity(c.len() + 1);
                        for j in 0..=c.len() {
                            let stay = c.get(j).map_or(Lit::FALSE, |&cj| self.g.and(cj, !x));
                            let up = if j == 0 {
                                Lit::FALSE
                            } else {
                                self.g.and(c[j - 1], x)
                            };
                            next.push(self.g.or(stay, up));
                        }
                        c = next;
                    }
                    let row: Vec<Lit> = c
                        .iter()
                        .map(|&cj| self.g.and(self.present[q], cj))
                        .collect();
                    rows.push(row);
                }
                Bits::Seq(SeqBits {
                    values: (0..=n).map(|j| Val::Int(j as i64)).collect(),
                    bits: rows,
                })
            }
            Op::Best {
                sel,
                score,
                default,
            } => {
                let s = self.sel(bits, *sel)?.clone();
                let sc = self.seq(bits, *score)?;
                let (svals, sb) = (sc.values.clone(), sc.bits.clone());
                // The interpreter ranks scores by Val::total_cmp.
                let rank = |a: &Val, b: &Val| a.total_cmp(b);
                // gt[k'][k]: score[k'] > score[k]; eq likewise.
                let mut gt = vec![vec![Lit::FALSE; n]; n];
                let mut eq = vec![vec![Lit::FALSE; n]; n];
                for k1 in 0..n {
                    for k2 in 0..n {
                        let (mut g_terms, mut e_terms) = (Vec::new(), Vec::new());
                        for (i, a) in svals.iter().enumerate() {
                            for (j, c) in svals.iter().enumerate() {
                                match rank(a, c) {
                                    Ordering::Greater => {
                                        g_terms.push(self.g.and(sb[k1][i], sb[k2][j]))
                                    }
                                    Ordering::Equal => {
                                        e_terms.push(self.g.and(sb[k1][i], sb[k2][j]))
                                    }
                                    Ordering::Less => {}
                                }
                            }
                        }
                        gt[k1][k2] = self.g.or_many(&g_terms);
                        eq[k1][k2] = self.g.or_many(&e_terms);
                    }
                }
                let mut out_values: Vec<Val> = (0..n).map(|i| Val::Int(i as i64)).collect();
                if let Some(d) = default {
                    out_values.push(d.clone());
                }
                let out_values = value_set(out_values);
                let mut rows = Vec::with_capacity(n);
                for q in 0..n {
                    let mut row = vec![Lit::FALSE; out_values.len()];
                    let mut any = Vec::new();
                    for k in 0..n {
                        let mut win = vec![s[q][k]];
                        for k2 in 0..n {
                            if k2 == k {
                                continue;
                            }
                            let beats = if k2 < k {
                                self.g.or(gt[k2][k], eq[k2][k])
                            } else {
                                gt[k2][k]
                            };
                            let x = self.g.and(s[q][k2], beats);
                            win.push(!x);
                        }
                        let w = self.g.and_many(&win);
                        if let Some(i) = index_of(&out_values, &Val::Int(k as i64)) {
                            row[i] = self.g.or(row[i], w);
                        }
                        any.push(s[q][k]);
                    }
                    let some = self.g.or_many(&any);
                    let none = self.g.and(self.present[q], !some);
                    match default.as_ref().and_then(|d| index_of(&out_values, d)) {
                        Some(i) => row[i] = self.g.or(row[i], none),
                        None => self.errors.push(none),
                    }
                    rows.push(row);
                }
                Bits::Seq(SeqBits {
                    values: out_values,
                    bits: rows,
                })
            }
            Op::Mean { sel, values } => {
                let s = self.sel(bits, *sel)?.clone();
                let v = self.seq(bits, *values)?;
                let (vals, vb) = (v.values.clone(), v.bits.clone());
                // The interpreter refuses a non-number at any key, selected or not.
                let nums: Vec<Option<f64>> = vals.iter().map(Val::as_f64).collect();
                for k in 0..n {
                    for (w, x) in nums.iter().enumerate() {
                        if x.is_none() {
                            self.errors.push(vb[k][w]);
                        }
                    }
                }
                let mut rows_by_value: Vec<Vec<(Val, Lit)>> = Vec::with_capacity(n);
                for q in 0..n {
                    // States (count, running sum in key order, as the interpreter adds).
                    let mut states: std::collections::BTreeMap<(usize, u64), Lit> =
                        std::collections::BTreeMap::new();
                    states.insert((0, 0f64.to_bits()), Lit::TRUE);
                    for k in 0..n {
                        let mut next: std::collections::BTreeMap<(usize, u64), Vec<Lit>> =
                            std::collections::BTreeMap::new();
                        for (&(c, sum), &l) in &states {
                            let skip = self.g.and(l, !s[q][k]);
                            next.entry((c, sum)).or_default().push(skip);
                            let take = self.g.and(l, s[q][k]);
                            for (w, x) in nums.iter().enumerate() {
                                let Some(x) = x else { continue };
                                let t = self.g.and(take, vb[k][w]);
                                let ns = (f64::from_bits(sum) + x).to_bits();
                                next.entry((c + 1, ns)).or_default().push(t);
                            }
                        }
                        if next.len() > MAX_CIRCUIT_TABLE {
                            return fail(
                                ir,
                                id,
                                format!(
                                    "`mean` would track more than {MAX_CIRCUIT_TABLE} (count, sum) states"
                                ),
                            );
                        }
                        states = next
                            .into_iter()
                            .map(|(key, ls)| (key, self.g.or_many(&ls)))
                            .collect();
                    }
                    let row: Vec<(Val, Lit)> = states
                        .into_iter()
                        .map(|((c, sum), l)| {
                            let m = if c == 0 {
                                0.0
                            } else {
                                f64::from_bits(sum) / c as f64
                            };
                            (Val::Float(m), self.g.and(self.present[q], l))
                        })
                        .collect();
                    rows_by_value.push(row);
                }
                let out_values = value_set(
                    rows_by_value
                        .iter()
                        .flatten()
                        .map(|(v, _)| v.clone())
                        .collect(),
                );
                let mut rows = Vec::with_capacity(n);
                for row in rows_by_value {
                    let mut r = vec![Vec::new(); out_values.len()];
                    for (v, l) in row {
                        if let Some(i) = index_of(&out_values, &v) {
                            r[i].push(l);
                        }
                    }
                    let r: Vec<Lit> = r.iter().map(|t| self.g.or_many(t)).collect();
                    rows.push(r);
                }
                Bits::Seq(SeqBits {
                    values: out_values,
                    bits: rows,
                })
            }
            Op::Vsa { .. } => {
                return fail(ir, id, "hypervector operations do not compile to circuits");
            }
        })
    }

    fn map(
        &mut self,
        id: NodeId,
        inputs: &[NodeId],
        f: &Fun,
        bits: &[Bits],
    ) -> Result<SeqBits, CompileError> {
        let ins: Vec<&SeqBits> = inputs
            .iter()
            .map(|&i| self.seq(bits, i))
            .collect::<Result<_, _>>()?;
        let total = ins
            .iter()
            .try_fold(1usize, |acc, s| acc.checked_mul(s.values.len()));
        if total.is_none_or(|t| t > MAX_CIRCUIT_TABLE) {
            return fail(
                self.ir,
                id,
                format!("the map's table would have more than {MAX_CIRCUIT_TABLE} rows"),
            );
        }
        let sets: Vec<Vec<Val>> = ins.iter().map(|s| s.values.clone()).collect();
        let in_bits: Vec<Vec<Vec<Lit>>> = ins.iter().map(|s| s.bits.clone()).collect();
        // Every tuple of input values and what it maps to.
        let mut rows: Vec<(Vec<usize>, Option<Val>)> = Vec::new();
        let mut idx = vec![0usize; sets.len()];
        loop {
            let args: Vec<Val> = idx.iter().zip(&sets).map(|(&i, s)| s[i].clone()).collect();
            rows.push((idx.clone(), f.eval(&args).ok()));
            let mut k = 0;
            loop {
                if k == idx.len() {
                    break;
                }
                idx[k] += 1;
                if idx[k] < sets[k].len() {
                    break;
                }
                idx[k] = 0;
                k += 1;
            }
            if k == idx.len() {
                break;
            }
        }
        let values = value_set(rows.iter().filter_map(|r| r.1.clone()).collect());
        let mut out = Vec::with_capacity(self.n);
        for p in 0..self.n {
            let mut terms: Vec<Vec<Lit>> = vec![Vec::new(); values.len()];
            for (tuple, v) in &rows {
                let lits: Vec<Lit> = tuple
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| in_bits[i][p][t])
                    .collect();
                // A map of no inputs (a constant expression) holds where the position exists.
                let at = if lits.is_empty() {
                    self.present[p]
                } else {
                    self.g.and_many(&lits)
                };
                match v.as_ref().and_then(|v| index_of(&values, v)) {
                    Some(i) => terms[i].push(at),
                    None => self.errors.push(at),
                }
            }
            let row: Vec<Lit> = terms.iter().map(|t| self.g.or_many(t)).collect();
            out.push(row);
        }
        Ok(SeqBits { values, bits: out })
    }
}

/// And-inverter-graph literals as a bit domain for [`tessera_lang::circuit::elaborate`].
pub struct AigBits {
    pub g: Aig,
}

impl tessera_lang::circuit::BitAlgebra for AigBits {
    type B = Lit;
    fn constant(&mut self, v: bool) -> Lit {
        Lit::FALSE.xor(v)
    }
    fn and(&mut self, a: &Lit, b: &Lit) -> Lit {
        self.g.and(*a, *b)
    }
    fn not(&mut self, a: &Lit) -> Lit {
        !*a
    }
    fn or(&mut self, a: &Lit, b: &Lit) -> Lit {
        self.g.or(*a, *b)
    }
    fn xor(&mut self, a: &Lit, b: &Lit) -> Lit {
        self.g.xor(*a, *b)
    }
    fn mux(&mut self, s: &Lit, t: &Lit, e: &Lit) -> Lit {
        self.g.mux(*s, *t, *e)
    }
}

/// A `circuit` item as an AIG: one input per parameter bit (`a[0]` is the least significant
/// bit of `a`), one output per result bit (`out[0]`, ...). The same elaborator as the
/// interpreter builds it, over AIG literals.
pub fn circuit_item(
    program: &tessera_lang::program::Program,
    def: tessera_lang::program::DefId,
    tables: &dyn tessera_lang::circuit::TableFiles,
) -> Result<Aig, tessera_lang::circuit::CircuitError> {
    let sig = tessera_lang::circuit::signature(program, def)?;
    let mut alg = AigBits { g: Aig::new() };
    let mut args = Vec::new();
    for (name, w) in &sig.params {
        args.push(
            (0..*w)
                .map(|i| alg.g.add_input(Some(format!("{name}[{i}]"))))
                .collect(),
        );
    }
    let out = tessera_lang::circuit::elaborate(program, def, &mut alg, args, tables)?;
    let mut g = alg.g;
    for (i, l) in out.into_iter().enumerate() {
        g.add_output(l, Some(format!("out[{i}]")));
    }
    Ok(g.cleanup())
}
