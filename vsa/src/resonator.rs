//! Resonator networks (Frady, Kent, Olshausen and Sommer 2020): factor a bound product
//! `s = x₁ ⊛ x₂ ⊛ … ⊛ x_F` into one code per codebook without searching the M^F combinations.
//!
//! Each estimate is updated in turn from the freshest estimates of the others (sequential
//! updates, as in Kent et al.'s reference code, which converge where torchhd's parallel update
//! does not):
//!
//! ```text
//!   u   = s ⊘ (⊛_{g≠f} x̂_g)         unbind the other factors
//!   a_m = ⟨X_f[m], u⟩                 attention of the estimate over the codebook
//!   x̂_f = g(Σ_m a_m X_f[m])          project back: sign (MAP, BSC) or unit phasor (FHRR, HRR)
//! ```
//!
//! Decoding takes, per factor, the code with the largest |a_m|: a bipolar product is unchanged
//! by flipping the signs of two factors, so |a| repairs the sign ambiguity. A sweep that changes
//! nothing is convergence; a state seen before is a limit cycle; a fixed point whose decoded
//! product does not explain `s` is spurious. On a cycle or a spurious fixed point the network
//! restarts from a seeded random state while the iteration budget lasts. BSC runs as MAP on ±1
//! (XOR is multiplication of signs); HRR runs as FHRR on its Fourier coefficients (circular
//! convolution is the elementwise product of spectra).

use crate::rng::Rng;
use crate::{Codebook, Hv, Result, Space, VsaError, simd};
use rustfft::num_complex::Complex32;
use std::collections::HashSet;

/// How a factorisation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A fixed point whose decoded product explains the input.
    Converged,
    /// The budget ran out while the network cycled or wandered.
    Budget,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Factorization {
    /// One code index per codebook.
    pub indices: Vec<usize>,
    /// |similarity| of the decoded product to the input (1 for an exact noiseless product).
    pub fit: f64,
    pub iterations: usize,
    pub restarts: usize,
    pub outcome: Outcome,
}

impl Factorization {
    /// The outcome follows from the fit: a decoded product that explains the input is convergence.
    fn new(
        indices: Vec<usize>,
        fit: f64,
        iterations: usize,
        restarts: usize,
        min_fit: f64,
    ) -> Factorization {
        Factorization {
            indices,
            fit,
            iterations,
            restarts,
            outcome: if fit >= min_fit {
                Outcome::Converged
            } else {
                Outcome::Budget
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResonatorOptions {
    /// The iteration budget (sweeps over all factors); `None`: [`default_budget`].
    pub max_iters: Option<usize>,
    /// Restart from a random state on a limit cycle or a spurious fixed point.
    pub restarts: bool,
    /// With `restarts`: also restart after this many sweeps without convergence (the network
    /// can wander without ever repeating a state). `None`: never.
    pub patience: Option<usize>,
    /// A fixed point counts as converged when the decoded product's similarity to the input lies
    /// this many standard deviations above chance.
    pub min_z: f64,
    /// Seed of the restart states.
    pub seed: u64,
}

impl Default for ResonatorOptions {
    fn default() -> Self {
        ResonatorOptions {
            max_iters: None,
            restarts: true,
            patience: Some(100),
            min_z: 8.0,
            seed: 0x5eed,
        }
    }
}

/// The most sweeps a default budget allows (so a huge codebook cannot make `factor` hang).
pub const MAX_DEFAULT_BUDGET: usize = 5_000;

/// max(200, M³/1000) sweeps for codebooks of at most M symbols (the budget behind the published
/// operational capacities), capped at [`MAX_DEFAULT_BUDGET`].
pub fn default_budget(m: usize) -> usize {
    200.max(m.saturating_pow(3) / 1000).min(MAX_DEFAULT_BUDGET)
}

/// The largest factor count `factor` accepts.
pub const MAX_FACTORS: usize = 8;

/// Factor `s` into one symbol of each codebook.
pub fn factor(
    space: &Space,
    s: &Hv,
    books: &[&Codebook],
    opts: &ResonatorOptions,
) -> Result<Factorization> {
    Ok(factor_batch(space, std::slice::from_ref(s), books, opts)?
        .into_iter()
        .next()
        .unwrap_or(Factorization {
            indices: Vec::new(),
            fit: 0.0,
            iterations: 0,
            restarts: 0,
            outcome: Outcome::Budget,
        }))
}

/// Factor each problem of a batch (the codebooks are prepared once; each problem stops on its own).
pub fn factor_batch(
    space: &Space,
    problems: &[Hv],
    books: &[&Codebook],
    opts: &ResonatorOptions,
) -> Result<Vec<Factorization>> {
    if books.len() < 2 || books.len() > MAX_FACTORS {
        return Err(VsaError::Invalid(format!(
            "a resonator factors into 2 to {MAX_FACTORS} codebooks, not {}",
            books.len()
        )));
    }
    if let Some(b) = books.iter().find(|b| b.is_empty()) {
        return Err(VsaError::Invalid(format!(
            "codebook `{}` is empty",
            b.name()
        )));
    }
    for p in problems {
        space.check(p)?;
    }
    let m = books.iter().map(|b| b.len()).max().unwrap_or(1);
    let budget = opts.max_iters.unwrap_or_else(|| default_budget(m)).max(1);
    let (_, sd) = space.null_similarity();
    let min_fit = opts.min_z * sd;
    match space.model() {
        crate::Model::Map | crate::Model::Bsc => {
            let codes: Vec<Vec<Vec<i8>>> = books
                .iter()
                .map(|b| {
                    b.vectors()
                        .iter()
                        .map(|v| bipolar(v, space.dim()))
                        .collect()
                })
                .collect();
            let mut rng = Rng::derive(opts.seed, &["resonator"]);
            Ok(problems
                .iter()
                .map(|p| {
                    bipolar_factor(
                        &bipolar(p, space.dim()),
                        &codes,
                        budget,
                        min_fit,
                        opts.restarts,
                        opts.patience,
                        &mut rng,
                    )
                })
                .collect())
        }
        crate::Model::Hrr | crate::Model::Fhrr => {
            let codes: Vec<Vec<Phasors>> = books
                .iter()
                .map(|b| b.vectors().iter().map(|v| phasors(space, v)).collect())
                .collect();
            let mut rng = Rng::derive(opts.seed, &["resonator"]);
            Ok(problems
                .iter()
                .map(|p| {
                    phasor_factor(
                        &phasors(space, p),
                        &codes,
                        budget,
                        min_fit,
                        opts.restarts,
                        &mut rng,
                    )
                })
                .collect())
        }
    }
}

fn bipolar(v: &Hv, dim: usize) -> Vec<i8> {
    match v {
        Hv::Map(m) => m.as_slice().to_vec(),
        Hv::Bsc(b) => {
            let w = b.words();
            (0..dim)
                .map(|i| {
                    if w[i / 64] >> (i % 64) & 1 == 1 {
                        -1
                    } else {
                        1
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn sign_into(acc: &[i32], out: &mut [i8]) -> bool {
    let mut changed = false;
    for (o, &a) in out.iter_mut().zip(acc) {
        let s = if a < 0 { -1 } else { 1 };
        changed |= *o != s;
        *o = s;
    }
    changed
}

fn argmax_abs<T: Copy + Into<f64>>(a: &[T]) -> usize {
    let mut best = 0;
    let mut bv = f64::NEG_INFINITY;
    for (i, &x) in a.iter().enumerate() {
        let v = x.into().abs();
        if v > bv {
            bv = v;
            best = i;
        }
    }
    best
}

fn state_hash(est: &[Vec<i8>]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for e in est {
        for chunk in e.chunks(8) {
            let mut w = 0u64;
            for (i, &x) in chunk.iter().enumerate() {
                w |= u64::from(x < 0) << i;
            }
            h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn bipolar_factor(
    s: &[i8],
    codes: &[Vec<Vec<i8>>],
    budget: usize,
    min_fit: f64,
    restarts: bool,
    patience: Option<usize>,
    rng: &mut Rng,
) -> Factorization {
    let d = s.len();
    let f = codes.len();
    // Start from the sign of each codebook's superposition.
    let mut est: Vec<Vec<i8>> = codes
        .iter()
        .map(|book| {
            let mut acc = vec![0i32; d];
            for c in book {
                simd::add_i8(c, &mut acc);
            }
            let mut e = vec![1i8; d];
            sign_into(&acc, &mut e);
            e
        })
        .collect();
    let mut attn: Vec<Vec<i32>> = codes.iter().map(|b| vec![0; b.len()]).collect();
    let mut u = vec![0i8; d];
    let mut acc = vec![0i32; d];
    let mut seen = HashSet::new();
    let mut n_restarts = 0;
    let mut since_restart = 0;
    let decode = |attn: &[Vec<i32>]| -> (Vec<usize>, f64) {
        let idx: Vec<usize> = attn.iter().map(|a| argmax_abs(a)).collect();
        let mut prod = codes[0][idx[0]].clone();
        for g in 1..f {
            let p = prod.clone();
            simd::mul_i8(&p, &codes[g][idx[g]], &mut prod);
        }
        let fit = f64::from(simd::dot_i8(&prod, s)).abs() / d as f64;
        (idx, fit)
    };
    for it in 1..=budget {
        let mut changed = false;
        for k in 0..f {
            u.copy_from_slice(s);
            for (g, e) in est.iter().enumerate() {
                if g != k {
                    let prev = u.clone();
                    simd::mul_i8(&prev, e, &mut u);
                }
            }
            acc.iter_mut().for_each(|x| *x = 0);
            for (a, c) in attn[k].iter_mut().zip(&codes[k]) {
                *a = simd::dot_i8(c, &u);
                simd::axpy_i8(*a, c, &mut acc);
            }
            changed |= sign_into(&acc, &mut est[k]);
        }
        let fixed = !changed;
        let cycled = !fixed && !seen.insert(state_hash(&est));
        since_restart += 1;
        let bored = patience.is_some_and(|p| since_restart >= p);
        if fixed || cycled || bored {
            let (indices, fit) = decode(&attn);
            if fit >= min_fit {
                return Factorization::new(indices, fit, it, n_restarts, min_fit);
            }
            if restarts {
                for e in est.iter_mut() {
                    for x in e.iter_mut() {
                        *x = if rng.next_u64() & 1 == 1 { -1 } else { 1 };
                    }
                }
                seen.clear();
                n_restarts += 1;
                since_restart = 0;
            }
        }
    }
    let (indices, fit) = decode(&attn);
    Factorization::new(indices, fit, budget, n_restarts, min_fit)
}

#[derive(Debug, Clone)]
struct Phasors {
    re: Vec<f32>,
    im: Vec<f32>,
}

fn phasors(space: &Space, v: &Hv) -> Phasors {
    match v {
        Hv::Fhrr(x) => Phasors {
            re: x.re().to_vec(),
            im: x.im().to_vec(),
        },
        Hv::Hrr(x) => {
            let spec = space.hrr().map(|h| h.spectrum(x)).unwrap_or_default();
            Phasors {
                re: spec.iter().map(|c| c.re).collect(),
                im: spec.iter().map(|c| c.im).collect(),
            }
        }
        _ => Phasors {
            re: Vec::new(),
            im: Vec::new(),
        },
    }
}

fn phasor_factor(
    s: &Phasors,
    codes: &[Vec<Phasors>],
    budget: usize,
    min_fit: f64,
    restarts: bool,
    rng: &mut Rng,
) -> Factorization {
    let d = s.re.len();
    let f = codes.len();
    let project = |re: &mut [f32], im: &mut [f32]| {
        for (r, i) in re.iter_mut().zip(im.iter_mut()) {
            let n = (*r * *r + *i * *i).sqrt();
            if n < 1e-12 {
                (*r, *i) = (1.0, 0.0);
            } else {
                (*r, *i) = (*r / n, *i / n);
            }
        }
    };
    let mut est: Vec<Phasors> = codes
        .iter()
        .map(|book| {
            let mut p = Phasors {
                re: vec![0.0; d],
                im: vec![0.0; d],
            };
            for c in book {
                for i in 0..d {
                    p.re[i] += c.re[i];
                    p.im[i] += c.im[i];
                }
            }
            project(&mut p.re, &mut p.im);
            p
        })
        .collect();
    let mut attn: Vec<Vec<Complex32>> = codes
        .iter()
        .map(|b| vec![Complex32::new(0.0, 0.0); b.len()])
        .collect();
    let (mut ur, mut ui) = (vec![0f32; d], vec![0f32; d]);
    let mut n_restarts = 0;
    let decode = |attn: &[Vec<Complex32>]| -> (Vec<usize>, f64) {
        let idx: Vec<usize> = attn
            .iter()
            .map(|a| argmax_abs(&a.iter().map(|c| c.norm()).collect::<Vec<f32>>()))
            .collect();
        // Re-bind the decoded codes and compare with s (magnitude of the Hermitian product).
        let (mut pr, mut pi) = (codes[0][idx[0]].re.clone(), codes[0][idx[0]].im.clone());
        for g in 1..f {
            let c = &codes[g][idx[g]];
            for i in 0..d {
                let (a, b) = (pr[i], pi[i]);
                pr[i] = a * c.re[i] - b * c.im[i];
                pi[i] = a * c.im[i] + b * c.re[i];
            }
        }
        let re = simd::dot_f32(&pr, &s.re) + simd::dot_f32(&pi, &s.im);
        let im = simd::dot_f32(&pi, &s.re) - simd::dot_f32(&pr, &s.im);
        let norm = (simd::dot_f32(&s.re, &s.re) + simd::dot_f32(&s.im, &s.im)).sqrt()
            * (simd::dot_f32(&pr, &pr) + simd::dot_f32(&pi, &pi)).sqrt();
        let fit = if norm > 0.0 {
            (re * re + im * im).sqrt() / norm
        } else {
            0.0
        };
        (idx, fit)
    };
    let mut last_idx: Vec<usize> = Vec::new();
    let mut stable = 0;
    for it in 1..=budget {
        let mut delta = 0.0f64;
        for k in 0..f {
            ur.copy_from_slice(&s.re);
            ui.copy_from_slice(&s.im);
            for (g, e) in est.iter().enumerate() {
                if g != k {
                    // u ⊙ conj(e)
                    for i in 0..d {
                        let (a, b) = (ur[i], ui[i]);
                        ur[i] = a * e.re[i] + b * e.im[i];
                        ui[i] = b * e.re[i] - a * e.im[i];
                    }
                }
            }
            let (mut nr, mut ni) = (vec![0f32; d], vec![0f32; d]);
            for (a, c) in attn[k].iter_mut().zip(&codes[k]) {
                // ⟨c, u⟩ = Σ conj(c)·u
                let re = simd::dot_f32(&c.re, &ur) + simd::dot_f32(&c.im, &ui);
                let im = simd::dot_f32(&c.re, &ui) - simd::dot_f32(&c.im, &ur);
                *a = Complex32::new(re as f32, im as f32);
                for i in 0..d {
                    nr[i] += a.re * c.re[i] - a.im * c.im[i];
                    ni[i] += a.re * c.im[i] + a.im * c.re[i];
                }
            }
            project(&mut nr, &mut ni);
            let sim = (simd::dot_f32(&nr, &est[k].re) + simd::dot_f32(&ni, &est[k].im)) / d as f64;
            delta += 1.0 - sim;
            est[k].re = nr;
            est[k].im = ni;
        }
        let (idx, fit) = decode(&attn);
        stable = if idx == last_idx { stable + 1 } else { 0 };
        last_idx = idx.clone();
        if delta < 1e-6 * f as f64 || stable >= 20 {
            if fit >= min_fit {
                return Factorization::new(idx, fit, it, n_restarts, min_fit);
            }
            if restarts {
                for e in est.iter_mut() {
                    for i in 0..d {
                        let phi = (rng.next_f64() * std::f64::consts::TAU) as f32;
                        e.re[i] = phi.cos();
                        e.im[i] = phi.sin();
                    }
                }
                n_restarts += 1;
                stable = 0;
            }
        }
    }
    let (indices, fit) = decode(&attn);
    Factorization::new(indices, fit, budget, n_restarts, min_fit)
}
