//! Bundle capacity: how many items a bundle can hold and still give all of them back.
//!
//! [`measure`] runs the experiment (bundle `k` random items of an `n`-item codebook, ask which
//! `k` items are most similar to the bundle); [`max_items`] is the rule the type checker warns
//! with: a bundle of `k` items from a codebook of `n` is reliable at dimension `D` when
//! `D ≥ C · k · ln(n / δ)`, with `C` calibrated on this crate's own measurements (BENCHMARKS.md,
//! "Bundle capacity"; `tessera bench vsa` re-measures it).

use crate::rng::Rng;
use crate::{Hv, ItemMemory, Model, Result, Space};

/// The calibrated constant of the rule. Measured (`tessera bench vsa`, 1,000-item codebooks, 20
/// bundles per cell): MAP and BSC, the weakest models, recover every member of all bundles at
/// k = 10 for D = 1,000 and k = 100 for D = 10,000, and fail some at k = 25 and k = 150; both
/// limits give D / (k · ln(1000 / 0.01)) = 8.7. HRR and FHRR hold more; the rule is set by the
/// weakest.
pub const RULE_C: f64 = 8.7;

/// The failure probability the warning is set for.
pub const DELTA: f64 = 0.01;

/// The dimension the rule asks for to bundle `k` items drawn from `n` symbols.
pub fn required_dim(k: usize, n: usize) -> usize {
    (RULE_C * k as f64 * ((n.max(2) as f64) / DELTA).ln()).ceil() as usize
}

/// The most items a bundle in dimension `dim` can hold by the rule.
pub fn max_items(dim: usize, n: usize) -> usize {
    (dim as f64 / (RULE_C * ((n.max(2) as f64) / DELTA).ln())).floor() as usize
}

/// One row of the capacity table.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityRow {
    pub model: Model,
    pub dim: usize,
    pub k: usize,
    pub items: usize,
    pub trials: usize,
    /// Mean fraction of the top-k most similar items that are members.
    pub precision: f64,
    /// Fraction of trials where every member was recovered.
    pub all_recovered: f64,
}

/// Bundle `k` distinct random items of an `items`-symbol codebook, `trials` times.
pub fn measure(
    model: Model,
    dim: usize,
    k: usize,
    items: usize,
    trials: usize,
    seed: u64,
) -> Result<CapacityRow> {
    let space = Space::new(model, dim, seed)?;
    let book: Vec<Hv> = (0..items)
        .map(|i| space.symbol("capacity", &i.to_string()))
        .collect();
    let memory = ItemMemory::new(&space, &book)?;
    let mut rng = Rng::derive(seed, &["capacity-trials"]);
    let (mut precision, mut all) = (0.0, 0usize);
    for _ in 0..trials {
        // A random k-subset (partial Fisher–Yates).
        let mut ids: Vec<usize> = (0..items).collect();
        for i in 0..k.min(items) {
            let j = i + rng.below((items - i) as u64) as usize;
            ids.swap(i, j);
        }
        let members = &ids[..k.min(items)];
        let refs: Vec<&Hv> = members.iter().map(|&i| &book[i]).collect();
        let bundle = space.bundle(&refs)?;
        let top = memory.top_k(&bundle, members.len())?;
        let hits = top.iter().filter(|h| members.contains(&h.index)).count();
        precision += hits as f64 / members.len().max(1) as f64;
        all += usize::from(hits == members.len());
    }
    Ok(CapacityRow {
        model,
        dim,
        k,
        items,
        trials,
        precision: precision / trials.max(1) as f64,
        all_recovered: all as f64 / trials.max(1) as f64,
    })
}
