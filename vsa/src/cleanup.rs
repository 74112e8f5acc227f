//! Item memory: a codebook prepared once (packed, normalised, contiguous) so cleanup of one
//! query or of a batch is a single pass over it.
//!
//! - BSC rows are the packed words; MAP rows are the packed sign bits of the bipolar vectors
//!   (a bipolar dot product is `dim - 2·hamming`), so both use the popcount kernel.
//! - HRR rows are the unit-normalised vectors; FHRR rows are `[re…, im…]` scaled by
//!   `1/|v|`, so the real part of the Hermitian product is one `f32` dot product.
//!
//! The batch path scores four queries per pass over the codebook, so each codebook row is read
//! from memory once per four queries. Ties go to the lowest index.

use crate::{Hv, Model, Result, Space, VsaError, simd};

/// Real-valued memories (HRR, FHRR) count items whose cosine is within this fraction of the
/// best one's magnitude as tied with it, and ties go to the first item. Two items a query is
/// equally close to in exact arithmetic (`a + b` against `a` and `b`) then give the same
/// answer however the cosines were rounded (an FFT in f32 here, a compiled model elsewhere);
/// genuine differences between cosines are orders of magnitude larger.
pub const REAL_TIE: f64 = 1e-4;

/// A cleanup result: the index of the item and its similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub index: usize,
    pub similarity: f64,
}

#[derive(Debug, Clone)]
enum Store {
    /// Packed bits, `words` per row.
    Bits { words: usize, rows: Vec<u64> },
    /// Normalised real rows of `len` floats.
    Real { len: usize, rows: Vec<f32> },
}

/// One query's distances in a buffer that interleaves several queries.
type Column<'a> = std::iter::Copied<std::iter::StepBy<std::iter::Skip<std::slice::Iter<'a, u32>>>>;

/// A prepared codebook.
#[derive(Debug, Clone)]
pub struct ItemMemory {
    model: Model,
    dim: usize,
    n: usize,
    null: (f64, f64),
    store: Store,
}

/// A similarity threshold: raw, or as a z-score against the similarity of unrelated vectors
/// (`Z(4.0)` accepts only matches four standard deviations above chance, at any dimension).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Similarity(f64),
    Z(f64),
}

impl ItemMemory {
    pub fn new(space: &Space, items: &[Hv]) -> Result<ItemMemory> {
        for v in items {
            space.check(v)?;
        }
        let dim = space.dim();
        let store = match space.model() {
            Model::Map | Model::Bsc => {
                let words = dim.div_ceil(64);
                let mut rows = Vec::with_capacity(words * items.len());
                for v in items {
                    rows.extend_from_slice(&query_bits(v));
                }
                Store::Bits { words, rows }
            }
            Model::Hrr | Model::Fhrr => {
                let len = if space.model() == Model::Hrr {
                    dim
                } else {
                    2 * dim
                };
                let mut rows = Vec::with_capacity(len * items.len());
                for v in items {
                    let r = real_row(v);
                    let n = simd::dot_f32(&r, &r).sqrt();
                    let s = if n > 0.0 { (1.0 / n) as f32 } else { 0.0 };
                    rows.extend(r.iter().map(|x| x * s));
                }
                Store::Real { len, rows }
            }
        };
        Ok(ItemMemory {
            model: space.model(),
            dim,
            n: items.len(),
            null: space.null_similarity(),
            store,
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn check(&self, q: &Hv) -> Result<()> {
        let ok = q.model() == self.model
            && match q {
                Hv::Bsc(b) => b.words().len() == self.dim.div_ceil(64),
                other => other.dim() == self.dim,
            };
        if ok {
            Ok(())
        } else {
            Err(VsaError::Mismatch {
                expected: format!("{} d={}", self.model.name(), self.dim),
                found: format!("{} d={}", q.model().name(), q.dim()),
            })
        }
    }

    fn sim_of_hamming(&self, h: u32) -> f64 {
        let d = self.dim as f64;
        match self.model {
            Model::Bsc => 1.0 - f64::from(h) / d,
            _ => (d - 2.0 * f64::from(h)) / d,
        }
    }

    /// The similarity of `q` to every item, in item order.
    pub fn similarities(&self, q: &Hv, out: &mut [f64]) -> Result<()> {
        self.check(q)?;
        if out.len() != self.n {
            return Err(VsaError::Invalid(format!(
                "similarities: output has {} slots for {} items",
                out.len(),
                self.n
            )));
        }
        match &self.store {
            Store::Bits { words, rows } => {
                let qb = query_bits(q);
                let mut h = vec![0u32; self.n];
                simd::hamming_rows(&qb, rows, *words, &mut h);
                for (o, &d) in out.iter_mut().zip(&h) {
                    *o = self.sim_of_hamming(d);
                }
            }
            Store::Real { len, rows } => {
                let r = real_row(q);
                let qn = simd::dot_f32(&r, &r).sqrt();
                for (o, row) in out.iter_mut().zip(rows.chunks_exact(*len)) {
                    *o = if qn > 0.0 {
                        simd::dot_f32(&r, row) / qn
                    } else {
                        0.0
                    };
                }
            }
        }
        Ok(())
    }

    /// The nearest item (`None` only for an empty memory).
    pub fn nearest(&self, q: &Hv) -> Result<Option<Hit>> {
        if self.n == 0 {
            self.check(q)?;
            return Ok(None);
        }
        if let Store::Bits { words, rows } = &self.store {
            self.check(q)?;
            let mut h = vec![0u32; self.n];
            simd::hamming_rows(&query_bits(q), rows, *words, &mut h);
            return Ok(self.best_hamming(h.into_iter()));
        }
        let mut sims = vec![0.0; self.n];
        self.similarities(q, &mut sims)?;
        Ok(best(&sims))
    }

    /// The nearest item of each query, four queries per pass over the codebook.
    pub fn nearest_batch(&self, qs: &[Hv]) -> Result<Vec<Option<Hit>>> {
        for q in qs {
            self.check(q)?;
        }
        if self.n == 0 {
            return Ok(vec![None; qs.len()]);
        }
        match &self.store {
            Store::Bits { words, rows } => {
                Ok(self.each_hamming(*words, rows, qs, |h| self.best_hamming(h)))
            }
            Store::Real { .. } => {
                let mut out = Vec::with_capacity(qs.len());
                let mut sims = vec![0.0; self.n];
                for q in qs {
                    self.similarities(q, &mut sims)?;
                    out.push(best(&sims));
                }
                Ok(out)
            }
        }
    }

    /// `f` of each query's Hamming distances to every row (in row order), four queries per
    /// pass over the packed rows.
    fn each_hamming<T>(
        &self,
        words: usize,
        rows: &[u64],
        qs: &[Hv],
        f: impl for<'a> Fn(Column<'a>) -> T,
    ) -> Vec<T> {
        let packed: Vec<Vec<u64>> = qs.iter().map(query_bits).collect();
        let mut out = Vec::with_capacity(qs.len());
        let mut h = vec![0u32; self.n * 4];
        // The last pass repeats its first query in the empty slots.
        for c in packed.chunks(4) {
            let q = |j: usize| c.get(j).unwrap_or(&c[0]).as_slice();
            simd::hamming_rows4([q(0), q(1), q(2), q(3)], rows, words, &mut h);
            for j in 0..c.len() {
                out.push(f(h.iter().skip(j).step_by(4).copied()));
            }
        }
        out
    }

    fn best_hamming(&self, h: impl Iterator<Item = u32>) -> Option<Hit> {
        let mut top: Option<(usize, u32)> = None;
        for (i, d) in h.enumerate() {
            if top.is_none_or(|(_, b)| d < b) {
                top = Some((i, d));
            }
        }
        top.map(|(index, d)| Hit {
            index,
            similarity: self.sim_of_hamming(d),
        })
    }

    /// The `k` nearest of `n` Hamming distances (in item order), as hits.
    fn top_hamming(&self, h: impl Iterator<Item = u32>, k: usize) -> Vec<Hit> {
        top_by(h, k, |a, b| a < b)
            .into_iter()
            .map(|(index, d)| Hit {
                index,
                similarity: self.sim_of_hamming(d),
            })
            .collect()
    }

    /// The `k` most similar items, most similar first (ties by index).
    pub fn top_k(&self, q: &Hv, k: usize) -> Result<Vec<Hit>> {
        if let Store::Bits { words, rows } = &self.store {
            self.check(q)?;
            let mut h = vec![0u32; self.n];
            simd::hamming_rows(&query_bits(q), rows, *words, &mut h);
            return Ok(self.top_hamming(h.into_iter(), k));
        }
        let mut sims = vec![0.0; self.n];
        self.similarities(q, &mut sims)?;
        Ok(top_of(&sims, k))
    }

    /// The `k` most similar items of each query (as [`Self::top_k`]); packed memories score
    /// four queries per pass over the codebook.
    pub fn top_k_batch(&self, qs: &[Hv], k: usize) -> Result<Vec<Vec<Hit>>> {
        for q in qs {
            self.check(q)?;
        }
        match &self.store {
            Store::Bits { words, rows } => {
                Ok(self.each_hamming(*words, rows, qs, |h| self.top_hamming(h, k)))
            }
            Store::Real { .. } => qs.iter().map(|q| self.top_k(q, k)).collect(),
        }
    }

    /// The nearest item if it clears the threshold.
    pub fn nearest_above(&self, q: &Hv, t: Threshold) -> Result<Option<Hit>> {
        Ok(self.nearest(q)?.filter(|h| self.passes(h, t)))
    }

    /// The nearest item of each query if it clears the threshold (as [`Self::nearest_above`],
    /// four queries per pass over a packed codebook).
    pub fn nearest_above_batch(&self, qs: &[Hv], t: Threshold) -> Result<Vec<Option<Hit>>> {
        Ok(self
            .nearest_batch(qs)?
            .into_iter()
            .map(|h| h.filter(|h| self.passes(h, t)))
            .collect())
    }

    fn passes(&self, h: &Hit, t: Threshold) -> bool {
        match t {
            Threshold::Similarity(s) => h.similarity >= s,
            Threshold::Z(z) => self.z_score(h.similarity) >= z,
        }
    }

    /// How many standard deviations `sim` lies above the similarity of unrelated vectors.
    pub fn z_score(&self, sim: f64) -> f64 {
        (sim - self.null.0) / self.null.1
    }
}

/// The `k` best of `scores` (in item order), best first, ties by index: a sorted list of at most
/// `k` that most items leave with one comparison against its last entry.
fn top_by<T: Copy>(
    scores: impl Iterator<Item = T>,
    k: usize,
    better: impl Fn(T, T) -> bool,
) -> Vec<(usize, T)> {
    let mut top: Vec<(usize, T)> = Vec::with_capacity(k.min(1024) + 1);
    if k == 0 {
        return top;
    }
    for (i, x) in scores.enumerate() {
        // Items come in index order: an equal score never displaces an earlier item.
        if top.len() == k && top.last().is_some_and(|&(_, w)| !better(x, w)) {
            continue;
        }
        let at = top.partition_point(|&(_, y)| !better(x, y));
        top.insert(at, (i, x));
        top.truncate(k);
    }
    top
}

/// The `k` largest similarities, largest first, ties by index.
fn top_of(sims: &[f64], k: usize) -> Vec<Hit> {
    top_by(sims.iter().copied(), k, |a, b| a > b)
        .into_iter()
        .map(|(index, similarity)| Hit { index, similarity })
        .collect()
}

/// The first item whose similarity is within [`REAL_TIE`] (relative) of the largest.
fn best(sims: &[f64]) -> Option<Hit> {
    let max = sims.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let floor = max - REAL_TIE * max.abs();
    sims.iter().position(|&s| s >= floor).map(|index| Hit {
        index,
        similarity: sims[index],
    })
}

/// The packed bits a Hamming-based memory compares (BSC words; MAP sign bits).
fn query_bits(v: &Hv) -> Vec<u64> {
    match v {
        Hv::Bsc(b) => b.words().to_vec(),
        Hv::Map(m) => m.to_bits(),
        _ => Vec::new(),
    }
}

/// The real row a dot-product memory compares (HRR components; FHRR `[re…, im…]`).
fn real_row(v: &Hv) -> Vec<f32> {
    match v {
        Hv::Hrr(h) => h.as_slice().to_vec(),
        Hv::Fhrr(f) => f.re().iter().chain(f.im()).copied().collect(),
        _ => Vec::new(),
    }
}
