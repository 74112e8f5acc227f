//! BSC (Binary Spatter Codes, Kanerva 1996): bits packed 64 to a `u64` word. Bind and unbind
//! are XOR, similarity is 1 - Hamming/dim through popcount, bundling is the bitwise majority with
//! the space's tie vector deciding even votes.

use crate::model::{Vsa, shift};
use crate::rng::Rng;
use crate::simd;

#[derive(Debug, Clone)]
pub struct Bsc {
    dim: usize,
    words: usize,
}

/// A binary vector; the unused high bits of the last word are always zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BscVec(Vec<u64>);

impl BscVec {
    pub fn words(&self) -> &[u64] {
        &self.0
    }

    /// A vector from packed words; `None` when the count is wrong or padding bits are set.
    pub fn from_words(dim: usize, w: Vec<u64>) -> Option<BscVec> {
        if w.len() != dim.div_ceil(64) {
            return None;
        }
        let ok = match (dim % 64, w.last()) {
            (0, _) | (_, None) => true,
            (r, Some(&last)) => last >> r == 0,
        };
        ok.then_some(BscVec(w))
    }

    fn bit(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
}

impl Bsc {
    pub fn new(dim: usize) -> Bsc {
        Bsc {
            dim,
            words: dim.div_ceil(64),
        }
    }

    fn mask_last(&self, v: &mut [u64]) {
        if !self.dim.is_multiple_of(64)
            && let Some(last) = v.last_mut()
        {
            *last &= (1u64 << (self.dim % 64)) - 1;
        }
    }
}

impl Vsa for Bsc {
    type Vector = BscVec;
    const NAME: &'static str = "bsc";

    fn dim(&self) -> usize {
        self.dim
    }

    fn random(&self, rng: &mut Rng) -> BscVec {
        let mut w: Vec<u64> = (0..self.words).map(|_| rng.next_u64()).collect();
        self.mask_last(&mut w);
        BscVec(w)
    }

    fn zero(&self) -> BscVec {
        BscVec(vec![0; self.words])
    }

    fn bind_into(&self, a: &BscVec, b: &BscVec, out: &mut BscVec) {
        simd::xor(&a.0, &b.0, &mut out.0);
    }

    fn bind_batch(&self, a: &[BscVec], b: &[BscVec], out: &mut [BscVec]) {
        xor_batch(a, b, out);
    }

    fn unbind_into(&self, a: &BscVec, b: &BscVec, out: &mut BscVec) {
        simd::xor(&a.0, &b.0, &mut out.0);
    }

    fn permute_into(&self, a: &BscVec, k: i64, out: &mut BscVec) {
        let s = shift(k, self.dim);
        if self.dim.is_multiple_of(64) {
            // Whole-word rotation then a bit shift with carry between words.
            let (ws, bs) = (s / 64, s % 64);
            let n = self.words;
            for i in 0..n {
                let lo = a.0[(i + n - ws) % n];
                out.0[i] = if bs == 0 {
                    lo
                } else {
                    let prev = a.0[(i + 2 * n - ws - 1) % n];
                    (lo << bs) | (prev >> (64 - bs))
                };
            }
        } else {
            out.0.iter_mut().for_each(|w| *w = 0);
            for i in 0..self.dim {
                if a.bit(i) {
                    let j = (i + s) % self.dim;
                    out.0[j / 64] |= 1 << (j % 64);
                }
            }
        }
    }

    fn bundle_into(&self, items: &[&BscVec], tie: &BscVec, out: &mut BscVec) {
        let n = items.len();
        // Three inputs: the classic bitwise majority, no counting.
        if n == 3 {
            let (a, b, c) = (&items[0].0, &items[1].0, &items[2].0);
            for (i, o) in out.0.iter_mut().enumerate() {
                *o = (a[i] & b[i]) | (a[i] & c[i]) | (b[i] & c[i]);
            }
            return;
        }
        let mut counts = vec![0u32; 64];
        for (w, o) in out.0.iter_mut().enumerate() {
            counts.iter_mut().for_each(|c| *c = 0);
            for v in items {
                let mut x = v.0[w];
                while x != 0 {
                    counts[x.trailing_zeros() as usize] += 1;
                    x &= x - 1;
                }
            }
            let mut word = 0u64;
            for (bit, &c) in counts.iter().enumerate() {
                let one = match (2 * c as usize).cmp(&n) {
                    std::cmp::Ordering::Greater => true,
                    std::cmp::Ordering::Less => false,
                    std::cmp::Ordering::Equal => tie.0[w] >> bit & 1 == 1,
                };
                word |= u64::from(one) << bit;
            }
            *o = word;
        }
        self.mask_last(&mut out.0);
    }

    fn similarity_batch(&self, a: &[BscVec], b: &[BscVec], out: &mut [f64]) {
        let mut h = vec![0u32; out.len()];
        hamming_batch(a, b, &mut h);
        for (o, d) in out.iter_mut().zip(h) {
            *o = 1.0 - f64::from(d) / self.dim as f64;
        }
    }

    fn similarity(&self, a: &BscVec, b: &BscVec) -> f64 {
        1.0 - f64::from(simd::hamming(&a.0, &b.0)) / self.dim as f64
    }

    fn null_similarity(&self) -> (f64, f64) {
        (0.5, 0.5 / (self.dim as f64).sqrt())
    }
}

crate::kernel! {
    /// Pairwise XOR of two batches: one feature dispatch for the whole batch.
    pub fn xor_batch(a: &[BscVec], b: &[BscVec], out: &mut [BscVec]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            for ((w, p), q) in o.0.iter_mut().zip(&x.0).zip(&y.0) {
                *w = p ^ q;
            }
        }
    }
}

crate::kernel! {
    /// Pairwise Hamming distances of two batches.
    pub fn hamming_batch(a: &[BscVec], b: &[BscVec], out: &mut [u32]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            let mut n = 0u64;
            for (p, q) in x.0.iter().zip(&y.0) {
                n += u64::from((p ^ q).count_ones());
            }
            *o = n as u32;
        }
    }
}

/// A batch of BSC vectors in one contiguous buffer (rows of `words` words), the layout the
/// batched kernels stream fastest: one loop over the whole batch, no per-row setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BscBatch {
    words: usize,
    data: Vec<u64>,
}

impl BscBatch {
    pub fn new(rows: &[BscVec]) -> BscBatch {
        let words = rows.first().map_or(0, |r| r.0.len());
        BscBatch {
            words,
            data: rows.iter().flat_map(|r| r.0.iter().copied()).collect(),
        }
    }

    pub fn zeros(rows: usize, dim: usize) -> BscBatch {
        let words = dim.div_ceil(64);
        BscBatch {
            words,
            data: vec![0; rows * words],
        }
    }

    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.words).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> Option<BscVec> {
        self.data
            .get(i * self.words..(i + 1) * self.words)
            .map(|w| BscVec(w.to_vec()))
    }

    /// `out = a XOR b`, row by row (batches of equal shape).
    pub fn bind_into(a: &BscBatch, b: &BscBatch, out: &mut BscBatch) {
        simd::xor(&a.data, &b.data, &mut out.data);
    }

    /// `a ^= b` in place (no third buffer: a third less memory traffic than [`Self::bind_into`]).
    pub fn bind_assign(a: &mut BscBatch, b: &BscBatch) {
        xor_assign(&mut a.data, &b.data);
    }

    /// Hamming distance of each pair of rows.
    pub fn hamming_into(a: &BscBatch, b: &BscBatch, out: &mut [u32]) {
        hamming_pairs(&a.data, &b.data, a.words, out);
    }
}

crate::kernel! {
    fn hamming_pairs(a: &[u64], b: &[u64], words: usize, out: &mut [u32]) {
        for ((o, x), y) in out.iter_mut().zip(a.chunks_exact(words)).zip(b.chunks_exact(words)) {
            let mut n = 0u64;
            for (p, q) in x.iter().zip(y) {
                n += u64::from((p ^ q).count_ones());
            }
            *o = n as u32;
        }
    }
}

crate::kernel! {
    fn xor_assign(a: &mut [u64], b: &[u64]) {
        for (x, y) in a.iter_mut().zip(b) {
            *x ^= y;
        }
    }
}
