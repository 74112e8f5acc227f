//! The sequence kernels of the language: building selectors and reading through them.
//!
//! These are the definitions of `select`, `aggregate`, `mean`, `width`, `best`, and of the
//! vector-symbolic `sum` and `cleanup`, on concrete
//! data. The interpreter calls them, and so does every later evaluator of the same operations
//! (the IR evaluator of the compiler), so there is one definition of each.

use crate::ast::BinOp;
use crate::value::Val;
use std::collections::BTreeMap;

/// A selector: `get(q, k)` says whether query position `q` attends to key position `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub n: usize,
    pub bits: Vec<bool>,
}

impl Selector {
    pub fn get(&self, q: usize, k: usize) -> bool {
        self.bits[q * self.n + k]
    }

    pub fn row(&self, q: usize) -> &[bool] {
        &self.bits[q * self.n..(q + 1) * self.n]
    }

    pub fn filled(n: usize, value: bool) -> Selector {
        Selector {
            n,
            bits: vec![value; n * n],
        }
    }

    /// Elementwise combination of two selectors of the same size.
    pub fn zip(&self, other: &Selector, f: impl Fn(bool, bool) -> bool) -> Selector {
        Selector {
            n: self.n,
            bits: self
                .bits
                .iter()
                .zip(&other.bits)
                .map(|(&p, &q)| f(p, q))
                .collect(),
        }
    }

    pub fn not(&self) -> Selector {
        Selector {
            n: self.n,
            bits: self.bits.iter().map(|b| !b).collect(),
        }
    }
}

/// A failure inside a kernel: its kind, message and the query position.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelError {
    pub kind: &'static str,
    pub message: String,
    pub position: Option<usize>,
    pub note: Option<String>,
}

fn empty_selection(q: usize) -> KernelError {
    KernelError {
        kind: "EmptySelection",
        message: format!("nothing is selected at query position {q} and no default was given"),
        position: Some(q),
        note: Some("help: give a value for empty selections with `default: v`".into()),
    }
}

/// `OP(k, q)` for a comparison operator, as the language defines it.
pub fn cmp_vals(cmp: BinOp, kv: &Val, qv: &Val) -> bool {
    match cmp {
        BinOp::Eq => kv.eq_val(qv),
        BinOp::Ne => !kv.eq_val(qv),
        _ => {
            let o = kv.total_cmp(qv);
            match cmp {
                BinOp::Lt => o.is_lt(),
                BinOp::Le => o.is_le(),
                BinOp::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
    }
}

/// The rank of each of `vals` among the sorted distinct values of `vals` and `other`
/// (`None` if a NaN is present). Plain integers are their own ranks.
fn ranks(vals: &[Val], other: &[Val]) -> Option<Vec<i64>> {
    let ints: Option<Vec<i64>> = vals
        .iter()
        .map(|v| if let Val::Int(i) = v { Some(*i) } else { None })
        .collect();
    if let Some(ints) = ints
        && other.iter().all(|v| matches!(v, Val::Int(_)))
    {
        return Some(ints);
    }
    let is_nan = |v: &Val| matches!(v, Val::Float(x) if x.is_nan());
    if vals.iter().chain(other).any(is_nan) {
        return None;
    }
    let mut all: Vec<&Val> = vals.iter().chain(other).collect();
    all.sort_by(|a, b| a.total_cmp(b));
    all.dedup_by(|a, b| a.total_cmp(b).is_eq());
    vals.iter()
        .map(|v| {
            all.binary_search_by(|x| x.total_cmp(v))
                .ok()
                .map(|i| i as i64)
        })
        .collect()
}

/// `select(keys, queries, OP)` for a comparison: `S[q][k] = OP(keys[k], queries[q])`.
///
/// Comparing ranks instead of values: the rank of a value among the sorted distinct values of
/// both sides preserves `total_cmp` (and so `<`, `==`, ...), and the inner loop then compares
/// integers. NaN, which `==` does not equate with itself, takes the direct path.
pub fn select_cmp(keys: &[Val], queries: &[Val], cmp: BinOp) -> Selector {
    let n = keys.len();
    let mut bits = vec![false; queries.len() * n];
    match (ranks(keys, queries), ranks(queries, keys)) {
        (Some(ki), Some(qi)) => {
            for (row, &qv) in bits.chunks_mut(n.max(1)).zip(&qi) {
                for (cell, &kv) in row.iter_mut().zip(&ki) {
                    *cell = match cmp {
                        BinOp::Eq => kv == qv,
                        BinOp::Ne => kv != qv,
                        BinOp::Lt => kv < qv,
                        BinOp::Le => kv <= qv,
                        BinOp::Gt => kv > qv,
                        _ => kv >= qv,
                    };
                }
            }
        }
        _ => {
            for (row, qv) in bits.chunks_mut(n.max(1)).zip(queries) {
                for (cell, kv) in row.iter_mut().zip(keys) {
                    *cell = cmp_vals(cmp, kv, qv);
                }
            }
        }
    }
    Selector { n, bits }
}

/// `select(keys, queries, |k, q| ...)`: the predicate is called once per distinct
/// `(key, query)` pair of values (it is a function of them).
pub fn select_with<E>(
    keys: &[Val],
    queries: &[Val],
    mut pred: impl FnMut(&Val, &Val) -> Result<bool, E>,
) -> Result<Selector, (E, usize)> {
    let n = keys.len();
    let mut bits = vec![false; queries.len() * n];
    let mut memo: BTreeMap<(Val, Val), bool> = BTreeMap::new();
    for (qpos, qv) in queries.iter().enumerate() {
        for (kpos, kv) in keys.iter().enumerate() {
            let key = (kv.clone(), qv.clone());
            let b = match memo.get(&key) {
                Some(b) => *b,
                None => {
                    let b = pred(kv, qv).map_err(|e| (e, qpos))?;
                    memo.insert(key, b);
                    b
                }
            };
            bits[qpos * n + kpos] = b;
        }
    }
    Ok(Selector { n, bits })
}

/// `aggregate(s, xs, default: d)`: at each query, the value of the selected keys (which must
/// all be equal), or `d` when none is selected.
pub fn aggregate(s: &Selector, xs: &[Val], default: Option<&Val>) -> Result<Vec<Val>, KernelError> {
    let mut out = Vec::with_capacity(s.n);
    for q in 0..s.n {
        let mut chosen: Option<(usize, &Val)> = None;
        for (k, &on) in s.row(q).iter().enumerate() {
            if !on {
                continue;
            }
            let v = &xs[k];
            match chosen {
                None => chosen = Some((k, v)),
                Some((k0, v0)) if !v0.eq_val(v) => {
                    return Err(KernelError {
                        kind: "AggregateConflict",
                        message: format!(
                            "categorical aggregate selected different values at query position {q}: `{v0}` (key {k0}) and `{v}` (key {k})"
                        ),
                        position: Some(q),
                        note: Some("help: narrow the selector so that the selected values agree, or use `mean` on a numeric sequence".into()),
                    });
                }
                Some(_) => {}
            }
        }
        match (chosen, default) {
            (Some((_, v)), _) => out.push(v.clone()),
            (None, Some(dv)) => out.push(dv.clone()),
            (None, None) => return Err(empty_selection(q)),
        }
    }
    Ok(out)
}

/// `gather(ptr, xs, default: d)`, defined as `aggregate(select(indices, ptr, ==), xs, default: d)`.
pub fn gather(ptr: &[Val], xs: &[Val], default: Option<&Val>) -> Result<Vec<Val>, KernelError> {
    let n = xs.len();
    let mut out = Vec::with_capacity(ptr.len());
    for (q, p) in ptr.iter().enumerate() {
        // The key k is selected iff k == ptr[q]: at most one is.
        let hit = (0..n).find(|&k| Val::Int(k as i64).eq_val(p));
        match (hit, default) {
            (Some(k), _) => out.push(xs[k].clone()),
            (None, Some(dv)) => out.push(dv.clone()),
            (None, None) => return Err(empty_selection(q)),
        }
    }
    Ok(out)
}

/// `best(s, score, default: d)`: the selected key with the highest score, ties to the lowest
/// index.
pub fn best(s: &Selector, score: &[Val], default: Option<&Val>) -> Result<Vec<Val>, KernelError> {
    let mut out = Vec::with_capacity(s.n);
    for q in 0..s.n {
        let mut bestk: Option<usize> = None;
        for (k, &on) in s.row(q).iter().enumerate() {
            // Strictly greater replaces: ties go to the lowest index.
            if on && bestk.is_none_or(|b| score[k].total_cmp(&score[b]).is_gt()) {
                bestk = Some(k);
            }
        }
        match (bestk, default) {
            (Some(k), _) => out.push(Val::Int(k as i64)),
            (None, Some(dv)) => out.push(dv.clone()),
            (None, None) => return Err(empty_selection(q)),
        }
    }
    Ok(out)
}

/// `mean(s, xs)`: the mean of the selected values; 0 when nothing is selected.
pub fn mean(s: &Selector, xs: &[Val]) -> Result<Vec<Val>, KernelError> {
    let nums = xs
        .iter()
        .enumerate()
        .map(|(k, v)| {
            v.as_f64().ok_or_else(|| KernelError {
                kind: "TypeError",
                message: format!(
                    "`mean` needs numbers, found {} `{v}` at key position {k}",
                    v.kind_name()
                ),
                position: None,
                note: None,
            })
        })
        .collect::<Result<Vec<f64>, _>>()?;
    let mut out = Vec::with_capacity(s.n);
    for q in 0..s.n {
        let (mut sum, mut cnt) = (0.0, 0usize);
        for (k, &on) in s.row(q).iter().enumerate() {
            if on {
                sum += nums[k];
                cnt += 1;
            }
        }
        out.push(Val::Float(if cnt == 0 { 0.0 } else { sum / cnt as f64 }));
    }
    Ok(out)
}

/// `width(s)`: the number of selected keys per query.
pub fn width(s: &Selector) -> Vec<Val> {
    (0..s.n)
        .map(|q| Val::Int(s.row(q).iter().filter(|&&b| b).count() as i64))
        .collect()
}

/// `sum(s, hvs)`: per query, one bundle of the selected keys' vectors (`hv(k)` is key `k`'s
/// vector); nothing selected is `EmptySelection`, like `aggregate`.
pub fn bundle_selected<'a>(
    space: &tessera_vsa::Space,
    s: &Selector,
    hv: impl Fn(usize) -> &'a tessera_vsa::Hv,
) -> Result<Vec<tessera_vsa::Hv>, KernelError> {
    let mut out = Vec::with_capacity(s.n);
    for q in 0..s.n {
        let refs: Vec<&tessera_vsa::Hv> = s
            .row(q)
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(k, _)| hv(k))
            .collect();
        if refs.is_empty() {
            return Err(KernelError {
                kind: "EmptySelection",
                message: "`sum` selected no key to bundle".into(),
                position: Some(q),
                note: None,
            });
        }
        out.push(space.bundle(&refs).map_err(|e| KernelError {
            kind: "TypeError",
            message: e.to_string(),
            position: Some(q),
            note: None,
        })?);
    }
    Ok(out)
}

/// `cleanup(a, C, min: m)` on each query: the nearest symbol's name, or `none` below `min`.
pub fn cleanup(
    book: &tessera_vsa::Codebook,
    queries: &[tessera_vsa::Hv],
    min: Option<f64>,
) -> Result<Vec<Val>, KernelError> {
    let hits = book
        .memory()
        .nearest_batch(queries)
        .map_err(|e| KernelError {
            kind: "TypeError",
            message: e.to_string(),
            position: None,
            note: None,
        })?;
    Ok(hits
        .iter()
        .map(|hit| match hit {
            Some(h) if min.is_none_or(|m| h.similarity >= m) => {
                Val::Str(book.symbols()[h.index].as_str().into())
            }
            _ => Val::None,
        })
        .collect())
}
