//! MAP (Multiply–Add–Permute, Gayler 1998) with bipolar vectors stored one `i8` per component.
//! Bind and unbind are the elementwise product (self-inverse); bundling accumulates in `i32`
//! and takes the sign once at the end, with ties decided by the space's tie vector.

use crate::model::{Vsa, shift};
use crate::rng::Rng;
use crate::simd;

#[derive(Debug, Clone)]
pub struct Map {
    dim: usize,
}

/// A bipolar vector: every component is -1 or +1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MapVec(Vec<i8>);

impl MapVec {
    /// A vector from components that must all be ±1.
    pub fn from_bipolar(v: Vec<i8>) -> Option<MapVec> {
        v.iter().all(|&x| x == 1 || x == -1).then_some(MapVec(v))
    }

    pub fn as_slice(&self) -> &[i8] {
        &self.0
    }

    /// The sign bits packed into words (bit set where the component is -1): a bipolar dot
    /// product is `dim - 2 * hamming` of these.
    pub fn to_bits(&self) -> Vec<u64> {
        let mut w = vec![0u64; self.0.len().div_ceil(64)];
        for (i, &x) in self.0.iter().enumerate() {
            if x < 0 {
                w[i / 64] |= 1 << (i % 64);
            }
        }
        w
    }
}

impl Map {
    pub fn new(dim: usize) -> Map {
        Map { dim }
    }
}

impl Vsa for Map {
    type Vector = MapVec;
    const NAME: &'static str = "map";

    fn dim(&self) -> usize {
        self.dim
    }

    fn random(&self, rng: &mut Rng) -> MapVec {
        let mut v = Vec::with_capacity(self.dim);
        while v.len() < self.dim {
            let mut bits = rng.next_u64();
            for _ in 0..64.min(self.dim - v.len()) {
                v.push(if bits & 1 == 1 { -1 } else { 1 });
                bits >>= 1;
            }
        }
        MapVec(v)
    }

    fn zero(&self) -> MapVec {
        MapVec(vec![1; self.dim])
    }

    fn bind_into(&self, a: &MapVec, b: &MapVec, out: &mut MapVec) {
        simd::mul_i8(&a.0, &b.0, &mut out.0);
    }

    fn bind_batch(&self, a: &[MapVec], b: &[MapVec], out: &mut [MapVec]) {
        mul_batch(a, b, out);
    }

    fn unbind_into(&self, a: &MapVec, b: &MapVec, out: &mut MapVec) {
        simd::mul_i8(&a.0, &b.0, &mut out.0);
    }

    fn permute_into(&self, a: &MapVec, k: i64, out: &mut MapVec) {
        let s = shift(k, self.dim);
        out.0[s..].copy_from_slice(&a.0[..self.dim - s]);
        out.0[..s].copy_from_slice(&a.0[self.dim - s..]);
    }

    fn bundle_into(&self, items: &[&MapVec], tie: &MapVec, out: &mut MapVec) {
        let mut acc = vec![0i32; self.dim];
        for v in items {
            simd::add_i8(&v.0, &mut acc);
        }
        simd::sign_i32(&acc, &tie.0, &mut out.0);
    }

    fn similarity(&self, a: &MapVec, b: &MapVec) -> f64 {
        // Bipolar vectors have squared norm `dim`.
        f64::from(simd::dot_i8(&a.0, &b.0)) / self.dim as f64
    }
}

crate::kernel! {
    /// Pairwise bipolar products of two batches (see [`simd::mul_i8`]), one dispatch per batch.
    pub fn mul_batch(a: &[MapVec], b: &[MapVec], out: &mut [MapVec]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            for ((w, p), q) in o.0.iter_mut().zip(&x.0).zip(&y.0) {
                *w = (p ^ q) | 1;
            }
        }
    }
}
