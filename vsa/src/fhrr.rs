//! FHRR (Fourier HRR, Plate 2003): unit phasors. Binding multiplies phasors (adds angles),
//! unbinding multiplies by the conjugate (exact), similarity is the mean cosine of the angle
//! differences, and bundling sums and renormalises every component to magnitude 1.

use crate::model::{Vsa, shift};
use crate::rng::Rng;
use crate::simd;

#[derive(Debug, Clone)]
pub struct Fhrr {
    dim: usize,
}

/// Phasors stored as real and imaginary parts.
#[derive(Debug, Clone, PartialEq)]
pub struct FhrrVec {
    pub(crate) re: Vec<f32>,
    pub(crate) im: Vec<f32>,
}

impl FhrrVec {
    pub fn re(&self) -> &[f32] {
        &self.re
    }

    pub fn im(&self) -> &[f32] {
        &self.im
    }

    /// Unit phasors with these angles.
    pub fn from_angles(angles: &[f32]) -> FhrrVec {
        FhrrVec {
            re: angles.iter().map(|a| a.cos()).collect(),
            im: angles.iter().map(|a| a.sin()).collect(),
        }
    }
}

impl Fhrr {
    pub fn new(dim: usize) -> Fhrr {
        Fhrr { dim }
    }
}

impl Vsa for Fhrr {
    type Vector = FhrrVec;
    const NAME: &'static str = "fhrr";

    fn dim(&self) -> usize {
        self.dim
    }

    fn random(&self, rng: &mut Rng) -> FhrrVec {
        let angles: Vec<f32> = (0..self.dim)
            .map(|_| (rng.next_f64() * std::f64::consts::TAU) as f32)
            .collect();
        FhrrVec::from_angles(&angles)
    }

    fn zero(&self) -> FhrrVec {
        FhrrVec {
            re: vec![1.0; self.dim],
            im: vec![0.0; self.dim],
        }
    }

    fn bind_into(&self, a: &FhrrVec, b: &FhrrVec, out: &mut FhrrVec) {
        for i in 0..self.dim {
            let (ar, ai, br, bi) = (a.re[i], a.im[i], b.re[i], b.im[i]);
            out.re[i] = ar * br - ai * bi;
            out.im[i] = ar * bi + ai * br;
        }
    }

    fn unbind_into(&self, a: &FhrrVec, b: &FhrrVec, out: &mut FhrrVec) {
        for i in 0..self.dim {
            let (ar, ai, br, bi) = (a.re[i], a.im[i], b.re[i], b.im[i]);
            out.re[i] = ar * br + ai * bi;
            out.im[i] = ai * br - ar * bi;
        }
    }

    fn permute_into(&self, a: &FhrrVec, k: i64, out: &mut FhrrVec) {
        let s = shift(k, self.dim);
        let d = self.dim;
        out.re[s..].copy_from_slice(&a.re[..d - s]);
        out.re[..s].copy_from_slice(&a.re[d - s..]);
        out.im[s..].copy_from_slice(&a.im[..d - s]);
        out.im[..s].copy_from_slice(&a.im[d - s..]);
    }

    fn bundle_into(&self, items: &[&FhrrVec], tie: &FhrrVec, out: &mut FhrrVec) {
        for i in 0..self.dim {
            let (mut r, mut m) = (0f32, 0f32);
            for v in items {
                r += v.re[i];
                m += v.im[i];
            }
            let n = (r * r + m * m).sqrt();
            if n < 1e-6 {
                out.re[i] = tie.re[i];
                out.im[i] = tie.im[i];
            } else {
                out.re[i] = r / n;
                out.im[i] = m / n;
            }
        }
    }

    fn similarity(&self, a: &FhrrVec, b: &FhrrVec) -> f64 {
        (simd::dot_f32(&a.re, &b.re) + simd::dot_f32(&a.im, &b.im)) / self.dim as f64
    }
}
