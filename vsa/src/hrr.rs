//! HRR (Holographic Reduced Representations, Plate 1995): real vectors, binding by circular
//! convolution computed through the FFT.
//!
//! Atoms are *unitary* HRR vectors (every Fourier coefficient has magnitude 1, Plate 2003 §3.6.7):
//! their exact inverse equals their involution, so `/` is exact on atoms and as well behaved as
//! the approximate inverse on bundles. Unbinding divides in the Fourier domain; coefficients of
//! magnitude below 1e-6 are treated as zero instead of being amplified.

use crate::model::{Vsa, shift};
use crate::rng::Rng;
use crate::simd;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

#[derive(Clone)]
pub struct Hrr {
    dim: usize,
    fwd: Arc<dyn Fft<f32>>,
    inv: Arc<dyn Fft<f32>>,
}

impl std::fmt::Debug for Hrr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hrr {{ dim: {} }}", self.dim)
    }
}

/// A real vector (unit norm for atoms and bundles).
#[derive(Debug, Clone, PartialEq)]
pub struct HrrVec(Vec<f32>);

impl HrrVec {
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// A vector from finite components.
    pub fn from_real(v: Vec<f32>) -> Option<HrrVec> {
        v.iter().all(|x| x.is_finite()).then_some(HrrVec(v))
    }
}

impl Hrr {
    pub fn new(dim: usize) -> Hrr {
        let mut planner = FftPlanner::new();
        Hrr {
            dim,
            fwd: planner.plan_fft_forward(dim),
            inv: planner.plan_fft_inverse(dim),
        }
    }

    /// The Fourier coefficients of `v`.
    pub fn spectrum(&self, v: &HrrVec) -> Vec<Complex32> {
        let mut buf: Vec<Complex32> = v.0.iter().map(|&x| Complex32::new(x, 0.0)).collect();
        self.fwd.process(&mut buf);
        buf
    }

    /// The real vector with these Fourier coefficients (the imaginary residue is dropped).
    pub fn from_spectrum(&self, mut spec: Vec<Complex32>) -> HrrVec {
        self.inv.process(&mut spec);
        let s = 1.0 / self.dim as f32;
        HrrVec(spec.iter().map(|c| c.re * s).collect())
    }

    /// The approximate inverse (Plate's involution: `x*[i] = x[-i mod d]`), exact for unitary
    /// vectors such as the atoms, and better behaved than the exact inverse on noisy ones.
    pub fn involution(&self, v: &HrrVec) -> HrrVec {
        let d = self.dim;
        HrrVec((0..d).map(|i| v.0[(d - i) % d]).collect())
    }

    /// Unbinding with the approximate inverse: `a ⊛ b*` (circular correlation).
    pub fn unbind_approx(&self, a: &HrrVec, b: &HrrVec) -> HrrVec {
        let mut out = self.zero();
        self.combine(a, b, &mut out, |x, y| x * y.conj());
        out
    }

    fn combine(
        &self,
        a: &HrrVec,
        b: &HrrVec,
        out: &mut HrrVec,
        f: impl Fn(Complex32, Complex32) -> Complex32,
    ) {
        let mut fa = self.spectrum(a);
        let fb = self.spectrum(b);
        for (x, y) in fa.iter_mut().zip(&fb) {
            *x = f(*x, *y);
        }
        self.inv.process(&mut fa);
        let s = 1.0 / self.dim as f32;
        for (o, c) in out.0.iter_mut().zip(&fa) {
            *o = c.re * s;
        }
    }
}

impl Vsa for Hrr {
    type Vector = HrrVec;
    const NAME: &'static str = "hrr";

    fn dim(&self) -> usize {
        self.dim
    }

    fn random(&self, rng: &mut Rng) -> HrrVec {
        // Unit-magnitude coefficients with conjugate symmetry, so the vector is real.
        let d = self.dim;
        let mut spec = vec![Complex32::new(0.0, 0.0); d];
        let sign = |rng: &mut Rng| if rng.next_u64() & 1 == 1 { -1.0 } else { 1.0 };
        spec[0] = Complex32::new(sign(rng), 0.0);
        for k in 1..d.div_ceil(2) {
            let phi = (rng.next_f64() * std::f64::consts::TAU) as f32;
            spec[k] = Complex32::from_polar(1.0, phi);
            spec[d - k] = spec[k].conj();
        }
        if d.is_multiple_of(2) && d > 1 {
            spec[d / 2] = Complex32::new(sign(rng), 0.0);
        }
        self.from_spectrum(spec)
    }

    fn zero(&self) -> HrrVec {
        HrrVec(vec![0.0; self.dim])
    }

    fn bind_into(&self, a: &HrrVec, b: &HrrVec, out: &mut HrrVec) {
        self.combine(a, b, out, |x, y| x * y);
    }

    fn unbind_into(&self, a: &HrrVec, b: &HrrVec, out: &mut HrrVec) {
        self.combine(a, b, out, |x, y| {
            let n = y.norm_sqr();
            if n < 1e-12 {
                Complex32::new(0.0, 0.0)
            } else {
                x * y.conj() / n
            }
        });
    }

    fn permute_into(&self, a: &HrrVec, k: i64, out: &mut HrrVec) {
        let s = shift(k, self.dim);
        out.0[s..].copy_from_slice(&a.0[..self.dim - s]);
        out.0[..s].copy_from_slice(&a.0[self.dim - s..]);
    }

    fn bundle_into(&self, items: &[&HrrVec], tie: &HrrVec, out: &mut HrrVec) {
        out.0.iter_mut().for_each(|x| *x = 0.0);
        for v in items {
            for (o, x) in out.0.iter_mut().zip(&v.0) {
                *o += x;
            }
        }
        let norm = simd::dot_f32(&out.0, &out.0).sqrt();
        if norm < 1e-12 {
            out.0.copy_from_slice(&tie.0);
        } else {
            let s = (1.0 / norm) as f32;
            out.0.iter_mut().for_each(|x| *x *= s);
        }
    }

    fn similarity(&self, a: &HrrVec, b: &HrrVec) -> f64 {
        let n = (simd::dot_f32(&a.0, &a.0) * simd::dot_f32(&b.0, &b.0)).sqrt();
        if n < 1e-24 {
            0.0
        } else {
            simd::dot_f32(&a.0, &b.0) / n
        }
    }
}
