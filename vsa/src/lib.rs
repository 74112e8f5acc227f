//! Vector-symbolic kernels for Tessera: hypervector spaces (MAP, BSC, HRR, FHRR), binding,
//! bundling, permutation, similarity, batched cleanup against a prepared item memory, and
//! resonator networks that factor a bound product.
//!
//! This crate has no heavy dependencies (only `rustfft`, for HRR) so the reference interpreter
//! in `tessera-lang` can use the very same kernels the engine and the benchmarks use: the
//! interpreter stays the specification, and there is one implementation of each operation.
//!
//! ```
//! use tessera_vsa::{Model, Space};
//! let s = Space::new(Model::Bsc, 10_000, 7).unwrap();
//! let (color, red) = (s.symbol("Role", "color"), s.symbol("Color", "red"));
//! let bound = s.bind(&color, &red).unwrap();
//! assert_eq!(s.unbind(&bound, &color).unwrap(), red);
//! assert!(s.similarity(&bound, &red).unwrap() < 0.55);
//! ```

#![deny(clippy::unwrap_used)]

pub mod bench;
pub mod bsc;
pub mod capacity;
pub mod cleanup;
pub mod fhrr;
pub mod hrr;
pub mod map;
pub mod model;
pub mod resonator;
pub mod rng;
pub mod simd;

pub use bsc::{Bsc, BscVec};
pub use cleanup::{Hit, ItemMemory};
pub use fhrr::{Fhrr, FhrrVec};
pub use hrr::{Hrr, HrrVec};
pub use map::{Map, MapVec};
pub use model::Vsa;
pub use resonator::{Factorization, Outcome, ResonatorOptions};
pub use rng::Rng;

/// The largest dimension a space may have (the `dim` limit; 2^20 components).
pub const MAX_DIM: usize = 1 << 24;

/// The four models of LANGUAGE.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Model {
    Map,
    Bsc,
    Hrr,
    Fhrr,
}

impl Model {
    pub const ALL: [Model; 4] = [Model::Map, Model::Bsc, Model::Hrr, Model::Fhrr];

    pub fn parse(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Model::Map => Map::NAME,
            Model::Bsc => Bsc::NAME,
            Model::Hrr => Hrr::NAME,
            Model::Fhrr => Fhrr::NAME,
        }
    }
}

/// What can go wrong in a VSA operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VsaError {
    /// `dim` is 0 or above [`MAX_DIM`].
    Dimension { dim: usize },
    /// A vector of another model or dimension than the space's.
    Mismatch { expected: String, found: String },
    /// Bundling nothing.
    EmptyBundle,
    /// A codebook or factorisation problem that cannot be set up (empty codebook, no factors, …).
    Invalid(String),
}

impl std::fmt::Display for VsaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VsaError::Dimension { dim } => write!(
                f,
                "a space's dimension must be between 1 and {MAX_DIM} (the VSA dimension ceiling), not {dim}"
            ),
            VsaError::Mismatch { expected, found } => {
                write!(f, "expected a {expected} hypervector, found a {found} one")
            }
            VsaError::EmptyBundle => write!(f, "a bundle needs at least one hypervector"),
            VsaError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for VsaError {}

pub type Result<T> = std::result::Result<T, VsaError>;

/// A hypervector of one of the four models.
#[derive(Debug, Clone, PartialEq)]
pub enum Hv {
    Map(MapVec),
    Bsc(BscVec),
    Hrr(HrrVec),
    Fhrr(FhrrVec),
}

impl Hv {
    pub fn model(&self) -> Model {
        match self {
            Hv::Map(_) => Model::Map,
            Hv::Bsc(_) => Model::Bsc,
            Hv::Hrr(_) => Model::Hrr,
            Hv::Fhrr(_) => Model::Fhrr,
        }
    }

    /// A 64-bit fingerprint of the stored components (FNV-1a over their bytes): equal vectors
    /// have equal fingerprints, so printed fingerprints tell vectors apart at a glance.
    pub fn fingerprint(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        match self {
            Hv::Map(v) => v.as_slice().iter().for_each(|&x| eat(&x.to_le_bytes())),
            Hv::Bsc(v) => v.words().iter().for_each(|w| eat(&w.to_le_bytes())),
            Hv::Hrr(v) => v.as_slice().iter().for_each(|x| eat(&x.to_le_bytes())),
            Hv::Fhrr(v) => v
                .re()
                .iter()
                .chain(v.im())
                .for_each(|x| eat(&x.to_le_bytes())),
        }
        h
    }

    /// The components as numbers (bits, ±1, reals, phase angles); BSC vectors give whole
    /// words (`dim` rounded up to 64), the padding bits being 0.
    pub fn components(&self) -> Vec<f64> {
        match self {
            Hv::Map(v) => v.as_slice().iter().map(|&x| f64::from(x)).collect(),
            Hv::Bsc(v) => {
                let w = v.words();
                (0..w.len() * 64)
                    .map(|i| f64::from(u8::from(w[i / 64] >> (i % 64) & 1 == 1)))
                    .collect()
            }
            Hv::Hrr(v) => v.as_slice().iter().map(|&x| f64::from(x)).collect(),
            Hv::Fhrr(v) => v
                .re()
                .iter()
                .zip(v.im())
                .map(|(&r, &i)| f64::from(i.atan2(r)))
                .collect(),
        }
    }

    /// The number of stored components (BSC: rounded up to whole 64-bit words).
    pub fn dim(&self) -> usize {
        match self {
            Hv::Map(v) => v.as_slice().len(),
            Hv::Bsc(v) => v.words().len() * 64,
            Hv::Hrr(v) => v.as_slice().len(),
            Hv::Fhrr(v) => v.re().len(),
        }
    }
}

#[derive(Debug, Clone)]
enum Kernel {
    Map(Map),
    Bsc(Bsc),
    Hrr(Hrr),
    Fhrr(Fhrr),
}

/// A hypervector space: model, dimension and seed. Every symbol of every codebook in the space
/// is a pure function of (seed, codebook name, symbol name).
#[derive(Debug, Clone)]
pub struct Space {
    model: Model,
    dim: usize,
    seed: u64,
    kernel: Kernel,
    tie: Hv,
}

macro_rules! unary {
    ($self:ident, $a:ident, |$k:ident, $x:ident| $e:expr) => {{
        $self.check($a)?;
        match (&$self.kernel, $a) {
            (Kernel::Map($k), Hv::Map($x)) => Ok(Hv::Map($e)),
            (Kernel::Bsc($k), Hv::Bsc($x)) => Ok(Hv::Bsc($e)),
            (Kernel::Hrr($k), Hv::Hrr($x)) => Ok(Hv::Hrr($e)),
            (Kernel::Fhrr($k), Hv::Fhrr($x)) => Ok(Hv::Fhrr($e)),
            _ => Err($self.mismatch($a)),
        }
    }};
}

macro_rules! binary {
    ($self:ident, $a:ident, $b:ident, $wrap:ident, |$k:ident, $x:ident, $y:ident| $e:expr) => {{
        $self.check($a)?;
        $self.check($b)?;
        match (&$self.kernel, $a, $b) {
            (Kernel::Map($k), Hv::Map($x), Hv::Map($y)) => Ok(binary!(@wrap $wrap Map $e)),
            (Kernel::Bsc($k), Hv::Bsc($x), Hv::Bsc($y)) => Ok(binary!(@wrap $wrap Bsc $e)),
            (Kernel::Hrr($k), Hv::Hrr($x), Hv::Hrr($y)) => Ok(binary!(@wrap $wrap Hrr $e)),
            (Kernel::Fhrr($k), Hv::Fhrr($x), Hv::Fhrr($y)) => Ok(binary!(@wrap $wrap Fhrr $e)),
            _ => Err($self.mismatch($a)),
        }
    }};
    (@wrap hv $v:ident $e:expr) => { Hv::$v($e) };
    (@wrap raw $v:ident $e:expr) => { $e };
}

impl Space {
    pub fn new(model: Model, dim: usize, seed: u64) -> Result<Space> {
        if dim == 0 || dim > MAX_DIM {
            return Err(VsaError::Dimension { dim });
        }
        let kernel = match model {
            Model::Map => Kernel::Map(Map::new(dim)),
            Model::Bsc => Kernel::Bsc(Bsc::new(dim)),
            Model::Hrr => Kernel::Hrr(Hrr::new(dim)),
            Model::Fhrr => Kernel::Fhrr(Fhrr::new(dim)),
        };
        let mut space = Space {
            model,
            dim,
            seed,
            kernel,
            tie: Hv::Map(MapVec::from_bipolar(vec![1]).ok_or(VsaError::Dimension { dim })?),
        };
        space.tie = space.random(&mut Rng::derive(seed, &["", "tie"]));
        Ok(space)
    }

    pub fn model(&self) -> Model {
        self.model
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh random vector from `rng`.
    pub fn random(&self, rng: &mut Rng) -> Hv {
        match &self.kernel {
            Kernel::Map(k) => Hv::Map(k.random(rng)),
            Kernel::Bsc(k) => Hv::Bsc(k.random(rng)),
            Kernel::Hrr(k) => Hv::Hrr(k.random(rng)),
            Kernel::Fhrr(k) => Hv::Fhrr(k.random(rng)),
        }
    }

    /// The vector of symbol `name` in codebook `book`.
    pub fn symbol(&self, book: &str, name: &str) -> Hv {
        self.random(&mut Rng::derive(self.seed, &[book, name]))
    }

    /// The fixed random vector that breaks even votes when bundling.
    pub fn tie(&self) -> &Hv {
        &self.tie
    }

    fn describe(model: Model, dim: usize) -> String {
        format!("{} d={dim}", model.name())
    }

    fn mismatch(&self, found: &Hv) -> VsaError {
        VsaError::Mismatch {
            expected: Space::describe(self.model, self.dim),
            found: Space::describe(found.model(), found.dim()),
        }
    }

    /// The vector belongs to this space (model and dimension).
    pub fn check(&self, v: &Hv) -> Result<()> {
        let dim_ok = match v {
            Hv::Bsc(b) => b.words().len() == self.dim.div_ceil(64),
            other => other.dim() == self.dim,
        };
        if v.model() == self.model && dim_ok {
            Ok(())
        } else {
            Err(self.mismatch(v))
        }
    }

    pub fn bind(&self, a: &Hv, b: &Hv) -> Result<Hv> {
        binary!(self, a, b, hv, |k, x, y| k.bind(x, y))
    }

    /// `a / b`: what bound with `b` gives `a`.
    pub fn unbind(&self, a: &Hv, b: &Hv) -> Result<Hv> {
        binary!(self, a, b, hv, |k, x, y| k.unbind(x, y))
    }

    pub fn permute(&self, a: &Hv, k: i64) -> Result<Hv> {
        unary!(self, a, |m, x| m.permute(x, k))
    }

    pub fn similarity(&self, a: &Hv, b: &Hv) -> Result<f64> {
        binary!(self, a, b, raw, |k, x, y| k.similarity(x, y))
    }

    /// (mean, standard deviation) of the similarity of two unrelated vectors.
    pub fn null_similarity(&self) -> (f64, f64) {
        match &self.kernel {
            Kernel::Map(k) => k.null_similarity(),
            Kernel::Bsc(k) => k.null_similarity(),
            Kernel::Hrr(k) => k.null_similarity(),
            Kernel::Fhrr(k) => k.null_similarity(),
        }
    }

    /// The similarity a cleanup must reach: the larger of `min` and the similarity `z` standard
    /// deviations above that of unrelated vectors (`cleanup(…, min: m, z: k)` in the language).
    pub fn threshold(&self, min: Option<f64>, z: Option<f64>) -> Option<f64> {
        let (mean, sd) = self.null_similarity();
        let from_z = z.map(|z| mean + z * sd);
        match (min, from_z) {
            (Some(m), Some(t)) => Some(m.max(t)),
            (m, t) => m.or(t),
        }
    }

    /// Bundle (superpose) the vectors and normalise once: majority for BSC, sign for MAP,
    /// unit norm for HRR, unit phasors for FHRR.
    pub fn bundle(&self, items: &[&Hv]) -> Result<Hv> {
        if items.is_empty() {
            return Err(VsaError::EmptyBundle);
        }
        for v in items {
            self.check(v)?;
        }
        macro_rules! go {
            ($k:ident, $variant:ident) => {{
                let vs: Vec<_> = items
                    .iter()
                    .filter_map(|v| match v {
                        Hv::$variant(x) => Some(x),
                        _ => None,
                    })
                    .collect();
                let Hv::$variant(tie) = &self.tie else {
                    return Err(self.mismatch(&self.tie));
                };
                Ok(Hv::$variant($k.bundle(&vs, tie)))
            }};
        }
        match &self.kernel {
            Kernel::Map(k) => go!(k, Map),
            Kernel::Bsc(k) => go!(k, Bsc),
            Kernel::Hrr(k) => go!(k, Hrr),
            Kernel::Fhrr(k) => go!(k, Fhrr),
        }
    }

    /// The components as numbers (bits, ±1, reals, phase angles).
    pub fn components(&self, v: &Hv) -> Result<Vec<f64>> {
        self.check(v)?;
        let mut c = v.components();
        c.truncate(self.dim);
        Ok(c)
    }

    pub(crate) fn hrr(&self) -> Option<&Hrr> {
        match &self.kernel {
            Kernel::Hrr(k) => Some(k),
            _ => None,
        }
    }
}

/// A named codebook: symbols, their vectors, and an item memory prepared once for cleanup.
#[derive(Debug, Clone)]
pub struct Codebook {
    name: String,
    symbols: Vec<String>,
    vectors: Vec<Hv>,
    memory: ItemMemory,
}

impl Codebook {
    /// The codebook `name` with these symbols in `space` (vectors from the space's seed).
    pub fn new(space: &Space, name: &str, symbols: &[String]) -> Result<Codebook> {
        let vectors: Vec<Hv> = symbols.iter().map(|s| space.symbol(name, s)).collect();
        Codebook::from_vectors(space, name, symbols.to_vec(), vectors)
    }

    pub fn from_vectors(
        space: &Space,
        name: &str,
        symbols: Vec<String>,
        vectors: Vec<Hv>,
    ) -> Result<Codebook> {
        if symbols.len() != vectors.len() {
            return Err(VsaError::Invalid(format!(
                "codebook `{name}`: {} symbols but {} vectors",
                symbols.len(),
                vectors.len()
            )));
        }
        let memory = ItemMemory::new(space, &vectors)?;
        Ok(Codebook {
            name: name.to_string(),
            symbols,
            vectors,
            memory,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    pub fn vectors(&self) -> &[Hv] {
        &self.vectors
    }

    pub fn memory(&self) -> &ItemMemory {
        &self.memory
    }

    pub fn index_of(&self, symbol: &str) -> Option<usize> {
        self.symbols.iter().position(|s| s == symbol)
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}
