//! The model graph: a transformer with explicit weights, as plain data (no tensor library).
//!
//! Positions are `0` (BOS) then one per input token. The residual stream has named dimensions
//! (`one`, `bos`, `tokens:a`, `indices:3`, `%7:true`, ...). Each layer is an attention sublayer
//! (heads, all reading the same residual) followed by an MLP sublayer; both add their output to
//! the residual. [`Model::forward`] is the reference execution in f64 (the engine runs the same
//! weights with candle).

use tessera_lang::value::Val;

/// A matrix stored by its nonzero entries (compiled models are almost all zeros: `dyck2_ptf`
/// at max_len 256 has 77 M dense parameters and about 100 k nonzero ones). `rows` × `cols` is its
/// dense shape, as exported (`model.safetensors` holds dense tensors) and counted by
/// [`Model::params`]; no entry is zero.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    entries: std::collections::BTreeMap<(usize, usize), f64>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat {
            rows,
            cols,
            entries: Default::default(),
        }
    }

    /// A matrix from its dense row-major values (`data.len()` = `rows · cols`).
    pub fn from_dense(rows: usize, cols: usize, data: &[f64]) -> Mat {
        let mut m = Mat::zeros(rows, cols);
        for (i, &v) in data.iter().enumerate() {
            if v != 0.0 && cols > 0 {
                m.entries.insert((i / cols, i % cols), v);
            }
        }
        m
    }

    /// A matrix from `(row, column, value)` entries, summed where they repeat (built in one
    /// pass over the sorted entries: much faster than [`Mat::add`] one at a time).
    pub fn from_entries(
        rows: usize,
        cols: usize,
        entries: impl IntoIterator<Item = (usize, usize, f64)>,
    ) -> Mat {
        let all: Vec<(usize, usize, f64)> = entries.into_iter().collect();
        // Sorted by (row, column), stably: repeated entries are summed in the order given, as
        // `add` would. A counting sort by row (stable), then each row's run by column (usually
        // in order already: units are added column by column).
        let top = all.iter().map(|e| e.0).max().map_or(0, |r| r + 1);
        let mut start = vec![0usize; top + 1];
        for e in &all {
            start[e.0 + 1] += 1;
        }
        for r in 0..top {
            start[r + 1] += start[r];
        }
        let mut next = start.clone();
        let mut sorted = vec![(0usize, 0usize, 0.0f64); all.len()];
        for e in all {
            sorted[next[e.0]] = e;
            next[e.0] += 1;
        }
        for w in start.windows(2) {
            let run = &mut sorted[w[0]..w[1]];
            if !run.is_sorted_by_key(|e| e.1) {
                run.sort_by_key(|e| e.1);
            }
        }
        let mut merged: Vec<((usize, usize), f64)> = Vec::with_capacity(sorted.len());
        for (r, c, v) in sorted {
            match merged.last_mut() {
                Some((k, w)) if *k == (r, c) => *w += v,
                _ => merged.push(((r, c), v)),
            }
        }
        Mat {
            rows,
            cols,
            entries: merged.into_iter().filter(|(_, v)| *v != 0.0).collect(),
        }
    }

    /// The dense row-major values.
    pub fn to_dense(&self) -> Vec<f64> {
        let mut data = vec![0.0; self.rows * self.cols];
        for (&(r, c), &v) in &self.entries {
            if let Some(x) = data.get_mut(r * self.cols + c) {
                *x = v;
            }
        }
        data
    }

    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        if v == 0.0 {
            self.entries.remove(&(r, c));
        } else {
            self.entries.insert((r, c), v);
        }
    }

    pub fn add(&mut self, r: usize, c: usize, v: f64) {
        if v == 0.0 {
            return;
        }
        let e = self.entries.entry((r, c)).or_insert(0.0);
        *e += v;
        if *e == 0.0 {
            self.entries.remove(&(r, c));
        }
    }

    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.entries.get(&(r, c)).copied().unwrap_or(0.0)
    }

    /// How many entries are not zero.
    pub fn nonzero(&self) -> usize {
        self.entries.len()
    }

    /// The nonzero entries `(row, column, value)`, row by row.
    pub fn entries(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        self.entries.iter().map(|(&(r, c), &v)| (r, c, v))
    }

    /// The nonzero entries `(column, value)` of row `r`.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.entries
            .range((r, 0)..(r, usize::MAX))
            .map(|(&(_, c), &v)| (c, v))
    }

    /// `x · self` for a row vector `x` of length `rows`.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.cols];
        for (&(r, c), &w) in &self.entries {
            let xv = x.get(r).copied().unwrap_or(0.0);
            if xv != 0.0
                && let Some(o) = out.get_mut(c)
            {
                *o += xv * w;
            }
        }
        out
    }
}

/// One attention head: `softmax((x Wq)(x Wk)ᵀ)` over all positions, times `x Wov`.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// What the head computes, e.g. `aggregate %6` (for pictures and stats).
    pub label: String,
    pub wq: Mat,
    pub wk: Mat,
    /// Value and output projections combined: residual to residual.
    pub wov: Mat,
}

/// A ReLU MLP: `x += relu(x W1 + b1) W2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub labels: Vec<String>,
    pub w1: Mat,
    pub b1: Vec<f64>,
    pub w2: Mat,
}

/// A bilinear (gated) sublayer beside the MLP: `x += ((x U + bu) ⊙ (x V + bv)) W`. It reads the
/// same residual as the layer's MLP (after the heads), and both outputs are added. Every hidden
/// unit is the product of two affine functions of the residual, so products of real values
/// (HRR and FHRR binding, gating a vector by a one-hot) are exact, which no ReLU unit is.
#[derive(Debug, Clone, PartialEq)]
pub struct Bilinear {
    pub labels: Vec<String>,
    /// Residual to the first factor of each unit (`d × hidden`).
    pub u: Mat,
    pub bu: Vec<f64>,
    /// Residual to the second factor (`d × hidden`).
    pub v: Mat,
    pub bv: Vec<f64>,
    /// Unit to residual (`hidden × d`).
    pub w: Mat,
}

impl Bilinear {
    /// What the sublayer adds to one residual row.
    pub fn delta(&self, x: &[f64]) -> Vec<f64> {
        let mut a = self.u.apply(x);
        let b = self.v.apply(x);
        for ((h, (bu, bv)), y) in a.iter_mut().zip(self.bu.iter().zip(&self.bv)).zip(&b) {
            *h = (*h + bu) * (y + bv);
        }
        self.w.apply(&a)
    }
}

/// A key-value memory read with argmax attention: at every position but BOS, the slot with the
/// highest score `x·keys + bias` (the first one on a tie) writes its row of `values` into the
/// residual. `cleanup` compiles to one: the keys are the codebook's vectors, the values the
/// one-hot of each symbol (and a `none` slot when there is a threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    pub label: String,
    /// Residual to slot scores (`d × slots`).
    pub keys: Mat,
    pub bias: Vec<f64>,
    /// Slot to residual (`slots × d`).
    pub values: Mat,
    /// Slots whose score is within `tie · |best|` of the best count as tied with it (the first
    /// of them wins): 0 for exact scores (map/bsc), `tessera_vsa::cleanup::REAL_TIE` for the
    /// cosines of hrr/fhrr, as in the interpreter.
    pub tie: f64,
}

/// The output value a residual row decodes to: the value of the largest of its one-hot
/// dimensions (the first on ties; `none` without any), or for a numeric output the possible
/// value nearest to its dimension's number.
pub fn decode_output(unembed: &Unembed, r: &[f64]) -> Val {
    if let Some(n) = &unembed.numeric {
        return n.nearest(r.get(n.dim).copied().unwrap_or(f64::NAN));
    }
    let mut best: Option<(f64, &Val)> = None;
    for (dim, val) in &unembed.dims {
        let x = r.get(*dim).copied().unwrap_or(f64::NEG_INFINITY);
        if best.is_none_or(|(b, _)| x > b) {
            best = Some((x, val));
        }
    }
    best.map_or(Val::None, |(_, v)| v.clone())
}

/// Add each memory's winning value row to `x` (all slots are chosen from `x` before any is
/// added: the memories of a layer read the same residual).
pub fn apply_memories(memories: &[Memory], x: &mut [f64]) {
    let rows: Vec<Option<usize>> = memories.iter().map(|m| m.slot(x)).collect();
    for (m, j) in memories.iter().zip(rows) {
        if let Some(j) = j {
            for (c, v) in m.values.row(j) {
                if let Some(a) = x.get_mut(c) {
                    *a += v;
                }
            }
        }
    }
}

impl Memory {
    /// The winning slot for one residual row (`None` for a memory without slots).
    pub fn slot(&self, x: &[f64]) -> Option<usize> {
        let scores: Vec<f64> = self
            .keys
            .apply(x)
            .iter()
            .zip(&self.bias)
            .map(|(s, b)| s + b)
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let floor = max - self.tie * max.abs();
        scores.iter().position(|&s| s >= floor)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub heads: Vec<Head>,
    pub mlp: Option<Mlp>,
    /// Products beside the MLP (reading the same residual).
    pub bilinear: Option<Bilinear>,
    /// Memories read after the MLP (all from the same residual).
    pub memories: Vec<Memory>,
}

/// How to read the output from the residual: one dimension per possible value (argmax), or one
/// dimension holding the number (a `mean` that is the program's output: its possible values
/// can be too many for a one-hot, and the head computes it to within a quarter of the gap
/// between them).
#[derive(Debug, Clone, PartialEq)]
pub struct Unembed {
    pub dims: Vec<(usize, Val)>,
    /// When set, `dims` is empty and this is the output.
    pub numeric: Option<NumericOut>,
}

/// A numeric output: the residual dimension and every possible value, sorted by number.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericOut {
    pub dim: usize,
    pub values: Vec<(f64, Val)>,
}

impl NumericOut {
    /// The possible value nearest to `x` (the smaller on a tie; `none` without values or for
    /// a number that is not finite).
    pub fn nearest(&self, x: f64) -> Val {
        self.nearest_index(x)
            .and_then(|i| self.values.get(i))
            .map_or(Val::None, |(_, v)| v.clone())
    }

    /// The index in `values` of [`Self::nearest`] (`None` where that is `none`).
    pub fn nearest_index(&self, x: f64) -> Option<usize> {
        if !x.is_finite() {
            return None;
        }
        let i = self.values.partition_point(|(v, _)| *v < x);
        match (i.checked_sub(1), self.values.get(i)) {
            (Some(b), Some(a)) => Some(if x - self.values[b].0 <= a.0 - x {
                b
            } else {
                i
            }),
            (Some(b), None) => Some(b),
            (None, Some(_)) => Some(i),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub residual: Vec<String>,
    pub vocab: Vec<Val>,
    pub max_len: usize,
    /// One row per vocabulary item, then one for BOS.
    pub token_embed: Mat,
    /// One row per position `0..=max_len` (0 is BOS).
    pub pos_embed: Mat,
    pub layers: Vec<Layer>,
    pub unembed: Unembed,
}

/// The label suffix of a head that compares integers numerically (`β(2qk − k²)`, see
/// `ir_to_graph`): its scores multiply values by up to `2βM`, so the residual must be exact to
/// well below `1/(2βM)`; engines run such models in f64.
pub const NUMERIC_EQ_LABEL: &str = "(numeric ==)";

/// The label suffix of MLP units that read a projection of two raw head results whose steps
/// are apart only for f64's rounding, not f32's (see `ir_to_graph`'s `fused_pair_map`);
/// engines run such models in f64.
pub const PAIR_F64_LABEL: &str = "(f64 pair)";

impl Model {
    /// Whether the model's scores need f64 arithmetic (it has a numeric equality head, or MLP
    /// units reading a pair projection exact only in f64, [`PAIR_F64_LABEL`]).
    /// Or its output is a number whose possible values lie closer together than f32 can
    /// average for certain over the longest input (a rounding error of up to (N + 1)·2⁻²⁴ of the
    /// largest value, against a quarter of the smallest gap).
    pub fn needs_f64(&self) -> bool {
        let close = self.unembed.numeric.as_ref().is_some_and(|n| {
            let max_abs = n.values.iter().map(|v| v.0.abs()).fold(1.0, f64::max);
            let err = (self.max_len as f64 + 1.0) * f64::from(f32::EPSILON) * max_abs;
            n.values.windows(2).any(|w| (w[1].0 - w[0].0) / 4.0 < err)
        });
        close
            || self
                .layers
                .iter()
                .flat_map(|l| &l.heads)
                .any(|h| h.label.ends_with(NUMERIC_EQ_LABEL))
            || self.uses_f64_pairs()
    }

    /// Whether some MLP unit reads a pair projection exact only in f64 ([`PAIR_F64_LABEL`]).
    pub fn uses_f64_pairs(&self) -> bool {
        self.layers
            .iter()
            .flat_map(|l| l.mlp.iter().flat_map(|m| &m.labels))
            .any(|l| l.ends_with(PAIR_F64_LABEL))
    }
}

/// How attention weights are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    Soft,
    Hard,
}

/// Why a forward pass could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardError {
    TooLong { len: usize, max_len: usize },
    UnknownToken { position: usize, token: String },
}

impl std::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardError::TooLong { len, max_len } => {
                write!(
                    f,
                    "the input has {len} tokens; the model was compiled for at most {max_len}"
                )
            }
            ForwardError::UnknownToken { position, token } => {
                write!(
                    f,
                    "token `{token}` at position {position} is not in the model's vocabulary"
                )
            }
        }
    }
}

impl Model {
    /// Parameters: total and nonzero.
    pub fn params(&self) -> (usize, usize) {
        let mut mats: Vec<&Mat> = vec![&self.token_embed, &self.pos_embed];
        let mut total = 0;
        let mut nonzero = 0;
        for l in &self.layers {
            for h in &l.heads {
                mats.extend([&h.wq, &h.wk, &h.wov]);
            }
            if let Some(m) = &l.mlp {
                mats.extend([&m.w1, &m.w2]);
                total += m.b1.len();
                nonzero += m.b1.iter().filter(|x| **x != 0.0).count();
            }
            if let Some(b) = &l.bilinear {
                mats.extend([&b.u, &b.v, &b.w]);
                total += b.bu.len() + b.bv.len();
                nonzero += b.bu.iter().chain(&b.bv).filter(|x| **x != 0.0).count();
            }
            for m in &l.memories {
                mats.extend([&m.keys, &m.values]);
                total += m.bias.len();
                nonzero += m.bias.iter().filter(|x| **x != 0.0).count();
            }
        }
        for m in mats {
            total += m.rows * m.cols;
            nonzero += m.nonzero();
        }
        (total, nonzero)
    }

    /// Run the model on tokens; the decoded output per input position.
    pub fn forward(&self, tokens: &[Val]) -> Result<Vec<Val>, ForwardError> {
        self.forward_with(tokens, Attention::Soft)
    }

    /// Run with softmax attention, or with hard attention (each query attends uniformly to the
    /// keys of maximal score: the idealised transformer RASP describes).
    pub fn forward_with(
        &self,
        tokens: &[Val],
        attention: Attention,
    ) -> Result<Vec<Val>, ForwardError> {
        let x = self.residual_with(tokens, attention)?;
        Ok(x[1..]
            .iter()
            .map(|r| decode_output(&self.unembed, r))
            .collect())
    }

    /// The residual stream after the last layer, one row per position (BOS first), labelled
    /// by [`Self::residual`]: what [`Self::forward_with`] decodes the output from.
    pub fn residual_with(
        &self,
        tokens: &[Val],
        attention: Attention,
    ) -> Result<Vec<Vec<f64>>, ForwardError> {
        let n = tokens.len();
        if n > self.max_len {
            return Err(ForwardError::TooLong {
                len: n,
                max_len: self.max_len,
            });
        }
        let d = self.residual.len();
        let mut x: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        for p in 0..=n {
            let row = if p == 0 {
                self.vocab.len()
            } else {
                let t = &tokens[p - 1];
                self.vocab.iter().position(|v| v == t).ok_or_else(|| {
                    ForwardError::UnknownToken {
                        position: p - 1,
                        token: t.to_string(),
                    }
                })?
            };
            let mut r = vec![0.0; d];
            for (j, v) in r.iter_mut().enumerate() {
                *v = self.token_embed.get(row, j) + self.pos_embed.get(p, j);
            }
            x.push(r);
        }
        for layer in &self.layers {
            let mut delta = vec![vec![0.0; d]; n + 1];
            for h in &layer.heads {
                let q: Vec<Vec<f64>> = x.iter().map(|r| h.wq.apply(r)).collect();
                let k: Vec<Vec<f64>> = x.iter().map(|r| h.wk.apply(r)).collect();
                let v: Vec<Vec<f64>> = x.iter().map(|r| h.wov.apply(r)).collect();
                for (qi, qrow) in q.iter().enumerate() {
                    let scores: Vec<f64> = k
                        .iter()
                        .map(|krow| qrow.iter().zip(krow).map(|(a, b)| a * b).sum())
                        .collect();
                    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let w: Vec<f64> = match attention {
                        Attention::Soft => scores.iter().map(|s| (s - m).exp()).collect(),
                        // Ties within a relative 1e-9 of the maximum share the weight.
                        Attention::Hard => scores
                            .iter()
                            .map(|s| {
                                if (m - s) <= 1e-9 * m.abs().max(1.0) {
                                    1.0
                                } else {
                                    0.0
                                }
                            })
                            .collect(),
                    };
                    let z: f64 = w.iter().sum();
                    for (ki, wk) in w.iter().enumerate() {
                        let a = wk / z;
                        for (o, vv) in delta[qi].iter_mut().zip(&v[ki]) {
                            *o += a * vv;
                        }
                    }
                }
            }
            for (r, dr) in x.iter_mut().zip(&delta) {
                for (a, b) in r.iter_mut().zip(dr) {
                    *a += b;
                }
            }
            // The bilinear sublayer reads the residual the MLP reads.
            let products: Option<Vec<Vec<f64>>> = layer
                .bilinear
                .as_ref()
                .map(|b| x.iter().map(|r| b.delta(r)).collect());
            if let Some(mlp) = &layer.mlp {
                for r in x.iter_mut() {
                    let mut hidden = mlp.w1.apply(r);
                    for (hv, b) in hidden.iter_mut().zip(&mlp.b1) {
                        *hv = (*hv + b).max(0.0);
                    }
                    let out = mlp.w2.apply(&hidden);
                    for (a, b) in r.iter_mut().zip(&out) {
                        *a += b;
                    }
                }
            }
            if let Some(products) = products {
                for (r, dr) in x.iter_mut().zip(&products) {
                    for (a, b) in r.iter_mut().zip(dr) {
                        *a += b;
                    }
                }
            }
            if !layer.memories.is_empty() {
                for r in x.iter_mut().skip(1) {
                    apply_memories(&layer.memories, r);
                }
            }
        }
        Ok(x)
    }
}

/// One block of the model as a graph node.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Embed {
        residual: usize,
    },
    Head {
        layer: usize,
        index: usize,
        label: String,
        key_size: usize,
    },
    Mlp {
        layer: usize,
        hidden: usize,
        labels: Vec<String>,
    },
    Bilinear {
        layer: usize,
        hidden: usize,
        labels: Vec<String>,
    },
    Memory {
        layer: usize,
        label: String,
        slots: usize,
    },
    Unembed {
        values: usize,
    },
}

impl Model {
    /// The model as a petgraph graph: blocks in order, each reading the residual written by the
    /// blocks before it (heads of one layer read the same residual; the MLP reads their sum).
    pub fn block_graph(&self) -> petgraph::graph::DiGraph<Block, ()> {
        let mut g = petgraph::graph::DiGraph::new();
        let mut prev = vec![g.add_node(Block::Embed {
            residual: self.residual.len(),
        })];
        for (l, layer) in self.layers.iter().enumerate() {
            let mut heads = Vec::new();
            for (i, h) in layer.heads.iter().enumerate() {
                let n = g.add_node(Block::Head {
                    layer: l + 1,
                    index: i,
                    label: h.label.clone(),
                    key_size: h.wq.cols,
                });
                for &p in &prev {
                    g.add_edge(p, n, ());
                }
                heads.push(n);
            }
            if !heads.is_empty() {
                prev = heads;
            }
            // The MLP and the bilinear sublayer read the same residual.
            let mut sub = Vec::new();
            if let Some(m) = &layer.mlp {
                sub.push(g.add_node(Block::Mlp {
                    layer: l + 1,
                    hidden: m.b1.len(),
                    labels: m.labels.clone(),
                }));
            }
            if let Some(b) = &layer.bilinear {
                sub.push(g.add_node(Block::Bilinear {
                    layer: l + 1,
                    hidden: b.bu.len(),
                    labels: b.labels.clone(),
                }));
            }
            for &n in &sub {
                for &p in &prev {
                    g.add_edge(p, n, ());
                }
            }
            if !sub.is_empty() {
                prev = sub;
            }
            let mut mems = Vec::new();
            for m in &layer.memories {
                let n = g.add_node(Block::Memory {
                    layer: l + 1,
                    label: m.label.clone(),
                    slots: m.bias.len(),
                });
                for &p in &prev {
                    g.add_edge(p, n, ());
                }
                mems.push(n);
            }
            if !mems.is_empty() {
                prev = mems;
            }
        }
        let out = g.add_node(Block::Unembed {
            values: self
                .unembed
                .numeric
                .as_ref()
                .map_or(self.unembed.dims.len(), |n| n.values.len()),
        });
        for &p in &prev {
            g.add_edge(p, out, ());
        }
        g
    }

    /// Graphviz DOT of [`Model::block_graph`].
    pub fn to_dot(&self) -> String {
        let g = self.block_graph();
        let mut out = String::from(
            "digraph model {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for idx in g.node_indices() {
            let label = match &g[idx] {
                Block::Embed { residual } => format!("embed\\nresidual {residual}"),
                Block::Head {
                    layer,
                    index,
                    label,
                    key_size,
                } => {
                    format!("L{layer} head {index}\\n{label}\\nkey size {key_size}")
                }
                Block::Mlp {
                    layer,
                    hidden,
                    labels,
                } => {
                    format!("L{layer} MLP\\n{hidden} hidden\\n{}", labels.join("\\n"))
                }
                Block::Bilinear {
                    layer,
                    hidden,
                    labels,
                } => {
                    format!(
                        "L{layer} bilinear\\n{hidden} products\\n{}",
                        labels.join("\\n")
                    )
                }
                Block::Memory {
                    layer,
                    label,
                    slots,
                } => format!("L{layer} memory\\n{label}\\n{slots} slots"),
                Block::Unembed { values } => format!("unembed\\n{values} values"),
            };
            out.push_str(&format!(
                "  n{} [label=\"{}\"];\n",
                idx.index(),
                label.replace('"', "'")
            ));
        }
        for e in g.edge_indices() {
            if let Some((a, b)) = g.edge_endpoints(e) {
                out.push_str(&format!("  n{} -> n{};\n", a.index(), b.index()));
            }
        }
        out.push_str("}\n");
        out
    }

    /// Shapes and labels (no raw weights): for snapshots and `stats`.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "residual ({}): {}\nvocab: {}\nmax_len: {}\n",
            self.residual.len(),
            self.residual.join(" "),
            self.vocab
                .iter()
                .map(Val::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            self.max_len
        );
        for (l, layer) in self.layers.iter().enumerate() {
            out.push_str(&format!("layer {}\n", l + 1));
            for h in &layer.heads {
                out.push_str(&format!(
                    "  head {}: wq {}x{} ({} nonzero), wk {}x{} ({} nonzero), wov {}x{} ({} nonzero)\n",
                    h.label, h.wq.rows, h.wq.cols, h.wq.nonzero(), h.wk.rows, h.wk.cols, h.wk.nonzero(), h.wov.rows, h.wov.cols, h.wov.nonzero()
                ));
            }
            if let Some(m) = &layer.mlp {
                out.push_str(&format!(
                    "  mlp {} hidden ({}): w1 {} nonzero, w2 {} nonzero\n",
                    m.b1.len(),
                    m.labels.join(", "),
                    m.w1.nonzero(),
                    m.w2.nonzero()
                ));
            }
            if let Some(b) = &layer.bilinear {
                out.push_str(&format!(
                    "  bilinear {} products ({}): u {} nonzero, v {} nonzero, w {} nonzero\n",
                    b.bu.len(),
                    b.labels.join(", "),
                    b.u.nonzero(),
                    b.v.nonzero(),
                    b.w.nonzero()
                ));
            }
            for m in &layer.memories {
                out.push_str(&format!(
                    "  memory {}: {} slots, keys {} nonzero, values {} nonzero\n",
                    m.label,
                    m.bias.len(),
                    m.keys.nonzero(),
                    m.values.nonzero()
                ));
            }
        }
        match &self.unembed.numeric {
            Some(n) => out.push_str(&format!(
                "unembed: {} as a number, nearest of {} values\n",
                self.residual.get(n.dim).map_or("?", String::as_str),
                n.values.len()
            )),
            None => out.push_str(&format!(
                "unembed: {}\n",
                self.unembed
                    .dims
                    .iter()
                    .map(|(d, v)| format!(
                        "{}={v}",
                        self.residual.get(*d).map_or("?", String::as_str)
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_keep_only_nonzero_entries_and_read_back_dense() {
        let mut m = Mat::zeros(2, 3);
        m.set(0, 1, 2.0);
        m.add(1, 2, 1.5);
        m.add(1, 2, -1.5); // cancels: no entry left
        m.add(1, 0, 4.0);
        m.set(0, 2, 0.0);
        assert_eq!(m.nonzero(), 2);
        assert_eq!(m.to_dense(), vec![0.0, 2.0, 0.0, 4.0, 0.0, 0.0]);
        assert_eq!(Mat::from_dense(2, 3, &m.to_dense()), m);
        assert_eq!(m.row(1).collect::<Vec<_>>(), vec![(0, 4.0)]);
        assert_eq!(m.apply(&[1.0, 0.5]), vec![2.0, 2.0, 0.0]);
        // repeated entries sum, in order; sums of zero leave nothing
        let e = Mat::from_entries(
            2,
            3,
            [
                (1, 0, 3.0),
                (0, 1, 2.0),
                (1, 0, 1.0),
                (1, 1, 1.0),
                (1, 1, -1.0),
            ],
        );
        assert_eq!(e, m);
    }

    #[test]
    fn numeric_outputs_round_to_the_nearest_possible_value() {
        let n = NumericOut {
            dim: 0,
            values: vec![
                (0.0, Val::Float(0.0)),
                (0.5, Val::Float(0.5)),
                (1.0, Val::Int(1)),
            ],
        };
        assert_eq!(n.nearest(0.2), Val::Float(0.0));
        assert_eq!(
            n.nearest(0.25),
            Val::Float(0.0),
            "a tie goes to the smaller"
        );
        assert_eq!(n.nearest(0.26), Val::Float(0.5));
        assert_eq!(n.nearest(0.9), Val::Int(1));
        assert_eq!(n.nearest(-7.0), Val::Float(0.0));
        assert_eq!(n.nearest(7.0), Val::Int(1));
        assert_eq!(n.nearest(f64::NAN), Val::None);
        let empty = NumericOut {
            dim: 0,
            values: Vec::new(),
        };
        assert_eq!(empty.nearest(0.0), Val::None);
        let unembed = Unembed {
            dims: Vec::new(),
            numeric: Some(n),
        };
        assert_eq!(decode_output(&unembed, &[0.6]), Val::Float(0.5));
        assert_eq!(decode_output(&unembed, &[]), Val::None);
    }
}
