//! Pointer networks (Vinyals, Fortunato and Jaitly, 2015), trained with candle's autograd on
//! the CPU.
//!
//! An LSTM encoder reads the input elements (each embedded by one linear map); an LSTM decoder,
//! started from the encoder's final state, emits at each step a distribution over input
//! positions by additive attention, `u_j = v·tanh(W1 e_j + W2 d)`, and its next input is the
//! embedding of the element it pointed at (the target's during training: teacher forcing).
//! Tasks that end on their own (the convex hull) get an END position (index 0) with a learned
//! key. Positions already chosen are masked where the task forbids repeats. Training is Adam
//! with global-norm gradient clipping; parameters and optimiser state are detached between
//! steps. Every random choice comes from seeded SplitMix64 streams, so a run is reproducible.
//!
//! The encoder can instead be a transformer ([`Encoder::Transformer`]): sinusoidal positions
//! added to the embeddings, [`TF_LAYERS`] pre-norm layers of multi-head self-attention and a
//! ReLU feed-forward block, a final layer norm; the decoder (still an LSTM) starts from the mean
//! of the encoded elements and a zero cell.

use candle_core::{D, DType, Device, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

type R<T> = candle_core::Result<T>;

/// The public API's result: candle's errors become `EngineError::Candle` (candle types stay
/// inside the engine).
pub type PtrResult<T> = Result<T, crate::EngineError>;

fn ee(e: candle_core::Error) -> crate::EngineError {
    crate::EngineError::Candle(e.to_string())
}

fn msg(m: impl Into<String>) -> candle_core::Error {
    candle_core::Error::Msg(m.into())
}

/// SplitMix64, for data and initialisation.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_B00C)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// What the network learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Numbers in [0, 1): point at them in ascending order (each once).
    Sort,
    /// Points in the unit square: the convex hull, counter-clockwise from the hull vertex of
    /// lowest index, then END.
    Hull,
    /// Points in the unit square: the shortest closed tour (exact, Held–Karp, for n ≤ 12),
    /// starting at point 0, counter-clockwise.
    Tsp,
    /// Points in the unit square: the Delaunay triangulation, each triangle as its three
    /// indices in ascending order, the triangles in lexicographic order, then END. Points repeat
    /// (a point belongs to several triangles), so nothing is masked.
    Delaunay,
}

impl Task {
    pub fn parse(s: &str) -> Option<Task> {
        match s {
            "sort" => Some(Task::Sort),
            "hull" => Some(Task::Hull),
            "tsp" => Some(Task::Tsp),
            "delaunay" => Some(Task::Delaunay),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Task::Sort => "sort",
            Task::Hull => "hull",
            Task::Tsp => "tsp",
            Task::Delaunay => "delaunay",
        }
    }
    /// Features per input element.
    pub fn dim(self) -> usize {
        match self {
            Task::Sort => 1,
            Task::Hull | Task::Tsp | Task::Delaunay => 2,
        }
    }
    fn has_end(self) -> bool {
        matches!(self, Task::Hull | Task::Delaunay)
    }
    /// Whether a position may be pointed at only once.
    fn masks(self) -> bool {
        !matches!(self, Task::Delaunay)
    }
    /// The most pointers an answer for `n` elements can have (END not counted).
    fn max_pointers(self, n: usize) -> usize {
        match self {
            // At most 2n − 5 triangles for n ≥ 3.
            Task::Delaunay => 3 * (2 * n).saturating_sub(5).max(1),
            _ => n,
        }
    }
    fn id(self) -> f32 {
        match self {
            Task::Sort => 0.0,
            Task::Hull => 1.0,
            Task::Tsp => 2.0,
            Task::Delaunay => 3.0,
        }
    }
}

/// One example: `n` elements of `dim` features, and the target pointers (positions `0..n`;
/// for tasks with END the target ends with the END pointer `n`).
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub x: Vec<f32>,
    pub n: usize,
    pub target: Vec<usize>,
}

/// A sort example over the values `k / q`, `k` uniform in `0..q`.
pub fn quantized_sort_example(n: usize, q: usize, rng: &mut Rng) -> Example {
    let x: Vec<f32> = (0..n).map(|_| rng.below(q) as f32 / q as f32).collect();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    Example { x, n, target: idx }
}

/// Seeded example generators.
pub fn example(task: Task, n: usize, rng: &mut Rng) -> Example {
    match task {
        Task::Sort => {
            let x: Vec<f32> = (0..n).map(|_| rng.unit()).collect();
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
            Example { x, n, target: idx }
        }
        Task::Hull => {
            let x: Vec<f32> = (0..2 * n).map(|_| rng.unit()).collect();
            let mut target = convex_hull(&x, n);
            target.push(n);
            Example { x, n, target }
        }
        Task::Tsp => {
            let x: Vec<f32> = (0..2 * n).map(|_| rng.unit()).collect();
            let target = held_karp(&x, n);
            Example { x, n, target }
        }
        Task::Delaunay => {
            let x: Vec<f32> = (0..2 * n).map(|_| rng.unit()).collect();
            let mut target: Vec<usize> = delaunay(&x, n).into_iter().flatten().collect();
            target.push(n);
            Example { x, n, target }
        }
    }
}

/// The Delaunay triangulation of `n` points (`x` holds x0 y0 x1 y1 …): every triangle whose
/// circumcircle holds no other point, as ascending index triples in lexicographic order.
/// Exhaustive over the triples (O(n⁴) in the worst case, fast for the sizes trained here);
/// collinear triples are skipped, and random points are in general position almost surely.
pub fn delaunay(x: &[f32], n: usize) -> Vec<[usize; 3]> {
    let p = |i: usize| (x[2 * i] as f64, x[2 * i + 1] as f64);
    let mut out = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let (a, b, c) = (p(i), p(j), p(k));
                let orient = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
                if orient.abs() < 1e-12 {
                    continue;
                }
                let empty = (0..n).filter(|&l| l != i && l != j && l != k).all(|l| {
                    let d = p(l);
                    let (ax, ay) = (a.0 - d.0, a.1 - d.1);
                    let (bx, by) = (b.0 - d.0, b.1 - d.1);
                    let (cx, cy) = (c.0 - d.0, c.1 - d.1);
                    let det = (ax * ax + ay * ay) * (bx * cy - cx * by)
                        - (bx * bx + by * by) * (ax * cy - cx * ay)
                        + (cx * cx + cy * cy) * (ax * by - bx * ay);
                    // Positive for a point inside the circle of a counter-clockwise triangle.
                    det * orient.signum() <= 0.0
                });
                if empty {
                    out.push([i, j, k]);
                }
            }
        }
    }
    out
}

/// Triangle coverage: the fraction of the true triangles found among the predicted ones (the
/// pointers read three at a time, each triple as a set; a trailing partial triple is ignored).
pub fn triangle_coverage(truth: &[usize], predicted: &[usize]) -> f64 {
    let tri = |ps: &[usize]| -> std::collections::BTreeSet<[usize; 3]> {
        ps.chunks_exact(3)
            .map(|c| {
                let mut t = [c[0], c[1], c[2]];
                t.sort_unstable();
                t
            })
            .collect()
    };
    let want = tri(truth);
    if want.is_empty() {
        return 1.0;
    }
    let got = tri(predicted);
    want.intersection(&got).count() as f64 / want.len() as f64
}

/// The largest TSP instance labelled exactly.
pub const MAX_TSP_N: usize = 12;

/// The most points of a Delaunay example (labels are found exhaustively).
pub const MAX_DELAUNAY_N: usize = 50;

/// Whether the task can label `n` elements.
fn check_size(task: Task, n: usize) -> R<()> {
    match task {
        Task::Tsp if n > MAX_TSP_N => Err(msg(format!(
            "TSP labels are exact (Held–Karp) only up to n = {MAX_TSP_N}"
        ))),
        Task::Delaunay if n > MAX_DELAUNAY_N => Err(msg(format!(
            "Delaunay labels are found exhaustively, up to n = {MAX_DELAUNAY_N}"
        ))),
        _ => Ok(()),
    }
}

fn dist(x: &[f32], a: usize, b: usize) -> f64 {
    let (dx, dy) = (
        x[2 * a] as f64 - x[2 * b] as f64,
        x[2 * a + 1] as f64 - x[2 * b + 1] as f64,
    );
    (dx * dx + dy * dy).sqrt()
}

/// The length of the closed tour through `order`.
pub fn tour_length(x: &[f32], order: &[usize]) -> f64 {
    (0..order.len())
        .map(|k| dist(x, order[k], order[(k + 1) % order.len()]))
        .sum()
}

/// The optimal closed tour (Held–Karp dynamic programming; `n` at most [`MAX_TSP_N`]), from
/// point 0, counter-clockwise.
pub fn held_karp(x: &[f32], n: usize) -> Vec<usize> {
    if n <= 3 {
        return (0..n).collect();
    }
    let n = n.min(MAX_TSP_N);
    let full = 1usize << (n - 1);
    // cost[mask][j]: shortest path from 0 through the set `mask` (of points 1..n, bit j-1),
    // ending at j (in mask).
    let mut cost = vec![f64::INFINITY; full * n];
    let mut prev = vec![usize::MAX; full * n];
    for j in 1..n {
        cost[(1 << (j - 1)) * n + j] = dist(x, 0, j);
    }
    for mask in 1..full {
        for j in 1..n {
            if mask >> (j - 1) & 1 == 0 {
                continue;
            }
            let c = cost[mask * n + j];
            if !c.is_finite() {
                continue;
            }
            for k in 1..n {
                if mask >> (k - 1) & 1 == 1 {
                    continue;
                }
                let m2 = mask | 1 << (k - 1);
                let nc = c + dist(x, j, k);
                if nc < cost[m2 * n + k] {
                    cost[m2 * n + k] = nc;
                    prev[m2 * n + k] = j;
                }
            }
        }
    }
    let last_mask = full - 1;
    let mut best = (f64::INFINITY, 1);
    for j in 1..n {
        let c = cost[last_mask * n + j] + dist(x, j, 0);
        if c < best.0 {
            best = (c, j);
        }
    }
    let mut tour = Vec::with_capacity(n);
    let (mut mask, mut j) = (last_mask, best.1);
    while j != usize::MAX && j != 0 {
        tour.push(j);
        let p = prev[mask * n + j];
        mask &= !(1 << (j - 1));
        j = p;
    }
    tour.push(0);
    tour.reverse();
    // Counter-clockwise (positive signed area): a geometric orientation the network can see,
    // unlike one decided by comparing indices.
    let signed: f64 = (0..tour.len())
        .map(|k| {
            let (a, b) = (tour[k], tour[(k + 1) % tour.len()]);
            x[2 * a] as f64 * x[2 * b + 1] as f64 - x[2 * b] as f64 * x[2 * a + 1] as f64
        })
        .sum();
    if signed < 0.0 {
        tour[1..].reverse();
    }
    tour
}

/// The convex hull of `n` points (`x[2i], x[2i+1]`), counter-clockwise, starting from the hull
/// vertex of lowest index; collinear boundary points are left out (Andrew's monotone chain).
pub fn convex_hull(x: &[f32], n: usize) -> Vec<usize> {
    let p = |i: usize| (x[2 * i] as f64, x[2 * i + 1] as f64);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| {
        let (pa, pb) = (p(a), p(b));
        pa.0.total_cmp(&pb.0)
            .then(pa.1.total_cmp(&pb.1))
            .then(a.cmp(&b))
    });
    if n < 3 {
        return idx;
    }
    let cross = |o: usize, a: usize, b: usize| {
        let (po, pa, pb) = (p(o), p(a), p(b));
        (pa.0 - po.0) * (pb.1 - po.1) - (pa.1 - po.1) * (pb.0 - po.0)
    };
    let mut hull: Vec<usize> = Vec::with_capacity(2 * n);
    for &i in &idx {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], i) <= 0.0 {
            hull.pop();
        }
        hull.push(i);
    }
    let lower = hull.len() + 1;
    for &i in idx.iter().rev().skip(1) {
        while hull.len() >= lower && cross(hull[hull.len() - 2], hull[hull.len() - 1], i) <= 0.0 {
            hull.pop();
        }
        hull.push(i);
    }
    hull.pop();
    // Counter-clockwise already; rotate to start at the lowest index.
    if let Some(start) = (0..hull.len()).min_by_key(|&k| hull[k]) {
        hull.rotate_left(start);
    }
    hull
}

/// The area of the polygon through `order` (shoelace), 0 for fewer than 3 points.
pub fn polygon_area(x: &[f32], order: &[usize]) -> f64 {
    if order.len() < 3 {
        return 0.0;
    }
    let mut s = 0.0;
    for k in 0..order.len() {
        let (a, b) = (order[k], order[(k + 1) % order.len()]);
        s += x[2 * a] as f64 * x[2 * b + 1] as f64 - x[2 * b] as f64 * x[2 * a + 1] as f64;
    }
    (s / 2.0).abs()
}

/// What reads the input elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoder {
    /// An LSTM, as in the paper.
    Lstm,
    /// A pre-norm transformer encoder.
    Transformer,
}

impl Encoder {
    pub fn parse(s: &str) -> Option<Encoder> {
        match s {
            "lstm" => Some(Encoder::Lstm),
            "transformer" => Some(Encoder::Transformer),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Encoder::Lstm => "lstm",
            Encoder::Transformer => "transformer",
        }
    }
}

/// Layers of the transformer encoder.
pub const TF_LAYERS: usize = 2;

/// Attention heads of the transformer encoder (one when the width is not a multiple).
fn tf_heads(hidden: usize) -> usize {
    if hidden.is_multiple_of(4) { 4 } else { 1 }
}

/// Hyperparameters.
#[derive(Clone, Debug)]
pub struct Config {
    pub task: Task,
    pub encoder: Encoder,
    pub n_min: usize,
    pub n_max: usize,
    pub hidden: usize,
    pub batch: usize,
    pub lr: f64,
    pub clip: f64,
    pub seed: u64,
    /// Sort only: draw values `k / q` with `k` uniform in `0..q` (repeats allowed) instead of
    /// uniform reals, so that a program over tokens `0..q` can label them.
    pub quantize: Option<usize>,
}

impl Config {
    pub fn new(task: Task, n: usize) -> Config {
        Config {
            task,
            encoder: Encoder::Lstm,
            n_min: n,
            n_max: n,
            hidden: 128,
            batch: 128,
            lr: 1e-3,
            clip: 2.0,
            seed: 1,
            quantize: None,
        }
    }
}

/// A pointer network: its parameters (and the END key for tasks that end themselves).
pub struct PtrNet {
    pub task: Task,
    pub hidden: usize,
    pub encoder: Encoder,
    params: Vec<(String, Var)>,
    dev: Device,
}

struct Adam {
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: i32,
}

impl PtrNet {
    /// Fresh parameters, uniform in [-0.08, 0.08] as in the paper.
    pub fn new(task: Task, hidden: usize, seed: u64) -> PtrResult<PtrNet> {
        Self::create(task, hidden, Encoder::Lstm, seed).map_err(ee)
    }

    /// Fresh parameters with the given encoder.
    pub fn with_encoder(
        task: Task,
        hidden: usize,
        encoder: Encoder,
        seed: u64,
    ) -> PtrResult<PtrNet> {
        Self::create(task, hidden, encoder, seed).map_err(ee)
    }

    fn create(task: Task, hidden: usize, encoder: Encoder, seed: u64) -> R<PtrNet> {
        let dev = Device::Cpu;
        let h = hidden;
        let d = task.dim();
        let mut shapes: Vec<(String, Vec<usize>)> =
            vec![("embed.w".into(), vec![d, h]), ("embed.b".into(), vec![h])];
        match encoder {
            Encoder::Lstm => {
                shapes.push(("enc.wx".into(), vec![h, 4 * h]));
                shapes.push(("enc.wh".into(), vec![h, 4 * h]));
                shapes.push(("enc.b".into(), vec![4 * h]));
            }
            Encoder::Transformer => {
                for l in 0..TF_LAYERS {
                    for (name, shape) in [
                        ("ln1.g", vec![h]),
                        ("ln1.b", vec![h]),
                        ("wq", vec![h, h]),
                        ("wk", vec![h, h]),
                        ("wv", vec![h, h]),
                        ("wo", vec![h, h]),
                        ("ln2.g", vec![h]),
                        ("ln2.b", vec![h]),
                        ("ff1.w", vec![h, 2 * h]),
                        ("ff1.b", vec![2 * h]),
                        ("ff2.w", vec![2 * h, h]),
                        ("ff2.b", vec![h]),
                    ] {
                        shapes.push((format!("tf{l}.{name}"), shape));
                    }
                }
                shapes.push(("tf.lnf.g".into(), vec![h]));
                shapes.push(("tf.lnf.b".into(), vec![h]));
            }
        }
        let rest: Vec<(&str, Vec<usize>)> = vec![
            ("dec.wx", vec![h, 4 * h]),
            ("dec.wh", vec![h, 4 * h]),
            ("dec.b", vec![4 * h]),
            ("att.w1", vec![h, h]),
            ("att.w2", vec![h, h]),
            ("att.v", vec![h, 1]),
            ("start", vec![1, h]),
        ];
        shapes.extend(rest.into_iter().map(|(n, s)| (n.to_string(), s)));
        if task.has_end() {
            shapes.push(("end".into(), vec![1, h]));
        }
        let mut rng = Rng::new(seed);
        let mut params = Vec::new();
        for (name, shape) in shapes {
            let len: usize = shape.iter().product();
            // Layer norms start as the identity; everything else uniform in ±0.08.
            let vals: Vec<f32> = if name.ends_with(".g") {
                vec![1.0; len]
            } else if name.starts_with("tf") && name.ends_with(".b") {
                vec![0.0; len]
            } else {
                (0..len).map(|_| (rng.unit() * 2.0 - 1.0) * 0.08).collect()
            };
            let t = Tensor::from_vec(vals, shape, &dev)?;
            params.push((name, Var::from_tensor(&t)?));
        }
        Ok(PtrNet {
            task,
            hidden,
            encoder,
            params,
            dev,
        })
    }

    fn layer_norm(&self, x: &Tensor, name: &str) -> R<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        xc.broadcast_div(&var.affine(1.0, 1e-5)?.sqrt()?)?
            .broadcast_mul(self.p(&format!("{name}.g"))?)?
            .broadcast_add(self.p(&format!("{name}.b"))?)
    }

    /// The transformer encoder over embeddings `(B, n, H)`.
    fn transformer(&self, emb: &Tensor) -> R<Tensor> {
        let (b, n, h) = emb.dims3()?;
        let heads = tf_heads(h);
        let dh = h / heads;
        // Sinusoidal positions: the targets name positions (the hull starts at the lowest
        // index, Delaunay triangles are ordered by index).
        let mut pe = vec![0f32; n * h];
        for pos in 0..n {
            for i in 0..h {
                let rate = 10000f32.powf((2 * (i / 2)) as f32 / h as f32);
                let a = pos as f32 / rate;
                pe[pos * h + i] = if i % 2 == 0 { a.sin() } else { a.cos() };
            }
        }
        let pe = Tensor::from_vec(pe, (1, n, h), &self.dev)?;
        let mut x = emb.broadcast_add(&pe)?;
        let proj = |t: &Tensor, w: &str| -> R<Tensor> {
            t.reshape((b * n, h))?
                .matmul(self.p(w)?)?
                .reshape((b, n, heads, dh))?
                .transpose(1, 2)?
                .contiguous()
        };
        for l in 0..TF_LAYERS {
            let y = self.layer_norm(&x, &format!("tf{l}.ln1"))?;
            let q = proj(&y, &format!("tf{l}.wq"))?;
            let k = proj(&y, &format!("tf{l}.wk"))?;
            let v = proj(&y, &format!("tf{l}.wv"))?;
            let scores = q
                .matmul(&k.transpose(2, 3)?.contiguous()?)?
                .affine(1.0 / (dh as f64).sqrt(), 0.0)?;
            let mx = scores.max_keepdim(D::Minus1)?.detach();
            let e = scores.broadcast_sub(&mx)?.exp()?;
            let attn = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
            let ctx = attn
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * n, h))?
                .matmul(self.p(&format!("tf{l}.wo"))?)?
                .reshape((b, n, h))?;
            x = (x + ctx)?;
            let y = self.layer_norm(&x, &format!("tf{l}.ln2"))?;
            let ff = y
                .reshape((b * n, h))?
                .matmul(self.p(&format!("tf{l}.ff1.w"))?)?
                .broadcast_add(self.p(&format!("tf{l}.ff1.b"))?)?
                .relu()?
                .matmul(self.p(&format!("tf{l}.ff2.w"))?)?
                .broadcast_add(self.p(&format!("tf{l}.ff2.b"))?)?
                .reshape((b, n, h))?;
            x = (x + ff)?;
        }
        self.layer_norm(&x, "tf.lnf")
    }

    fn p(&self, name: &str) -> R<&Tensor> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_tensor())
            .ok_or_else(|| msg(format!("missing parameter `{name}`")))
    }

    fn lstm(&self, x: &Tensor, h: &Tensor, c: &Tensor, which: &str) -> R<(Tensor, Tensor)> {
        let gates = x
            .matmul(self.p(&format!("{which}.wx"))?)
            .and_then(|a| a.add(&h.matmul(self.p(&format!("{which}.wh"))?)?))
            .and_then(|a| a.broadcast_add(self.p(&format!("{which}.b"))?))?;
        let g = gates.chunk(4, 1)?;
        // σ(z) = (tanh(z/2) + 1) / 2
        let sig = |z: &Tensor| {
            z.affine(0.5, 0.0)
                .and_then(|t| t.tanh())
                .and_then(|t| t.affine(0.5, 0.5))
        };
        let (i, f, gg, o) = (sig(&g[0])?, sig(&g[1])?, g[2].tanh()?, sig(&g[3])?);
        let c2 = f.mul(c).and_then(|a| a.add(&i.mul(&gg)?))?;
        let h2 = o.mul(&c2.tanh()?)?;
        Ok((h2, c2))
    }

    /// Encodes a batch (all of `n` elements): embeddings `(B, n, H)`, attention keys
    /// `(B, m, H)` (with END first when the task has it) and the final state.
    fn encode(&self, xs: &[&Example]) -> R<(Tensor, Tensor, Tensor, Tensor, Tensor)> {
        let b = xs.len();
        let n = xs.first().map_or(0, |e| e.n);
        let d = self.task.dim();
        let h = self.hidden;
        let flat: Vec<f32> = xs.iter().flat_map(|e| e.x.iter().copied()).collect();
        let x = Tensor::from_vec(flat, (b * n, d), &self.dev)?;
        let emb = x
            .matmul(self.p("embed.w")?)
            .and_then(|t| t.broadcast_add(self.p("embed.b")?))
            .and_then(|t| t.reshape((b, n, h)))?;
        let mut hs = Tensor::zeros((b, h), DType::F32, &self.dev)?;
        let mut cs = hs.clone();
        let mut enc = match self.encoder {
            Encoder::Lstm => {
                let mut outs = Vec::with_capacity(n);
                for t in 0..n {
                    let xt = emb.narrow(1, t, 1).and_then(|a| a.squeeze(1))?;
                    let (h2, c2) = self.lstm(&xt, &hs, &cs, "enc")?;
                    outs.push(h2.clone());
                    hs = h2;
                    cs = c2;
                }
                Tensor::stack(&outs, 1)?
            }
            Encoder::Transformer => {
                let enc = self.transformer(&emb)?;
                hs = enc.mean(1)?;
                enc
            }
        };
        if self.task.has_end() {
            let end = self
                .p("end")?
                .unsqueeze(0)
                .and_then(|e| e.broadcast_as((b, 1, h)))?;
            enc = Tensor::cat(&[&end, &enc], 1)?;
        }
        let m = enc.dim(1)?;
        let keys = enc
            .reshape((b * m, h))
            .and_then(|e| e.matmul(self.p("att.w1")?))
            .and_then(|e| e.reshape((b, m, h)))?;
        Ok((emb, keys, hs, cs, enc))
    }

    /// Pointer logits `(B, m)` for the decoder state `h`.
    fn attend(&self, keys: &Tensor, h: &Tensor) -> R<Tensor> {
        let (b, m, hid) = keys.dims3()?;
        let q = h.matmul(self.p("att.w2")?).and_then(|q| q.unsqueeze(1))?;
        keys.broadcast_add(&q)
            .and_then(|t| t.tanh())
            .and_then(|t| t.reshape((b * m, hid)))
            .and_then(|t| t.matmul(self.p("att.v")?))
            .and_then(|t| t.reshape((b, m)))
    }

    /// The next decoder input: the embedding of the pointed element (a one-hot row product).
    fn next_input(&self, emb: &Tensor, ptr: &[usize]) -> R<Tensor> {
        let (b, n, h) = emb.dims3()?;
        let off = self.offset();
        let mut hot = vec![0f32; b * n];
        for (i, &p) in ptr.iter().enumerate() {
            if p >= off && p - off < n {
                hot[i * n + p - off] = 1.0;
            }
        }
        let hot = Tensor::from_vec(hot, (b, 1, n), &self.dev)?;
        hot.matmul(emb).and_then(|t| t.reshape((b, h)))
    }

    /// Pointer index of element 0 (1 when END takes index 0).
    fn offset(&self) -> usize {
        self.task.has_end() as usize
    }

    /// The teacher-forced loss of a batch (mean cross-entropy per pointer).
    fn loss(&self, xs: &[&Example]) -> R<Tensor> {
        let b = xs.len();
        let (emb, keys, mut h, mut c, _) = self.encode(xs)?;
        let m = keys.dim(1)?;
        let off = self.offset();
        let steps = xs.iter().map(|e| e.target.len()).max().unwrap_or(0);
        let mut input = self
            .p("start")?
            .broadcast_as((b, self.hidden))?
            .contiguous()?;
        let mut chosen = vec![vec![false; m]; b];
        let mut total: Option<Tensor> = None;
        let mut count = 0usize;
        for s in 0..steps {
            let (h2, c2) = self.lstm(&input, &h, &c, "dec")?;
            h = h2;
            c = c2;
            let logits = self.attend(&keys, &h)?;
            // Mask chosen positions; a finished example masks nothing and weighs nothing.
            let mut mask = vec![0f32; b * m];
            let mut hot = vec![0f32; b * m];
            let mut targets = vec![0usize; b];
            for (i, e) in xs.iter().enumerate() {
                match e.target.get(s) {
                    Some(&t) => {
                        let t = if t >= e.n { 0 } else { t + off };
                        for j in 0..m {
                            if chosen[i][j] && self.task.masks() {
                                mask[i * m + j] = -1e9;
                            }
                        }
                        hot[i * m + t] = 1.0;
                        targets[i] = t;
                        count += 1;
                    }
                    None => targets[i] = usize::MAX,
                }
            }
            let mask = Tensor::from_vec(mask, (b, m), &self.dev)?;
            let hot = Tensor::from_vec(hot, (b, m), &self.dev)?;
            let z = logits.add(&mask)?;
            let mx = z.max_keepdim(1)?.detach();
            let shifted = z.broadcast_sub(&mx)?;
            let lse = shifted
                .exp()
                .and_then(|t| t.sum_keepdim(1))
                .and_then(|t| t.log())?;
            let logp = shifted.broadcast_sub(&lse)?;
            let nll = logp
                .mul(&hot)
                .and_then(|t| t.sum_all())
                .and_then(|t| t.neg())?;
            total = Some(match total {
                None => nll,
                Some(t) => t.add(&nll)?,
            });
            for (i, &t) in targets.iter().enumerate() {
                if t != usize::MAX && !(self.task.has_end() && t == 0) {
                    chosen[i][t] = true;
                }
            }
            let next: Vec<usize> = targets
                .iter()
                .map(|&t| if t == usize::MAX { 0 } else { t })
                .collect();
            input = self.next_input(&emb, &next)?;
        }
        let total = total.ok_or_else(|| msg("an empty batch"))?;
        total.affine(1.0 / count.max(1) as f64, 0.0)
    }

    /// Greedy decoding with masking: the pointers of each example (END not included).
    pub fn predict(&self, xs: &[&Example]) -> PtrResult<Vec<Vec<usize>>> {
        self.decode(xs).map_err(ee)
    }

    fn decode(&self, xs: &[&Example]) -> R<Vec<Vec<usize>>> {
        let b = xs.len();
        let (emb, keys, mut h, mut c, _) = self.encode(xs)?;
        let m = keys.dim(1)?;
        let off = self.offset();
        let n = xs.first().map_or(0, |e| e.n);
        let mut input = self
            .p("start")?
            .broadcast_as((b, self.hidden))?
            .contiguous()?;
        let mut chosen = vec![vec![false; m]; b];
        let mut done = vec![false; b];
        let mut out = vec![Vec::new(); b];
        let max_pointers = self.task.max_pointers(n);
        let max_steps = if self.task.has_end() {
            max_pointers + 1
        } else {
            max_pointers
        };
        for _ in 0..max_steps {
            let (h2, c2) = self.lstm(&input, &h, &c, "dec")?;
            h = h2;
            c = c2;
            let logits = self.attend(&keys, &h)?.to_vec2::<f32>()?;
            let mut next = vec![0usize; b];
            for i in 0..b {
                let best = (0..m)
                    .filter(|&j| !chosen[i][j] || !self.task.masks())
                    .max_by(|&a, &b2| logits[i][a].total_cmp(&logits[i][b2]).then(b2.cmp(&a)))
                    .unwrap_or(0);
                next[i] = best;
                if done[i] {
                    continue;
                }
                if self.task.has_end() && (best == 0 || out[i].len() == max_pointers) {
                    done[i] = true;
                } else {
                    chosen[i][best] = true;
                    out[i].push(best - off);
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            input = self.next_input(&emb, &next)?;
        }
        Ok(out)
    }

    /// Beam search for one example: the `width` most probable complete pointer sequences, most
    /// probable first, under the decoder's own constraints (chosen positions masked where the
    /// task masks, END always allowed and forced once an answer is as long as it can be; TSP:
    /// every position once). Each step's probabilities are the softmax over the allowed
    /// pointers; finished sequences compete with growing ones for the `width` places.
    fn beam(&self, e: &Example, width: usize) -> R<Vec<Vec<usize>>> {
        let (emb, keys, h0, c0, _) = self.encode(&[e])?;
        let n = e.n;
        let hid = self.hidden;
        let off = self.offset();
        let has_end = self.task.has_end();
        let max_pointers = self.task.max_pointers(n);
        let m = keys.dim(1)?;
        let width = width.max(1);
        // Growing beams: (log-prob, pointers), their states rows of (h, c).
        let mut beams: Vec<(f64, Vec<usize>)> = vec![(0.0, Vec::new())];
        let mut finished: Vec<(f64, Vec<usize>)> = Vec::new();
        let mut h = h0;
        let mut c = c0;
        let mut input = self.p("start")?.contiguous()?;
        for _ in 0..max_pointers + usize::from(has_end) {
            let k = beams.len();
            let keys_k = keys.broadcast_as((k, m, hid))?.contiguous()?;
            let (h2, c2) = self.lstm(&input, &h, &c, "dec")?;
            let logits = self.attend(&keys_k, &h2)?.to_vec2::<f32>()?;
            // (log-prob, parent beam, pointer column); column 0 is END when the task has one.
            let mut cands: Vec<(f64, usize, usize)> = Vec::new();
            for (b, (lp, ptrs)) in beams.iter().enumerate() {
                let row = &logits[b];
                if has_end && ptrs.len() == max_pointers {
                    cands.push((*lp, b, 0));
                    continue;
                }
                let allowed: Vec<usize> = (0..m)
                    .filter(|&j| {
                        if j < off {
                            return true;
                        }
                        !(self.task.masks() && ptrs.contains(&(j - off)))
                    })
                    .collect();
                let mx = allowed
                    .iter()
                    .map(|&j| f64::from(row[j]))
                    .fold(f64::NEG_INFINITY, f64::max);
                let lse = mx
                    + allowed
                        .iter()
                        .map(|&j| (f64::from(row[j]) - mx).exp())
                        .sum::<f64>()
                        .ln();
                for &j in &allowed {
                    cands.push((lp + f64::from(row[j]) - lse, b, j));
                }
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            // The best `width` of the finished sequences and the candidates together.
            let mut grow: Vec<(f64, usize, usize)> = Vec::new();
            let mut ended: Vec<(f64, Vec<usize>)> = Vec::new();
            let (mut fi, mut ci) = (0, 0);
            while grow.len() + ended.len() < width && (fi < finished.len() || ci < cands.len()) {
                let take_finished = match (finished.get(fi), cands.get(ci)) {
                    (Some(f), Some(c)) => f.0 >= c.0,
                    (Some(_), None) => true,
                    _ => false,
                };
                if take_finished {
                    ended.push(finished[fi].clone());
                    fi += 1;
                } else {
                    let (lp, b, j) = cands[ci];
                    ci += 1;
                    if has_end && j == 0 {
                        ended.push((lp, beams[b].1.clone()));
                    } else {
                        grow.push((lp, b, j));
                    }
                }
            }
            ended.sort_by(|a, b| b.0.total_cmp(&a.0));
            finished = ended;
            if grow.is_empty() {
                beams.clear();
                break;
            }
            let parents: Vec<u32> = grow.iter().map(|c| c.1 as u32).collect();
            let idx = Tensor::from_vec(parents, grow.len(), &self.dev)?;
            h = h2.index_select(&idx, 0)?;
            c = c2.index_select(&idx, 0)?;
            beams = grow
                .iter()
                .map(|&(lp, b, j)| {
                    let mut p = beams[b].1.clone();
                    p.push(j - off);
                    (lp, p)
                })
                .collect();
            let ptrs: Vec<usize> = grow.iter().map(|c| c.2).collect();
            let emb_k = emb.broadcast_as((ptrs.len(), n, hid))?.contiguous()?;
            input = self.next_input(&emb_k, &ptrs)?;
        }
        // Without END, the sequences still growing after the last step are complete.
        finished.extend(beams);
        finished.sort_by(|a, b| b.0.total_cmp(&a.0));
        finished.truncate(width);
        Ok(finished.into_iter().map(|(_, p)| p).collect())
    }

    fn vars(&self) -> Vec<&Var> {
        self.params.iter().map(|(_, v)| v).collect()
    }

    fn adam(&self) -> R<Adam> {
        let zeros = |v: &Var| v.as_tensor().zeros_like();
        Ok(Adam {
            m: self.vars().into_iter().map(zeros).collect::<R<_>>()?,
            v: self.vars().into_iter().map(zeros).collect::<R<_>>()?,
            t: 0,
        })
    }

    /// One Adam step on a batch; returns the loss.
    fn step(&self, opt: &mut Adam, xs: &[&Example], lr: f64, clip: f64) -> R<f32> {
        let loss = self.loss(xs)?;
        let grads = loss.backward()?;
        let value = loss.to_scalar::<f32>()?;
        let mut gs = Vec::new();
        let mut norm2 = 0f64;
        for v in self.vars() {
            let g = match grads.get(v.as_tensor()) {
                Some(g) => g.detach(),
                None => v.as_tensor().zeros_like()?,
            };
            norm2 += g
                .sqr()
                .and_then(|t| t.sum_all())
                .and_then(|t| t.to_scalar::<f32>())? as f64;
            gs.push(g);
        }
        let scale = if norm2.sqrt() > clip {
            clip / norm2.sqrt()
        } else {
            1.0
        };
        opt.t += 1;
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let c1 = 1.0 - b1.powi(opt.t);
        let c2 = 1.0 - b2.powi(opt.t);
        for (k, v) in self.vars().into_iter().enumerate() {
            let g = gs[k].affine(scale, 0.0)?;
            let m = opt.m[k]
                .affine(b1, 0.0)
                .and_then(|a| a.add(&g.affine(1.0 - b1, 0.0)?))?
                .detach();
            let vv = opt.v[k]
                .affine(b2, 0.0)
                .and_then(|a| a.add(&g.sqr()?.affine(1.0 - b2, 0.0)?))?
                .detach();
            let upd = m
                .affine(1.0 / c1, 0.0)
                .and_then(|mh| mh.div(&vv.affine(1.0 / c2, 0.0)?.sqrt()?.affine(1.0, eps)?))
                .and_then(|u| u.affine(lr, 0.0))?;
            let new = v.as_tensor().sub(&upd)?.detach();
            v.set(&new)?;
            opt.m[k] = m;
            opt.v[k] = vv;
        }
        Ok(value)
    }

    /// Saves the parameters (and the task and width) as safetensors, atomically.
    pub fn save(&self, path: &Path) -> PtrResult<()> {
        self.write(path).map_err(ee)
    }

    fn write(&self, path: &Path) -> R<()> {
        let mut map: HashMap<String, Tensor> = self
            .params
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        let enc = match self.encoder {
            Encoder::Lstm => 0.0,
            Encoder::Transformer => 1.0,
        };
        let meta = Tensor::from_vec(vec![self.task.id(), self.hidden as f32, enc], 3, &self.dev)?;
        map.insert("meta".into(), meta);
        let tmp = path.with_extension("safetensors.tmp");
        candle_core::safetensors::save(&map, &tmp)
            .map_err(|e| msg(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            msg(format!("cannot write {}: {e}", path.display()))
        })
    }

    /// Loads saved parameters, checking every tensor's presence, shape and finiteness.
    pub fn load(path: &Path) -> PtrResult<PtrNet> {
        Self::read(path).map_err(ee)
    }

    fn read(path: &Path) -> R<PtrNet> {
        let map = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| msg(format!("cannot load {}: {e}", path.display())))?;
        let meta = map
            .get("meta")
            .ok_or_else(|| msg("not a pointer network: no `meta` tensor"))?
            .to_vec1::<f32>()
            .map_err(|e| msg(format!("bad `meta`: {e}")))?;
        // Weights saved before the transformer encoder existed have no third entry.
        let encoder = match meta.get(2) {
            None => Encoder::Lstm,
            Some(e) if *e == 0.0 => Encoder::Lstm,
            Some(e) if *e == 1.0 => Encoder::Transformer,
            Some(e) => return Err(msg(format!("unknown encoder id {e}"))),
        };
        let (task, hidden) = match meta.get(..2).unwrap_or(&[]) {
            [t, h] if meta.len() <= 3 && *h >= 1.0 && *h <= 4096.0 && h.fract() == 0.0 => {
                let task = if *t == 0.0 {
                    Task::Sort
                } else if *t == 1.0 {
                    Task::Hull
                } else if *t == 2.0 {
                    Task::Tsp
                } else if *t == 3.0 {
                    Task::Delaunay
                } else {
                    return Err(msg(format!("unknown task id {t}")));
                };
                (task, *h as usize)
            }
            _ => return Err(msg("bad `meta` tensor")),
        };
        let net = PtrNet::create(task, hidden, encoder, 0)?;
        for (name, var) in &net.params {
            let t = map
                .get(name)
                .ok_or_else(|| msg(format!("missing tensor `{name}`")))?;
            if t.dims() != var.as_tensor().dims() {
                return Err(msg(format!(
                    "tensor `{name}` has shape {:?}, expected {:?}",
                    t.dims(),
                    var.as_tensor().dims()
                )));
            }
            let vals = t
                .flatten_all()
                .and_then(|f| f.to_vec1::<f32>())
                .map_err(|e| msg(format!("tensor `{name}`: {e}")))?;
            if vals.iter().any(|x| !x.is_finite()) {
                return Err(msg(format!("tensor `{name}` holds a NaN or an infinity")));
            }
            var.set(t)?;
        }
        Ok(net)
    }
}

/// Metrics of an evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub examples: usize,
    /// Sequences predicted exactly.
    pub accuracy: f64,
    /// Hull: the mean of (predicted polygon area / true hull area), 0 for invalid outputs.
    pub coverage: Option<f64>,
    /// Delaunay: the mean triangle coverage (the fraction of true triangles predicted).
    pub triangles: Option<f64>,
    /// TSP: the mean tour length of the predictions (greedy, and the shortest tour among the
    /// beams when beam search is on) and of the optimal tours.
    pub tour: Option<TourLengths>,
    /// Sort, hull and Delaunay with beam search: (width, sequence accuracy of the most probable
    /// beam, its hull area coverage).
    pub beam: Option<(usize, f64, Option<f64>)>,
}

/// Mean tour lengths of a TSP evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TourLengths {
    pub greedy: f64,
    /// Beam search: (width, mean length of the most probable beam, mean length of the shortest
    /// beam).
    pub beam: Option<(usize, f64, f64)>,
    pub optimal: f64,
}

/// Evaluates on `count` fresh seeded examples of length `n`.
pub fn evaluate(net: &PtrNet, n: usize, count: usize, seed: u64) -> PtrResult<Metrics> {
    evaluate_with(net, n, count, seed, None)
}

/// [`evaluate`] with TSP beam search of `beam` tours (1: greedy only).
pub fn evaluate_beam(
    net: &PtrNet,
    n: usize,
    count: usize,
    seed: u64,
    beam: usize,
) -> PtrResult<Metrics> {
    eval_inner(net, n, count, seed, None, beam).map_err(ee)
}

/// [`evaluate`], on quantized sort examples (values `k / q`) when `quantize` is set.
pub fn evaluate_with(
    net: &PtrNet,
    n: usize,
    count: usize,
    seed: u64,
    quantize: Option<usize>,
) -> PtrResult<Metrics> {
    eval_inner(net, n, count, seed, quantize, 1).map_err(ee)
}

fn eval_inner(
    net: &PtrNet,
    n: usize,
    count: usize,
    seed: u64,
    quantize: Option<usize>,
    beam: usize,
) -> R<Metrics> {
    check_size(net.task, n)?;
    let mut rng = Rng::new(seed);
    let exs: Vec<Example> = (0..count)
        .map(|_| match (net.task, quantize) {
            (Task::Sort, Some(q)) => quantized_sort_example(n, q, &mut rng),
            _ => example(net.task, n, &mut rng),
        })
        .collect();
    let mut right = 0usize;
    let mut cov = 0f64;
    let mut tri = 0f64;
    let (mut beam_right, mut beam_cov) = (0usize, 0f64);
    let hull_coverage = |e: &Example, want: &[usize], p: &[usize]| {
        let truth = polygon_area(&e.x, want);
        let valid = p.len() >= 3 && !self_intersects(&e.x, p);
        if valid && truth > 0.0 {
            (polygon_area(&e.x, p) / truth).min(1.0)
        } else {
            0.0
        }
    };
    for chunk in exs.chunks(256) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let preds = net.decode(&refs)?;
        for (e, p) in chunk.iter().zip(&preds) {
            let want: Vec<usize> = e.target.iter().copied().filter(|&t| t < e.n).collect();
            right += (*p == want) as usize;
            if net.task == Task::Delaunay {
                tri += triangle_coverage(&want, p);
            }
            if net.task == Task::Hull {
                cov += hull_coverage(e, &want, p);
            }
            if beam > 1 && net.task != Task::Tsp {
                let beams = net.beam(e, beam)?;
                let top = beams.first().map_or(&[][..], Vec::as_slice);
                beam_right += usize::from(top == want.as_slice());
                if net.task == Task::Hull {
                    beam_cov += hull_coverage(e, &want, top);
                }
            }
        }
    }
    let tour = if net.task == Task::Tsp {
        let mut t = TourLengths::default();
        let mut beam_sum = 0f64;
        let mut beam_top = 0f64;
        for chunk in exs.chunks(256) {
            let refs: Vec<&Example> = chunk.iter().collect();
            let preds = net.decode(&refs)?;
            for (e, p) in chunk.iter().zip(&preds) {
                t.greedy += tour_length(&e.x, p);
                t.optimal += tour_length(&e.x, &e.target);
                if beam > 1 {
                    let beams = net.beam(e, beam)?;
                    let best = beams
                        .iter()
                        .map(|b| tour_length(&e.x, b))
                        .fold(f64::INFINITY, f64::min);
                    beam_sum += best;
                    // Beams come most probable first.
                    beam_top += beams.first().map_or(0.0, |b| tour_length(&e.x, b));
                }
            }
        }
        let c = count.max(1) as f64;
        t.greedy /= c;
        t.optimal /= c;
        t.beam = (beam > 1).then(|| (beam, beam_top / c, beam_sum / c));
        Some(t)
    } else {
        None
    };
    Ok(Metrics {
        examples: count,
        accuracy: right as f64 / count.max(1) as f64,
        coverage: (net.task == Task::Hull).then(|| cov / count.max(1) as f64),
        triangles: (net.task == Task::Delaunay).then(|| tri / count.max(1) as f64),
        tour,
        beam: (beam > 1 && net.task != Task::Tsp).then(|| {
            let c = count.max(1) as f64;
            (
                beam,
                beam_right as f64 / c,
                (net.task == Task::Hull).then(|| beam_cov / c),
            )
        }),
    })
}

/// Whether the closed polygon through `order` crosses itself.
fn self_intersects(x: &[f32], order: &[usize]) -> bool {
    let p = |i: usize| (x[2 * i] as f64, x[2 * i + 1] as f64);
    let k = order.len();
    let cross = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    };
    for i in 0..k {
        for j in i + 1..k {
            if j == i + 1 || (i == 0 && j == k - 1) {
                continue;
            }
            let (a, b) = (p(order[i]), p(order[(i + 1) % k]));
            let (c, d) = (p(order[j]), p(order[(j + 1) % k]));
            let (d1, d2) = (cross(a, b, c), cross(a, b, d));
            let (d3, d4) = (cross(c, d, a), cross(c, d, b));
            if d1 * d2 < 0.0 && d3 * d4 < 0.0 {
                return true;
            }
        }
    }
    false
}

/// Progress of a training run (called after every step).
pub struct Progress {
    pub step: usize,
    pub loss: f32,
    /// Set at evaluation steps.
    pub eval: Option<Metrics>,
}

/// Trains a fresh network for `steps` Adam steps on seeded batches (`n` drawn from
/// `n_min..=n_max` per batch), evaluating on 256 examples at n_min every `eval_every` steps.
pub fn train(
    cfg: &Config,
    steps: usize,
    eval_every: usize,
    mut progress: impl FnMut(&Progress),
) -> PtrResult<PtrNet> {
    let net = PtrNet::with_encoder(cfg.task, cfg.hidden, cfg.encoder, cfg.seed)?;
    train_more(&net, cfg, steps, eval_every, &mut progress)?;
    Ok(net)
}

/// Where training targets come from: the task's own generator, or a teacher that labels each
/// batch (a compiled Tessera program, for distillation).
pub type Teacher<'a> = &'a mut dyn FnMut(&[Example]) -> Result<Vec<Vec<usize>>, String>;

/// Trains a fresh network on targets given by `teacher` (inputs from the task's generator).
pub fn train_distilled(
    cfg: &Config,
    steps: usize,
    eval_every: usize,
    teacher: Teacher,
    mut progress: impl FnMut(&Progress),
) -> PtrResult<PtrNet> {
    let net = PtrNet::with_encoder(cfg.task, cfg.hidden, cfg.encoder, cfg.seed)?;
    run_training(&net, cfg, steps, eval_every, Some(teacher), &mut progress).map_err(ee)?;
    Ok(net)
}

/// Continues training `net`.
pub fn train_more(
    net: &PtrNet,
    cfg: &Config,
    steps: usize,
    eval_every: usize,
    progress: &mut impl FnMut(&Progress),
) -> PtrResult<()> {
    run_training(net, cfg, steps, eval_every, None, progress).map_err(ee)
}

fn run_training(
    net: &PtrNet,
    cfg: &Config,
    steps: usize,
    eval_every: usize,
    mut teacher: Option<Teacher>,
    progress: &mut impl FnMut(&Progress),
) -> R<()> {
    check_size(net.task, cfg.n_max)?;
    let mut opt = net.adam()?;
    let mut rng = Rng::new(cfg.seed.wrapping_mul(31).wrapping_add(7));
    for s in 1..=steps {
        let n = cfg.n_min + rng.below(cfg.n_max - cfg.n_min + 1);
        let mut batch: Vec<Example> = (0..cfg.batch)
            .map(|_| match (cfg.task, cfg.quantize) {
                (Task::Sort, Some(q)) => quantized_sort_example(n, q, &mut rng),
                _ => example(cfg.task, n, &mut rng),
            })
            .collect();
        if let Some(t) = teacher.as_mut() {
            let labels = t(&batch).map_err(msg)?;
            if labels.len() != batch.len() {
                return Err(msg("the teacher labelled a different number of examples"));
            }
            for (e, l) in batch.iter_mut().zip(labels) {
                if l.len() != e.target.len() || l.iter().any(|&p| p > e.n) {
                    return Err(msg("the teacher gave pointers that do not fit the example"));
                }
                e.target = l;
            }
        }
        let refs: Vec<&Example> = batch.iter().collect();
        // Linear decay to a tenth of the rate by the last step.
        let lr = cfg.lr * (1.0 - 0.9 * (s - 1) as f64 / steps.max(1) as f64);
        let loss = net.step(&mut opt, &refs, lr, cfg.clip)?;
        let eval = if eval_every > 0 && (s % eval_every == 0 || s == steps) {
            Some(eval_inner(net, cfg.n_min, 256, 0xE7A1, cfg.quantize, 1)?)
        } else {
            None
        };
        progress(&Progress {
            step: s,
            loss,
            eval,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn hull_is_counter_clockwise_from_the_lowest_index() {
        // A square with a point inside.
        let x = [0.5, 0.5, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        assert_eq!(convex_hull(&x, 5), vec![1, 2, 3, 4]);
        assert!((polygon_area(&x, &[1, 2, 3, 4]) - 1.0).abs() < 1e-9);
        assert!(self_intersects(&x, &[1, 3, 2, 4]));
    }

    #[test]
    fn held_karp_is_optimal_on_small_instances() {
        let mut rng = Rng::new(4);
        for n in 4..=7 {
            let x: Vec<f32> = (0..2 * n).map(|_| rng.unit()).collect();
            let hk = held_karp(&x, n);
            let mut sorted = hk.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            assert_eq!(hk[0], 0);
            // Brute force over permutations of 1..n.
            let mut best = f64::INFINITY;
            let mut perm: Vec<usize> = (1..n).collect();
            permute(&mut perm, 0, &mut |p| {
                let mut t = vec![0];
                t.extend_from_slice(p);
                best = best.min(tour_length(&x, &t));
            });
            assert!((tour_length(&x, &hk) - best).abs() < 1e-9, "n={n}");
        }
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }

    #[test]
    fn tsp_beam_gives_valid_tours() {
        let net = PtrNet::new(Task::Tsp, 16, 1).unwrap();
        let mut rng = Rng::new(2);
        let e = example(Task::Tsp, 6, &mut rng);
        let beams = net.beam(&e, 4).unwrap();
        assert_eq!(beams.len(), 4);
        for b in beams {
            let mut s = b.clone();
            s.sort_unstable();
            assert_eq!(s, (0..6).collect::<Vec<_>>());
        }
        let m = evaluate_beam(&net, 6, 8, 1, 3).unwrap();
        let t = m.tour.unwrap();
        let (_, top, best) = t.beam.unwrap();
        assert!(t.optimal <= t.greedy + 1e-9 && t.optimal <= best + 1e-9 && best <= top + 1e-9);
    }

    #[test]
    fn beam_search_of_width_one_is_greedy_decoding_and_wider_beams_are_valid() {
        for task in [Task::Sort, Task::Hull, Task::Tsp, Task::Delaunay] {
            let net = PtrNet::new(task, 16, 3).unwrap();
            let mut rng = Rng::new(4);
            for _ in 0..4 {
                let e = example(task, 6, &mut rng);
                let greedy = net.decode(&[&e]).unwrap();
                assert_eq!(net.beam(&e, 1).unwrap(), greedy, "{task:?}");
                let beams = net.beam(&e, 5).unwrap();
                assert!(!beams.is_empty() && beams.len() <= 5, "{task:?}");
                let max = task.max_pointers(6);
                for b in &beams {
                    assert!(
                        b.len() <= max && b.iter().all(|&i| i < 6),
                        "{task:?}: {b:?}"
                    );
                    if task.masks() {
                        let mut s = b.clone();
                        s.sort_unstable();
                        s.dedup();
                        assert_eq!(s.len(), b.len(), "{task:?}: a position twice in {b:?}");
                    }
                }
            }
        }
        let m = evaluate_beam(&PtrNet::new(Task::Hull, 16, 3).unwrap(), 6, 6, 1, 3).unwrap();
        let (w, acc, cov) = m.beam.unwrap();
        assert_eq!(w, 3);
        assert!((0.0..=1.0).contains(&acc) && cov.is_some_and(|c| (0.0..=1.0).contains(&c)));
    }

    #[test]
    fn delaunay_of_a_square_with_its_centre_is_four_triangles() {
        let x = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.5];
        assert_eq!(
            delaunay(&x, 5),
            vec![[0, 1, 4], [0, 3, 4], [1, 2, 4], [2, 3, 4]]
        );
    }

    /// A triangulation of n points with h on the hull has 2n − 2 − h triangles, and every
    /// interior edge lies in two triangles, every hull edge in one.
    #[test]
    fn delaunay_triangulations_have_the_euler_counts() {
        let mut rng = Rng::new(5);
        for n in [3, 4, 7, 10, 20] {
            for _ in 0..20 {
                let e = example(Task::Delaunay, n, &mut rng);
                assert_eq!(e.target.last(), Some(&n));
                let tris = delaunay(&e.x, n);
                let h = convex_hull(&e.x, n).len();
                assert_eq!(tris.len(), 2 * n - 2 - h, "n={n}");
                let mut edges: BTreeMap<(usize, usize), usize> = BTreeMap::new();
                for t in &tris {
                    for (a, b) in [(t[0], t[1]), (t[0], t[2]), (t[1], t[2])] {
                        *edges.entry((a, b)).or_default() += 1;
                    }
                }
                let hull = convex_hull(&e.x, n);
                let on_hull = |a: usize, b: usize| {
                    (0..h).any(|i| {
                        let (p, q) = (hull[i], hull[(i + 1) % h]);
                        (p, q) == (a, b) || (q, p) == (a, b)
                    })
                };
                for ((a, b), k) in edges {
                    assert_eq!(k, if on_hull(a, b) { 1 } else { 2 }, "edge {a}-{b}");
                }
            }
        }
    }

    #[test]
    fn triangle_coverage_counts_true_triangles_found() {
        assert_eq!(
            triangle_coverage(&[0, 1, 2, 1, 2, 3], &[2, 1, 0, 3, 3, 3]),
            0.5
        );
        assert_eq!(triangle_coverage(&[0, 1, 2], &[0, 1]), 0.0);
        assert_eq!(triangle_coverage(&[0, 1, 2], &[1, 0, 2, 0, 1, 2]), 1.0);
    }

    #[test]
    fn delaunay_nets_decode_bounded_and_round_trip() {
        let net = PtrNet::new(Task::Delaunay, 16, 1).unwrap();
        let m = evaluate(&net, 6, 16, 1).unwrap();
        let cov = m.triangles.unwrap();
        assert!((0.0..=1.0).contains(&cov));
        let mut rng = Rng::new(4);
        let exs: Vec<Example> = (0..8)
            .map(|_| example(Task::Delaunay, 6, &mut rng))
            .collect();
        let refs: Vec<&Example> = exs.iter().collect();
        let preds = net.predict(&refs).unwrap();
        assert!(
            preds
                .iter()
                .all(|p| p.len() <= 3 * 7 && p.iter().all(|&i| i < 6))
        );
        let path = std::env::temp_dir().join(format!("ptr-del-{}.safetensors", std::process::id()));
        net.save(&path).unwrap();
        let back = PtrNet::load(&path).unwrap();
        assert_eq!(back.task, Task::Delaunay);
        assert_eq!(back.predict(&refs).unwrap(), preds);
        std::fs::remove_file(path).ok();
        assert!(evaluate(&net, MAX_DELAUNAY_N + 1, 1, 1).is_err());
    }

    /// The transformer encoder learns sort too, and its weights (with the encoder kind in
    /// `meta`) round-trip.
    #[test]
    fn transformer_encoder_learns_sort_and_round_trips() {
        let mut cfg = Config::new(Task::Sort, 5);
        cfg.encoder = Encoder::Transformer;
        cfg.hidden = 32;
        cfg.batch = 64;
        cfg.lr = 3e-3;
        let net = train(&cfg, 150, 0, |_| {}).unwrap();
        assert_eq!(net.encoder, Encoder::Transformer);
        let m = evaluate(&net, 5, 256, 3).unwrap();
        // Chance is 1/120.
        assert!(m.accuracy > 0.1, "{m:?}");
        let path = std::env::temp_dir().join(format!("ptr-tf-{}.safetensors", std::process::id()));
        net.save(&path).unwrap();
        let back = PtrNet::load(&path).unwrap();
        assert_eq!(back.encoder, Encoder::Transformer);
        let mut rng = Rng::new(9);
        let exs: Vec<Example> = (0..32).map(|_| example(Task::Sort, 5, &mut rng)).collect();
        let refs: Vec<&Example> = exs.iter().collect();
        assert_eq!(net.predict(&refs).unwrap(), back.predict(&refs).unwrap());
        std::fs::remove_file(path).ok();
    }

    #[test]
    fn sort_learns_quickly_and_round_trips() {
        let mut cfg = Config::new(Task::Sort, 5);
        cfg.hidden = 32;
        cfg.batch = 64;
        cfg.lr = 3e-3;
        let net = train(&cfg, 150, 0, |_| {}).unwrap();
        let m = evaluate(&net, 5, 256, 3).unwrap();
        // Chance is 1/120.
        assert!(m.accuracy > 0.2, "{m:?}");
        let path = std::env::temp_dir().join(format!("ptr-{}.safetensors", std::process::id()));
        net.save(&path).unwrap();
        let back = PtrNet::load(&path).unwrap();
        let mut rng = Rng::new(9);
        let exs: Vec<Example> = (0..32).map(|_| example(Task::Sort, 5, &mut rng)).collect();
        let refs: Vec<&Example> = exs.iter().collect();
        assert_eq!(net.predict(&refs).unwrap(), back.predict(&refs).unwrap());
        std::fs::remove_file(path).ok();
    }
}
