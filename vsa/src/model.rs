//! The one trait every VSA model implements. Adding a model (BSBC, VTB, …) is one file with one
//! `impl Vsa`, plus its variants in [`crate::Model`], [`crate::Hv`] and the space's kernel enum.

use crate::rng::Rng;

/// A vector-symbolic architecture of a fixed dimension: its vectors and its algebra.
///
/// The `_into` forms write into a caller's buffer so batched loops allocate nothing; the plain
/// forms are conveniences over them.
pub trait Vsa {
    type Vector: Clone + PartialEq + std::fmt::Debug + Send + Sync;

    /// The name used in `space S = NAME(dim: …, seed: …)`.
    const NAME: &'static str;

    fn dim(&self) -> usize;

    /// A random atomic vector (quasi-orthogonal to every other one with high probability).
    fn random(&self, rng: &mut Rng) -> Self::Vector;

    /// A vector to write results into.
    fn zero(&self) -> Self::Vector;

    /// Binding: dissimilar to both arguments, invertible.
    fn bind_into(&self, a: &Self::Vector, b: &Self::Vector, out: &mut Self::Vector);

    /// Unbinding: `unbind(bind(x, b), b) == x` exactly where the model has an exact inverse.
    fn unbind_into(&self, a: &Self::Vector, b: &Self::Vector, out: &mut Self::Vector);

    /// Cyclic shift: component `i` moves to `(i + k) mod dim`.
    fn permute_into(&self, a: &Self::Vector, k: i64, out: &mut Self::Vector);

    /// Bundling (superposition) of `items`, normalised back into the model's vector set; `tie`
    /// is a fixed random vector of the space that decides components where the vote is even.
    fn bundle_into(&self, items: &[&Self::Vector], tie: &Self::Vector, out: &mut Self::Vector);

    /// Similarity in [-1, 1] (BSC: 1 - normalised Hamming distance, in [0, 1]).
    fn similarity(&self, a: &Self::Vector, b: &Self::Vector) -> f64;

    /// Mean and standard deviation of the similarity of two independent random vectors: the
    /// noise floor thresholds are measured against (z-scores).
    fn null_similarity(&self) -> (f64, f64) {
        (0.0, 1.0 / (self.dim() as f64).sqrt())
    }

    fn bind(&self, a: &Self::Vector, b: &Self::Vector) -> Self::Vector {
        let mut out = self.zero();
        self.bind_into(a, b, &mut out);
        out
    }

    fn unbind(&self, a: &Self::Vector, b: &Self::Vector) -> Self::Vector {
        let mut out = self.zero();
        self.unbind_into(a, b, &mut out);
        out
    }

    fn permute(&self, a: &Self::Vector, k: i64) -> Self::Vector {
        let mut out = self.zero();
        self.permute_into(a, k, &mut out);
        out
    }

    fn bundle(&self, items: &[&Self::Vector], tie: &Self::Vector) -> Self::Vector {
        let mut out = self.zero();
        self.bundle_into(items, tie, &mut out);
        out
    }

    /// Pairwise binding of two equally long batches into a third (no allocation).
    fn bind_batch(&self, a: &[Self::Vector], b: &[Self::Vector], out: &mut [Self::Vector]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            self.bind_into(x, y, o);
        }
    }

    /// Pairwise unbinding of two equally long batches into a third (no allocation).
    fn unbind_batch(&self, a: &[Self::Vector], b: &[Self::Vector], out: &mut [Self::Vector]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            self.unbind_into(x, y, o);
        }
    }

    /// Permute every vector of a batch by `k` into a second batch (no allocation).
    fn permute_batch(&self, a: &[Self::Vector], k: i64, out: &mut [Self::Vector]) {
        for (o, x) in out.iter_mut().zip(a) {
            self.permute_into(x, k, o);
        }
    }

    /// Bundle each group of vectors into the matching output (no allocation per group beyond
    /// the model's accumulator).
    fn bundle_batch(
        &self,
        groups: &[&[&Self::Vector]],
        tie: &Self::Vector,
        out: &mut [Self::Vector],
    ) {
        for (o, g) in out.iter_mut().zip(groups) {
            self.bundle_into(g, tie, o);
        }
    }

    /// Pairwise similarity of two equally long batches.
    fn similarity_batch(&self, a: &[Self::Vector], b: &[Self::Vector], out: &mut [f64]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = self.similarity(x, y);
        }
    }
}

/// `k mod dim` as a non-negative shift.
pub(crate) fn shift(k: i64, dim: usize) -> usize {
    let d = dim as i64;
    (((k % d) + d) % d) as usize
}
