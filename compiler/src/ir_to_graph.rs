//! Lowering the IR to a transformer with exact weights.
//!
//! **Encodings.** Every categorical node gets one residual dimension per value it can take
//! (its value set over the vocabulary and `max_len`, computed here by the same rules as
//! `tessera_lang::values`); `tokens` and `indices` come from the token and position embeddings;
//! a constant uses the dimension `real`, which is 1 at every input position and 0 at BOS.
//!
//! **Selectors.** A (possibly composite) selector reads a tuple of key nodes and a tuple of query
//! nodes. When a side has more than one node, an MLP first builds a one-hot of the tuple. The
//! head's score is `β·P[q][k]` with `P` the selector's truth table over value tuples, so it is
//! exactly the predicate; BOS is a key every query can see with a fixed score. A selector that
//! is an AND of comparisons (each possibly negated) skips the joint one-hot: its head scores
//! `β·Σ P_i` and raises BOS by `(m−1)β`, which after the softmax's shift is one comparison with
//! the same margin (see `additive`).
//!
//! **Exactness.** `aggregate` gives BOS the score β/2 and carries the default there; with
//! `β = 2 ln(5(N+1)) + 2` the weight that leaks to unselected positions is below 0.25 for any
//! length N ≤ max_len, so a cleanup MLP with thresholds at 0.25 and 0.75 restores an exact one-hot
//! (all selected keys hold one value, or the interpreter reports AggregateConflict). `width`
//! gives BOS and the selected keys the score β and reads 1/(m+1) from BOS; with
//! `β = ln(4(N+1)³) + 1` the leakage is below a quarter of the gap between consecutive values
//! 1/(m+1), and a step-function MLP decodes m exactly. `length` is the width of an all-true
//! selector. Maps are lookup tables: one hidden unit per input tuple (`relu(Σ x − (k−1))`),
//! except maps of two or three integers that depend only on a signed sum of them (`length −
//! indices − 1`): those are step functions of the sum (two units per change of the result), and
//! they read each input as one number from a shadow dimension that the input's own embedding or
//! MLP units write beside its one-hot (see `linear_map`, `numeric_view`). Exact because the sum
//! is an exact integer and each step switches halfway between consecutive sums. A map that
//! reads one node twice reads it once (`dedup_args`); a map whose table would pass the limit
//! (what map fusion makes of `if w > 0 then … else if a − b == 0 …` at max_len 256) is split
//! again (`unfuse`): a subexpression over fewer inputs that never fails becomes its own map, when
//! the two tables together are smaller. That costs a layer, so it happens only past the limit.
//! Every MLP unit is held at 0 at BOS (a `bos` weight larger than anything the unit could reach
//! there), so BOS never shows a value to later heads. A map that reads a head's result, with its
//! other inputs ready before that head, is computed from the head's raw output in the same MLP
//! sublayer that cleans the result up (`fused_map`: steps gated by the other inputs' one-hots),
//! which saves the layer it would wait for; only while that costs at most 1,024 units or twice
//! the plain map (`best_split` splits off a part over the other inputs when that makes it
//! fit or costs fewer units). A map of two head results attended in the same layer (`sort`'s
//! sum of two disjoint counts, `dyck2_ptf`'s `#open − #close`) is computed there too, as steps
//! over one projection `x + b·y` of the two raw numbers that keeps every pair of their values
//! apart (`fused_pair_map`; exact because those heads read their value up to rounding, see
//! [`EXACT_BETA`]; where only f64's rounding keeps them apart the model runs in f64, kept only
//! when that saves a layer, see `ir_to_graph_with`). A map of the token alone, or of the position alone, is written by the embedding
//! (`embedded_map`). A selector leaf against a constant, `select(b, 0, <)`, reads a boolean
//! map of its key when that map is ready as early as the key (`prepare_selector`), so a
//! `mean` tested only for its sign never needs a one-hot over its possible values.
//!
//! Those are the least β that make each result exact; `width`, `aggregate` and `mean` heads
//! use at least [`EXACT_BETA`] (1,500), where every weight the margin holds back underflows to
//! exactly 0 in f64 and f32: the heads then compute exactly what hard attention computes (a
//! width reads exactly `1/(m+1)`), so equal inputs give bit-equal residuals everywhere.
//!
//! `mean` gives BOS the score β/2 and the value 0, reads each key's number from its one-hot
//! encoding, and decodes the result onto the finite set of possible means (see `mean_head`);
//! a mean that is the program's output and read by nothing else stays a number, read as the
//! nearest possible mean (`graph::Unembed::numeric`). Likewise an `aggregate` that is the output
//! and read by nothing else has no cleanup: the unembedding's argmax reads the head's result,
//! which at `β ≥ EXACT_BETA` is hard attention's (`reverse`, `sort`, `shift_by`: one MLP fewer).
//! A numerical node is encoded like a categorical one: one dimension per value it can take.
//!
//! **Hypervectors** (see `vsa`): map and bsc components are ±1 residual dimensions and every
//! operation is ReLU units; hrr and fhrr components are real, and products (binding, shifts by
//! a position's integer) are units of a bilinear sublayer (`graph::Bilinear`).
//!
//! `best` ranks keys by (score, lower index) inside the attention score (see `best_head`), and
//! `gather(best(…), xs)` is that one head reading `xs` at the winner.
//!
//! Not compiled yet (a clear error): `mean` over non-integers, and tables larger than
//! [`MAX_TABLE`] rows.

use crate::graph::{
    Bilinear, Head, Layer, Mat, Memory, Mlp, Model, NUMERIC_EQ_LABEL, PAIR_F64_LABEL, Unembed,
};
use crate::ir::VsaOp;
use crate::ir::{Fun, Ir, IrOutput, NodeId, Op, Pred};
use std::collections::{BTreeMap, BTreeSet};
use tessera_lang::ast::BinOp;
use tessera_lang::kernels::cmp_vals;
use tessera_lang::span::Span;
use tessera_lang::value::Val;
use tessera_vsa::{Hv, Model as VsaModel};

/// The most dense parameters a model may have (checked before anything is allocated).
pub const MAX_PARAMS: usize = 200_000_000;

/// The most nonzero weights the VSA lowering may plan (checked before each operation allocates
/// its units, so a huge `dim` is refused instead of exhausting memory).
pub const MAX_VSA_ENTRIES: usize = 20_000_000;

/// The most rows a lookup table (a map, or a joint selector feature) may have.
pub const MAX_TABLE: usize = 100_000;

/// A map fused with the cleanup of a head's result (see `Builder::fused_map`) may take this many
/// units even where the plain map would take far fewer.
const FUSED_MAP_UNITS: usize = 1024;

/// How many evaluations per allowed table row a map may spend to find out whether it is a
/// function of a signed sum of its inputs (and so needs no table).
const LINEAR_EVALS_PER_ROW: usize = 20;

/// The size limits of a compilation (each refused with an error that names it, before the
/// memory is allocated). `tessera compile|verify|stats` set them with `--max-params`,
/// `--max-table`, `--max-head-table` and `--max-vsa-weights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphLimits {
    pub max_params: usize,
    pub max_table: usize,
    pub max_head_table: usize,
    pub max_vsa_entries: usize,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            max_params: MAX_PARAMS,
            max_table: MAX_TABLE,
            max_head_table: MAX_HEAD_TABLE,
            max_vsa_entries: MAX_VSA_ENTRIES,
        }
    }
}
/// Holds hidden units at 0 at BOS.
const BOS_GATE: f64 = 1.0e4;

#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    pub message: String,
    pub span: Span,
}

type R<T> = Result<T, CompileError>;

fn fail<T>(span: Span, message: impl Into<String>) -> R<T> {
    Err(CompileError {
        message: message.into(),
        span,
    })
}

/// One-hot features of a head's side: (residual dimension, the tuple of values it stands for).
type Features = Vec<(usize, Vec<Val>)>;

/// A node's encoding: for each value, its residual dimension.
#[derive(Debug, Clone)]
struct Enc {
    dims: Vec<(usize, Val)>,
}

/// What a head writes before its result is cleaned up, for a map that reads it in the same MLP
/// sublayer as the cleanup would run (see [`Builder::fused_map`]).
#[derive(Debug, Clone)]
enum RawView {
    /// One number (`width`, `length`, `mean`) that is within a quarter gap of one of `points`
    /// (sorted by x), the point of the node's value.
    Steps { raw: usize, points: Vec<(f64, Val)> },
    /// A noisy one-hot (`aggregate`, `best`): the node's value at least 0.75, every other at
    /// most 0.25, all in [0, 1].
    OneHot { raw: Vec<(usize, Val)> },
}

/// A map of the token alone, or of the position alone, written by the embedding (see
/// [`Builder::embedded_map`]): its value at each token or position (none where it fails).
#[derive(Debug, Clone)]
enum Embedded {
    Tokens(Vec<(Val, Option<Val>)>),
    Positions(Vec<Option<Val>>),
}

/// A memory layer to be placed after an MLP sublayer, as sparse entries.
#[derive(Debug, Clone)]
struct MemorySpec {
    label: String,
    slots: usize,
    /// (residual dim, slot, weight)
    keys: Vec<(usize, usize, f64)>,
    bias: Vec<f64>,
    /// (slot, residual dim, weight)
    values: Vec<(usize, usize, f64)>,
    tie: f64,
}

/// A hidden unit to be placed in some MLP sublayer: `relu(Σ w_i x_{d_i} + bias) `, writing
/// `Σ c_j h` to output dims.
#[derive(Debug, Clone)]
struct Unit {
    inputs: Vec<(usize, f64)>,
    bias: f64,
    outputs: Vec<(usize, f64)>,
}

/// A product unit for a bilinear sublayer: `(Σ u_i x_i + bu)(Σ v_j x_j + bv)`, writing
/// `Σ c_k h` to output dims.
#[derive(Debug, Clone)]
struct BUnit {
    u: Vec<(usize, f64)>,
    bu: f64,
    v: Vec<(usize, f64)>,
    bv: f64,
    outputs: Vec<(usize, f64)>,
}

struct Builder<'a> {
    ir: &'a Ir,
    n: usize,
    residual: Vec<String>,
    enc: BTreeMap<NodeId, Enc>,
    ready: BTreeMap<NodeId, usize>,
    /// Units per MLP sublayer (time 2L: layer L).
    units: BTreeMap<usize, Vec<(String, Unit)>>,
    /// Product units per bilinear sublayer (time 2L, beside layer L's MLP).
    bunits: BTreeMap<usize, Vec<(String, BUnit)>>,
    heads: BTreeMap<usize, Vec<Head>>,
    /// Hypervector nodes: one residual dimension per component, holding ±1 (MAP; BSC bit b as
    /// 1-2b) or a real (HRR; FHRR: the real parts, then the imaginary parts).
    hv: BTreeMap<NodeId, Vec<usize>>,
    /// Constant residual values set in every token's embedding row (not BOS's).
    token_consts: Vec<(usize, f64)>,
    /// Per-token embedding values: (token, dim, value).
    token_values: Vec<(Val, usize, f64)>,
    /// Memories per layer time (even: after that layer's MLP), as sparse entries.
    memories: BTreeMap<usize, Vec<MemorySpec>>,
    /// Sparse weights the VSA lowering has planned so far (bounded by [`MAX_VSA_ENTRIES`]).
    vsa_entries: usize,
    limits: GraphLimits,
    /// Numeric shadow dimensions, by the first dimension of the one-hot they shadow and the
    /// power of the value they hold (1: the value, 2: its square).
    shadows: BTreeMap<(usize, u32), usize>,
    /// The next id for a map the lowering splits off a fused one (see [`unfuse`]).
    next_synthetic: NodeId,
    /// The program's output node.
    out_node: NodeId,
    /// The live nodes, in the order they are lowered (computed once).
    live: Vec<NodeId>,
    /// Set when the output is a `mean` read as a number (its possible values, sorted); its
    /// encoding is then the one dimension holding the number.
    numeric_out: Option<Vec<(f64, Val)>>,
    /// Shadows of `indices` (the position embedding writes index^power there).
    indices_pow: Vec<(u32, usize)>,
    /// Heads' raw outputs by node, with the attention time that writes them.
    raw_views: BTreeMap<NodeId, (RawView, usize)>,
    /// Maps written by the embeddings, by node.
    embedded: BTreeMap<NodeId, Embedded>,
    /// Selector leaves `select(k, c, p)` against a constant that read a boolean map of `k`
    /// instead of `k` (see [`Builder::prepare_selector`]): leaf → the map.
    key_override: BTreeMap<NodeId, NodeId>,
    /// Per-position embedding values: (index, dim, value).
    position_values: Vec<(usize, usize, f64)>,
    /// Joint one-hot features built so far, by selector and side, with the MLP time that builds
    /// them: heads sharing a composite selector share its features.
    joints: BTreeMap<(NodeId, String), Vec<(usize, Features)>>,
    /// Decodings of a mean's raw output onto its one-hot whose units are built only if
    /// something reads that one-hot (see [`Builder::decode_later`]).
    lazy_decodes: Vec<LazyDecode>,
    /// Prefix sums built by [`Builder::prefix_sum_split`]: (mean, indices, the subexpression
    /// of them it stands for, over `Arg(0)` = the mean and `Arg(1)` = the position) → its node.
    prefix_sums: Vec<(NodeId, NodeId, Fun, NodeId)>,
    /// Try [`Builder::prefix_sum_split`] before a fused map (see [`ir_to_graph_with`]).
    prefer_prefix: bool,
    /// Whether a pair projection may be built for f64's rounding when f32's cannot keep its
    /// steps apart (see [`Builder::fused_pair_map`], [`ir_to_graph_with`]).
    f64_pairs: bool,
    /// What the lowering finds out by evaluation, kept for the second lowering.
    known: Known,
    /// The [`linear_form`] of each map lowered (its inputs deduplicated), read again by
    /// [`Builder::affine_parts`].
    linear_forms: BTreeMap<NodeId, Option<LinearForm>>,
    /// Residual dimensions named `%id:value` whose names are formatted once pruning has kept
    /// them (a mean's one-hot has a dimension per possible mean; most are never read).
    value_names: Vec<(usize, NodeId, Val)>,
    real: usize,
    bos: usize,
    one: usize,
}

/// Compile an (optimised) IR for a vocabulary and a maximum length, with the default limits.
pub fn ir_to_graph(ir: &Ir, vocab: &[Val], max_len: usize) -> R<Model> {
    ir_to_graph_with(ir, vocab, max_len, &GraphLimits::default())
}

/// [`ir_to_graph`] with chosen size limits.
pub fn ir_to_graph_with(ir: &Ir, vocab: &[Val], max_len: usize, limits: &GraphLimits) -> R<Model> {
    let mut known = Known::default();
    let model = build_best(ir, vocab, max_len, limits, true, &mut known)?;
    if !model.uses_f64_pairs() {
        return Ok(model);
    }
    // A pair projection kept apart only in f64 makes the whole model run in f64: taken only
    // where it saves a layer over the lowering without it.
    match build_best(ir, vocab, max_len, limits, false, &mut known) {
        Ok(other) if other.layers.len() <= model.layers.len() => Ok(other),
        _ => Ok(model),
    }
}

/// The lowering (see [`ir_to_graph_with`]), tried again with the prefix-sum path preferred
/// when some map took it, the smaller kept.
fn build_best(
    ir: &Ir,
    vocab: &[Val],
    max_len: usize,
    limits: &GraphLimits,
    f64_pairs: bool,
    known: &mut Known,
) -> R<Model> {
    let (model, prefix_sums) = build(ir, vocab, max_len, limits, false, f64_pairs, known)?;
    if !prefix_sums {
        return Ok(model);
    }
    // Some map read a prefix mean through its prefix sum (a layer more than a fused map; see
    // `Builder::prefix_sum_split`): built again with every such map taking that path, whose
    // fused alternatives then save no layer, the smaller of the two is kept.
    match build(ir, vocab, max_len, limits, true, f64_pairs, known) {
        Ok((other, _))
            if (other.layers.len(), other.params().0) < (model.layers.len(), model.params().0) =>
        {
            Ok(other)
        }
        _ => Ok(model),
    }
}

/// What a lowering finds out by evaluation that depends only on values, not on the choices it
/// makes: a second lowering ([`ir_to_graph_with`]) reuses it.
#[derive(Default)]
struct Known {
    /// The possible means of each set of integers a `mean` reads, sorted (tens of thousands
    /// of points at max_len 256; every mean over the same values shares them).
    mean_points: BTreeMap<Vec<Val>, Option<Vec<(f64, Val)>>>,
    /// [`Builder::prefix_sum_values`] by (the subexpression over (mean, position) as
    /// `Arg(0)`, `Arg(1)`; the position input's value at each index; the least and greatest
    /// value averaged).
    prefix_sums: Vec<(PrefixKey, Option<BySum>)>,
}

/// A subexpression's value at each prefix sum, and whether every (mean, position) pair with
/// that sum gave an identical value (not only an equal one: `1` and `1.0` are equal), which a
/// function of it may then be computed from.
#[derive(Clone)]
struct BySum {
    values: BTreeMap<i64, Val>,
    exact: bool,
}

impl Known {
    /// `e`'s value at every prefix sum S (see [`Builder::prefix_sum_split`]), by evaluating it at
    /// each reachable (mean, index) pair: `None` if it fails anywhere, differs between two
    /// positions for one S, or gives two sums one value.
    ///
    /// `e` reads only inputs `a` (the mean) and `b` (the position input, whose value at each
    /// index is `at`); the answer is kept in [`Known::prefix_sums`].
    fn prefix_sum_values(
        &mut self,
        n: usize,
        e: &Fun,
        a: usize,
        (b, at): (usize, &[Val]),
        lo: i64,
        hi: i64,
    ) -> Option<BTreeMap<i64, Val>> {
        let key = (over_mean_and_position(e, a, b), at.to_vec(), lo, hi);
        let same = |k: &PrefixKey| {
            identical(&k.0, &key.0)
                && k.1.len() == key.1.len()
                && k.1.iter().zip(&key.1).all(|(x, y)| same_val(x, y))
                && (k.2, k.3) == (lo, hi)
        };
        if let Some((_, found)) = self.prefix_sums.iter().find(|(k, _)| same(k)) {
            return found.as_ref().map(|f| f.values.clone());
        }
        // A function `h(x)` of a subexpression `x` already found to be a function `g` of the
        // sum is the function `h(g(S))`: evaluated once per sum, not per (mean, index) pair.
        let composed = self
            .prefix_sums
            .iter()
            .find_map(|((x, xat, xlo, xhi), by_sum)| {
                let by_sum = by_sum.as_ref().filter(|b| b.exact)?;
                if (*xlo, *xhi) != (lo, hi)
                    || xat.len() != at.len()
                    || !xat.iter().zip(at).all(|(x, y)| same_val(x, y))
                    || !contains_sub(&key.0, x)
                {
                    return None;
                }
                let (outer, outer_args) = outer_of(&key.0, x, 2);
                outer_args.is_empty().then_some((outer, &by_sum.values))
            });
        let found = match composed {
            Some((outer, by_sum)) => {
                let mut out = BTreeMap::new();
                let mut taken = BTreeSet::new();
                let mut ok = true;
                for (s, gx) in by_sum {
                    match outer.eval(std::slice::from_ref(gx)) {
                        Ok(v) if taken.insert(v.clone()) => {
                            out.insert(*s, v);
                        }
                        _ => {
                            ok = false;
                            break;
                        }
                    }
                }
                // every pair of a sum reads the same value of x, so h of it is one value too
                ok.then_some(BySum {
                    values: out,
                    exact: true,
                })
            }
            None => prefix_sum_values_of(n, &key.0, at, lo, hi),
        };
        let values = found.as_ref().map(|f| f.values.clone());
        self.prefix_sums.push((key, found));
        values
    }
}

/// [`Known::prefix_sum_values`] by evaluating `e` at every reachable (mean, index) pair.
fn prefix_sum_values_of(n: usize, e: &Fun, at: &[Val], lo: i64, hi: i64) -> Option<BySum> {
    let mut by_sum: BTreeMap<i64, Val> = BTreeMap::new();
    let mut exact = true;
    // the values taken so far: two sums with one value rule `e` out at once
    let mut taken: BTreeSet<Val> = BTreeSet::new();
    let mut args = vec![Val::Int(0); 2];
    for i in 0..n {
        let count = i as i64 + 1;
        for sum in lo * count..=hi * count {
            args[0] = Val::Float(sum as f64 / count as f64);
            args[1] = at.get(i)?.clone();
            let v = e.eval(&args).ok()?;
            match by_sum.get(&sum) {
                Some(w) if *w != v => return None,
                Some(w) => exact &= same_val(w, &v),
                None => {
                    if !taken.insert(v.clone()) {
                        return None;
                    }
                    by_sum.insert(sum, v);
                }
            }
        }
    }
    Some(BySum {
        values: by_sum,
        exact,
    })
}

/// The subexpression (over `Arg(0)`, the mean, and `Arg(1)`, the position input), the position
/// input's value at each index (by value: a node id, synthetic ones above all, may stand for
/// another node in the second lowering), and the least and greatest value averaged.
type PrefixKey = (Fun, Vec<Val>, i64, i64);

/// The lowering, with maps over a prefix mean taking the prefix-sum path before a fused map
/// when `prefer_prefix`; also returns whether any map took it.
fn build(
    ir: &Ir,
    vocab: &[Val],
    max_len: usize,
    limits: &GraphLimits,
    prefer_prefix: bool,
    f64_pairs: bool,
    cache: &mut Known,
) -> R<(Model, bool)> {
    let known = std::mem::take(cache);
    let out_node = match &ir.output {
        Some(IrOutput::Seq(n)) => *n,
        Some(IrOutput::Sel(n)) => {
            return fail(
                ir.node(*n).span,
                "a selector cannot be the output of a model",
            );
        }
        _ => {
            return fail(
                Span::default(),
                "a program with a constant result needs no model",
            );
        }
    };
    let mut b = Builder {
        ir,
        n: max_len,
        residual: vec!["one".into(), "bos".into(), "real".into()],
        enc: BTreeMap::new(),
        ready: BTreeMap::new(),
        units: BTreeMap::new(),
        bunits: BTreeMap::new(),
        heads: BTreeMap::new(),
        hv: BTreeMap::new(),
        token_consts: Vec::new(),
        token_values: Vec::new(),
        memories: BTreeMap::new(),
        vsa_entries: 0,
        limits: *limits,
        shadows: BTreeMap::new(),
        next_synthetic: SYNTHETIC_BASE,
        out_node,
        live: ir.live(),
        numeric_out: None,
        indices_pow: Vec::new(),
        raw_views: BTreeMap::new(),
        embedded: BTreeMap::new(),
        key_override: BTreeMap::new(),
        position_values: Vec::new(),
        joints: BTreeMap::new(),
        lazy_decodes: Vec::new(),
        prefix_sums: Vec::new(),
        linear_forms: BTreeMap::new(),
        prefer_prefix,
        f64_pairs,
        known,
        value_names: Vec::new(),
        one: 0,
        bos: 1,
        real: 2,
    };
    let vocab: Vec<Val> = {
        let mut v: Vec<Val> = vocab.to_vec();
        v.sort();
        v.dedup();
        v
    };
    for id in b.live.clone() {
        b.lower(id, &vocab)?;
    }
    let out_enc = b.enc.get(&out_node).cloned().ok_or_else(|| CompileError {
        message: "the output has no encoding".into(),
        span: ir.node(out_node).span,
    })?;
    let out_enc = b.prune(out_enc);
    let prefix_sums = !b.prefix_sums.is_empty();
    *cache = std::mem::take(&mut b.known);
    Ok((b.assemble(&vocab, out_enc)?, prefix_sums))
}

fn even_after(t: usize) -> usize {
    if t.is_multiple_of(2) { t + 2 } else { t + 1 }
}

fn odd_after(t: usize) -> usize {
    if t.is_multiple_of(2) { t + 1 } else { t + 2 }
}

impl Builder<'_> {
    fn dim(&mut self, label: String) -> usize {
        self.residual.push(label);
        self.residual.len() - 1
    }

    /// A dimension for node `id` holding `v`, named `%id:v` (see [`Builder::value_names`]).
    fn value_dim(&mut self, id: NodeId, v: &Val) -> usize {
        let d = self.dim(String::new());
        self.value_names.push((d, id, v.clone()));
        d
    }

    fn values(&self, id: NodeId) -> Vec<Val> {
        self.enc
            .get(&id)
            .map(|e| e.dims.iter().map(|(_, v)| v.clone()).collect())
            .unwrap_or_default()
    }

    fn add_unit(&mut self, time: usize, label: String, unit: Unit) {
        self.units.entry(time).or_default().push((label, unit));
    }

    fn add_bunit(&mut self, time: usize, label: String, unit: BUnit) {
        self.bunits.entry(time).or_default().push((label, unit));
    }

    fn lower(&mut self, id: NodeId, vocab: &[Val]) -> R<()> {
        let node = self.ir.node(id);
        let span = node.span;
        if let Op::Width { sel }
        | Op::Aggregate { sel, .. }
        | Op::Mean { sel, .. }
        | Op::Best { sel, .. } = &node.op
        {
            self.prepare_selector(*sel, span)?;
        }
        match &node.op {
            Op::Tokens => {
                let dims = vocab
                    .iter()
                    .map(|v| (self.dim(format!("tokens:{}", label(v))), v.clone()))
                    .collect();
                self.enc.insert(id, Enc { dims });
                self.ready.insert(id, 0);
            }
            Op::Indices => {
                // One set of `indices:i` dimensions, shared with `best`'s key ranking.
                let enc = self.indices_enc();
                self.enc.insert(id, enc);
                self.ready.insert(id, 0);
            }
            Op::Const(v) => {
                self.enc.insert(
                    id,
                    Enc {
                        dims: vec![(self.real, v.clone())],
                    },
                );
                self.ready.insert(id, 0);
            }
            Op::Length => {
                let t = 1;
                self.width_head(id, t, &[], &[], &|_, _| true, "length")?;
            }
            Op::Elementwise { inputs, f } => self.map(id, inputs, f, span)?,
            Op::Select { .. } | Op::SelAnd(..) | Op::SelOr(..) | Op::SelNot(_) => {}
            Op::Width { sel } => {
                if let Some((scores, ready)) = self.numeric_eq(*sel, false) {
                    let label = format!("width %{sel} {NUMERIC_EQ_LABEL}");
                    let make = |b: &Self, beta: f64, ov: &[(usize, usize, f64)]| {
                        Ok(b.numeric_eq_head(&label, &scores, beta, 0.0, ov))
                    };
                    return self.width_with(id, odd_after(ready), &make);
                }
                let (keys, queries, table) = self.selector(*sel)?;
                if let Some((kf, qf, pred, ready)) = self.additive(*sel, &keys, &queries)? {
                    let t = odd_after(ready);
                    self.width_head_with(id, t, kf, qf, &*pred, &format!("width %{sel}"))?;
                    return Ok(());
                }
                if let Some(terms) = self.disjoint_terms(*sel, &keys, &queries) {
                    return self.disjoint_width(id, *sel, terms, &keys, &queries, span);
                }
                let t = odd_after(self.features_ready(*sel, &keys, &queries)?);
                let pred = move |q: &[Val], k: &[Val]| table(q, k);
                let (kf, qf) = self.features(*sel, &keys, &queries, t - 1)?;
                self.width_head_with(id, t, kf, qf, &pred, &format!("width %{sel}"))?;
            }
            Op::Aggregate {
                sel,
                values,
                default,
            } => {
                if let Some((bsel, score, _)) = self.gather_of_best(*sel) {
                    let gather = Some((*values, default.clone()));
                    return self.best_head(id, bsel, score, None, gather, span);
                }
                let (keys, queries, table) = self.selector(*sel)?;
                let vt = *self.ready.get(values).unwrap_or(&0);
                if let Some((scores, ready)) = self.numeric_eq(*sel, true) {
                    let t = odd_after(ready.max(vt));
                    let label = format!("aggregate %{id} {NUMERIC_EQ_LABEL}");
                    let make = |b: &Self, beta: f64, ov: &[(usize, usize, f64)]| {
                        Ok(b.numeric_eq_head(&label, &scores, beta, -beta / 2.0, ov))
                    };
                    self.aggregate_with(id, t, &make, *values, default.clone(), span)?;
                    return Ok(());
                }
                if let Some((kf, qf, pred, ready)) = self.additive(*sel, &keys, &queries)? {
                    let t = odd_after(ready.max(vt));
                    self.aggregate_head(id, t, kf, qf, &*pred, *values, default.clone(), span)?;
                    return Ok(());
                }
                let t = odd_after(self.features_ready(*sel, &keys, &queries)?.max(vt));
                let (kf, qf) = self.features(*sel, &keys, &queries, t - 1)?;
                self.aggregate_head(id, t, kf, qf, &table, *values, default.clone(), span)?;
            }
            Op::Mean { sel, values } => {
                let (keys, queries, table) = self.selector(*sel)?;
                let vt = *self.ready.get(values).unwrap_or(&0);
                if let Some((kf, qf, pred, ready)) = self.additive(*sel, &keys, &queries)? {
                    let t = odd_after(ready.max(vt));
                    self.mean_head(id, t, kf, qf, &*pred, *values, span)?;
                    return Ok(());
                }
                let t = odd_after(self.features_ready(*sel, &keys, &queries)?.max(vt));
                let (kf, qf) = self.features(*sel, &keys, &queries, t - 1)?;
                self.mean_head(id, t, kf, qf, &table, *values, span)?;
            }
            Op::Best {
                sel,
                score,
                default,
            } => self.best_head(id, *sel, *score, default.clone(), None, span)?,
            Op::Vsa { op, inputs } => self.vsa(id, op, inputs, span)?,
        }
        Ok(())
    }

    /// A selector leaf `select(k, c, p)` against a constant `c` only asks, of each key, whether
    /// `p(k, c)` holds. When `k` has more than two values and a boolean map of it would be ready
    /// no later than `k` itself (fused with the cleanup of the head that computes `k`, or
    /// written by the embedding), the leaf reads that map instead (`key_override`): two key
    /// features instead of one per value of `k`, and `k`'s one-hot (a mean's thousands of
    /// possible values) may then be read by nothing and pruned. Only where the map agrees with
    /// the selector's own comparison on every value of `k`.
    fn prepare_selector(&mut self, sel: NodeId, span: Span) -> R<()> {
        let mut stack = vec![sel];
        while let Some(s) = stack.pop() {
            let (k, q, pred) = match &self.ir.node(s).op {
                Op::Select {
                    keys,
                    queries,
                    pred,
                } => (*keys, *queries, pred.clone()),
                Op::SelAnd(a, b) | Op::SelOr(a, b) => {
                    stack.extend([*a, *b]);
                    continue;
                }
                Op::SelNot(a) => {
                    stack.push(*a);
                    continue;
                }
                _ => continue,
            };
            if self.key_override.contains_key(&s) {
                continue;
            }
            let Op::Const(c) = &self.ir.node(q).op else {
                continue;
            };
            let Some(kenc) = self.enc.get(&k) else {
                continue;
            };
            if kenc.dims.len() <= 2 {
                continue;
            }
            let k_ready = *self.ready.get(&k).unwrap_or(&0);
            if self.predicted_map_time(&[k]) > k_ready {
                continue;
            }
            let f = match &pred {
                Pred::Cmp(op) => {
                    Fun::Binary(*op, Box::new(Fun::Arg(0)), Box::new(Fun::Const(c.clone())))
                }
                Pred::Fun(g) => with_query(g, c),
                Pred::True | Pred::False => continue,
            };
            let leaf = SelTree::Leaf { k: 0, q: 0, pred };
            let agrees = kenc.dims.iter().all(|(_, v)| {
                let want = leaf.eval(std::slice::from_ref(c), std::slice::from_ref(v));
                matches!(f.eval(std::slice::from_ref(v)), Ok(Val::Bool(b)) if b == want)
            });
            if !agrees {
                continue;
            }
            let sid = self.next_synthetic;
            self.next_synthetic += 1;
            // A map that cannot be built (a size limit) leaves the leaf as it is.
            if self.map(sid, &[k], &f, span).is_err() {
                continue;
            }
            if *self.ready.get(&sid).unwrap_or(&usize::MAX) <= k_ready {
                self.key_override.insert(s, sid);
            }
        }
        Ok(())
    }

    /// The key nodes, query nodes and truth table of a (composite) selector.
    #[allow(clippy::type_complexity)]
    fn selector(
        &self,
        sel: NodeId,
    ) -> R<(
        Vec<NodeId>,
        Vec<NodeId>,
        Box<dyn Fn(&[Val], &[Val]) -> bool>,
    )> {
        let mut keys: Vec<NodeId> = Vec::new();
        let mut queries: Vec<NodeId> = Vec::new();
        let mut stack = vec![sel];
        while let Some(s) = stack.pop() {
            match &self.ir.node(s).op {
                Op::Select {
                    keys: k,
                    queries: q,
                    ..
                } => {
                    let k = self.key_override.get(&s).unwrap_or(k);
                    if !keys.contains(k) {
                        keys.push(*k);
                    }
                    if !queries.contains(q) {
                        queries.push(*q);
                    }
                }
                Op::SelAnd(a, b) | Op::SelOr(a, b) => stack.extend([*a, *b]),
                Op::SelNot(a) => stack.push(*a),
                _ => return fail(self.ir.node(s).span, "not a selector"),
            }
        }
        keys.sort_unstable();
        queries.sort_unstable();
        let tree = SelTree::build(self.ir, &self.key_override, sel, &keys, &queries);
        Ok((keys, queries, Box::new(move |q, k| tree.eval(q, k))))
    }

    /// A composite selector that is an AND of comparisons (each possibly negated) needs no
    /// joint one-hot: the head's score is the sum of the comparisons' own bilinear scores,
    /// `β·Σ P_i`, which is `mβ` exactly when all `m` hold and at most `(m−1)β` otherwise; BOS gets
    /// `(m−1)β` more than a plain head gives it (extra `bos` × `one` features), so after the
    /// softmax's shift the head behaves as a single comparison with the same margin (unselected
    /// keys only score lower). That saves the MLP sublayer, and so the layer, that joint
    /// features cost. Features are tagged `[term, value]`; BOS boosts `[−j]`. `None` for a
    /// selector with an OR, a negated AND/OR, or only one node per side.
    #[allow(clippy::type_complexity)]
    fn additive(
        &self,
        sel: NodeId,
        keys: &[NodeId],
        queries: &[NodeId],
    ) -> R<
        Option<(
            Vec<(usize, Vec<Val>)>,
            Vec<(usize, Vec<Val>)>,
            Box<dyn Fn(&[Val], &[Val]) -> bool>,
            usize,
        )>,
    > {
        if keys.len() <= 1 && queries.len() <= 1 {
            return Ok(None);
        }
        let tree = SelTree::build(self.ir, &self.key_override, sel, keys, queries);
        let mut terms = Vec::new();
        if !and_terms(&tree, &mut terms) {
            return Ok(None);
        }
        self.additive_terms(terms, keys, queries).map(Some)
    }

    /// [`Self::additive`]'s head features for an AND of `terms` (in [`and_terms`]' form), and
    /// when the nodes they read are ready.
    #[allow(clippy::type_complexity)]
    fn additive_terms(
        &self,
        terms: Vec<(usize, usize, SelTree)>,
        keys: &[NodeId],
        queries: &[NodeId],
    ) -> R<(
        Vec<(usize, Vec<Val>)>,
        Vec<(usize, Vec<Val>)>,
        Box<dyn Fn(&[Val], &[Val]) -> bool>,
        usize,
    )> {
        let enc_of = |n: NodeId| {
            self.enc.get(&n).ok_or_else(|| CompileError {
                message: "a selector reads a node without an encoding".into(),
                span: self.ir.node(n).span,
            })
        };
        let mut kf = Vec::new();
        let mut qf = Vec::new();
        for (i, (ki, qi, _)) in terms.iter().enumerate() {
            let tag = Val::Int(i as i64);
            for (d, v) in &enc_of(keys[*ki])?.dims {
                kf.push((*d, vec![tag.clone(), v.clone()]));
            }
            for (d, v) in &enc_of(queries[*qi])?.dims {
                qf.push((*d, vec![tag.clone(), v.clone()]));
            }
        }
        for j in 1..terms.len() {
            let tag = Val::Int(-(j as i64));
            kf.push((self.bos, vec![tag.clone()]));
            qf.push((self.one, vec![tag]));
        }
        let ready = terms
            .iter()
            .flat_map(|(ki, qi, _)| [keys[*ki], queries[*qi]])
            .map(|n| *self.ready.get(&n).unwrap_or(&0))
            .max()
            .unwrap_or(0);
        let leaves: Vec<SelTree> = terms.into_iter().map(|(_, _, t)| t).collect();
        let pred = Box::new(move |q: &[Val], k: &[Val]| match (q.first(), k.first()) {
            (Some(Val::Int(a)), Some(Val::Int(b))) if a == b => {
                *a < 0
                    || usize::try_from(*a)
                        .ok()
                        .and_then(|i| leaves.get(i))
                        .is_some_and(|t| t.eval(&q[1..], &k[1..]))
            }
            _ => false,
        });
        Ok((kf, qf, pred, ready))
    }

    /// A selector over several key or query nodes that is an OR of AND-terms no two of which
    /// can hold at once (each pair has comparisons of the same key and query nodes that no pair
    /// of their possible values satisfies together, as `v_k > v_q` and `v_k == v_q` in a
    /// lexicographic comparison): its terms in [`and_terms`]' form. Its width is the sum of
    /// the terms' widths, each an additive head that needs no joint one-hot.
    fn disjoint_terms(
        &self,
        sel: NodeId,
        keys: &[NodeId],
        queries: &[NodeId],
    ) -> Option<Vec<Vec<(usize, usize, SelTree)>>> {
        if keys.len() <= 1 && queries.len() <= 1 {
            return None;
        }
        let tree = SelTree::build(self.ir, &self.key_override, sel, keys, queries);
        let terms = dnf(&tree, false)?;
        if terms.len() < 2 {
            return None;
        }
        let kvals: Vec<Vec<Val>> = keys.iter().map(|k| self.values(*k)).collect();
        let qvals: Vec<Vec<Val>> = queries.iter().map(|q| self.values(*q)).collect();
        let exclusive = |(k1, q1, l1): &(usize, usize, SelTree),
                         (k2, q2, l2): &(usize, usize, SelTree)| {
            k1 == k2
                && q1 == q2
                && kvals[*k1].iter().all(|kv| {
                    qvals[*q1].iter().all(|qv| {
                        let (k, q) = (std::slice::from_ref(kv), std::slice::from_ref(qv));
                        !(l1.eval(q, k) && l2.eval(q, k))
                    })
                })
        };
        for (i, a) in terms.iter().enumerate() {
            for b in &terms[i + 1..] {
                if !a.iter().any(|x| b.iter().any(|y| exclusive(x, y))) {
                    return None;
                }
            }
        }
        Some(terms)
    }

    /// `width` of a selector split into disjoint AND-terms ([`Self::disjoint_terms`]): one
    /// additive width head per term, then their sum (capped at max_len, which a sum of
    /// disjoint counts never exceeds) as one map.
    fn disjoint_width(
        &mut self,
        id: NodeId,
        sel: NodeId,
        terms: Vec<Vec<(usize, usize, SelTree)>>,
        keys: &[NodeId],
        queries: &[NodeId],
        span: Span,
    ) -> R<()> {
        let mut parts = Vec::with_capacity(terms.len());
        for (j, term) in terms.into_iter().enumerate() {
            let (kf, qf, pred, ready) = self.additive_terms(term, keys, queries)?;
            let sid = self.next_synthetic;
            self.next_synthetic += 1;
            let label = format!("width %{sel} (disjoint term {j})");
            self.width_head_with(sid, odd_after(ready), kf, qf, &*pred, &label)?;
            parts.push(sid);
        }
        let sum = (1..parts.len()).fold(Fun::Arg(0), |acc, i| {
            Fun::Binary(BinOp::Add, Box::new(acc), Box::new(Fun::Arg(i)))
        });
        let n = Fun::Const(Val::Int(self.n as i64));
        let capped = Fun::If(
            Box::new(Fun::Binary(
                BinOp::Gt,
                Box::new(sum.clone()),
                Box::new(n.clone()),
            )),
            Box::new(n),
            Box::new(sum),
        );
        self.map(id, &parts, &capped, span)
    }

    fn features_ready(&self, _sel: NodeId, keys: &[NodeId], queries: &[NodeId]) -> R<usize> {
        let r = keys
            .iter()
            .chain(queries)
            .map(|n| *self.ready.get(n).unwrap_or(&0))
            .max()
            .unwrap_or(0);
        // Joint one-hots for a side with several nodes need an MLP sublayer first.
        Ok(if keys.len() > 1 || queries.len() > 1 {
            even_after(r)
        } else {
            r
        })
    }

    /// One-hot features (dim, tuple of values) for the key and query sides, built by an MLP at
    /// `mlp_time` when a side has several nodes.
    #[allow(clippy::type_complexity)]
    fn features(
        &mut self,
        sel: NodeId,
        keys: &[NodeId],
        queries: &[NodeId],
        mlp_time: usize,
    ) -> R<(Vec<(usize, Vec<Val>)>, Vec<(usize, Vec<Val>)>)> {
        let kf = self.side(sel, "k", keys, mlp_time)?;
        let qf = self.side(sel, "q", queries, mlp_time)?;
        Ok((kf, qf))
    }

    fn side(
        &mut self,
        sel: NodeId,
        tag: &str,
        nodes: &[NodeId],
        mlp_time: usize,
    ) -> R<Vec<(usize, Vec<Val>)>> {
        let encs: Vec<Enc> = nodes
            .iter()
            .map(|n| {
                self.enc.get(n).cloned().ok_or_else(|| CompileError {
                    message: "a selector reads a node without an encoding".into(),
                    span: self.ir.node(*n).span,
                })
            })
            .collect::<R<_>>()?;
        self.joint(sel, tag, &encs, mlp_time)
    }

    /// A one-hot over the tuples of several encodings (an MLP at `mlp_time` when there is more
    /// than one), as `(dimension, tuple)` pairs.
    fn joint(
        &mut self,
        sel: NodeId,
        tag: &str,
        encs: &[Enc],
        mlp_time: usize,
    ) -> R<Vec<(usize, Vec<Val>)>> {
        if let [one] = encs {
            return Ok(one
                .dims
                .iter()
                .map(|(d, v)| (*d, vec![v.clone()]))
                .collect());
        }
        // Features another head of this selector had built by then are reused; built later,
        // they are built again (under a label that names the time).
        let key = (sel, tag.to_string());
        let built = self.joints.get(&key);
        if let Some((_, f)) = built.and_then(|b| b.iter().find(|(t, _)| *t <= mlp_time)) {
            return Ok(f.clone());
        }
        let at = if built.is_some() {
            format!("@{mlp_time}")
        } else {
            String::new()
        };
        let tuples = product(encs, self.ir.node(sel).span, self.limits.max_table)?;
        let mut out = Vec::with_capacity(tuples.len());
        for t in tuples {
            let label = format!(
                "%{sel}.{tag}{at}:({})",
                t.iter()
                    .map(|(_, v)| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let d = self.dim(label);
            let unit = Unit {
                inputs: t.iter().map(|(dim, _)| (*dim, 1.0)).collect(),
                bias: -(t.len() as f64 - 1.0),
                outputs: vec![(d, 1.0)],
            };
            self.add_unit(mlp_time, format!("joint %{sel}.{tag}"), unit);
            out.push((d, t.into_iter().map(|(_, v)| v).collect()));
        }
        self.joints
            .entry(key)
            .or_default()
            .push((mlp_time, out.clone()));
        Ok(out)
    }

    /// The encoding of `indices` (made from the position embedding's labels if no node has it).
    fn indices_enc(&mut self) -> Enc {
        let dims = (0..self.n)
            .map(|i| {
                let label = format!("indices:{i}");
                let d = match self.residual.iter().position(|l| *l == label) {
                    Some(d) => d,
                    None => self.dim(label),
                };
                (d, Val::Int(i as i64))
            })
            .collect();
        Enc { dims }
    }

    /// `best(s, score, default: d)`: the key with the highest score among the selected, ties to
    /// the lowest index. Keys are ranked by `r = rank(score)·N + (N − 1 − index)`, unique per
    /// key; the head scores `β·P + γ·r`, with `γ = ln(4(N+2)) + 2` (the best key outweighs all
    /// others together by e^γ), `β = 2γR + 2γ` (R the largest rank: any selected key beats every
    /// unselected one by more than γ), and BOS at `γR + γ` with the default (it wins only when
    /// nothing is selected). The rank is linear in the score's and the index's one-hots (key
    /// features read against the `one` dimension), so it needs no joint feature. A selector that
    /// is an AND of `m` comparisons scores `β·Σ P_i` as in [`Self::additive`] (BOS raised by
    /// `(m−1)β`), so it needs no joint feature either and the head sits in the first layer its
    /// inputs allow; any other selector reads a joint one-hot of its key nodes. The winner's
    /// index is read from its one-hot and cleaned up.
    ///
    /// `gather(best(s, score), xs, default: g)` is this head with `gather = Some((xs, g))`: the
    /// winner's `xs` is read instead of its index and BOS carries `g`, one head where the two
    /// operations would take two layers. Only when the best's own default is no position (see
    /// [`Self::gather_of_best`]), so "nothing selected" means the gather's default.
    #[allow(clippy::too_many_arguments)]
    fn best_head(
        &mut self,
        id: NodeId,
        sel: NodeId,
        score: NodeId,
        default: Option<Val>,
        gather: Option<(NodeId, Option<Val>)>,
        span: Span,
    ) -> R<()> {
        let (keys, queries, table) = self.selector(sel)?;
        let enc_of = |b: &Self, n: NodeId| {
            b.enc.get(&n).cloned().ok_or_else(|| CompileError {
                message: "best reads a node without an encoding".into(),
                span,
            })
        };
        let score_enc = enc_of(self, score)?;
        let idx_enc = self.indices_enc();
        let value_enc = match &gather {
            Some((xs, _)) => Some(enc_of(self, *xs)?),
            None => None,
        };
        let ready = keys
            .iter()
            .chain(&queries)
            .chain([&score])
            .chain(gather.as_ref().map(|(xs, _)| xs))
            .map(|n| *self.ready.get(n).unwrap_or(&0))
            .max()
            .unwrap_or(0);
        let tree = SelTree::build(self.ir, &self.key_override, sel, &keys, &queries);
        let mut terms = Vec::new();
        // Selection features: per-term one-hots tagged `[term, value]` for an AND of
        // comparisons, else joint one-hots of the key and query tuples.
        #[allow(clippy::type_complexity)]
        let (kf, qf, pred, m, t): (
            Vec<(usize, Vec<Val>)>,
            Vec<(usize, Vec<Val>)>,
            Box<dyn Fn(&[Val], &[Val]) -> bool>,
            usize,
            usize,
        ) = if and_terms(&tree, &mut terms) {
            let mut kf = Vec::new();
            let mut qf = Vec::new();
            for (i, (ki, qi, _)) in terms.iter().enumerate() {
                let tag = Val::Int(i as i64);
                for (d, v) in &enc_of(self, keys[*ki])?.dims {
                    kf.push((*d, vec![tag.clone(), v.clone()]));
                }
                for (d, v) in &enc_of(self, queries[*qi])?.dims {
                    qf.push((*d, vec![tag.clone(), v.clone()]));
                }
            }
            let m = terms.len();
            let leaves: Vec<SelTree> = terms.into_iter().map(|(_, _, t)| t).collect();
            let pred = Box::new(move |q: &[Val], k: &[Val]| match (q.first(), k.first()) {
                (Some(Val::Int(a)), Some(Val::Int(b))) if a == b => usize::try_from(*a)
                    .ok()
                    .and_then(|i| leaves.get(i))
                    .is_some_and(|t| t.eval(&q[1..], &k[1..])),
                _ => false,
            });
            (kf, qf, pred, m, odd_after(ready))
        } else {
            let t = odd_after(even_after(ready));
            let mut key_encs = Vec::new();
            for k in &keys {
                key_encs.push(enc_of(self, *k)?);
            }
            let kf = self.joint(sel, "k", &key_encs, t - 1)?;
            let qf = self.side(sel, "q", &queries, t - 1)?;
            (kf, qf, table, 1, t)
        };
        check_table(kf.len(), qf.len(), self.limits.max_head_table)?;
        let n = self.n as f64;
        let mut scores: Vec<Val> = score_enc.dims.iter().map(|(_, v)| v.clone()).collect();
        scores.sort();
        let r_max = scores.len() as f64 * n;
        let gamma = (4.0 * (n + 2.0)).ln() + 2.0;
        let beta = 2.0 * gamma * r_max + 2.0 * gamma;
        // γ·r as one weight per key dimension, read against `one`.
        let mut rank: BTreeMap<usize, f64> = BTreeMap::new();
        for (d, v) in &score_enc.dims {
            let r = scores.iter().position(|s| s == v).unwrap_or(0) as f64;
            *rank.entry(*d).or_default() += gamma * r * n;
        }
        for (d, v) in &idx_enc.dims {
            let i = v.as_f64().unwrap_or(0.0);
            *rank.entry(*d).or_default() += gamma * (n - 1.0 - i);
        }
        let (mut outs, value_dims, bos_value): (BTreeSet<Val>, Vec<(usize, Val)>, Option<Val>) =
            match (&gather, value_enc) {
                (Some((xs, g)), Some(venc)) => {
                    let outs = self.values(*xs).into_iter().collect();
                    (outs, venc.dims, g.clone())
                }
                _ => {
                    let outs = (0..self.n).map(|i| Val::Int(i as i64)).collect();
                    (outs, idx_enc.dims.clone(), default.clone())
                }
            };
        if let Some(d) = &bos_value {
            outs.insert(d.clone());
        }
        let raw = self.raw_dims(id, &outs);
        let raw_of = |v: &Val| dim_of(&raw, v);
        let mut q_entries = Vec::new();
        let mut k_entries = Vec::new();
        for (c, (kd, kt)) in kf.iter().enumerate() {
            k_entries.push((*kd, c, 1.0));
            for (qd, qt) in &qf {
                if pred(qt, kt) {
                    q_entries.push((*qd, c, beta));
                }
            }
        }
        for (j, (d, w)) in rank.iter().enumerate() {
            let c = kf.len() + j;
            k_entries.push((*d, c, 1.0));
            q_entries.push((self.one, c, *w));
        }
        let bos_col = kf.len() + rank.len();
        k_entries.push((self.bos, bos_col, 1.0));
        q_entries.push((
            self.one,
            bos_col,
            beta * (m as f64 - 1.0) + gamma * r_max + gamma,
        ));
        let mut ov: Vec<(usize, usize, f64)> = value_dims
            .iter()
            .map(|(d, v)| (*d, raw_of(v), 1.0))
            .collect();
        if let Some(d) = &bos_value {
            ov.push((self.bos, raw_of(d), 1.0));
        }
        let label = match &gather {
            Some((xs, _)) => format!("best %{id} gather %{xs}"),
            None => format!("best %{id}"),
        };
        let head = Head {
            label,
            wq: stash(&q_entries, bos_col + 1),
            wk: stash(&k_entries, bos_col + 1),
            wov: stash(&ov, 0),
        };
        self.heads.entry(t).or_default().push(head);
        self.finish_one_hot(id, &raw, &outs, t);
        Ok(())
    }

    /// `aggregate(select(indices, p, ==), xs)` (what `gather(p, xs)` lowers to) where `p` is a
    /// `best` whose default is no position (none, or an integer outside `0..max_len`): the
    /// best's selector, score and default.
    fn gather_of_best(&self, sel: NodeId) -> Option<(NodeId, NodeId, Option<Val>)> {
        let b = crate::analysis::gathered_best(self.ir, sel, Some(self.n))?;
        match &self.ir.node(b).op {
            Op::Best {
                sel: bsel,
                score,
                default,
            } => Some((*bsel, *score, default.clone())),
            _ => None,
        }
    }

    /// One residual dimension per possible value for a head's noisy one-hot output.
    fn raw_dims(&mut self, id: NodeId, outs: &BTreeSet<Val>) -> Vec<(usize, Val)> {
        outs.iter()
            .map(|v| (self.dim(format!("%{id}.raw:{}", label(v))), v.clone()))
            .collect()
    }

    /// The node's exact one-hot, cleaned up from the head's `raw` output in the MLP after the
    /// attention at `t`.
    fn finish_one_hot(&mut self, id: NodeId, raw: &[(usize, Val)], outs: &BTreeSet<Val>, t: usize) {
        self.raw_views
            .insert(id, (RawView::OneHot { raw: raw.to_vec() }, t));
        let dims: Vec<(usize, Val)> = outs
            .iter()
            .map(|v| (self.value_dim(id, v), v.clone()))
            .collect();
        let time = t + 1;
        self.cleanup(id, raw, &dims, time);
        self.enc.insert(id, Enc { dims });
        self.ready.insert(id, time);
    }

    /// Units that turn a noisy one-hot (`raw`) into an exact one (`dims`): 0 below 0.25, 1 above
    /// 0.75.
    fn cleanup(&mut self, id: NodeId, raw: &[(usize, Val)], dims: &[(usize, Val)], time: usize) {
        for ((rd, _), (od, _)) in raw.iter().zip(dims) {
            for (bias, w) in [(-0.5, 1.0), (-1.5, -1.0)] {
                self.add_unit(
                    time,
                    format!("cleanup %{id}"),
                    Unit {
                        inputs: vec![(*rd, 2.0), (self.bos, -BOS_GATE)],
                        bias,
                        outputs: vec![(*od, w)],
                    },
                );
            }
        }
    }

    fn map(&mut self, id: NodeId, inputs: &[NodeId], f: &Fun, span: Span) -> R<()> {
        // A node read twice (what map fusion leaves of `d - 1` and `d + 1` in one map) is one
        // argument: the table runs over its values once.
        if let Some((inputs, f)) = dedup_args(inputs, f) {
            return self.map(id, &inputs, &f, span);
        }
        let encs: Vec<Enc> = inputs
            .iter()
            .map(|i| {
                self.enc.get(i).cloned().ok_or_else(|| CompileError {
                    message: "a map reads a node without an encoding".into(),
                    span,
                })
            })
            .collect::<R<_>>()?;
        if self.embedded_map(id, inputs, f) {
            return Ok(());
        }
        let time = even_after(
            inputs
                .iter()
                .map(|i| *self.ready.get(i).unwrap_or(&0))
                .max()
                .unwrap_or(0),
        );
        let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW);
        let lin = linear_form(&encs, f, eval_limit);
        self.linear_forms.insert(id, lin.clone());
        // The lookup table's rows, and what the map costs in units read from exact inputs (the
        // fused map is taken when it costs at most about twice that).
        let size = encs
            .iter()
            .map(|e| e.dims.len())
            .fold(1usize, usize::saturating_mul);
        let too_large = size > self.limits.max_table;
        let cost = lin.as_ref().map_or(size, |l| 2 * l.points.len() + 1);
        // A table too large may read a prefix mean through its prefix sum: a layer more than a
        // fused map, so tried after it unless this lowering prefers it (see `ir_to_graph_with`).
        if too_large && self.prefer_prefix && self.prefix_sum_split(id, inputs, f, span)? {
            return Ok(());
        }
        if self.fused_map(id, inputs, &encs, f, cost, span)?
            || self.fused_pair_map(id, inputs, &encs, f, cost, span)?
            || self.fused_through_map(id, inputs, f, cost, span)?
        {
            return Ok(());
        }
        if too_large && !self.prefer_prefix && self.prefix_sum_split(id, inputs, f, span)? {
            return Ok(());
        }
        if let Some(lin) = lin {
            let views = inputs
                .iter()
                .zip(&encs)
                .map(|(i, e)| self.numeric_view(*i, e))
                .collect::<Option<Vec<_>>>();
            let Some(views) = views else {
                return fail(span, "internal: a linear map's input has no numeric view");
            };
            let outs: BTreeSet<Val> = lin.points.iter().map(|(_, v)| v.clone()).collect();
            let dims: Vec<(usize, Val)> = outs
                .iter()
                .map(|v| (self.value_dim(id, v), v.clone()))
                .collect();
            self.linear_map(id, &views, &lin, &dims, time);
            self.enc.insert(id, Enc { dims });
            self.ready.insert(id, time);
            return Ok(());
        }
        if too_large && let Some(split) = unfuse(&encs, f, size, eval_limit) {
            // Undo fusion where it made the table too large: the part of the function that
            // reads fewer inputs becomes its own map, read by what remains.
            self.apply_split(id, inputs, split, span)?;
            return Ok(());
        }
        let mut outs: BTreeSet<Val> = BTreeSet::new();
        let mut rows = Vec::new();
        // A tuple on which the function fails makes the interpreter fail: no output for it.
        for (t, v) in table(f, &encs, span, self.limits.max_table)? {
            if let Some(v) = v {
                outs.insert(v.clone());
                rows.push((t, v));
            }
        }
        let dims: Vec<(usize, Val)> = outs
            .iter()
            .map(|v| (self.value_dim(id, v), v.clone()))
            .collect();
        for (t, v) in rows {
            let out_dim = dim_of(&dims, &v);
            let unit = Unit {
                inputs: t.iter().map(|(d, _)| (*d, 1.0)).collect(),
                bias: -(t.len() as f64 - 1.0),
                outputs: vec![(out_dim, 1.0)],
            };
            self.add_unit(time, format!("map %{id}"), unit);
        }
        self.enc.insert(id, Enc { dims });
        self.ready.insert(id, time);
        Ok(())
    }

    /// A map whose table is too large and that reads a prefix mean `m` (the mean of integers over
    /// `select(indices, indices, <=)`) and `indices` only through a subexpression `e(m, i)` whose
    /// value, at every reachable pair, depends on the prefix sum `S = m·(i+1)` alone (as
    /// `round(m * (indices + 1))` does: at position `i` the mean is `fl(S/(i+1))`, the exact
    /// integer sum rounded once, and the product rounds back to `S`). Checked by evaluating `e`
    /// on every (S, i) with S between (i+1)·min and (i+1)·max of the values, so the rewrite is
    /// exact wherever the interpreter can be. Then `S` is built in two MLP sublayers instead of
    /// a table over every (mean, position) pair (about 2·N² gated units or more): first
    /// `y = (i+1)·raw` from the mean head's raw output, one unit pair per position gated by
    /// that position's one-hot (`y` is `S` to within `(i+1)` times the head's error, below a
    /// quarter since the head is exact to a quarter of the means' smallest gap), then a step
    /// decoding of `y` onto the integers, which the map reads (fused with that decoding when it
    /// can). Costs a layer against a fused map, so only taken when the map would not fit.
    /// Returns whether it did.
    fn prefix_sum_split(&mut self, id: NodeId, inputs: &[NodeId], f: &Fun, span: Span) -> R<bool> {
        let is_prefix_mean = |n: NodeId| -> Option<NodeId> {
            if n >= SYNTHETIC_BASE {
                return None;
            }
            let Op::Mean { sel, values } = &self.ir.node(n).op else {
                return None;
            };
            let Op::Select {
                keys,
                queries,
                pred: Pred::Cmp(BinOp::Le),
            } = &self.ir.node(*sel).op
            else {
                return None;
            };
            let indices =
                |x: &NodeId| *x < SYNTHETIC_BASE && matches!(self.ir.node(*x).op, Op::Indices);
            (indices(keys) && indices(queries)).then_some(*values)
        };
        // `indices`, or a map of it the position embedding writes: its value at each index
        let by_position = |n: NodeId| -> Option<Vec<Val>> {
            match self.embedded.get(&n) {
                Some(Embedded::Positions(rows)) => rows
                    .iter()
                    .take(self.n)
                    .cloned()
                    .collect::<Option<Vec<Val>>>(),
                Some(Embedded::Tokens(_)) => None,
                None => (n < SYNTHETIC_BASE && matches!(self.ir.node(n).op, Op::Indices))
                    .then(|| (0..self.n).map(|i| Val::Int(i as i64)).collect()),
            }
        };
        for (a, &mean) in inputs.iter().enumerate() {
            let Some(values) = is_prefix_mean(mean) else {
                continue;
            };
            let Some((b, at)) = inputs
                .iter()
                .enumerate()
                .find_map(|(b, &n)| Some((b, by_position(n)?)))
                .filter(|(_, at)| at.len() == self.n)
            else {
                continue;
            };
            let Some(ints) = self.enc.get(&values).and_then(|e| {
                e.dims
                    .iter()
                    .map(|(_, v)| val_int(v))
                    .collect::<Option<Vec<i64>>>()
            }) else {
                continue;
            };
            let (Some(&lo), Some(&hi)) = (ints.iter().min(), ints.iter().max()) else {
                continue;
            };
            let Some((RawView::Steps { raw, points }, t)) = self.raw_views.get(&mean).cloned()
            else {
                continue;
            };
            let gap = points
                .windows(2)
                .map(|w| w[1].0 - w[0].0)
                .fold(f64::INFINITY, f64::min);
            // y's error, (i+1) times the head's (below gap/4), must stay under a quarter; the check
            // evaluates every reachable pair, (hi - lo + 1)·N(N+1)/2 of them
            let pairs = (hi - lo + 1) as f64 * (self.n * (self.n + 1) / 2) as f64;
            let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW) as f64;
            if !(gap.is_finite() && (self.n as f64) * gap < 1.0)
                || lo.abs().max(hi.abs()) > 1 << 20
                || pairs > eval_limit
            {
                continue;
            }
            let mut subs = Vec::new();
            subexprs(f, &mut subs);
            for e in subs {
                let mut used = BTreeSet::new();
                args_of(e, &mut used);
                if used != BTreeSet::from([a, b]) {
                    continue;
                }
                let Some(by_sum) = self.known.prefix_sum_values(self.n, e, a, (b, &at), lo, hi)
                else {
                    continue;
                };
                let (outer, outer_args) = outer_of(f, e, inputs.len());
                if outer_args.contains(&a) {
                    continue;
                }
                let canon = over_mean_and_position(e, a, b);
                let sid = match self
                    .prefix_sums
                    .iter()
                    .find(|(m, i, g, _)| *m == mean && *i == inputs[b] && identical(g, &canon))
                {
                    Some((_, _, _, sid)) => *sid,
                    None => {
                        let sid = self.prefix_sum(mean, raw, t, &by_sum, lo, hi);
                        self.prefix_sums.push((mean, inputs[b], canon, sid));
                        sid
                    }
                };
                let mut outer_inputs: Vec<NodeId> = outer_args.iter().map(|&i| inputs[i]).collect();
                outer_inputs.push(sid);
                self.map(id, &outer_inputs, &outer, span)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The prefix-sum node of [`Self::prefix_sum_split`]: `y = (i+1)·raw` in the MLP after the
    /// mean's head (time `t + 1`), then `y` decoded onto `by_sum`'s values in the next one.
    fn prefix_sum(
        &mut self,
        mean: NodeId,
        raw: usize,
        t: usize,
        by_sum: &BTreeMap<i64, Val>,
        lo: i64,
        hi: i64,
    ) -> NodeId {
        let sid = self.next_synthetic;
        self.next_synthetic += 1;
        // gated by the position's one-hot (`indices:i`, written by the position embedding)
        let positions = self.indices_enc();
        let y = self.dim(format!("%{sid}.y"));
        // |(i+1)·raw| stays below N·max|value| + 1 (raw is a mean, within a quarter gap of one)
        let reach = self.n as f64 * (lo.abs().max(hi.abs()) as f64 + 1.0);
        let gate = BOS_GATE.max(2.0 * reach + 2.0);
        for (d, v) in &positions.dims {
            let Some(i) = val_int(v) else {
                continue;
            };
            let k = (i + 1) as f64;
            for sign in [1.0, -1.0] {
                self.add_unit(
                    t + 1,
                    format!("prefix sum %{sid} of %{mean}"),
                    Unit {
                        inputs: vec![(raw, sign * k), (*d, gate)],
                        bias: -gate,
                        outputs: vec![(y, sign)],
                    },
                );
            }
        }
        let points: Vec<(f64, Val)> = by_sum.iter().map(|(s, v)| (*s as f64, v.clone())).collect();
        let time = t + 3;
        let enc = self.decode(sid, y, &points, time);
        self.enc.insert(sid, enc);
        self.ready.insert(sid, time);
        self.raw_views
            .insert(sid, (RawView::Steps { raw: y, points }, time - 1));
        sid
    }

    /// A map whose inputs are all the token (`tokens`, or maps the token embedding writes), or all
    /// the position (`indices`, or maps the position embedding writes): its one-hot is written
    /// by that embedding, `f` evaluated at each token or position, and needs no MLP units and
    /// no layer (RASP counts such maps as free too). Returns whether it did.
    fn embedded_map(&mut self, id: NodeId, inputs: &[NodeId], f: &Fun) -> bool {
        #[derive(PartialEq)]
        enum Side {
            Token,
            Position,
        }
        let side = |b: &Self, n: NodeId| -> Option<Side> {
            if n >= SYNTHETIC_BASE {
                return match b.embedded.get(&n)? {
                    Embedded::Tokens(_) => Some(Side::Token),
                    Embedded::Positions(_) => Some(Side::Position),
                };
            }
            match (&b.ir.node(n).op, b.embedded.get(&n)) {
                (Op::Tokens, _) | (_, Some(Embedded::Tokens(_))) => Some(Side::Token),
                (Op::Indices, _) | (_, Some(Embedded::Positions(_))) => Some(Side::Position),
                _ => None,
            }
        };
        let Some(first) = inputs.first().and_then(|&n| side(self, n)) else {
            return false;
        };
        if !inputs
            .iter()
            .all(|&n| side(self, n).as_ref() == Some(&first))
        {
            return false;
        }
        // An input's value at token t (or position p).
        let token_value = |b: &Self, n: NodeId, t: &Val| -> Option<Val> {
            match b.embedded.get(&n) {
                Some(Embedded::Tokens(rows)) => rows
                    .iter()
                    .find(|(u, _)| u == t)
                    .and_then(|(_, v)| v.clone()),
                _ => Some(t.clone()),
            }
        };
        let position_value = |b: &Self, n: NodeId, p: usize| -> Option<Val> {
            match b.embedded.get(&n) {
                Some(Embedded::Positions(rows)) => rows.get(p).cloned().flatten(),
                _ => Some(Val::Int(p as i64)),
            }
        };
        let at = |args: Option<Vec<Val>>| args.and_then(|a| f.eval(&a).ok());
        let embedded = match first {
            Side::Token => {
                let tokens: Vec<Val> =
                    match inputs.iter().find_map(|n| match self.embedded.get(n) {
                        Some(Embedded::Tokens(rows)) => {
                            Some(rows.iter().map(|(t, _)| t.clone()).collect())
                        }
                        _ => None,
                    }) {
                        Some(t) => t,
                        None => self.values_of_tokens(inputs),
                    };
                Embedded::Tokens(
                    tokens
                        .into_iter()
                        .map(|t| {
                            let args: Option<Vec<Val>> =
                                inputs.iter().map(|&n| token_value(self, n, &t)).collect();
                            let v = at(args);
                            (t, v)
                        })
                        .collect(),
                )
            }
            Side::Position => Embedded::Positions(
                (0..self.n)
                    .map(|p| {
                        let args: Option<Vec<Val>> =
                            inputs.iter().map(|&n| position_value(self, n, p)).collect();
                        at(args)
                    })
                    .collect(),
            ),
        };
        let outs: BTreeSet<Val> = match &embedded {
            Embedded::Tokens(rows) => rows.iter().filter_map(|(_, v)| v.clone()).collect(),
            Embedded::Positions(rows) => rows.iter().flatten().cloned().collect(),
        };
        let dims: Vec<(usize, Val)> = outs
            .iter()
            .map(|v| (self.value_dim(id, v), v.clone()))
            .collect();
        match &embedded {
            Embedded::Tokens(rows) => {
                for (t, v) in rows {
                    if let Some(v) = v {
                        self.token_values.push((t.clone(), dim_of(&dims, v), 1.0));
                    }
                }
            }
            Embedded::Positions(rows) => {
                for (p, v) in rows.iter().enumerate() {
                    if let Some(v) = v {
                        self.position_values.push((p, dim_of(&dims, v), 1.0));
                    }
                }
            }
        }
        self.embedded.insert(id, embedded);
        self.enc.insert(id, Enc { dims });
        self.ready.insert(id, 0);
        true
    }

    /// The vocabulary (the values of a `tokens` node among `inputs`).
    fn values_of_tokens(&self, inputs: &[NodeId]) -> Vec<Val> {
        inputs
            .iter()
            .find(|&&n| n < SYNTHETIC_BASE && matches!(self.ir.node(n).op, Op::Tokens))
            .map(|&n| self.values(n))
            .unwrap_or_default()
    }

    /// A map one of whose inputs (`h`) is a head's result still being cleaned up in the MLP
    /// sublayer after that head, every other input ready before the head: the map is computed
    /// in that same sublayer from the head's raw output (see [`RawView`]), which saves the
    /// layer the map would otherwise wait for. The other inputs are exact one-hots; for each
    /// tuple `o` of their values a unit gate `G·(Σ o − |o|)` (0 when the tuple holds, at most
    /// `−G` otherwise) switches the tuple's units off unless it holds.
    /// - `Steps` (a number within a quarter gap of a point): as [`Self::decode`], with the
    ///   output one-hot `f(point, o)`: one unit for the first point and two per point where `f`
    ///   changes, each tuple's units gated by the tuple. Exact for the same reason as `decode`.
    /// - `OneHot` (the value at least 0.75, the others at most 0.25): for each tuple `(v, o)`
    ///   two units `relu(2s − 0.5) − relu(2s − 1.5)` with `s = raw_v + Σ o − |o|`, which is 1
    ///   when `s ≥ 0.75` (all hold) and 0 when `s ≤ 0.25` (any fails), writing `f(v, o)`.
    ///
    /// A tuple on which `f` fails writes nothing (the interpreter fails there). Taken only
    /// when exactly one input is such a head's result, the unit count is within the table
    /// limit, and it is at most [`FUSED_MAP_UNITS`] or twice `cost` (the units the plain map
    /// would take), so that saving a layer does not multiply a large model's size (`reverse`
    /// keeps its step-function map from max_len 23 on). Returns whether it did.
    fn fused_map(
        &mut self,
        id: NodeId,
        inputs: &[NodeId],
        encs: &[Enc],
        f: &Fun,
        cost: usize,
        span: Span,
    ) -> R<bool> {
        let Some((h, t)) = self.fusable_head(inputs) else {
            return Ok(false);
        };
        let Some((view, _)) = self.raw_views.get(&inputs[h]).cloned() else {
            return Ok(false);
        };
        let others: Vec<Enc> = (0..inputs.len())
            .filter(|&i| i != h)
            .map(|i| encs[i].clone())
            .collect();
        let tuples: usize = others
            .iter()
            .map(|e| e.dims.len())
            .fold(1usize, usize::saturating_mul);
        let h_values = match &view {
            RawView::Steps { points, .. } => points.len(),
            RawView::OneHot { raw } => raw.len(),
        };
        let budget = self
            .limits
            .max_table
            .min(cost.saturating_mul(2).max(FUSED_MAP_UNITS));
        // The table is evaluated (at most the evaluation limit) to count the units exactly:
        // steps only where f changes, so `round(b * (i + 1))` over a mean `b` takes about two
        // units per value of the result and index, not per (point, index).
        let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW);
        if tuples.saturating_mul(h_values) > eval_limit {
            return match self.best_split(inputs, encs, f, h, t, budget) {
                Some((_, s)) => self.apply_split(id, inputs, s, span),
                None => Ok(false),
            };
        }
        // A split that costs fewer units wins (it also spares the other inputs' one-hots); with
        // few tuples of the others there is little to spare, and one is looked for only when
        // the table is over budget. Otherwise the split is found first, and the table is
        // evaluated only until it costs more than the split.
        let few_tuples = tuples <= 16;
        let early_split = if few_tuples {
            None
        } else {
            self.best_split(inputs, encs, f, h, t, budget)
        };
        let limit = early_split
            .as_ref()
            .map_or(budget, |(su, _)| budget.min(*su));
        let tuples = product(&others, span, eval_limit)?;
        let mut outs: BTreeSet<Val> = BTreeSet::new();
        let mut table: Vec<Vec<Option<Val>>> = Vec::with_capacity(tuples.len());
        let h_vals: Vec<Val> = match &view {
            RawView::Steps { points, .. } => points.iter().map(|(_, v)| v.clone()).collect(),
            RawView::OneHot { raw } => raw.iter().map(|(_, v)| v.clone()).collect(),
        };
        // f's value at each value of h and each tuple of the others (in input order), row by
        // row (f specialised to the row's tuple first), until the units pass the limit.
        let mut units = 0usize;
        let mut args: Vec<Val> = vec![Val::None; inputs.len()];
        for o in &tuples {
            let row_f = specialize_row(f, o, h);
            let row: Vec<Option<Val>> = h_vals
                .iter()
                .map(|hv| {
                    args[h] = hv.clone();
                    row_f.eval(&args).ok()
                })
                .collect();
            units = units.saturating_add(match &view {
                RawView::Steps { .. } => 1 + 2 * row.windows(2).filter(|w| w[0] != w[1]).count(),
                RawView::OneHot { .. } => 2 * row.iter().flatten().count(),
            });
            // a row is a step function of h: each run of equal values is inserted once
            // (runs by the set's own order: `==` would merge -0.0 and 0.0, which it keeps)
            let mut last: Option<&Val> = None;
            for v in row.iter().flatten() {
                if last.is_none_or(|l| l.total_cmp(v) != std::cmp::Ordering::Equal) {
                    outs.insert(v.clone());
                    last = Some(v);
                }
            }
            table.push(row);
            if units > limit {
                break;
            }
        }
        let split = match early_split {
            None if few_tuples && units > budget => self.best_split(inputs, encs, f, h, t, budget),
            found => found,
        };
        match split {
            Some((su, s)) if su < units || units > budget => {
                return self.apply_split(id, inputs, s, span);
            }
            _ if units > budget => return Ok(false),
            _ => {}
        }
        let dims: Vec<(usize, Val)> = outs
            .iter()
            .map(|v| (self.value_dim(id, v), v.clone()))
            .collect();
        let time = t + 1;
        let name = format!("map %{id} (fused with %{})", inputs[h]);
        // What a step unit's input could reach (see `decode`).
        let reach = match &view {
            RawView::Steps { points, .. } => {
                points.iter().map(|p| p.0.abs()).fold(1.0, f64::max) + 1.0
            }
            RawView::OneHot { .. } => 1.0,
        };
        for (o, row) in tuples.iter().zip(&table) {
            let k = o.len() as f64;
            match &view {
                RawView::Steps { raw, points } => {
                    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
                    self.gated_steps(time, &name, &[(*raw, 1.0)], &xs, row, o, &dims, reach);
                }
                RawView::OneHot { raw } => {
                    for ((rd, _), v) in raw.iter().zip(row) {
                        let Some(v) = v else { continue };
                        let out = dim_of(&dims, v);
                        for (bias, w) in [(-0.5, 1.0), (-1.5, -1.0)] {
                            let mut inputs = vec![(*rd, 2.0), (self.bos, -BOS_GATE)];
                            inputs.extend(o.iter().map(|(d, _)| (*d, 2.0)));
                            self.add_unit(
                                time,
                                name.clone(),
                                Unit {
                                    inputs,
                                    bias: bias - 2.0 * k,
                                    outputs: vec![(out, w)],
                                },
                            );
                        }
                    }
                }
            }
        }
        self.enc.insert(id, Enc { dims });
        self.ready.insert(id, time);
        Ok(true)
    }

    /// A map of two head results still being cleaned up (two widths, means or counts attended
    /// in the same layer; `target = width(a) + width(b)` of a lexicographic sort), and possibly
    /// of inputs ready before those heads, computed from the two raw numbers in the MLP
    /// sublayer that cleans them up, saving the layer the map would wait for.
    ///
    /// One hidden layer cannot decode two numbers separately and then combine them, but it can
    /// read any function of one projection: `ℓ = a·x + b·y` with `b` (or `a`) so large that
    /// every pair of points `(x_i, y_j)` lands on its own value of `ℓ` (ordered by `y`, then by
    /// `x`: consecutive values at least the least gap of the first coordinate apart). The map is
    /// then steps over the sorted values of `ℓ`, as [`Self::gated_steps`] for one number.
    /// Exact where each raw number is its point to within `2^-20` of its largest magnitude and
    /// that error, projected, stays under a quarter of the least gap of `ℓ`: the heads behind
    /// these views attend with `β ≥` [`EXACT_BETA`], so they read their point up to rounding
    /// (a width exactly `1/(m+1)`), and the projection is refused otherwise. Taken within the
    /// same unit budget as [`Self::fused_map`]. Where f32's rounding cannot keep the steps
    /// apart, the projection is built for f64's ([`PAIR_RAW_TOLERANCE_F64`], within
    /// [`FUSED_MAP_UNITS`]) and its units labelled [`PAIR_F64_LABEL`], which makes the model
    /// run in f64 (`sort` is 2 layers up to max_len 30, in f64 from 23). Returns
    /// whether it did.
    fn fused_pair_map(
        &mut self,
        id: NodeId,
        inputs: &[NodeId],
        encs: &[Enc],
        f: &Fun,
        cost: usize,
        span: Span,
    ) -> R<bool> {
        let Some((pending, t)) = self.pending_heads(inputs) else {
            return Ok(false);
        };
        let [h1, h2] = pending[..] else {
            return Ok(false);
        };
        let view = |i: usize| match self.raw_views.get(&inputs[i]) {
            Some((RawView::Steps { raw, points }, _)) => Some((*raw, points.clone())),
            _ => None,
        };
        let (Some((r1, p1)), Some((r2, p2))) = (view(h1), view(h2)) else {
            return Ok(false);
        };
        // f32's rounding if it keeps the steps apart, else f64's (the model then runs in f64)
        let (proj, f64_only) = match pair_projection(&p1, &p2, PAIR_RAW_TOLERANCE) {
            Some(proj) => (proj, false),
            None if self.f64_pairs => match pair_projection(&p1, &p2, PAIR_RAW_TOLERANCE_F64) {
                Some(proj) => (proj, true),
                None => return Ok(false),
            },
            None => return Ok(false),
        };
        let others: Vec<Enc> = (0..inputs.len())
            .filter(|&i| i != h1 && i != h2)
            .map(|i| encs[i].clone())
            .collect();
        // (a map that makes the model f64 is taken only while it stays small)
        let budget = if f64_only {
            self.limits.max_table.min(FUSED_MAP_UNITS)
        } else {
            self.limits
                .max_table
                .min(cost.saturating_mul(2).max(FUSED_MAP_UNITS))
        };
        let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW);
        let rows = others
            .iter()
            .map(|e| e.dims.len())
            .fold(1usize, usize::saturating_mul);
        // Each tuple of the other inputs gates its own steps: a total part of `f` over other
        // inputs only, ready before the heads (`m == 0` of a mean decoded a layer earlier), is
        // split off first when the rest then has fewer tuples (shuffle_dyck2's
        // `w1 == 0 and t1 == 0 and w2 == 0 and t2 == 0` gates by two booleans, not by every
        // pair of totals).
        if rows > 1 {
            let early = |sub_args: &[usize]| {
                let nodes: Vec<NodeId> = sub_args.iter().map(|&i| inputs[i]).collect();
                !sub_args.contains(&h1)
                    && !sub_args.contains(&h2)
                    && self.predicted_map_time(&nodes) < t
            };
            let best = splits(encs, f, eval_limit, &early)
                .into_iter()
                .map(|(split, values, _)| {
                    let outer_rows = split
                        .outer_args
                        .iter()
                        .filter(|&&i| i != h1 && i != h2)
                        .map(|&i| encs[i].dims.len())
                        .fold(values, usize::saturating_mul);
                    (outer_rows, split)
                })
                .filter(|(outer_rows, _)| *outer_rows < rows)
                .min_by_key(|(outer_rows, _)| *outer_rows);
            if let Some((_, split)) = best {
                return self.apply_split(id, inputs, split, span);
            }
        }
        if rows.saturating_mul(proj.order.len()) > eval_limit {
            return Ok(false);
        }
        let tuples = product(&others, span, eval_limit)?;
        let mut outs: BTreeSet<Val> = BTreeSet::new();
        let mut table: Vec<Vec<Option<Val>>> = Vec::with_capacity(tuples.len());
        let mut units = 0usize;
        for o in &tuples {
            // f with the tuple's values in place, the two heads' arguments left free
            let mut known: Vec<Option<Val>> = Vec::with_capacity(inputs.len());
            let mut rest = o.iter();
            for i in 0..inputs.len() {
                known.push(if i == h1 || i == h2 {
                    None
                } else {
                    rest.next().map(|(_, v)| v.clone())
                });
            }
            let row_f = f.specialize(&known);
            let mut args: Vec<Val> = vec![Val::None; inputs.len()];
            let row: Vec<Option<Val>> = proj
                .order
                .iter()
                .map(|&(_, i, j)| {
                    args[h1] = p1[i].1.clone();
                    args[h2] = p2[j].1.clone();
                    row_f.eval(&args).ok()
                })
                .collect();
            units = units.saturating_add(1 + 2 * row.windows(2).filter(|w| w[0] != w[1]).count());
            outs.extend(row.iter().flatten().cloned());
            table.push(row);
            if units > budget {
                return Ok(false);
            }
        }
        let dims: Vec<(usize, Val)> = outs
            .iter()
            .map(|v| (self.value_dim(id, v), v.clone()))
            .collect();
        let time = t + 1;
        let mut name = format!("map %{id} (fused with %{} and %{})", inputs[h1], inputs[h2]);
        if f64_only {
            name = format!("{name} {PAIR_F64_LABEL}");
        }
        let terms = [(r1, proj.a), (r2, proj.b)];
        let xs: Vec<f64> = proj.order.iter().map(|p| p.0).collect();
        for (o, row) in tuples.iter().zip(&table) {
            self.gated_steps(time, &name, &terms, &xs, row, o, &dims, proj.reach);
        }
        self.enc.insert(id, Enc { dims });
        self.ready.insert(id, time);
        Ok(true)
    }

    /// A map that reads a head result still being cleaned up and a map fused with another
    /// head of the same layer (`shuffle_dyck2`'s `d1 and (w2 == 0 and t2 == 0)`, with
    /// `d1 = w1 == 0 and t1 == 0` fused with `w1`'s head): composed with that map, it reads the
    /// two head results, and [`Self::fused_pair_map`] computes it in the same MLP sublayer
    /// instead of the next layer's (the optimiser fuses maps of at most three inputs; this
    /// composition happens only where it saves that layer). At most four inputs once composed.
    /// Returns whether it did.
    fn fused_through_map(
        &mut self,
        id: NodeId,
        inputs: &[NodeId],
        f: &Fun,
        cost: usize,
        span: Span,
    ) -> R<bool> {
        let readies: Vec<usize> = inputs
            .iter()
            .map(|n| *self.ready.get(n).unwrap_or(&0))
            .collect();
        let Some(&last) = readies.iter().max() else {
            return Ok(false);
        };
        for (i, &c) in inputs.iter().enumerate() {
            if readies[i] != last || self.raw_views.contains_key(&c) {
                continue;
            }
            // (synthetic nodes, split off during lowering, are not in the IR)
            let Some(Op::Elementwise {
                inputs: g_inputs,
                f: g,
            }) = self.ir.nodes.get(c).map(|n| &n.op)
            else {
                continue;
            };
            // f's other inputs in order, then g's (shared ones once)
            let mut merged: Vec<NodeId> = inputs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &x)| x)
                .collect();
            let g_at: Vec<usize> = g_inputs
                .iter()
                .map(|x| {
                    merged.iter().position(|m| m == x).unwrap_or_else(|| {
                        merged.push(*x);
                        merged.len() - 1
                    })
                })
                .collect();
            if merged.len() > 4 || merged.iter().any(|m| !self.enc.contains_key(m)) {
                continue;
            }
            match self.pending_heads(&merged) {
                Some((pending, _)) if pending.len() == 2 => {}
                _ => continue,
            }
            let inner = g.subst(&|j| Fun::Arg(g_at.get(j).copied().unwrap_or(j)));
            let composed = f.subst(&|j| match j.cmp(&i) {
                std::cmp::Ordering::Less => Fun::Arg(j),
                std::cmp::Ordering::Equal => inner.clone(),
                std::cmp::Ordering::Greater => Fun::Arg(j - 1),
            });
            let encs: Vec<Enc> = merged
                .iter()
                .filter_map(|m| self.enc.get(m).cloned())
                .collect();
            if self.fused_pair_map(id, &merged, &encs, &composed, cost, span)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The units of one row of a fused map read through steps (see [`Self::fused_map`]): the
    /// row's value at the first point, then two units per change of `row` between consecutive
    /// points (`xs`, ascending), switching halfway between them, all gated by the tuple `o`
    /// (every one of its dims on). A unit reads `Σ c·x_d` over `terms` as the point's
    /// coordinate; `reach` bounds that sum at BOS.
    #[allow(clippy::too_many_arguments)]
    fn gated_steps(
        &mut self,
        time: usize,
        name: &str,
        terms: &[(usize, f64)],
        xs: &[f64],
        row: &[Option<Val>],
        o: &Tuple,
        dims: &[(usize, Val)],
        reach: f64,
    ) {
        let k = o.len() as f64;
        if let Some(Some(v)) = row.first() {
            let mut inputs: Vec<(usize, f64)> = o.iter().map(|(d, _)| (*d, 1.0)).collect();
            if o.is_empty() {
                inputs.push((self.real, 1.0));
            }
            inputs.push((self.bos, -BOS_GATE));
            self.add_unit(
                time,
                name.to_string(),
                Unit {
                    inputs,
                    bias: if o.is_empty() { 0.0 } else { -(k - 1.0) },
                    outputs: vec![(dim_of(dims, v), 1.0)],
                },
            );
        }
        for j in 0..xs.len().min(row.len()).saturating_sub(1) {
            if row[j] == row[j + 1] {
                continue;
            }
            let (xj, xk) = (xs[j], xs[j + 1]);
            let tj = (xj + xk) / 2.0;
            let slope = 2.0 / (xk - xj);
            let mut plus: Vec<(usize, f64)> = Vec::new();
            if let Some(v) = &row[j + 1] {
                plus.push((dim_of(dims, v), 1.0));
            }
            if let Some(v) = &row[j] {
                plus.push((dim_of(dims, v), -1.0));
            }
            let minus: Vec<(usize, f64)> = plus.iter().map(|(d, c)| (*d, -c)).collect();
            for (bias, outputs) in [(-slope * tj + 0.5, plus), (-slope * tj - 0.5, minus)] {
                let gate = BOS_GATE.max(slope * reach + bias.abs() + 1.0);
                let mut inputs: Vec<(usize, f64)> =
                    terms.iter().map(|(d, c)| (*d, slope * c)).collect();
                inputs.push((self.bos, -gate));
                inputs.extend(o.iter().map(|(d, _)| (*d, gate)));
                self.add_unit(
                    time,
                    name.to_string(),
                    Unit {
                        inputs,
                        bias: bias - gate * k,
                        outputs,
                    },
                );
            }
        }
    }

    /// A fused map whose other inputs have too many values (`if w > 0 then "F" else if b == 0
    /// then "T" else "P"` with `b` a mean of thousands of values): a total subexpression over
    /// other inputs only (`b == 0`) is split off as its own map when it will be ready before the
    /// head (computed early, or itself fused with an earlier head's cleanup), so the rest reads
    /// its few values instead and fuses within `budget`. The cheapest such split, with its
    /// estimated units (an upper bound: two per value of `h` and tuple of the rest's other
    /// inputs); `None` when there is none.
    #[allow(clippy::too_many_arguments)]
    fn best_split(
        &self,
        inputs: &[NodeId],
        encs: &[Enc],
        f: &Fun,
        h: usize,
        t: usize,
        budget: usize,
    ) -> Option<(usize, Split)> {
        let h_values = encs[h].dims.len().max(1);
        let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW);
        // Over other inputs only, and ready before the head's attention (computed in an
        // earlier MLP sublayer).
        let early = |sub_args: &[usize]| {
            let nodes: Vec<NodeId> = sub_args.iter().map(|&i| inputs[i]).collect();
            !sub_args.contains(&h) && self.predicted_map_time(&nodes) < t
        };
        splits(encs, f, eval_limit, &early)
            .into_iter()
            .map(|(split, values, _)| {
                let units = split
                    .outer_args
                    .iter()
                    .filter(|&&i| i != h)
                    .map(|&i| encs[i].dims.len())
                    .fold(values, usize::saturating_mul)
                    .saturating_mul(2 * h_values);
                (units, split)
            })
            .filter(|(units, _)| *units <= budget)
            .min_by_key(|(units, _)| *units)
    }

    /// Lower `f` as the split-off map and the rest reading it (see [`Self::best_split`]).
    fn apply_split(&mut self, id: NodeId, inputs: &[NodeId], split: Split, span: Span) -> R<bool> {
        let sid = self.next_synthetic;
        self.next_synthetic += 1;
        let sub_inputs: Vec<NodeId> = split.sub_args.iter().map(|&i| inputs[i]).collect();
        self.map(sid, &sub_inputs, &split.sub, span)?;
        let mut outer_inputs: Vec<NodeId> = split.outer_args.iter().map(|&i| inputs[i]).collect();
        outer_inputs.push(sid);
        self.map(id, &outer_inputs, &split.outer, span)?;
        Ok(true)
    }

    /// When a map of `inputs` would be ready: in the MLP sublayer of the head whose result it
    /// would be fused with (see [`Self::fused_map`]), else in the first MLP sublayer after its
    /// inputs.
    fn predicted_map_time(&self, inputs: &[NodeId]) -> usize {
        let last = inputs
            .iter()
            .map(|n| *self.ready.get(n).unwrap_or(&0))
            .max()
            .unwrap_or(0);
        match self.fusable_head(inputs) {
            Some(_) => last,
            None => even_after(last),
        }
    }

    /// The one input of a map that is a head's result still being cleaned up (its index and
    /// the head's attention time), when every other input is ready before that head: what
    /// [`Self::fused_map`] can read in the cleanup's own MLP sublayer.
    fn fusable_head(&self, inputs: &[NodeId]) -> Option<(usize, usize)> {
        match self.pending_heads(inputs)? {
            (pending, t) if pending.len() == 1 => Some((pending[0], t)),
            _ => None,
        }
    }

    /// The inputs of a map that are head results still being cleaned up, all attended at the
    /// same time `t` (their indices and `t`), when every other input is ready before those
    /// heads.
    fn pending_heads(&self, inputs: &[NodeId]) -> Option<(Vec<usize>, usize)> {
        let ready_of = |n: &NodeId| *self.ready.get(n).unwrap_or(&0);
        let last = inputs.iter().map(ready_of).max()?;
        let pending: Vec<usize> = (0..inputs.len())
            .filter(|&i| {
                self.raw_views
                    .get(&inputs[i])
                    .is_some_and(|(_, t)| t + 1 == last && ready_of(&inputs[i]) == last)
            })
            .collect();
        let t = self.raw_views.get(&inputs[*pending.first()?])?.1;
        if (0..inputs.len()).any(|i| !pending.contains(&i) && ready_of(&inputs[i]) > t) {
            return None;
        }
        Some((pending, t))
    }

    /// A map `f(a, b, …) = g(±a ± b …)` over integers as step functions of the signed sum
    /// (see [`linear_form`]): every unit reads the inputs' one-hots with weights `k·sign·value`,
    /// so it sees the exact integer sum; step `j` (two ReLUs of slope `k = 2/gap`) moves the
    /// output one-hot from `g(s_j)` to `g(s_{j+1})` when the sum passes halfway between them, and
    /// steps where `g` does not change are left out. Exact for every sum the inputs can form.
    fn linear_map(
        &mut self,
        id: NodeId,
        views: &[NumView],
        lin: &LinearForm,
        dims: &[(usize, Val)],
        time: usize,
    ) {
        let Some((_, first)) = lin.points.first() else {
            return;
        };
        // The first point's value, at every real position.
        self.add_unit(
            time,
            format!("map %{id} (linear)"),
            Unit {
                inputs: vec![(self.real, 1.0)],
                bias: 0.0,
                outputs: vec![(dim_of(dims, first), 1.0)],
            },
        );
        // What the weighted inputs could reach at BOS.
        let reach: f64 = views.iter().map(|v| v.reach).sum();
        for pair in lin.points.windows(2) {
            let [(s0, g0), (s1, g1)] = pair else {
                continue;
            };
            if g0 == g1 {
                continue;
            }
            let (s0, s1) = (*s0 as f64, *s1 as f64);
            let k = 2.0 / (s1 - s0);
            let t = (s0 + s1) / 2.0;
            let mut inputs: Vec<(usize, f64)> = Vec::new();
            for (view, sign) in views.iter().zip(&lin.signs) {
                for (d, w) in &view.terms {
                    inputs.push((*d, k * sign * w));
                }
            }
            let plus: Vec<(usize, f64)> = vec![(dim_of(dims, g1), 1.0), (dim_of(dims, g0), -1.0)];
            let minus: Vec<(usize, f64)> = plus.iter().map(|(d, c)| (*d, -c)).collect();
            for (bias, outputs) in [(-k * t + 0.5, plus), (-k * t - 0.5, minus)] {
                let gate = BOS_GATE.max(k * reach + bias.abs() + 1.0);
                let mut inputs = inputs.clone();
                inputs.push((self.bos, -gate));
                self.add_unit(
                    time,
                    format!("map %{id} (linear)"),
                    Unit {
                        inputs,
                        bias,
                        outputs,
                    },
                );
            }
        }
    }

    /// Residual terms whose weighted sum is an integer node's value at every real position.
    /// A node with more than two values gets a numeric shadow dimension (`%id#num`), written by
    /// the same embeddings or MLP units that write its one-hot (one more output weight each),
    /// so a reader needs one weight instead of one per value. `None` for non-integer values or
    /// a one-hot written by something other than an embedding or MLP units.
    fn numeric_view(&mut self, id: NodeId, enc: &Enc) -> Option<NumView> {
        self.power_view(id, enc, 1)
    }

    /// [`Self::numeric_view`] of the value raised to `power` (1 or 2; the square is what a
    /// numeric equality head needs): the shadow `%id#num` or `%id#sq`.
    fn power_view(&mut self, id: NodeId, enc: &Enc, power: u32) -> Option<NumView> {
        let values: Vec<(usize, f64)> = enc
            .dims
            .iter()
            .map(|(d, v)| val_int(v).map(|x| (*d, (x as f64).powi(power as i32))))
            .collect::<Option<_>>()?;
        let max_abs = values.iter().map(|(_, x)| x.abs()).fold(0.0, f64::max);
        if values.len() <= 2 {
            return Some(NumView {
                terms: values.clone(),
                reach: values.iter().map(|(_, x)| x.abs()).sum(),
            });
        }
        let key = (values[0].0, power);
        if let Some(&d) = self.shadows.get(&key) {
            return Some(NumView {
                terms: vec![(d, 1.0)],
                reach: max_abs,
            });
        }
        let suffix = if power == 1 { "num" } else { "sq" };
        if let Some(e) = self.embedded.get(&id).cloned() {
            let d = self.dim(format!("%{id}#{suffix}"));
            let pow = |v: &Val| val_int(v).map(|x| (x as f64).powi(power as i32));
            match e {
                Embedded::Tokens(rows) => {
                    for (t, v) in rows {
                        if let Some(x) = v.as_ref().and_then(pow) {
                            self.token_values.push((t, d, x));
                        }
                    }
                }
                Embedded::Positions(rows) => {
                    for (p, v) in rows.iter().enumerate() {
                        if let Some(x) = v.as_ref().and_then(pow) {
                            self.position_values.push((p, d, x));
                        }
                    }
                }
            }
            self.shadows.insert(key, d);
            return self.power_view(id, enc, power);
        }
        let of: BTreeMap<usize, f64> = values.iter().copied().collect();
        // a map split off a fused one has no IR node; its one-hot is written by MLP units
        let op = (id < SYNTHETIC_BASE).then(|| &self.ir.node(id).op);
        match op {
            Some(Op::Indices) => {
                let d = self.dim(format!("indices#{suffix}"));
                self.indices_pow.push((power, d));
                self.shadows.insert(key, d);
            }
            Some(Op::Tokens) => {
                let d = self.dim(format!("tokens#{suffix}"));
                for (_, v) in &enc.dims {
                    if let Some(x) = val_int(v) {
                        self.token_values
                            .push((v.clone(), d, (x as f64).powi(power as i32)));
                    }
                }
                self.shadows.insert(key, d);
            }
            None
            | Some(
                Op::Elementwise { .. }
                | Op::Width { .. }
                | Op::Length
                | Op::Aggregate { .. }
                | Op::Mean { .. }
                | Op::Best { .. },
            ) => {
                let d = self.dim(format!("%{id}#{suffix}"));
                let mut writers = 0;
                for units in self.units.values_mut() {
                    for (_, u) in units.iter_mut() {
                        let w: f64 = u
                            .outputs
                            .iter()
                            .filter_map(|(o, c)| of.get(o).map(|x| c * x))
                            .sum();
                        if u.outputs.iter().any(|(o, _)| of.contains_key(o)) {
                            writers += 1;
                            if w != 0.0 {
                                u.outputs.push((d, w));
                            }
                        }
                    }
                }
                if writers == 0 {
                    return None;
                }
                self.shadows.insert(key, d);
            }
            _ => return None,
        }
        self.power_view(id, enc, power)
    }

    fn width_head(
        &mut self,
        id: NodeId,
        t: usize,
        kf: &[(usize, Vec<Val>)],
        qf: &[(usize, Vec<Val>)],
        pred: &dyn Fn(&[Val], &[Val]) -> bool,
        label: &str,
    ) -> R<()> {
        // `length`: every real position is a key (through `real`); BOS too.
        if kf.is_empty() {
            let kf = vec![(self.real, vec![Val::Bool(true)])];
            let qf = vec![(self.one, vec![Val::Bool(true)])];
            return self.width_head_with(id, t, kf, qf, &|_, _| true, label);
        }
        self.width_head_with(id, t, kf.to_vec(), qf.to_vec(), pred, label)
    }

    fn width_head_with(
        &mut self,
        id: NodeId,
        t: usize,
        kf: Vec<(usize, Vec<Val>)>,
        qf: Vec<(usize, Vec<Val>)>,
        pred: &dyn Fn(&[Val], &[Val]) -> bool,
        label: &str,
    ) -> R<()> {
        let make = |b: &Self, beta: f64, ov: &[(usize, usize, f64)]| {
            b.head(label, &kf, &qf, pred, beta, beta, ov)
        };
        self.width_with(id, t, &make)
    }

    /// A width whose head `make` builds from `β` and its output entry: selected keys and BOS
    /// score alike, `β` above the rest after the softmax's shift.
    #[allow(clippy::type_complexity)]
    fn width_with(
        &mut self,
        id: NodeId,
        t: usize,
        make: &dyn Fn(&Self, f64, &[(usize, usize, f64)]) -> R<Head>,
    ) -> R<()> {
        let nn = self.n as f64;
        let beta = exact_beta((4.0 * (nn + 1.0).powi(3)).ln() + 1.0);
        let raw = self.dim(format!("%{id}.raw"));
        let head = make(self, beta, &[(self.bos, raw, 1.0)])?;
        self.heads.entry(t).or_default().push(head);
        // Decode x = 1/(m+1) to a one-hot of m in 0..=N.
        let points: Vec<(f64, Val)> = (0..=self.n)
            .rev()
            .map(|m| (1.0 / (m as f64 + 1.0), Val::Int(m as i64)))
            .collect();
        // The program's output, read by nothing else: unembedded from the raw number by its
        // nearest point (the head reads `1/(w+1)` to well within a quarter gap), with no
        // decoding MLP and no one-hot over 0..=N.
        if id == self.out_node && self.users(id).is_empty() {
            self.numeric_output(id, raw, points, t);
            return Ok(());
        }
        let time = t + 1;
        let enc = self.decode(id, raw, &points, time);
        self.enc.insert(id, enc);
        self.ready.insert(id, time);
        self.raw_views
            .insert(id, (RawView::Steps { raw, points }, t));
        Ok(())
    }

    /// Node `id` (the program's output, read by nothing else) stays the number its head wrote
    /// to `raw` at attention time `t`: unembedded as the nearest of `points`
    /// (`graph::Unembed::numeric`).
    fn numeric_output(&mut self, id: NodeId, raw: usize, points: Vec<(f64, Val)>, t: usize) {
        self.enc.insert(
            id,
            Enc {
                dims: vec![(raw, Val::None)],
            },
        );
        self.numeric_out = Some(points);
        self.ready.insert(id, t);
    }

    /// An MLP (at `time`) that reads an approximate number from `raw` and writes the exact
    /// one-hot of the nearest of `points` (sorted by x, ascending). Step j is `[x >= t_j]` with
    /// `t_j` halfway between points j and j+1, built from two ReLUs with slope
    /// `2/(x_{j+1} - x_j)`, so any x within a quarter gap of a point decodes exactly to it.
    fn decode(&mut self, id: NodeId, raw: usize, points: &[(f64, Val)], time: usize) -> Enc {
        let dims = self.decode_dims(id, points);
        self.decode_units(id, raw, points, &dims, time);
        Enc { dims }
    }

    /// [`Self::decode`] with the one-hot's dimensions allocated now and its units only when
    /// something reads the one-hot, decided by [`Self::prune`] once everything is lowered. A
    /// mean has about 0.6·N² possible values (40,000 at N = 256, two units each) and its readers
    /// mostly take boolean maps fused with the decoding or the raw steps instead, so building
    /// the units eagerly, only for the prune pass to remove them, was most of the compile time.
    fn decode_later(&mut self, id: NodeId, raw: usize, points: &[(f64, Val)], time: usize) -> Enc {
        let dims = self.decode_dims(id, points);
        self.lazy_decodes.push(LazyDecode {
            id,
            raw,
            points: points.to_vec(),
            dims: dims.clone(),
            time,
        });
        Enc { dims }
    }

    fn decode_dims(&mut self, id: NodeId, points: &[(f64, Val)]) -> Vec<(usize, Val)> {
        points
            .iter()
            .map(|(_, v)| (self.value_dim(id, v), v.clone()))
            .collect()
    }

    /// The units of [`Self::decode`] onto the one-hot `dims`.
    fn decode_units(
        &mut self,
        id: NodeId,
        raw: usize,
        points: &[(f64, Val)],
        dims: &[(usize, Val)],
        time: usize,
    ) {
        // At BOS, `raw` is some average of the head's values, bounded by the largest |x| (plus
        // one for BOS's own): the gate must exceed what a unit could then reach.
        let reach = points.iter().map(|p| p.0.abs()).fold(1.0, f64::max) + 1.0;
        for j in 0..points.len().saturating_sub(1) {
            let (xj, xk) = (points[j].0, points[j + 1].0);
            let tj = (xj + xk) / 2.0;
            let k = 2.0 / (xk - xj);
            // ge_j moves the one-hot from point j to point j+1.
            let plus: Vec<(usize, f64)> = vec![(dims[j + 1].0, 1.0), (dims[j].0, -1.0)];
            let minus: Vec<(usize, f64)> = plus.iter().map(|(d, c)| (*d, -c)).collect();
            for (bias, outputs) in [(-k * tj + 0.5, plus), (-k * tj - 0.5, minus)] {
                let gate = BOS_GATE.max(k * reach + bias.abs() + 1.0);
                self.add_unit(
                    time,
                    format!("decode %{id}"),
                    Unit {
                        inputs: vec![(raw, k), (self.bos, -gate)],
                        bias,
                        outputs,
                    },
                );
            }
        }
        // The first point, at every real position.
        if let Some((first, _)) = dims.first() {
            self.add_unit(
                time,
                format!("decode %{id}"),
                Unit {
                    inputs: vec![(self.real, 1.0)],
                    bias: 0.0,
                    outputs: vec![(*first, 1.0)],
                },
            );
        }
    }

    /// Build the units of every [`Self::decode_later`] whose one-hot something reads: a unit,
    /// a product unit, a head's query, key or value rows, a memory's keys, or the output.
    fn settle_lazy_decodes(&mut self, out: &Enc) {
        if self.lazy_decodes.is_empty() {
            return;
        }
        let mut read = vec![false; self.residual.len()];
        let mut mark = |d: usize| {
            if let Some(x) = read.get_mut(d) {
                *x = true;
            }
        };
        for units in self.units.values() {
            for (_, u) in units {
                u.inputs.iter().for_each(|(d, _)| mark(*d));
            }
        }
        for units in self.bunits.values() {
            for (_, u) in units {
                u.u.iter().chain(&u.v).for_each(|(d, _)| mark(*d));
            }
        }
        for h in self.heads.values().flatten() {
            for m in [&h.wq, &h.wk, &h.wov] {
                m.entries().for_each(|(r, _, _)| mark(r));
            }
        }
        for m in self.memories.values().flatten() {
            m.keys.iter().for_each(|(r, _, _)| mark(*r));
        }
        out.dims.iter().for_each(|(d, _)| mark(*d));
        for lazy in std::mem::take(&mut self.lazy_decodes) {
            if lazy
                .dims
                .iter()
                .any(|(d, _)| read.get(*d).copied().unwrap_or(true))
            {
                self.decode_units(lazy.id, lazy.raw, &lazy.points, &lazy.dims, lazy.time);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn aggregate_head(
        &mut self,
        id: NodeId,
        t: usize,
        kf: Vec<(usize, Vec<Val>)>,
        qf: Vec<(usize, Vec<Val>)>,
        pred: &dyn Fn(&[Val], &[Val]) -> bool,
        values: NodeId,
        default: Option<Val>,
        span: Span,
    ) -> R<()> {
        let label = format!("aggregate %{id}");
        let make = |b: &Self, beta: f64, ov: &[(usize, usize, f64)]| {
            b.head(&label, &kf, &qf, pred, beta, beta / 2.0, ov)
        };
        self.aggregate_with(id, t, &make, values, default, span)
    }

    /// An aggregate whose head `make` builds from `β` and the value/output entries: selected
    /// keys must score `β` above the rest after the softmax's shift, BOS `β/2` (it carries the
    /// default).
    #[allow(clippy::type_complexity)]
    fn aggregate_with(
        &mut self,
        id: NodeId,
        t: usize,
        make: &dyn Fn(&Self, f64, &[(usize, usize, f64)]) -> R<Head>,
        values: NodeId,
        default: Option<Val>,
        span: Span,
    ) -> R<()> {
        let nn = self.n as f64;
        let beta = exact_beta(2.0 * (5.0 * (nn + 1.0)).ln() + 2.0);
        let mut outs: BTreeSet<Val> = self.values(values).into_iter().collect();
        if let Some(d) = &default {
            outs.insert(d.clone());
        }
        let venc = self.enc.get(&values).cloned().ok_or_else(|| CompileError {
            message: "aggregate reads a node without an encoding".into(),
            span,
        })?;
        let raw = self.raw_dims(id, &outs);
        let raw_of = |v: &Val| dim_of(&raw, v);
        let mut ov: Vec<(usize, usize, f64)> = venc
            .dims
            .iter()
            .map(|(d, v)| (*d, raw_of(v), 1.0))
            .collect();
        if let Some(d) = &default {
            ov.push((self.bos, raw_of(d), 1.0));
        }
        let head = make(self, beta, &ov)?;
        self.heads.entry(t).or_default().push(head);
        if id == self.out_node && self.users(id).is_empty() {
            // The output, read by nothing else: the unembedding's argmax reads the head's own
            // result, with no cleanup. At `β ≥ EXACT_BETA` that result is what hard attention
            // gives: the selected keys' one value at (a rounding of) 1 and every other
            // dimension exactly 0, or the default from BOS alone; either way its argmax is
            // the cleaned one-hot's (all zero, with no default, in both).
            self.enc.insert(id, Enc { dims: raw });
            self.ready.insert(id, t + 1);
            return Ok(());
        }
        self.finish_one_hot(id, &raw, &outs, t);
        Ok(())
    }

    /// `mean`: selected keys score β, BOS β/2 with value 0 (the mean of nothing), the values'
    /// numbers read from their one-hot; then the result is decoded onto the finite set of
    /// possible means. With gap g between possible means and M the largest |value|, the error is
    /// below `M(e^{-β/2} + 2N e^{-β})`, so `β = 2 ln(16(N+1)·max(M,1)/g) + 2` keeps it under g/4.
    #[allow(clippy::too_many_arguments)]
    fn mean_head(
        &mut self,
        id: NodeId,
        t: usize,
        kf: Vec<(usize, Vec<Val>)>,
        qf: Vec<(usize, Vec<Val>)>,
        pred: &dyn Fn(&[Val], &[Val]) -> bool,
        values: NodeId,
        span: Span,
    ) -> R<()> {
        let venc = self.enc.get(&values).cloned().ok_or_else(|| CompileError {
            message: "mean reads a node without an encoding".into(),
            span,
        })?;
        // Means of integers are computed the same way everywhere (exact sums, one division);
        // other numbers could round differently, so they are not compiled yet.
        let mut ints = BTreeSet::new();
        for (_, v) in &venc.dims {
            match v {
                Val::Int(i) if i.unsigned_abs() < (1 << 40) => {
                    ints.insert(Val::Int(*i));
                }
                Val::Float(x) if x.fract() == 0.0 && x.abs() < 1e12 => {
                    ints.insert(Val::Int(*x as i64));
                }
                other => {
                    return fail(
                        span,
                        format!(
                            "`mean` over the value `{other}` is not compiled yet (only integers are)"
                        ),
                    );
                }
            }
        }
        let n = self.n;
        let points = self
            .known
            .mean_points
            .entry(ints.iter().cloned().collect())
            .or_insert_with(|| {
                let possible =
                    tessera_lang::values::means(&tessera_lang::values::VSet::Finite(ints), n);
                let tessera_lang::values::VSet::Finite(possible) = possible else {
                    return None;
                };
                let mut points: Vec<(f64, Val)> = possible
                    .iter()
                    .filter_map(|v| v.as_f64().map(|x| (x, Val::Float(x))))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                points.dedup_by(|a, b| a.0 == b.0);
                Some(points)
            })
            .clone();
        let Some(points) = points else {
            return fail(span, "too many possible means to decode exactly");
        };
        // The output, read by nothing else: it stays a number, read as the nearest possible
        // mean, instead of a one-hot over every possible mean.
        let numeric_out = id == self.out_node && self.users(id).is_empty();
        let limit = if numeric_out {
            MAX_NUMERIC_OUTPUT_VALUES
        } else {
            self.limits.max_table
        };
        if points.len() > limit {
            return fail(
                span,
                format!(
                    "{} possible means exceed the limit {limit}{}",
                    points.len(),
                    if numeric_out { "" } else { " (--max-table)" }
                ),
            );
        }
        let gap = points
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold(f64::INFINITY, f64::min);
        let gap = if gap.is_finite() { gap } else { 1.0 };
        let max_abs = points.iter().map(|p| p.0.abs()).fold(1.0, f64::max);
        let beta = exact_beta(2.0 * (16.0 * (self.n as f64 + 1.0) * max_abs / gap).ln() + 2.0);
        let raw = self.dim(format!("%{id}.raw"));
        let ov: Vec<(usize, usize, f64)> = venc
            .dims
            .iter()
            .filter_map(|(d, v)| v.as_f64().map(|x| (*d, raw, x)))
            .collect();
        let head = self.head(
            &format!("mean %{id}"),
            &kf,
            &qf,
            pred,
            beta,
            beta / 2.0,
            &ov,
        )?;
        self.heads.entry(t).or_default().push(head);
        if numeric_out {
            self.numeric_output(id, raw, points, t);
            return Ok(());
        }
        let time = t + 1;
        let enc = self.decode_later(id, raw, &points, time);
        self.enc.insert(id, enc);
        self.ready.insert(id, time);
        self.raw_views
            .insert(id, (RawView::Steps { raw, points }, t));
        Ok(())
    }

    /// `select(k, q, ==)` between integer nodes whose values lie within
    /// ±[`NUMERIC_EQ_MAX_VALUE`], when the one-hot head would need at least
    /// [`NUMERIC_EQ_MIN_TABLE`] (query, key) cells, or when the query is read as an affine
    /// function of numbers ready no later than its own one-hot (see [`Self::affine_query`]),
    /// or the key as one affine in `length` and one other number (see [`Self::affine_key`]):
    /// the head scores keys numerically (see [`Self::numeric_eq_head`]) with three columns
    /// instead of one per key value, so neither side needs its one-hot (the prune pass then
    /// drops one-hots nothing else reads). With `bos_free` (an aggregate), BOS's score does
    /// not track `q²` where every query provably meets a key it selects (see
    /// [`Self::always_matches`]). `None` when the selector has another shape or a view is
    /// missing. Also returns when the views are ready.
    fn numeric_eq(&mut self, sel: NodeId, bos_free: bool) -> Option<(NumericEq, usize)> {
        if self.key_override.contains_key(&sel) {
            return None;
        }
        let Op::Select {
            keys,
            queries,
            pred,
        } = &self.ir.node(sel).op
        else {
            return None;
        };
        let (keys, queries) = (*keys, *queries);
        if !matches!(pred, Pred::Cmp(BinOp::Eq) | Pred::Fun(_)) {
            return None;
        }
        if !self.zero_at_bos(keys) || !self.zero_at_bos(queries) {
            return None;
        }
        let kenc = self.enc.get(&keys)?.clone();
        let qenc = self.enc.get(&queries)?.clone();
        let ints = |e: &Enc| {
            e.dims
                .iter()
                .map(|(_, v)| val_int(v))
                .collect::<Option<Vec<i64>>>()
        };
        let (kv, qv) = (ints(&kenc)?, ints(&qenc)?);
        // The selector as `k == m·q + c` (m = ±1) on every (key, query) value pair: plain `==`,
        // or a predicate the optimiser folded a shift or reflection into (`|k, q| k == q - 1`).
        let (m, c) = match pred {
            Pred::Fun(f) => linear_eq(f, &kv, &qv)?,
            _ => (1, 0),
        };
        // Values beyond the bound would push scores past the range where the margins are
        // safe; such programs keep the one-hot head.
        let bound = NUMERIC_EQ_MAX_VALUE as i64;
        let shifted = |x: &i64| (i128::from(m) * i128::from(*x) + i128::from(c)).abs();
        if kv.iter().any(|x| x.unsigned_abs() > bound.unsigned_abs())
            || qv.iter().any(|x| shifted(x) > i128::from(bound))
        {
            return None;
        }
        let small = kenc.dims.len().saturating_mul(qenc.dims.len()) < NUMERIC_EQ_MIN_TABLE;
        if small && !bos_free {
            return None;
        }
        let q_ready = *self.ready.get(&queries).unwrap_or(&0);
        let k_ready = *self.ready.get(&keys).unwrap_or(&0);
        let free = bos_free && self.always_matches(keys, queries, m, c);
        // An affine query needs no square: taken only for an aggregate whose BOS is free, and
        // only where it is ready no later than the query's own one-hot. Then it is always
        // taken, even where the one-hot would keep the model in f32: `reverse` at 20 has 41
        // units instead of 440 in its MLP and runs faster in f64 than it did in f32 (sparse
        // engine 136 against 157 µs a batch of 64, candle 0.67 against 1.4 ms).
        let affine = free
            .then(|| self.affine_parts(queries))
            .flatten()
            .filter(|a| self.ready_of(&a.inputs) <= q_ready);
        // Likewise a key affine in `length` and one other number: `length`'s part moves to the
        // query (see [`Self::affine_key`]).
        let key_affine = free
            .then(|| self.affine_parts(keys))
            .flatten()
            .and_then(|a| self.key_split(&a).map(|x| (a, x)))
            .filter(|(a, _)| self.ready_of(&a.inputs) <= k_ready);
        if affine.is_none() && key_affine.is_none() && small {
            return None;
        }
        let (q, q2, ready) = match &affine {
            Some(a) => (self.affine_query(a)?, None, self.ready_of(&a.inputs)),
            None => {
                let q = self.power_view(queries, &qenc, 1)?;
                let q2 = if free {
                    None
                } else {
                    Some(self.power_view(queries, &qenc, 2)?)
                };
                (q, q2, q_ready)
            }
        };
        // q' = m·q + c and q'² = q² + 2mc·q + c², read through the `one` dimension for the
        // constants.
        let (mf, cf) = (m as f64, c as f64);
        let mut q1 = NumView {
            terms: q.terms.iter().map(|(d, w)| (*d, mf * w)).collect(),
            reach: q.reach + cf.abs(),
        };
        let q1sq = q2.map(|q2| {
            let mut sq = NumView {
                terms: q2.terms.clone(),
                reach: q2.reach,
            };
            if c != 0 {
                sq.terms
                    .extend(q.terms.iter().map(|(d, w)| (*d, 2.0 * mf * cf * w)));
                sq.terms.push((self.one, cf * cf));
            }
            sq
        });
        if c != 0 {
            q1.terms.push((self.one, cf));
        }
        let (k, k2, k_ready) = match &key_affine {
            Some((a, x)) => {
                let (u, u2, shift) = self.affine_key(a, *x)?;
                // k = A·length + u against q': u against q' − A·length
                q1.terms.extend(shift.terms.iter().map(|(d, w)| (*d, -w)));
                q1.reach += shift.reach;
                (u, u2, self.ready_of(&a.inputs))
            }
            None => (
                self.power_view(keys, &kenc, 1)?,
                self.power_view(keys, &kenc, 2)?,
                k_ready,
            ),
        };
        let scores = NumericEq {
            k,
            k2,
            q: q1,
            q2: q1sq,
        };
        Some((scores, ready.max(k_ready)))
    }

    /// A key `k = A·length + u` with `u = a·x + g` affine in one other integer input `x` (on
    /// every tuple of values, [`Self::affine_parts`]): `length` is the same at every position
    /// of a sequence, so `k == q'` is `u == q' − A·length`, and the head compares `u` (its
    /// square from `x`'s and `x²`'s views) with a query shifted by `A·length#num`. The mirror
    /// of `reverse`, `select(length - indices - 1, indices, ==)`, then needs no one-hot of its
    /// key. `x` is the input [`Self::key_split`] found. Constants go through `real` (0 at BOS,
    /// as key views must be). Returns (u, u², the `A·length` view to subtract from the
    /// query); only for a head whose BOS need not track the query (the shifted query has no
    /// square view).
    fn affine_key(&mut self, k: &Affine, x: usize) -> Option<(NumView, NumView, NumView)> {
        let mut shift = NumView {
            terms: Vec::new(),
            reach: 0.0,
        };
        for (j, (i, e)) in k.inputs.iter().zip(&k.encs).enumerate() {
            if j != x {
                let v = self.numeric_view(*i, e)?;
                let w = k.alpha * k.signs[j];
                shift.terms.extend(v.terms.iter().map(|(d, c)| (*d, w * c)));
                shift.reach += w.abs() * v.reach;
            }
        }
        let (a, g) = (k.alpha * k.signs[x], k.gamma);
        let (v1, v2) = (
            self.power_view(k.inputs[x], &k.encs[x], 1)?,
            self.power_view(k.inputs[x], &k.encs[x], 2)?,
        );
        let mut u = NumView {
            terms: v1.terms.iter().map(|(d, w)| (*d, a * w)).collect(),
            reach: a.abs() * v1.reach + g.abs(),
        };
        // u² = a²·x² + 2ag·x + g²
        let mut u2 = NumView {
            terms: v2.terms.iter().map(|(d, w)| (*d, a * a * w)).collect(),
            reach: a * a * v2.reach + 2.0 * (a * g).abs() * v1.reach + g * g,
        };
        if g != 0.0 {
            u.terms.push((self.real, g));
            u2.terms
                .extend(v1.terms.iter().map(|(d, w)| (*d, 2.0 * a * g * w)));
            u2.terms.push((self.real, g * g));
        }
        Some((u, u2, shift))
    }

    /// Whether an affine key has the shape [`Self::affine_key`] takes, decided before any view
    /// is built: `length` (at most once) and exactly one other input `x`, whose `u = a·x + g`
    /// and the shift `A·length` stay within [`NUMERIC_EQ_MAX_VALUE`], the bound the margins
    /// are argued for. Returns `x`'s position among the inputs.
    fn key_split(&self, k: &Affine) -> Option<usize> {
        let is_length = |i: &NodeId| matches!(self.ir.node(*i).op, Op::Length);
        let mut others = (0..k.inputs.len()).filter(|&j| !is_length(&k.inputs[j]));
        let x = others.next()?;
        if others.next().is_some() || k.inputs.len() > 2 {
            return None;
        }
        let bound = NUMERIC_EQ_MAX_VALUE as f64;
        let a = k.alpha * k.signs[x];
        let u_in_bound = k.encs[x]
            .dims
            .iter()
            .all(|(_, v)| val_int(v).is_some_and(|v| (a * v as f64 + k.gamma).abs() <= bound));
        // (`length` is at most N)
        let shift = if k.inputs.len() == 2 {
            k.alpha.abs() * self.n as f64
        } else {
            0.0
        };
        (u_in_bound && shift <= bound).then_some(x)
    }

    /// Whether `n`'s encoding is zero at BOS (embeddings and gated MLP units write it).
    fn zero_at_bos(&self, n: NodeId) -> bool {
        matches!(
            self.ir.node(n).op,
            Op::Indices
                | Op::Tokens
                | Op::Const(_)
                | Op::Elementwise { .. }
                | Op::Width { .. }
                | Op::Length
                | Op::Aggregate { .. }
        )
    }

    /// The query of a numeric equality read as `α·(Σ sign_i·x_i) + γ` over its map's inputs'
    /// numeric views, where the map is that affine function of a signed sum on every tuple of
    /// its inputs' values ([`linear_form`]): `reverse`'s `length - indices - 1` is then
    /// `length#num − indices#num − 1`, ready as soon as `length` is decoded, where its one-hot
    /// waits a layer more for an MLP reading `length`'s one-hot or, fused with `length`'s
    /// decoding, takes about 2·N² units (past max_len 22 more than the fused map's budget).
    /// Without a square, so only for a head whose BOS need not track `q²`.
    fn affine_query(&mut self, q: &Affine) -> Option<NumView> {
        let mut terms = Vec::new();
        let mut reach = q.gamma.abs();
        for ((i, e), sign) in q.inputs.iter().zip(&q.encs).zip(&q.signs) {
            let view = self.numeric_view(*i, e)?;
            terms.extend(view.terms.iter().map(|(d, w)| (*d, q.alpha * sign * w)));
            reach += q.alpha.abs() * view.reach;
        }
        if q.gamma != 0.0 {
            terms.push((self.one, q.gamma));
        }
        Some(NumView { terms, reach })
    }

    /// A map node as an affine function of a signed sum of its integer inputs (see
    /// [`Affine`]), decided without building anything.
    fn affine_parts(&self, q: NodeId) -> Option<Affine> {
        let Op::Elementwise { inputs, f } = &self.ir.node(q).op else {
            return None;
        };
        let (inputs, f) = dedup_args(inputs, f).unwrap_or_else(|| (inputs.clone(), f.clone()));
        if !inputs.iter().all(|&i| self.zero_at_bos(i)) {
            return None;
        }
        let encs: Vec<Enc> = inputs
            .iter()
            .map(|i| self.enc.get(i).cloned())
            .collect::<Option<_>>()?;
        let lin = match self.linear_forms.get(&q) {
            Some(lin) => lin.clone()?,
            None => {
                let eval_limit = self.limits.max_table.saturating_mul(LINEAR_EVALS_PER_ROW);
                linear_form(&encs, &f, eval_limit)?
            }
        };
        let points: Vec<(i64, i64)> = lin
            .points
            .iter()
            .map(|(s, v)| val_int(v).map(|v| (*s, v)))
            .collect::<Option<_>>()?;
        let (alpha, gamma) = match points[..] {
            [] => return None,
            [(_, v)] => (0, v),
            [(s0, v0), (s1, v1), ..] => {
                let (ds, dv) = (s1 - s0, v1 - v0);
                if ds == 0 || dv % ds != 0 {
                    return None;
                }
                let alpha = dv / ds;
                (alpha, v0.checked_sub(alpha.checked_mul(s0)?)?)
            }
        };
        let fits = points
            .iter()
            .all(|&(s, v)| alpha.checked_mul(s).and_then(|x| x.checked_add(gamma)) == Some(v));
        // (small integers: the views' weights stay exact)
        let small = alpha.abs() <= 1 << 10 && gamma.abs() <= 1 << 20;
        (fits && small).then_some(Affine {
            inputs,
            encs,
            alpha: alpha as f64,
            gamma: gamma as f64,
            signs: lin.signs,
        })
    }

    /// Whether, at every length up to N, every position's query value `q` meets a key position
    /// whose value is `m·q + c` (the selector, on every value pair, by [`linear_eq`]): then an
    /// aggregate's BOS never carries the result, and its score need not track the query.
    /// Decided by evaluating both sides, which must be functions of `indices`, `length` and
    /// constants only (N² evaluations of each at most); a query value the interpreter cannot
    /// compute (its map fails) needs no key, as the interpreter fails there.
    fn always_matches(&self, keys: NodeId, queries: NodeId, m: i64, c: i64) -> bool {
        for n in 1..=self.n {
            let (Some(ks), Some(qs)) = (
                self.positional(keys, n, &mut BTreeMap::new()),
                self.positional(queries, n, &mut BTreeMap::new()),
            ) else {
                return false;
            };
            let ks: BTreeSet<i128> = ks
                .iter()
                .flatten()
                .filter_map(|k| val_int(k).map(i128::from))
                .collect();
            let met = qs.iter().flatten().all(|q| {
                val_int(q)
                    .is_some_and(|q| ks.contains(&(i128::from(m) * i128::from(q) + i128::from(c))))
            });
            if !met {
                return false;
            }
        }
        true
    }

    /// Node `id`'s value at each position of an input of length `n` (`None` where it fails),
    /// when it is a function of `indices`, `length` and constants only.
    fn positional(
        &self,
        id: NodeId,
        n: usize,
        memo: &mut BTreeMap<NodeId, Vec<Option<Val>>>,
    ) -> Option<Vec<Option<Val>>> {
        if let Some(v) = memo.get(&id) {
            return Some(v.clone());
        }
        let vals: Vec<Option<Val>> = match &self.ir.node(id).op {
            Op::Indices => (0..n).map(|i| Some(Val::Int(i as i64))).collect(),
            Op::Length => vec![Some(Val::Int(n as i64)); n],
            Op::Const(c) => vec![Some(c.clone()); n],
            Op::Elementwise { inputs, f } => {
                let cols: Vec<Vec<Option<Val>>> = inputs
                    .iter()
                    .map(|i| self.positional(*i, n, memo))
                    .collect::<Option<_>>()?;
                (0..n)
                    .map(|p| {
                        let args: Vec<Val> =
                            cols.iter().map(|c| c[p].clone()).collect::<Option<_>>()?;
                        f.eval(&args).ok()
                    })
                    .collect()
            }
            _ => return None,
        };
        memo.insert(id, vals.clone());
        Some(vals)
    }

    /// A head scoring key `k` against query `q` as `β(2qk − k²)` and BOS as `βq² + bos_offset`
    /// (`−β/2` for an aggregate, 0 for a width): after subtracting `βq²` (the softmax does not
    /// see a per-query constant) every key with `k = q` scores 0, BOS `bos_offset`, every other
    /// key `−β(q−k)² ≤ −β`: the same margins as a one-hot head that gives selected keys `β`
    /// and BOS `β + bos_offset`, so the same `β` is exact. Key views are 0 at BOS (embeddings
    /// leave BOS's row empty and every MLP unit is gated off there). Scores reach `2βM²` for
    /// values up to M in absolute value; M ≤ [`NUMERIC_EQ_MAX_VALUE`] keeps f32 rounding far
    /// below the margin. Without `q²` (an aggregate whose every query meets a key, see
    /// [`Self::always_matches`]), BOS scores `bos_offset` = `−β/2` outright, `−β/2 − βq² ≤ −β/2`
    /// after the shift: the margin of `q = 0`, and wider for every other query.
    fn numeric_eq_head(
        &self,
        label: &str,
        s: &NumericEq,
        beta: f64,
        bos_offset: f64,
        ov: &[(usize, usize, f64)],
    ) -> Head {
        let mut q_entries = Vec::new();
        let mut k_entries = Vec::new();
        for (d, w) in &s.q.terms {
            q_entries.push((*d, 0, beta * w));
        }
        for (d, w) in &s.k.terms {
            k_entries.push((*d, 0, 2.0 * w));
        }
        q_entries.push((self.one, 1, beta));
        for (d, w) in &s.k2.terms {
            k_entries.push((*d, 1, -w));
        }
        for (d, w) in s.q2.iter().flat_map(|q2| &q2.terms) {
            q_entries.push((*d, 2, beta * w));
        }
        if bos_offset != 0.0 {
            q_entries.push((self.one, 2, bos_offset));
        }
        k_entries.push((self.bos, 2, 1.0));
        Head {
            label: label.to_string(),
            wq: stash(&q_entries, 3),
            wk: stash(&k_entries, 3),
            wov: stash(ov, 0),
        }
    }

    /// A head whose score is `beta·P[q][k]` between real positions and `beta_bos` to BOS, with
    /// value/output entries `(from, to, weight)`.
    #[allow(clippy::too_many_arguments)]
    fn head(
        &self,
        label: &str,
        kf: &[(usize, Vec<Val>)],
        qf: &[(usize, Vec<Val>)],
        pred: &dyn Fn(&[Val], &[Val]) -> bool,
        beta: f64,
        beta_bos: f64,
        ov: &[(usize, usize, f64)],
    ) -> R<Head> {
        check_table(kf.len(), qf.len(), self.limits.max_head_table)?;
        let dk = kf.len() + 1;
        // Store sparse entries now; `assemble` sizes the matrices to the final residual width.
        let mut q_entries = Vec::new();
        let mut k_entries = Vec::new();
        for (c, (kd, kt)) in kf.iter().enumerate() {
            k_entries.push((*kd, c, 1.0));
            for (qd, qt) in qf {
                if pred(qt, kt) {
                    q_entries.push((*qd, c, beta));
                }
            }
        }
        k_entries.push((self.bos, kf.len(), 1.0));
        q_entries.push((self.one, kf.len(), beta_bos));
        let wq = stash(&q_entries, dk);
        let wk = stash(&k_entries, dk);
        let wov = stash(ov, 0);
        Ok(Head {
            label: label.to_string(),
            wq,
            wk,
            wov,
        })
    }

    /// Remove what the output does not depend on: residual dimensions nothing live reads (a
    /// one-hot whose readers all use its numeric shadow, the `indices` one-hot when every head
    /// scores positions numerically), the outputs that write them, and the units, heads and
    /// memories left writing nothing. Then renumber the residual densely. Returns the output
    /// encoding renumbered.
    fn prune(&mut self, out: Enc) -> Enc {
        self.settle_lazy_decodes(&out);
        let width = self.residual.len();
        let mut live = LiveSet {
            on: vec![false; width],
            count: 0,
        };
        live.extend(out.dims.iter().map(|(d, _)| *d));
        live.extend([self.bos, self.one, self.real]);
        // Per head, decoded once: its value/output entries and the rows its scores read.
        type Entries = Vec<(usize, usize, f64)>;
        let heads: Vec<(Entries, Vec<usize>)> = self
            .heads
            .values()
            .flatten()
            .map(|h| {
                let reads = decode_entries(&h.wq)
                    .into_iter()
                    .chain(decode_entries(&h.wk))
                    .map(|(r, _, _)| r)
                    .collect();
                (decode_entries(&h.wov), reads)
            })
            .collect();
        loop {
            let before = live.count;
            for units in self.units.values() {
                for (_, u) in units {
                    if u.outputs.iter().any(|(o, _)| live.contains(*o)) {
                        live.extend(u.inputs.iter().map(|(d, _)| *d));
                    }
                }
            }
            for units in self.bunits.values() {
                for (_, u) in units {
                    if u.outputs.iter().any(|(o, _)| live.contains(*o)) {
                        live.extend(u.u.iter().chain(&u.v).map(|(d, _)| *d));
                    }
                }
            }
            for (ov, reads) in &heads {
                if ov.iter().any(|(_, c, _)| live.contains(*c)) {
                    live.extend(reads.iter().copied());
                    let values: Vec<usize> = ov
                        .iter()
                        .filter(|(_, c, _)| live.contains(*c))
                        .map(|(r, _, _)| *r)
                        .collect();
                    live.extend(values);
                }
            }
            for mems in self.memories.values() {
                for m in mems {
                    if m.values.iter().any(|(_, c, _)| live.contains(*c)) {
                        live.extend(m.keys.iter().map(|(r, _, _)| *r));
                    }
                }
            }
            if live.count == before {
                break;
            }
        }
        for (d, id, v) in std::mem::take(&mut self.value_names) {
            if live.on[d] {
                self.residual[d] = format!("%{id}:{}", label(&v));
            }
        }
        if live.count == width {
            return out;
        }
        // Old dimension -> new dimension, for the live ones, in their old order.
        let mut new: Vec<Option<usize>> = vec![None; width];
        let mut next = 0;
        for (d, slot) in new.iter_mut().enumerate() {
            if live.on[d] {
                *slot = Some(next);
                next += 1;
            }
        }
        let map = |d: &usize| new.get(*d).copied().flatten();
        for units in self.units.values_mut() {
            units.retain_mut(|(_, u)| {
                u.outputs.retain(|(o, _)| map(o).is_some());
                if u.outputs.is_empty() {
                    return false;
                }
                for (d, _) in u.outputs.iter_mut().chain(u.inputs.iter_mut()) {
                    *d = map(d).unwrap_or(*d);
                }
                true
            });
        }
        self.units.retain(|_, u| !u.is_empty());
        for units in self.bunits.values_mut() {
            units.retain_mut(|(_, u)| {
                u.outputs.retain(|(o, _)| map(o).is_some());
                if u.outputs.is_empty() {
                    return false;
                }
                for (d, _) in u.outputs.iter_mut().chain(&mut u.u).chain(&mut u.v) {
                    *d = map(d).unwrap_or(*d);
                }
                true
            });
        }
        self.bunits.retain(|_, u| !u.is_empty());
        let remap =
            |entries: Vec<(usize, usize, f64)>, cols_too: bool| -> Vec<(usize, usize, f64)> {
                entries
                    .into_iter()
                    .filter_map(|(r, c, v)| {
                        let r = map(&r)?;
                        let c = if cols_too { map(&c)? } else { c };
                        Some((r, c, v))
                    })
                    .collect()
            };
        for heads in self.heads.values_mut() {
            heads.retain_mut(|h| {
                let ov = remap(decode_entries(&h.wov), true);
                if ov.is_empty() {
                    return false;
                }
                h.wov = stash(&ov, h.wov.cols);
                h.wq = stash(&remap(decode_entries(&h.wq), false), h.wq.cols);
                h.wk = stash(&remap(decode_entries(&h.wk), false), h.wk.cols);
                true
            });
        }
        self.heads.retain(|_, h| !h.is_empty());
        for mems in self.memories.values_mut() {
            mems.retain_mut(|m| {
                m.values = m
                    .values
                    .iter()
                    .filter_map(|(j, c, w)| Some((*j, map(c)?, *w)))
                    .collect();
                m.keys = m
                    .keys
                    .iter()
                    .filter_map(|(r, j, w)| Some((map(r)?, *j, *w)))
                    .collect();
                !m.values.is_empty()
            });
        }
        self.memories.retain(|_, m| !m.is_empty());
        self.token_consts = self
            .token_consts
            .iter()
            .filter_map(|(d, x)| Some((map(d)?, *x)))
            .collect();
        self.token_values = self
            .token_values
            .iter()
            .filter_map(|(t, d, x)| Some((t.clone(), map(d)?, *x)))
            .collect();
        self.indices_pow = self
            .indices_pow
            .iter()
            .filter_map(|(p, d)| Some((*p, map(d)?)))
            .collect();
        self.position_values = self
            .position_values
            .iter()
            .filter_map(|(p, d, x)| Some((*p, map(d)?, *x)))
            .collect();
        self.shadows.clear();
        self.hv.clear();
        self.enc.clear();
        self.residual = (0..width)
            .filter(|d| live.on[*d])
            .map(|d| self.residual[d].clone())
            .collect();
        self.bos = map(&self.bos).unwrap_or(self.bos);
        self.one = map(&self.one).unwrap_or(self.one);
        self.real = map(&self.real).unwrap_or(self.real);
        Enc {
            dims: out
                .dims
                .into_iter()
                .filter_map(|(d, v)| Some((map(&d)?, v)))
                .collect(),
        }
    }

    fn assemble(self, vocab: &[Val], out: Enc) -> R<Model> {
        let d = self.residual.len();
        // Every residual dimension has one meaning: embeddings find theirs by label.
        let mut seen = BTreeSet::new();
        if let Some(dup) = self.residual.iter().find(|l| !seen.insert(l.as_str())) {
            return fail(
                Span::default(),
                format!("internal error: residual dimension `{dup}` allocated twice"),
            );
        }
        let index = |label: &str| self.residual.iter().position(|l| l == label);
        let mut token_embed = Mat::zeros(vocab.len() + 1, d);
        for (r, v) in vocab.iter().enumerate() {
            token_embed.set(r, self.one, 1.0);
            token_embed.set(r, self.real, 1.0);
            if let Some(c) = index(&format!("tokens:{}", label(v))) {
                token_embed.set(r, c, 1.0);
            }
            for (c, x) in &self.token_consts {
                token_embed.set(r, *c, *x);
            }
            for (t, c, x) in &self.token_values {
                if t == v {
                    token_embed.set(r, *c, *x);
                }
            }
        }
        token_embed.set(vocab.len(), self.one, 1.0);
        token_embed.set(vocab.len(), self.bos, 1.0);
        let mut pos_embed = Mat::zeros(self.n + 1, d);
        for p in 1..=self.n {
            if let Some(c) = index(&format!("indices:{}", p - 1)) {
                pos_embed.set(p, c, 1.0);
            }
            for (power, c) in &self.indices_pow {
                pos_embed.set(p, *c, ((p - 1) as f64).powi(*power as i32));
            }
            for (i, c, x) in &self.position_values {
                if *i == p - 1 {
                    pos_embed.set(p, *c, *x);
                }
            }
        }
        // Refuse before allocating: dense matrices of this size would not fit.
        let head_params: usize = self
            .heads
            .values()
            .flatten()
            .map(|h| {
                d.saturating_mul(h.wq.cols)
                    .saturating_mul(2)
                    .saturating_add(d.saturating_mul(d))
            })
            .fold(0usize, usize::saturating_add);
        let mlp_params: usize = self
            .units
            .values()
            .map(|u| u.len().saturating_mul(d).saturating_mul(2))
            .chain(
                self.bunits
                    .values()
                    .map(|u| u.len().saturating_mul(d).saturating_mul(3)),
            )
            .fold(0usize, usize::saturating_add);
        let memory_params: usize = self
            .memories
            .values()
            .flatten()
            .map(|m| m.slots.saturating_mul(d).saturating_mul(2))
            .fold(0usize, usize::saturating_add);
        let total = head_params
            .saturating_add(mlp_params)
            .saturating_add(memory_params)
            .saturating_add((vocab.len() + self.n + 2).saturating_mul(d));
        let max_params = self.limits.max_params;
        if total > max_params {
            return fail(
                Span::default(),
                format!(
                    "the model would have {total} dense parameters (residual width {d}), more than the limit {max_params} (--max-params); use a smaller vocabulary or max_len"
                ),
            );
        }
        let last = self
            .units
            .keys()
            .chain(self.bunits.keys())
            .chain(self.heads.keys())
            .chain(self.memories.keys())
            .copied()
            .max()
            .unwrap_or(0);
        let n_layers = last.div_ceil(2);
        let mut layers = Vec::with_capacity(n_layers);
        for l in 1..=n_layers {
            let heads: Vec<Head> = self
                .heads
                .get(&(2 * l - 1))
                .map(|hs| hs.iter().map(|h| size_head(h, d)).collect())
                .unwrap_or_default();
            let mlp = self.units.get(&(2 * l)).map(|units| {
                let mut b1 = vec![0.0; units.len()];
                let (mut e1, mut e2) = (Vec::new(), Vec::new());
                let mut labels = Vec::new();
                for (h, (label, u)) in units.iter().enumerate() {
                    e1.extend(u.inputs.iter().map(|(dim, w)| (*dim, h, *w)));
                    b1[h] = u.bias;
                    e2.extend(u.outputs.iter().map(|(dim, w)| (h, *dim, *w)));
                    if labels.last() != Some(label) {
                        labels.push(label.clone());
                    }
                }
                let w1 = Mat::from_entries(d, units.len(), e1);
                let w2 = Mat::from_entries(units.len(), d, e2);
                Mlp { labels, w1, b1, w2 }
            });
            let bilinear = self.bunits.get(&(2 * l)).map(|units| {
                let h = units.len();
                let (mut u, mut v, mut w) = (Mat::zeros(d, h), Mat::zeros(d, h), Mat::zeros(h, d));
                let (mut bu, mut bv) = (vec![0.0; h], vec![0.0; h]);
                let mut labels = Vec::new();
                for (j, (label, unit)) in units.iter().enumerate() {
                    for (dim, x) in &unit.u {
                        u.add(*dim, j, *x);
                    }
                    for (dim, x) in &unit.v {
                        v.add(*dim, j, *x);
                    }
                    bu[j] = unit.bu;
                    bv[j] = unit.bv;
                    for (dim, x) in &unit.outputs {
                        w.add(j, *dim, *x);
                    }
                    if labels.last() != Some(label) {
                        labels.push(label.clone());
                    }
                }
                Bilinear {
                    labels,
                    u,
                    bu,
                    v,
                    bv,
                    w,
                }
            });
            let memories = self
                .memories
                .get(&(2 * l))
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            let mut keys = Mat::zeros(d, m.slots);
                            for (dim, j, w) in &m.keys {
                                keys.add(*dim, *j, *w);
                            }
                            let mut values = Mat::zeros(m.slots, d);
                            for (j, dim, w) in &m.values {
                                values.add(*j, *dim, *w);
                            }
                            Memory {
                                label: m.label.clone(),
                                keys,
                                bias: m.bias.clone(),
                                values,
                                tie: m.tie,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            layers.push(Layer {
                heads,
                mlp,
                bilinear,
                memories,
            });
        }
        Ok(Model {
            residual: self.residual,
            vocab: vocab.to_vec(),
            max_len: self.n,
            token_embed,
            pos_embed,
            layers,
            unembed: match self.numeric_out {
                Some(values) => Unembed {
                    dims: Vec::new(),
                    numeric: out
                        .dims
                        .first()
                        .map(|(dim, _)| crate::graph::NumericOut { dim: *dim, values }),
                },
                None => Unembed {
                    dims: out.dims,
                    numeric: None,
                },
            },
        })
    }
}

/// A value as it appears in residual labels: exact for floats (two floats that print alike
/// under `%g` are still two dimensions with two labels).
/// `(m, c)` with `m = ±1` such that `f(k, q)` (key first) holds exactly when `k == m·q + c`,
/// checked on every pair of the finite value sets (at most 2^20 pairs); `None` for any other
/// predicate, or one that holds nowhere.
fn linear_eq(f: &Fun, keys: &[i64], queries: &[i64]) -> Option<(i64, i64)> {
    if keys.len().saturating_mul(queries.len()) > 1 << 20 {
        return None;
    }
    let holds = |k: i64, q: i64| matches!(f.eval(&[Val::Int(k), Val::Int(q)]), Ok(Val::Bool(true)));
    let (k0, q0) = queries
        .iter()
        .find_map(|&q| keys.iter().find(|&&k| holds(k, q)).map(|&k| (k, q)))?;
    // In i128: values are arbitrary i64 constants.
    let (k0, q0) = (i128::from(k0), i128::from(q0));
    [1i128, -1]
        .into_iter()
        .map(|m| (m, k0 - m * q0))
        .find_map(|(m, c)| {
            let fits = keys.iter().all(|&k| {
                queries
                    .iter()
                    .all(|&q| holds(k, q) == (i128::from(k) == m * i128::from(q) + c))
            });
            Some((i64::try_from(m).ok()?, i64::try_from(c).ok()?)).filter(|_| fits)
        })
}

/// A head's `β` raised to at least [`EXACT_BETA`].
fn exact_beta(margin: f64) -> f64 {
    margin.max(EXACT_BETA)
}

/// The least `β` of width, aggregate and mean heads. Each head's own bound (from its margin)
/// makes the decoded result exact; at this `β` every weight the margin puts at least `β/2`
/// below the largest is `e^{-750}` or less, which is exactly 0 in f64 and f32, so these heads
/// attend exactly as hard attention does: a width reads exactly `1/(w+1)`, an aggregate exactly
/// its one selected value, a mean exactly the mean (up to the division's rounding). Equal
/// inputs then give equal residual values bit for bit at every position of every input, which
/// the sparse engine's caches rely on to hit.
const EXACT_BETA: f64 = 1500.0;

/// The views a numeric equality head reads (see [`Builder::numeric_eq_head`]).
#[derive(Debug, Clone)]
struct NumericEq {
    k: NumView,
    k2: NumView,
    q: NumView,
    /// `None` where BOS need not track `q²` (see [`Builder::always_matches`]).
    q2: Option<NumView>,
}

/// The largest |value| a numeric equality head compares: scores reach `2βM²` (about 2·10^8 at
/// 256 with `β` = [`EXACT_BETA`]), where f32's absolute rounding error (about 16) stays far
/// below the margin `β/2` (models with these heads run in f64 anyway).
const NUMERIC_EQ_MAX_VALUE: usize = 256;
/// The fewest (key value × query value) cells for which a selector is scored numerically
/// (`reverse` from max_len 46 on): below it the one-hot head is small, and the model keeps
/// running in f32 (numeric heads make the engine use f64, about twice the cost per multiply).
const NUMERIC_EQ_MIN_TABLE: usize = 4096;

/// A map that is `α·Σ sign_i·x_i + γ` on every tuple of its inputs' values (see
/// [`Builder::affine_parts`]): its inputs (deduplicated), their encodings, and the form.
#[derive(Debug, Clone)]
struct Affine {
    inputs: Vec<NodeId>,
    encs: Vec<Enc>,
    alpha: f64,
    gamma: f64,
    signs: Vec<f64>,
}

/// An integer node read as a number: `Σ w·x_d` over `terms`, at most `reach` in absolute value
/// at BOS.
#[derive(Debug, Clone)]
struct NumView {
    terms: Vec<(usize, f64)>,
    reach: f64,
}

/// A map of integers that depends only on a signed sum of its arguments: `f(a, b, …) =
/// g(Σ sign_i·a_i)`, with `g` as sorted `(sum, value)` points.
#[derive(Debug, Clone, PartialEq)]
struct LinearForm {
    signs: Vec<f64>,
    points: Vec<(i64, Val)>,
}

fn val_int(v: &Val) -> Option<i64> {
    match v {
        Val::Int(x) => Some(*x),
        _ => None,
    }
}

/// When a map of two or three integer inputs is a function of a signed sum of them (`length -
/// indices - 1`, `a + b`, …) and that takes fewer hidden units than its lookup table (one per
/// input tuple), the form to lower it with. Decided by evaluating `f` on every tuple (at most
/// `eval_limit` of them, streamed, so a table too large to build can still be checked); a
/// function that fails on some tuple keeps its table (no output there, as in the interpreter).
fn linear_form(encs: &[Enc], f: &Fun, eval_limit: usize) -> Option<LinearForm> {
    let n = encs.len();
    if !(2..=3).contains(&n) {
        return None;
    }
    let values: Vec<Vec<i64>> = encs
        .iter()
        .map(|e| {
            e.dims
                .iter()
                .map(|(_, v)| val_int(v))
                .collect::<Option<Vec<_>>>()
        })
        .collect::<Option<_>>()?;
    let rows = values
        .iter()
        .map(Vec::len)
        .try_fold(1usize, |a, b| a.checked_mul(b))?;
    if rows == 0 || rows > eval_limit {
        return None;
    }
    // Sums must stay exact in f32 weights.
    let bound: i64 = 1 << 20;
    if values.iter().flatten().any(|x| x.abs() > bound / 4) {
        return None;
    }
    let mut best: Option<(usize, LinearForm)> = None;
    let mut evals = Evals::new(f, &values, rows);
    'patterns: for pattern in 0..(1usize << (n - 1)) {
        let signs: Vec<i64> = (0..n)
            .map(|i| {
                if i > 0 && pattern & (1 << (i - 1)) != 0 {
                    -1
                } else {
                    1
                }
            })
            .collect();
        // A quick look first: each input over all its values with the others at their first,
        // middle and last values. Two tuples there with the same sum and different values
        // rule the pattern out without the full pass (which may meet them late).
        let mut g: BTreeMap<i64, Val> = BTreeMap::new();
        for k in 0..n {
            let others: Vec<usize> = (0..n).filter(|&o| o != k).collect();
            let probes = |o: usize| {
                let len = values[o].len();
                let mut p = vec![0, len / 2, len - 1];
                p.dedup();
                p
            };
            let mut combos: Vec<Vec<usize>> = vec![vec![0; n]];
            for &o in &others {
                combos = combos
                    .iter()
                    .flat_map(|c| {
                        probes(o).into_iter().map(move |p| {
                            let mut c = c.clone();
                            c[o] = p;
                            c
                        })
                    })
                    .collect();
            }
            for mut at in combos {
                for j in 0..values[k].len() {
                    at[k] = j;
                    if !record_at(&mut evals, (&values, &signs), &at, &mut g)? {
                        continue 'patterns;
                    }
                }
            }
        }
        let mut g: BTreeMap<i64, Val> = BTreeMap::new();
        let mut idx = vec![0usize; n];
        evals.remember();
        for _ in 0..rows {
            if !record_at(&mut evals, (&values, &signs), &idx, &mut g)? {
                continue 'patterns;
            }
            next_tuple(&mut idx, |k| values[k].len());
        }
        let points: Vec<(i64, Val)> = g.into_iter().collect();
        let units = 1 + 2 * points.windows(2).filter(|w| w[0].1 != w[1].1).count();
        if best.as_ref().is_none_or(|(u, _)| units < *u) {
            let signs = signs.iter().map(|&s| s as f64).collect();
            best = Some((units, LinearForm { signs, points }));
        }
    }
    best.filter(|(units, _)| *units < rows).map(|(_, f)| f)
}

/// `f` at the tuple whose input `i` takes its `at[i]`-th value, recorded in `g` under the
/// tuple's signed sum (see [`linear_form`]): `Some(false)` when an earlier tuple with that sum
/// had another value, `None` when `f` fails there.
fn record_at(
    evals: &mut Evals<'_>,
    (values, signs): (&[Vec<i64>], &[i64]),
    at: &[usize],
    g: &mut BTreeMap<i64, Val>,
) -> Option<bool> {
    let mut sum = 0;
    for (i, &a) in at.iter().enumerate() {
        sum += signs[i] * values[i][a];
    }
    let v = evals.at(values, at)?;
    match g.get(&sum) {
        Some(w) => Some(*w == v),
        None => {
            g.insert(sum, v);
            Some(true)
        }
    }
}

/// `f` over integer tuples (each input's `at`-th value), remembered by tuple once a full pass
/// starts ([`Evals::remember`]) when there are at most [`Evals::CACHED`] tuples: every sign
/// pattern of [`linear_form`] that passes the quick look reads the same values.
struct Evals<'a> {
    f: &'a Fun,
    args: Vec<Val>,
    strides: Vec<usize>,
    rows: usize,
    cache: Vec<Option<Option<Val>>>,
}

impl<'a> Evals<'a> {
    const CACHED: usize = 1 << 18;

    fn new(f: &'a Fun, values: &[Vec<i64>], rows: usize) -> Evals<'a> {
        let mut strides = vec![1usize; values.len()];
        for i in (0..values.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1].saturating_mul(values[i + 1].len());
        }
        Evals {
            f,
            args: vec![Val::Int(0); values.len()],
            strides,
            rows,
            cache: Vec::new(),
        }
    }

    /// Keep values from now on (the table is allocated at the first full pass, not for maps
    /// that the quick look rules out).
    fn remember(&mut self) {
        if self.cache.is_empty() && self.rows <= Self::CACHED {
            self.cache = vec![None; self.rows];
        }
    }

    fn at(&mut self, values: &[Vec<i64>], at: &[usize]) -> Option<Val> {
        let row: usize = at.iter().zip(&self.strides).map(|(a, s)| a * s).sum();
        if let Some(Some(v)) = self.cache.get(row) {
            return v.clone();
        }
        for (i, &a) in at.iter().enumerate() {
            self.args[i] = Val::Int(values[i][a]);
        }
        let v = self.f.eval(&self.args).ok();
        if let Some(slot) = self.cache.get_mut(row) {
            *slot = Some(v.clone());
        }
        v
    }
}

/// Ids of maps split off fused ones start here (far above any IR's node count).
const SYNTHETIC_BASE: NodeId = 1_000_000;

/// `inputs` and `f` with every input read once, or `None` when none repeats.
fn dedup_args(inputs: &[NodeId], f: &Fun) -> Option<(Vec<NodeId>, Fun)> {
    let mut unique: Vec<NodeId> = Vec::new();
    let mut to: Vec<usize> = Vec::with_capacity(inputs.len());
    for i in inputs {
        match unique.iter().position(|u| u == i) {
            Some(k) => to.push(k),
            None => {
                to.push(unique.len());
                unique.push(*i);
            }
        }
    }
    (unique.len() < inputs.len())
        .then(|| (unique, rename_args(f, &|a| to.get(a).copied().unwrap_or(a))))
}

/// A selector predicate's function of (key, query) with the query fixed to `c`: a function of
/// the key alone.
fn with_query(f: &Fun, c: &Val) -> Fun {
    match f {
        Fun::Arg(1) => Fun::Const(c.clone()),
        _ => f.map_children(&|x| with_query(x, c)),
    }
}

fn rename_args(f: &Fun, to: &dyn Fn(usize) -> usize) -> Fun {
    f.subst(&|a| Fun::Arg(to(a)))
}

fn args_of(f: &Fun, out: &mut BTreeSet<usize>) {
    if let Fun::Arg(i) = f {
        out.insert(*i);
    }
    for c in f.children() {
        args_of(c, out);
    }
}

fn subexprs<'f>(f: &'f Fun, out: &mut Vec<&'f Fun>) {
    out.push(f);
    for c in f.children() {
        subexprs(c, out);
    }
}

/// `f` reading its subexpression `e` as an argument: the function over the other arguments of
/// `f` (of `arity`) it still reads, renumbered in order (`outer_args`), then `e`'s value.
fn outer_of(f: &Fun, e: &Fun, arity: usize) -> (Fun, Vec<usize>) {
    let marker = arity;
    let replaced = replace_sub(f, e, marker);
    let mut used = BTreeSet::new();
    args_of(&replaced, &mut used);
    let outer_args: Vec<usize> = used.iter().copied().filter(|&i| i != marker).collect();
    let to = |a: usize| {
        if a == marker {
            outer_args.len()
        } else {
            outer_args.iter().position(|&o| o == a).unwrap_or(a)
        }
    };
    (rename_args(&replaced, &to), outer_args)
}

/// Whether `e` occurs in `f` (as [`identical`] says).
fn contains_sub(f: &Fun, e: &Fun) -> bool {
    identical(f, e) || f.children().into_iter().any(|c| contains_sub(c, e))
}

/// Whether two values are the same value of the same kind: `==` (and the order) take `1` and
/// `1.0` as equal, `==` also `-0.0` and `0.0`, but operations can tell them apart (`1 << 1`
/// works, `1.0 << 1` is a type error; `str` prints them differently).
fn same_val(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Float(x), Val::Float(y)) => x.to_bits() == y.to_bits(),
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::None, Val::None) => true,
        _ => false,
    }
}

/// Structural equality of functions with constants compared by [`same_val`] (`Fun`'s `==`
/// takes `$0 * 2` and `$0 * 2.0` as equal).
fn identical(a: &Fun, b: &Fun) -> bool {
    match (a, b) {
        (Fun::Arg(i), Fun::Arg(j)) => i == j,
        (Fun::Const(x), Fun::Const(y)) => same_val(x, y),
        (Fun::Unary(o, x), Fun::Unary(p, y)) => o == p && identical(x, y),
        (Fun::Binary(o, x1, x2), Fun::Binary(p, y1, y2)) => {
            o == p && identical(x1, y1) && identical(x2, y2)
        }
        (Fun::If(c, x1, x2), Fun::If(d, y1, y2)) => {
            identical(c, d) && identical(x1, y1) && identical(x2, y2)
        }
        (Fun::Builtin(n, x), Fun::Builtin(m, y)) => n == m && identical(x, y),
        (Fun::Numeric(x), Fun::Numeric(y)) => identical(x, y),
        _ => false,
    }
}

/// A subexpression over inputs `a` (a prefix mean) and `b` (a position input), renumbered
/// to `Arg(0)` and `Arg(1)` (any other input, which the callers exclude, to `Arg(2)`).
fn over_mean_and_position(e: &Fun, a: usize, b: usize) -> Fun {
    rename_args(e, &|i| {
        if i == a {
            0
        } else if i == b {
            1
        } else {
            2
        }
    })
}

/// `f` with every occurrence of `e` replaced by `Arg(arg)` ([`identical`] occurrences only:
/// `$0 * 2.0` is `==` to `$0 * 2` but not the same function).
fn replace_sub(f: &Fun, e: &Fun, arg: usize) -> Fun {
    if identical(f, e) {
        Fun::Arg(arg)
    } else {
        f.map_children(&|c| replace_sub(c, e, arg))
    }
}

/// A fused map split in two: `sub` over the inputs `sub_args`, and `outer` over the inputs
/// `outer_args` followed by `sub`'s value.
struct Split {
    sub: Fun,
    sub_args: Vec<usize>,
    outer: Fun,
    outer_args: Vec<usize>,
}

/// The best split of a map whose table (`size` rows) is too large: a subexpression of `f` over
/// fewer inputs, *total* on them (it never fails, so splitting it off cannot make an input fail
/// that `f` itself, which might not evaluate it, would not), whose value set is small enough that
/// the two tables together are smaller than the fused one. Value sets are found by evaluating
/// the subexpression on every tuple of its inputs (at most `eval_limit`).
fn unfuse(encs: &[Enc], f: &Fun, size: usize, eval_limit: usize) -> Option<Split> {
    splits(encs, f, eval_limit, &|_| true)
        .into_iter()
        .map(|(split, values, sub_rows)| {
            let outer_rows = split
                .outer_args
                .iter()
                .map(|&i| encs[i].dims.len())
                .fold(values, usize::saturating_mul);
            (outer_rows.saturating_add(sub_rows), split)
        })
        .filter(|(cost, _)| *cost < size)
        .min_by_key(|(cost, _)| *cost)
        .map(|(_, s)| s)
}

/// Every way to split a subexpression `e` of `f` off as its own map: `e` over some of `f`'s
/// inputs (those `keep` accepts; at most `eval_limit` tuples of them), *total* on them (it
/// never fails, so splitting it off cannot make an input fail that `f` itself, which might not
/// evaluate it, would not). Each with the number of values `e` takes (found by evaluating it on
/// every tuple) and its number of tuples. The outer function reads the split-off map as its
/// last argument.
fn splits(
    encs: &[Enc],
    f: &Fun,
    eval_limit: usize,
    keep: &dyn Fn(&[usize]) -> bool,
) -> Vec<(Split, usize, usize)> {
    let mut subs = Vec::new();
    subexprs(f, &mut subs);
    let mut out = Vec::new();
    let mut tried: Vec<&Fun> = Vec::new();
    let mut memo = SetMemo::new();
    for e in subs {
        if std::ptr::eq(e, f) || matches!(e, Fun::Arg(_) | Fun::Const(_)) || tried.contains(&e) {
            continue;
        }
        tried.push(e);
        let mut s = BTreeSet::new();
        args_of(e, &mut s);
        let sub_args: Vec<usize> = s.into_iter().collect();
        if sub_args.is_empty() || sub_args.iter().any(|&i| i >= encs.len()) || !keep(&sub_args) {
            continue;
        }
        let sub_rows = sub_args
            .iter()
            .map(|&i| encs[i].dims.len())
            .fold(1usize, usize::saturating_mul);
        if sub_rows > eval_limit {
            continue;
        }
        // the subexpression's value set, if it is total
        let Some(vs) = value_set(e, encs, eval_limit, &mut memo) else {
            continue;
        };
        let values = vs.values.len();
        if !vs.total || values == 0 {
            continue;
        }
        let (outer, outer_args) = outer_of(f, e, encs.len());
        let sub = rename_args(e, &|a| sub_args.iter().position(|&o| o == a).unwrap_or(a));
        out.push((
            Split {
                sub,
                sub_args,
                outer,
                outer_args,
            },
            values,
            sub_rows,
        ));
    }
    out
}

/// The values a subexpression takes over every tuple of its inputs' values, and whether it is
/// total (no tuple makes it fail). See [`value_set`].
#[derive(Debug, Clone, PartialEq)]
struct ValueSet {
    values: BTreeSet<Val>,
    total: bool,
    /// Some tuple gave an integer, some a float: the set (ordered as numbers) may hold `1` for
    /// both `1` and `1.0`, which operations tell apart, so nothing is computed from it.
    ints: bool,
    floats: bool,
}

impl ValueSet {
    fn new(values: BTreeSet<Val>, total: bool, kinds: Kinds) -> ValueSet {
        ValueSet {
            values,
            total,
            ints: kinds.ints,
            floats: kinds.floats,
        }
    }
    fn mixed(&self) -> bool {
        self.ints && self.floats
    }
}

/// Which numeric kinds a run of evaluations gave.
#[derive(Default, Clone, Copy)]
struct Kinds {
    ints: bool,
    floats: bool,
}

impl Kinds {
    fn see(&mut self, v: &Val) {
        match v {
            Val::Int(_) => self.ints = true,
            Val::Float(_) => self.floats = true,
            _ => {}
        }
    }
}

/// Subexpressions whose [`ValueSet`]s are known (compared by structure), with `None` where
/// finding it out would take more than the evaluation limit.
type SetMemo<'f> = Vec<(&'f Fun, Option<ValueSet>)>;

/// `e`'s [`ValueSet`] over every tuple of values of the inputs it reads (`encs[i]` lists input
/// `i`'s values), or `None` when that takes more than `limit` evaluations. Equal to evaluating
/// `e` on every tuple ([`enumerate_values`]), computed from the children's value sets where the
/// children read disjoint inputs and none holds both integers and floats (see
/// [`ValueSet::ints`]): then every combination of their values occurs, so an
/// operation's values are the operation on every pair of the children's values, and an `if`
/// whose condition reads none of its branches' inputs takes the values of the branches its
/// condition takes (a difference of two counts of 257 values each is 513 values from 257 × 257
/// operations on numbers rather than 66,049 evaluations of the whole subexpression, and what
/// reads the difference costs 513).
fn value_set<'f>(
    e: &'f Fun,
    encs: &[Enc],
    limit: usize,
    memo: &mut SetMemo<'f>,
) -> Option<ValueSet> {
    if let Some((_, known)) = memo.iter().find(|(m, _)| identical(m, e)) {
        return known.clone();
    }
    let found = value_set_uncached(e, encs, limit, memo);
    memo.push((e, found.clone()));
    found
}

fn value_set_uncached<'f>(
    e: &'f Fun,
    encs: &[Enc],
    limit: usize,
    memo: &mut SetMemo<'f>,
) -> Option<ValueSet> {
    let reads = |f: &Fun| {
        let mut s = BTreeSet::new();
        args_of(f, &mut s);
        s
    };
    let disjoint = |a: &BTreeSet<usize>, b: &BTreeSet<usize>| a.is_disjoint(b);
    let strict = |children: &[&'f Fun], memo: &mut SetMemo<'f>| -> Option<Vec<ValueSet>> {
        let args: Vec<BTreeSet<usize>> = children.iter().map(|c| reads(c)).collect();
        for (i, a) in args.iter().enumerate() {
            if args[i + 1..].iter().any(|b| !disjoint(a, b)) {
                return None;
            }
        }
        children
            .iter()
            .map(|c| value_set(c, encs, limit, memo))
            .collect::<Option<Vec<ValueSet>>>()
            .filter(|sets| sets.iter().all(|s| !s.mixed()))
    };
    let not_total = || Some(ValueSet::new(BTreeSet::new(), false, Kinds::default()));
    // An input without values leaves no tuple at all (an `if` would otherwise still take its
    // other branch's values).
    if reads(e)
        .iter()
        .any(|&i| encs.get(i).is_some_and(|x| x.dims.is_empty()))
    {
        return enumerate_values(e, encs, limit);
    }
    match e {
        Fun::Arg(i) => {
            let mut kinds = Kinds::default();
            let values = encs
                .get(*i)?
                .dims
                .iter()
                .map(|(_, v)| {
                    kinds.see(v);
                    v.clone()
                })
                .collect();
            return Some(ValueSet::new(values, true, kinds));
        }
        Fun::Const(v) => {
            let mut kinds = Kinds::default();
            kinds.see(v);
            return Some(ValueSet::new(BTreeSet::from([v.clone()]), true, kinds));
        }
        Fun::Unary(..) | Fun::Builtin(..) | Fun::Numeric(..) | Fun::Binary(..) => {
            let children = e.children();
            if let Some(sets) = strict(&children, memo) {
                if sets.iter().any(|s| !s.total) {
                    return not_total();
                }
                let pairs = sets
                    .iter()
                    .map(|s| s.values.len())
                    .fold(1usize, usize::saturating_mul);
                if pairs <= limit {
                    let mut values = BTreeSet::new();
                    let mut kinds = Kinds::default();
                    let mut idx = vec![0usize; sets.len()];
                    let lists: Vec<Vec<&Val>> =
                        sets.iter().map(|s| s.values.iter().collect()).collect();
                    let mut vals: Vec<Val> = Vec::with_capacity(lists.len());
                    for _ in 0..pairs {
                        vals.clear();
                        vals.extend(idx.iter().zip(&lists).map(|(&k, l)| l[k].clone()));
                        match e.apply(&vals) {
                            Ok(v) => {
                                kinds.see(&v);
                                values.insert(v);
                            }
                            Err(_) => return not_total(),
                        }
                        next_tuple(&mut idx, |k| lists[k].len());
                    }
                    return Some(ValueSet::new(values, true, kinds));
                }
            }
        }
        Fun::If(c, a, b) => {
            let branches = reads(a).union(&reads(b)).copied().collect();
            if disjoint(&reads(c), &branches) {
                let cond = value_set(c, encs, limit, memo)?;
                if !cond.total {
                    return not_total();
                }
                let mut values = BTreeSet::new();
                let mut kinds = Kinds::default();
                for v in &cond.values {
                    let branch = match v {
                        Val::Bool(true) => a,
                        Val::Bool(false) => b,
                        _ => return not_total(),
                    };
                    let set = value_set(branch, encs, limit, memo)?;
                    if !set.total {
                        return not_total();
                    }
                    kinds.ints |= set.ints;
                    kinds.floats |= set.floats;
                    values.extend(set.values);
                }
                return Some(ValueSet::new(values, true, kinds));
            }
        }
    }
    enumerate_values(e, encs, limit)
}

/// [`value_set`] by evaluating `e` on every tuple of its inputs' values (`None` past `limit`
/// tuples).
fn enumerate_values(e: &Fun, encs: &[Enc], limit: usize) -> Option<ValueSet> {
    let mut s = BTreeSet::new();
    args_of(e, &mut s);
    let sub_args: Vec<usize> = s.into_iter().collect();
    if sub_args.iter().any(|&i| i >= encs.len()) {
        return None;
    }
    let rows = sub_args
        .iter()
        .map(|&i| encs[i].dims.len())
        .fold(1usize, usize::saturating_mul);
    if rows > limit {
        return None;
    }
    let mut values: BTreeSet<Val> = BTreeSet::new();
    let mut kinds = Kinds::default();
    let mut args: Vec<Val> = vec![Val::Int(0); encs.len()];
    let mut idx = vec![0usize; sub_args.len()];
    for _ in 0..rows {
        for (k, &a) in sub_args.iter().enumerate() {
            args[a] = encs[a].dims[idx[k]].1.clone();
        }
        match e.eval(&args) {
            Ok(v) => {
                kinds.see(&v);
                values.insert(v);
            }
            Err(_) => return Some(ValueSet::new(values, false, kinds)),
        }
        next_tuple(&mut idx, |k| encs[sub_args[k]].dims.len());
    }
    Some(ValueSet::new(values, true, kinds))
}

/// The next tuple of indices, mixed radix (digit `k` below `len(k)`), last digit fastest; all
/// zeros again after the last tuple.
fn next_tuple(idx: &mut [usize], len: impl Fn(usize) -> usize) {
    for k in (0..idx.len()).rev() {
        idx[k] += 1;
        if idx[k] < len(k) {
            return;
        }
        idx[k] = 0;
    }
}

fn label(v: &Val) -> String {
    match v {
        Val::Float(x) => format!("{x:?}"),
        other => other.to_string(),
    }
}

/// The dimension holding value `v` in a one-hot (`outs` always contains the values looked up).
/// A projection `ℓ = a·x + b·y` of two raw numbers (see [`Builder::fused_pair_map`]).
#[derive(Debug, Clone)]
struct PairProjection {
    a: f64,
    b: f64,
    /// Every pair of points as `(ℓ, i, j)`, ascending in `ℓ`.
    order: Vec<(f64, usize, usize)>,
    /// What `|ℓ|` could reach at BOS (as `reach` of [`Builder::gated_steps`]).
    reach: f64,
}

/// The most pairs of points a pair projection sorts (see [`pair_projection`]).
const MAX_PAIR_GRID: usize = 1 << 16;

/// The relative rounding a raw number may carry (of its points' largest magnitude) for which
/// [`pair_projection`] keeps every point's steps exact; f32 rounds at `2^-24`.
const PAIR_RAW_TOLERANCE: f64 = 1.0 / 1_048_576.0;

/// [`PAIR_RAW_TOLERANCE`] for models run in f64 (`2^-40`; f64 rounds at `2^-53`, and a mean's
/// sum over at most `2^12` keys stays within `2^-40` of its value).
const PAIR_RAW_TOLERANCE_F64: f64 = 1.0 / 1_099_511_627_776.0;

/// The better of the two lexicographic projections of the grid `xs × ys` (by `y` then `x`,
/// or by `x` then `y`): the major coordinate scaled so that its least gap spans the minor
/// coordinate's range plus its least gap, so consecutive values of `ℓ` are at least the minor
/// coordinate's least gap apart. `None` when neither keeps the projected rounding
/// (`tolerance` per number, [`PAIR_RAW_TOLERANCE`] or [`PAIR_RAW_TOLERANCE_F64`]) under a
/// quarter of the least gap between its values (as computed), or a coordinate has a repeated
/// or non-finite point.
fn pair_projection(xs: &[(f64, Val)], ys: &[(f64, Val)], tolerance: f64) -> Option<PairProjection> {
    // (least gap, range, largest magnitude) of ascending points
    let stats = |ps: &[(f64, Val)]| -> Option<(f64, f64, f64)> {
        let first = ps.first()?.0;
        let last = ps.last()?.0;
        let gap = ps
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold(f64::INFINITY, f64::min);
        let gap = if ps.len() < 2 { 1.0 } else { gap };
        let mag = ps.iter().map(|p| p.0.abs()).fold(0.0, f64::max);
        (gap.is_finite() && gap > 0.0 && first.is_finite() && last.is_finite()).then_some((
            gap,
            last - first,
            mag,
        ))
    };
    let (gx, rx, mx) = stats(xs)?;
    let (gy, ry, my) = stats(ys)?;
    if xs.len().saturating_mul(ys.len()) > MAX_PAIR_GRID {
        return None;
    }
    // y major, then x major; each with the least gap of its values as computed (built only
    // when the gap it is designed to keep passes)
    let candidates = [(1.0, (rx + gx) / gy, gx), ((ry + gy) / gx, 1.0, gy)];
    let passes = |(a, b, gap): (f64, f64, f64)| gap / ((a * mx + b * my) * tolerance) >= 4.0;
    let project = |a: f64, b: f64| {
        let mut order: Vec<(f64, usize, usize)> = Vec::with_capacity(xs.len() * ys.len());
        for (i, x) in xs.iter().enumerate() {
            for (j, y) in ys.iter().enumerate() {
                order.push((a * x.0 + b * y.0, i, j));
            }
        }
        order.sort_by(|p, q| p.0.total_cmp(&q.0));
        let gap = order
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold(f64::INFINITY, f64::min);
        let err = (a * mx + b * my) * tolerance;
        (a, b, order, gap / err)
    };
    let (a, b, order, _) = candidates
        .into_iter()
        .filter(|&c| passes(c))
        .map(|(a, b, _)| project(a, b))
        .filter(|c| c.3 >= 4.0)
        .max_by(|p, q| p.3.total_cmp(&q.3))?;
    let reach = a * (mx + 1.0) + b * (my + 1.0);
    Some(PairProjection { a, b, order, reach })
}

fn dim_of(dims: &[(usize, Val)], v: &Val) -> usize {
    dims.iter().find(|(_, dv)| dv == v).map_or(0, |(d, _)| *d)
}

/// A head matrix whose entries (summed where they repeat) are stashed until `assemble` knows
/// the residual width: 0 rows until then.
fn stash(entries: &[(usize, usize, f64)], cols: usize) -> Mat {
    Mat::from_entries(0, cols, entries.iter().copied())
}

/// The `(row, col, value)` entries of `m` (as [`stash`]ed).
fn decode_entries(m: &Mat) -> Vec<(usize, usize, f64)> {
    m.entries().collect()
}

fn size_head(h: &Head, d: usize) -> Head {
    let fill =
        |stash: &Mat, rows: usize, cols: usize| Mat::from_entries(rows, cols, stash.entries());
    Head {
        label: h.label.clone(),
        wq: fill(&h.wq, d, h.wq.cols),
        wk: fill(&h.wk, d, h.wk.cols),
        wov: fill(&h.wov, d, d),
    }
}

/// The most possible values a numeric output may list (they are stored in `graph.json`).
pub const MAX_NUMERIC_OUTPUT_VALUES: usize = 1 << 22;

/// The most (query tuple, key tuple) pairs a head's truth table may have.
pub const MAX_HEAD_TABLE: usize = 20_000_000;

fn check_table(keys: usize, queries: usize, limit: usize) -> R<()> {
    let cells = keys.saturating_mul(queries);
    if cells > limit {
        return fail(
            Span::default(),
            format!(
                "a head would compare {queries} query tuples with {keys} key tuples ({cells} pairs), more than the limit {limit} (--max-head-table); use a smaller vocabulary or max_len"
            ),
        );
    }
    Ok(())
}

/// A tuple of input values, each with its one-hot dimension.
type Tuple = Vec<(usize, Val)>;

/// `f` on every tuple of the inputs' values, in [`product`]'s order (the last input fastest):
/// each tuple with `f`'s value there (`None` where `f` fails). `f` is specialised to each tuple
/// of the other inputs first, so that only what reads the last input is evaluated per tuple.
fn table(f: &Fun, encs: &[Enc], span: Span, limit: usize) -> R<Vec<(Tuple, Option<Val>)>> {
    let Some((last, rest)) = encs.split_last() else {
        return Ok(vec![(Vec::new(), f.eval(&[]).ok())]);
    };
    let mut out = Vec::with_capacity(table_rows(encs, span, limit)?);
    let mut args: Vec<Val> = vec![Val::None; encs.len()];
    for t in product(rest, span, limit)? {
        let row_f = specialize_row(f, &t, rest.len());
        for d in &last.dims {
            args[rest.len()] = d.1.clone();
            let mut t2 = Vec::with_capacity(encs.len());
            t2.extend(t.iter().cloned());
            t2.push(d.clone());
            out.push((t2, row_f.eval(&args).ok()));
        }
    }
    Ok(out)
}

/// `f` with its inputs other than `free` set to `others` (in input order) and folded
/// ([`Fun::specialize`]): one row of a table over input `free`.
fn specialize_row(f: &Fun, others: &[(usize, Val)], free: usize) -> Fun {
    let mut known: Vec<Option<Val>> = others.iter().map(|(_, v)| Some(v.clone())).collect();
    known.insert(free, None);
    f.specialize(&known)
}

/// The number of tuples of one value per encoding, or an error past `limit` (`--max-table`).
fn table_rows(encs: &[Enc], span: Span, limit: usize) -> R<usize> {
    let size = encs
        .iter()
        .map(|e| e.dims.len())
        .fold(1usize, usize::saturating_mul);
    if size > limit {
        return fail(
            span,
            format!("a lookup table of {size} rows is larger than the limit {limit} (--max-table)"),
        );
    }
    Ok(size)
}

/// Every tuple of one value per encoding, with the dims that hold them.
fn product(encs: &[Enc], span: Span, limit: usize) -> R<Vec<Tuple>> {
    table_rows(encs, span, limit)?;
    let mut out: Vec<Tuple> = vec![Vec::new()];
    for e in encs {
        let mut next = Vec::with_capacity(out.len() * e.dims.len());
        for t in &out {
            for d in &e.dims {
                let mut t2 = t.clone();
                t2.push(d.clone());
                next.push(t2);
            }
        }
        out = next;
    }
    Ok(out)
}

/// The terms of an AND of comparisons and negated comparisons, as (key index, query index, the
/// term over one key and one query value); `false` for a tree with an OR or a negated AND/OR.
fn and_terms(t: &SelTree, out: &mut Vec<(usize, usize, SelTree)>) -> bool {
    match t {
        SelTree::And(a, b) => and_terms(a, out) && and_terms(b, out),
        SelTree::Leaf { k, q, pred } => {
            out.push((
                *k,
                *q,
                SelTree::Leaf {
                    k: 0,
                    q: 0,
                    pred: pred.clone(),
                },
            ));
            true
        }
        SelTree::Not(inner) => match &**inner {
            SelTree::Leaf { k, q, pred } => {
                out.push((
                    *k,
                    *q,
                    SelTree::Not(Box::new(SelTree::Leaf {
                        k: 0,
                        q: 0,
                        pred: pred.clone(),
                    })),
                ));
                true
            }
            _ => false,
        },
        SelTree::Or(..) => false,
    }
}

/// A decoding deferred by [`Builder::decode_later`].
struct LazyDecode {
    id: NodeId,
    raw: usize,
    points: Vec<(f64, Val)>,
    dims: Vec<(usize, Val)>,
    time: usize,
}

/// Residual dimensions marked live by [`Builder::prune`] (dense: dimensions are indices).
struct LiveSet {
    on: Vec<bool>,
    count: usize,
}

impl LiveSet {
    fn contains(&self, d: usize) -> bool {
        self.on.get(d).copied().unwrap_or(false)
    }

    fn extend(&mut self, dims: impl IntoIterator<Item = usize>) {
        for d in dims {
            if let Some(x) = self.on.get_mut(d)
                && !*x
            {
                *x = true;
                self.count += 1;
            }
        }
    }
}

/// A selector in disjunctive normal form has at most this many AND-terms for
/// [`Builder::disjoint_terms`] (their sum is one map, exact as a linear form of up to three
/// inputs).
const MAX_DISJOINT_TERMS: usize = 3;

/// `t` (negated when `neg`) as an OR of AND-terms of literals in [`and_terms`]' form; `None`
/// beyond [`MAX_DISJOINT_TERMS`] terms.
#[allow(clippy::type_complexity)]
fn dnf(t: &SelTree, neg: bool) -> Option<Vec<Vec<(usize, usize, SelTree)>>> {
    let out = match (t, neg) {
        (SelTree::Leaf { k, q, pred }, _) => {
            let leaf = SelTree::Leaf {
                k: 0,
                q: 0,
                pred: pred.clone(),
            };
            let lit = if neg {
                SelTree::Not(Box::new(leaf))
            } else {
                leaf
            };
            vec![vec![(*k, *q, lit)]]
        }
        (SelTree::Not(a), _) => return dnf(a, !neg),
        (SelTree::Or(a, b), false) | (SelTree::And(a, b), true) => {
            let mut x = dnf(a, neg)?;
            x.extend(dnf(b, neg)?);
            x
        }
        (SelTree::And(a, b), false) | (SelTree::Or(a, b), true) => {
            let (x, y) = (dnf(a, neg)?, dnf(b, neg)?);
            let mut out = Vec::with_capacity(x.len() * y.len());
            for s in &x {
                for t in &y {
                    out.push(s.iter().chain(t).cloned().collect());
                }
            }
            out
        }
    };
    (out.len() <= MAX_DISJOINT_TERMS).then_some(out)
}

/// A composite selector as a formula over key and query tuples.
#[derive(Clone)]
enum SelTree {
    Leaf { k: usize, q: usize, pred: Pred },
    And(Box<SelTree>, Box<SelTree>),
    Or(Box<SelTree>, Box<SelTree>),
    Not(Box<SelTree>),
}

impl SelTree {
    fn build(
        ir: &Ir,
        over: &BTreeMap<NodeId, NodeId>,
        s: NodeId,
        keys: &[NodeId],
        queries: &[NodeId],
    ) -> SelTree {
        match &ir.node(s).op {
            Op::Select {
                keys: k,
                queries: q,
                pred,
            } => match over.get(&s) {
                // the key is a boolean map that already holds the predicate's result
                Some(m) => SelTree::Leaf {
                    k: keys.iter().position(|x| x == m).unwrap_or(0),
                    q: queries.iter().position(|x| x == q).unwrap_or(0),
                    pred: Pred::Fun(Fun::Arg(0)),
                },
                None => SelTree::Leaf {
                    k: keys.iter().position(|x| x == k).unwrap_or(0),
                    q: queries.iter().position(|x| x == q).unwrap_or(0),
                    pred: pred.clone(),
                },
            },
            Op::SelAnd(a, b) => SelTree::And(
                Box::new(Self::build(ir, over, *a, keys, queries)),
                Box::new(Self::build(ir, over, *b, keys, queries)),
            ),
            Op::SelOr(a, b) => SelTree::Or(
                Box::new(Self::build(ir, over, *a, keys, queries)),
                Box::new(Self::build(ir, over, *b, keys, queries)),
            ),
            Op::SelNot(a) => SelTree::Not(Box::new(Self::build(ir, over, *a, keys, queries))),
            _ => SelTree::Leaf {
                k: 0,
                q: 0,
                pred: Pred::False,
            },
        }
    }

    fn eval(&self, q: &[Val], k: &[Val]) -> bool {
        match self {
            SelTree::Leaf { k: ki, q: qi, pred } => {
                let (kv, qv) = (&k[*ki], &q[*qi]);
                match pred {
                    Pred::Cmp(op) => cmp_vals(*op, kv, qv),
                    Pred::True => true,
                    Pred::False => false,
                    Pred::Fun(f) => {
                        matches!(f.eval(&[kv.clone(), qv.clone()]), Ok(Val::Bool(true)))
                    }
                }
            }
            SelTree::And(a, b) => a.eval(q, k) && b.eval(q, k),
            SelTree::Or(a, b) => a.eval(q, k) || b.eval(q, k),
            SelTree::Not(a) => !a.eval(q, k),
        }
    }
}

/// A MAP or BSC vector's components as ±1 (BSC bit b as 1 - 2b, so XOR is multiplication).
fn bipolar(v: &Hv, dim: usize) -> Vec<f64> {
    match v {
        Hv::Map(m) => m.as_slice().iter().map(|&x| f64::from(x)).collect(),
        Hv::Bsc(_) => v
            .components()
            .into_iter()
            .take(dim)
            .map(|b| 1.0 - 2.0 * b)
            .collect(),
        _ => Vec::new(),
    }
}

/// The residual values of a hypervector: ±1 per component (MAP; BSC bit b as 1 - 2b), the
/// components themselves (HRR), or the real parts then the imaginary parts (FHRR).
fn residual_values(v: &Hv, dim: usize) -> Vec<f64> {
    match v {
        Hv::Hrr(h) => h.as_slice().iter().map(|&x| f64::from(x)).collect(),
        Hv::Fhrr(f) => f.re().iter().chain(f.im()).map(|&x| f64::from(x)).collect(),
        _ => bipolar(v, dim),
    }
}

/// Whether every one of `vs` (vectors of one space) is an HRR vector whose Fourier coefficients
/// all have magnitude 1 (to 1e-3); one FFT plan serves them all.
fn unitary_hrr(vs: &[Hv]) -> bool {
    let Some(d) = vs.first().map(Hv::dim) else {
        return true;
    };
    let fft = tessera_vsa::hrr::Hrr::new(d);
    vs.iter().all(|v| {
        matches!(v, Hv::Hrr(h) if h.as_slice().len() == d
            && fft.spectrum(h).iter().all(|c| (c.norm() - 1.0).abs() < 1e-3))
    })
}

/// Residual dimensions of one hypervector: FHRR keeps a real and an imaginary part per
/// component.
fn hv_width(model: VsaModel, d: usize) -> usize {
    if model == VsaModel::Fhrr { 2 * d } else { d }
}

/// Where component `i` of a hypervector of `width` residual dimensions lands after a cyclic
/// shift by `s` (FHRR shifts its real and imaginary halves alike).
fn shifted(i: usize, s: usize, d: usize, width: usize) -> usize {
    let half = if width == 2 * d { i / d } else { 0 };
    half * d + (i % d + s) % d
}

impl Builder<'_> {
    /// The live nodes that read `id`, with the input slots they read it in.
    fn users(&self, id: NodeId) -> Vec<(NodeId, usize)> {
        let mut out = Vec::new();
        for &u in &self.live {
            for (slot, i) in self.ir.node(u).op.inputs().into_iter().enumerate() {
                if i == id {
                    out.push((u, slot));
                }
            }
        }
        out
    }

    /// Whether no use of the HRR vector `id` depends on its length: each use is a cleanup
    /// without a threshold (the argmax of cosines ignores the query's length), or binds it,
    /// unbinds it (as the vector unbound) or permutes it (each linear in it) into a vector of
    /// which the same holds. A compiled HRR bundle is the plain sum, and the interpreter's is
    /// that sum divided by its length: it may only flow where length does not matter.
    fn length_blind(&self, id: NodeId) -> bool {
        let users = self.users(id);
        if users.is_empty() || self.ir.output == Some(IrOutput::Seq(id)) {
            return false;
        }
        users
            .into_iter()
            .all(|(u, slot)| match &self.ir.node(u).op {
                Op::Vsa { op, .. } => match op {
                    VsaOp::Cleanup { min: None, .. } => true,
                    VsaOp::Bind { .. } | VsaOp::Permute { .. } => self.length_blind(u),
                    VsaOp::Unbind { .. } | VsaOp::PermuteBy { .. } => {
                        slot == 0 && self.length_blind(u)
                    }
                    _ => false,
                },
                _ => false,
            })
    }

    /// Whether the HRR vector `id` is unitary (every Fourier coefficient of magnitude 1):
    /// constants and codebook items whose spectra are (the atoms are; a folded constant bundle
    /// is not), and what binding, unbinding and permuting make from unitary vectors. Its exact
    /// inverse is its involution, so unbinding by it is a circular correlation.
    fn unitary(&self, id: NodeId) -> bool {
        match &self.ir.node(id).op {
            Op::Vsa { op, inputs } => match op {
                VsaOp::Const { vec, .. } => unitary_hrr(std::slice::from_ref(&*vec.0)),
                VsaOp::Embed { book } => unitary_hrr(book.book.vectors()),
                VsaOp::Bind { .. } | VsaOp::Unbind { .. } => {
                    inputs.iter().all(|&i| self.unitary(i))
                }
                VsaOp::Permute { .. } | VsaOp::PermuteBy { .. } => {
                    inputs.first().is_some_and(|&i| self.unitary(i))
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The vector of an HRR constant node.
    fn hrr_const(&self, id: NodeId) -> Option<tessera_vsa::hrr::HrrVec> {
        match &self.ir.node(id).op {
            Op::Vsa {
                op: VsaOp::Const { vec, .. },
                ..
            } => match &*vec.0 {
                Hv::Hrr(h) => Some(h.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// HRR binding (`conj`: unbinding by a unitary vector) as one bilinear sublayer: circular
    /// convolution is a product in the Fourier domain, `C_f = A_f B_f` (or `A_f conj(B_f)`), and
    /// the transforms are linear, so each unit multiplies one real or imaginary part of `A_f`
    /// (its weights: the DFT row over `a`'s dimensions) by one of `B_f`, and writes its share
    /// of the inverse transform to every output component. Real inputs have conjugate-symmetric
    /// spectra: frequencies `0..=d/2` suffice, about `2d` units of `3d` weights each.
    #[allow(clippy::too_many_arguments)]
    fn hrr_product_units(
        &mut self,
        id: NodeId,
        time: usize,
        a: &[usize],
        b: &[usize],
        out: &[usize],
        conj: bool,
        what: &str,
    ) {
        let d = a.len();
        let angle = |f: usize, n: usize| std::f64::consts::TAU * ((f * n) % d) as f64 / d as f64;
        // Re and Im of the forward transform at f: Σ x_n cos θ and -Σ x_n sin θ.
        let part = |dims: &[usize], f: usize, im: bool| -> Vec<(usize, f64)> {
            dims.iter()
                .enumerate()
                .map(|(n, &c)| {
                    let t = angle(f, n);
                    (c, if im { -t.sin() } else { t.cos() })
                })
                .filter(|(_, w)| *w != 0.0)
                .collect()
        };
        let label = format!("{what} %{id}");
        for f in 0..=d / 2 {
            // Frequencies with a real coefficient (0, and d/2 for even d) count once; the others
            // stand for themselves and their mirror d - f.
            let real_only = f == 0 || 2 * f == d;
            let m = if real_only { 1.0 } else { 2.0 } / d as f64;
            // (first factor imaginary?, second factor imaginary?, sign into Re C, into Im C)
            let terms: &[(bool, bool, f64, f64)] = match (real_only, conj) {
                (true, _) => &[(false, false, 1.0, 0.0)],
                (false, false) => &[
                    (false, false, 1.0, 0.0),
                    (true, true, -1.0, 0.0),
                    (false, true, 0.0, 1.0),
                    (true, false, 0.0, 1.0),
                ],
                (false, true) => &[
                    (false, false, 1.0, 0.0),
                    (true, true, 1.0, 0.0),
                    (false, true, 0.0, -1.0),
                    (true, false, 0.0, 1.0),
                ],
            };
            for &(ai, bi, to_re, to_im) in terms {
                // c_k += m (Re C_f cos φ - Im C_f sin φ), φ = 2π f k / d
                let outputs: Vec<(usize, f64)> = out
                    .iter()
                    .enumerate()
                    .map(|(k, &o)| {
                        let t = angle(f, k);
                        (o, m * (to_re * t.cos() - to_im * t.sin()))
                    })
                    .filter(|(_, w)| w.abs() > 1e-15)
                    .collect();
                self.add_bunit(
                    time,
                    label.clone(),
                    BUnit {
                        u: part(a, f, ai),
                        bu: 0.0,
                        v: part(b, f, bi),
                        bv: 0.0,
                        outputs,
                    },
                );
            }
        }
    }

    /// FHRR binding (`conj`: unbinding) as products of single components: `(ar + i ai)(br ± i bi)`.
    #[allow(clippy::too_many_arguments)]
    fn fhrr_product_units(
        &mut self,
        id: NodeId,
        time: usize,
        a: &[usize],
        b: &[usize],
        out: &[usize],
        conj: bool,
        what: &str,
    ) {
        let d = a.len() / 2;
        let s = if conj { -1.0 } else { 1.0 };
        let label = format!("{what} %{id}");
        for i in 0..d {
            let (ar, ai, br, bi) = (a[i], a[d + i], b[i], b[d + i]);
            let (re, im) = (out[i], out[d + i]);
            // re = ar br ∓ ai bi, im = ± ar bi + ai br
            for (x, y, o, w) in [
                (ar, br, re, 1.0),
                (ai, bi, re, -s),
                (ar, bi, im, s),
                (ai, br, im, 1.0),
            ] {
                self.add_bunit(
                    time,
                    label.clone(),
                    BUnit {
                        u: vec![(x, 1.0)],
                        bu: 0.0,
                        v: vec![(y, 1.0)],
                        bv: 0.0,
                        outputs: vec![(o, w)],
                    },
                );
            }
        }
    }

    /// Why an HRR or FHRR operation does not compile (`None`: it does). What needs a vector's
    /// length or a division has no exact bilinear form.
    fn real_vsa_refusal(
        &self,
        id: NodeId,
        op: &VsaOp,
        inputs: &[NodeId],
        model: VsaModel,
    ) -> Option<String> {
        let m = model.name();
        match op {
            VsaOp::Sim { .. } => Some(format!(
                "`sim` over a `{m}` space does not compile (a cosine divides by lengths); compare with `cleanup` instead, or use a map or bsc space"
            )),
            VsaOp::Sum { .. } if model == VsaModel::Fhrr => Some(
                "`sum` over an `fhrr` space does not compile (it renormalises every component to length 1); use an hrr, map or bsc space".into(),
            ),
            VsaOp::Sum { .. } if !self.length_blind(id) => Some(
                "this `hrr` sum does not compile: the interpreter divides it by its length, and the compiled head averages the selected vectors instead, so it may only reach `cleanup` (through binding, unbinding or permuting), where length does not matter".into(),
            ),
            VsaOp::Cleanup { min: Some(_), .. } => Some(format!(
                "`cleanup` with a threshold over a `{m}` space does not compile (the threshold is on a cosine, which divides by the query's length); drop the threshold or use a map or bsc space"
            )),
            VsaOp::Bundle { .. } if model == VsaModel::Fhrr => Some(
                "a bundle over an `fhrr` space does not compile (it renormalises every component to length 1); use an hrr, map or bsc space".into(),
            ),
            VsaOp::Bundle { .. } if !self.length_blind(id) => Some(
                "this `hrr` bundle does not compile: the interpreter divides it by its length, which the compiled sum does not, so it may only reach `cleanup` (through binding, unbinding or permuting), where length does not matter".into(),
            ),
            VsaOp::Unbind { .. }
                if model == VsaModel::Hrr
                    && !inputs
                        .get(1)
                        .is_some_and(|&b| self.unitary(b) || self.hrr_const(b).is_some()) =>
            {
                Some("unbinding by this `hrr` vector does not compile: the exact inverse divides by its Fourier coefficients, which is bilinear only for unitary vectors (atoms, and what binding and permuting make of them) and linear for constants".into())
            }
            _ => None,
        }
    }

    fn hv_dims(&mut self, id: NodeId, d: usize) -> Vec<usize> {
        (0..d).map(|i| self.dim(format!("%{id}:hv{i}"))).collect()
    }

    fn hv_of(&self, id: NodeId, span: Span) -> R<Vec<usize>> {
        self.hv.get(&id).cloned().ok_or_else(|| CompileError {
            message: "a VSA operation reads a node that is not a compiled hypervector".into(),
            span,
        })
    }

    fn ready_of(&self, ids: &[NodeId]) -> usize {
        ids.iter()
            .map(|i| *self.ready.get(i).unwrap_or(&0))
            .max()
            .unwrap_or(0)
    }

    /// Units writing `sign(s)` of integer sums `s_i = Σ_j w·x_{j,i}` onto `out` (ties: `tie_i`):
    /// `(1 - t)(relu(s) - relu(s - 1)) - (1 + t)(relu(-s) - relu(-s - 1)) + t`, exact on
    /// integers. `scale` stretches sums whose nonzero values are at least `1/scale` apart from 0.
    fn sign_units(
        &mut self,
        id: NodeId,
        time: usize,
        sums: &[Vec<(usize, f64)>],
        tie: &[f64],
        out: &[usize],
        offset: f64,
    ) {
        let label = format!("bundle %{id}");
        for (i, terms) in sums.iter().enumerate() {
            let t = tie[i];
            for (sign, w_out) in [(1.0, 1.0 - t), (-1.0, -(1.0 + t))] {
                if w_out == 0.0 {
                    continue;
                }
                let mut inputs: Vec<(usize, f64)> =
                    terms.iter().map(|(d, w)| (*d, sign * w)).collect();
                inputs.push((self.bos, -BOS_GATE));
                for (bias, w) in [(-offset, w_out), (-offset - 1.0, -w_out)] {
                    self.add_unit(
                        time,
                        label.clone(),
                        Unit {
                            inputs: inputs.clone(),
                            bias,
                            outputs: vec![(out[i], w)],
                        },
                    );
                }
            }
        }
        // The tie values, at every real position.
        let outputs: Vec<(usize, f64)> = out
            .iter()
            .zip(tie)
            .filter(|(_, t)| **t != 0.0)
            .map(|(d, t)| (*d, *t))
            .collect();
        self.add_unit(
            time,
            label,
            Unit {
                inputs: vec![(self.real, 1.0), (self.bos, -BOS_GATE)],
                bias: 0.0,
                outputs,
            },
        );
    }

    /// Units writing the bipolar product `a_i · b_i = 2 relu(a + b - 1) + 2 relu(-a - b - 1) - 1`
    /// (scaled by `w`) onto `out_i`, and the constant `-w` from one unit.
    #[allow(clippy::too_many_arguments)]
    fn product_units(
        &mut self,
        id: NodeId,
        time: usize,
        a: &[usize],
        b: &[usize],
        out: &[(usize, f64)],
        constant: f64,
        what: &str,
    ) {
        let label = format!("{what} %{id}");
        for i in 0..a.len() {
            for sign in [1.0, -1.0] {
                self.add_unit(
                    time,
                    label.clone(),
                    Unit {
                        inputs: vec![(a[i], sign), (b[i], sign), (self.bos, -BOS_GATE)],
                        bias: -1.0,
                        outputs: vec![(out[i].0, 2.0 * out[i].1)],
                    },
                );
            }
        }
        let mut outputs: Vec<(usize, f64)> = Vec::new();
        for (d, w) in out {
            match outputs.iter_mut().find(|(e, _)| e == d) {
                Some(e) => e.1 += constant * w,
                None => outputs.push((*d, constant * w)),
            }
        }
        outputs.retain(|(_, w)| *w != 0.0);
        if !outputs.is_empty() {
            self.add_unit(
                time,
                label,
                Unit {
                    inputs: vec![(self.real, 1.0), (self.bos, -BOS_GATE)],
                    bias: 0.0,
                    outputs,
                },
            );
        }
    }

    /// Lower one VSA node. MAP and BSC: every component is ±1 and every operation exact (ReLU
    /// units). HRR and FHRR: real components; binding is a bilinear sublayer (exact up to
    /// rounding), and what would need a norm or a division is refused (see [`Self::real_vsa_refusal`]).
    fn vsa(&mut self, id: NodeId, op: &VsaOp, inputs: &[NodeId], span: Span) -> R<()> {
        let space = &op.space().space;
        let model = space.model();
        let real = matches!(model, VsaModel::Hrr | VsaModel::Fhrr);
        if real && let Some(why) = self.real_vsa_refusal(id, op, inputs, model) {
            return fail(span, why);
        }
        let d = space.dim();
        let width = hv_width(model, d);
        // Nonzero weights this operation will create, planned before anything is allocated.
        let values_of = |b: &Self, i: usize| b.enc.get(&inputs[i]).map_or(1, |e| e.dims.len());
        let planned = match op {
            VsaOp::Const { .. } | VsaOp::Permute { .. } => width,
            VsaOp::Embed { .. } => width.saturating_mul(values_of(self, 0)),
            VsaOp::Bind { .. } | VsaOp::Unbind { .. } if model == VsaModel::Hrr => {
                d.saturating_mul(d).saturating_mul(6)
            }
            VsaOp::Bind { .. } | VsaOp::Unbind { .. } | VsaOp::Sim { .. } => {
                width.saturating_mul(12)
            }
            VsaOp::Bundle { .. } => width.saturating_mul(4 * (inputs.len() + 2)),
            VsaOp::PermuteBy { .. } => width.saturating_mul(8).saturating_mul(values_of(self, 1)),
            VsaOp::Sum { .. } => width.saturating_mul(16),
            VsaOp::Cleanup { book, .. } => width.saturating_mul(book.book.len() + 1),
        };
        self.vsa_entries = self.vsa_entries.saturating_add(planned);
        let max_vsa = self.limits.max_vsa_entries;
        if self.vsa_entries > max_vsa {
            return fail(
                span,
                format!(
                    "the hypervector layers would need more than {max_vsa} weights (dim {d}, --max-vsa-weights); use a smaller `dim`, vocabulary or max_len"
                ),
            );
        }
        match op {
            VsaOp::Const { vec, .. } => {
                let dims = self.hv_dims(id, width);
                for (c, x) in dims.iter().zip(residual_values(&vec.0, d)) {
                    self.token_consts.push((*c, x));
                }
                self.hv.insert(id, dims);
                self.ready.insert(id, 0);
            }
            VsaOp::Embed { book } => {
                let x = inputs[0];
                let dims = self.hv_dims(id, width);
                let vecs: Vec<(Val, Vec<f64>)> = book
                    .book
                    .symbols()
                    .iter()
                    .zip(book.book.vectors())
                    .map(|(s, v)| (Val::Str(s.as_str().into()), residual_values(v, d)))
                    .collect();
                let lookup = |v: &Val| -> Option<&Vec<f64>> {
                    let key = v.to_string();
                    vecs.iter()
                        .find(|(s, _)| s.to_string() == key)
                        .map(|(_, c)| c)
                };
                if matches!(self.ir.node(x).op, Op::Tokens) {
                    // Straight into the token embedding.
                    let vocab: Vec<Val> = self.values(x);
                    for t in vocab {
                        if let Some(c) = lookup(&t) {
                            for (dim, xv) in dims.iter().zip(c) {
                                self.token_values.push((t.clone(), *dim, *xv));
                            }
                        }
                    }
                    self.ready.insert(id, 0);
                } else {
                    let enc = self.enc.get(&x).cloned().ok_or_else(|| CompileError {
                        message: "`embed` reads a node without an encoding".into(),
                        span,
                    })?;
                    let time = even_after(self.ready_of(&[x]));
                    for (vd, v) in &enc.dims {
                        if let Some(c) = lookup(v) {
                            let outputs: Vec<(usize, f64)> =
                                dims.iter().zip(c).map(|(o, w)| (*o, *w)).collect();
                            self.add_unit(
                                time,
                                format!("embed %{id}"),
                                Unit {
                                    inputs: vec![(*vd, 1.0), (self.bos, -BOS_GATE)],
                                    bias: 0.0,
                                    outputs,
                                },
                            );
                        }
                    }
                    self.ready.insert(id, time);
                }
                self.hv.insert(id, dims);
            }
            VsaOp::Bind { .. } | VsaOp::Unbind { .. } => {
                let (a, b) = (self.hv_of(inputs[0], span)?, self.hv_of(inputs[1], span)?);
                let dims = self.hv_dims(id, width);
                let time = even_after(self.ready_of(inputs));
                let conj = matches!(op, VsaOp::Unbind { .. });
                let what = if conj { "unbind" } else { "bind" };
                let inverse = match model {
                    VsaModel::Hrr if conj && !self.unitary(inputs[1]) => self.hrr_const(inputs[1]),
                    _ => None,
                };
                match model {
                    VsaModel::Hrr if inverse.is_some() => {
                        // Unbinding by a constant that is not unitary: binding with its exact
                        // inverse (the interpreter's division by each Fourier coefficient,
                        // with the same treatment of vanishing ones), a constant itself.
                        let inv = inverse.map(|b| {
                            let h = tessera_vsa::hrr::Hrr::new(d);
                            let spec = h
                                .spectrum(&b)
                                .into_iter()
                                .map(|y| {
                                    let n = y.norm_sqr();
                                    if n < 1e-12 { y * 0.0 } else { y.conj() / n }
                                })
                                .collect();
                            h.from_spectrum(spec)
                        });
                        let inv_dims: Vec<usize> =
                            (0..d).map(|i| self.dim(format!("%{id}:inv{i}"))).collect();
                        for (c, x) in inv_dims
                            .iter()
                            .zip(inv.iter().flat_map(|v| v.as_slice().to_vec()))
                        {
                            self.token_consts.push((*c, f64::from(x)));
                        }
                        self.hrr_product_units(id, time, &a, &inv_dims, &dims, false, what);
                    }
                    VsaModel::Hrr => self.hrr_product_units(id, time, &a, &b, &dims, conj, what),
                    VsaModel::Fhrr => self.fhrr_product_units(id, time, &a, &b, &dims, conj, what),
                    _ => {
                        // Both are self-inverse: unbinding is binding.
                        let out: Vec<(usize, f64)> = dims.iter().map(|&o| (o, 1.0)).collect();
                        self.product_units(id, time, &a, &b, &out, -1.0, "bind");
                    }
                }
                self.hv.insert(id, dims);
                self.ready.insert(id, time);
            }
            VsaOp::Bundle { .. } if real => {
                // HRR only (FHRR bundles are refused): the plain sum, one linear unit per
                // component; `length_blind` showed that its length does not matter.
                let items = inputs
                    .iter()
                    .map(|&i| self.hv_of(i, span))
                    .collect::<R<Vec<_>>>()?;
                let dims = self.hv_dims(id, width);
                let time = even_after(self.ready_of(inputs));
                for (c, &o) in dims.iter().enumerate() {
                    let mut u: Vec<(usize, f64)> = Vec::new();
                    for it in &items {
                        match u.iter_mut().find(|(e, _)| *e == it[c]) {
                            Some(e) => e.1 += 1.0,
                            None => u.push((it[c], 1.0)),
                        }
                    }
                    self.add_bunit(
                        time,
                        format!("bundle %{id}"),
                        BUnit {
                            u,
                            bu: 0.0,
                            v: Vec::new(),
                            bv: 1.0,
                            outputs: vec![(o, 1.0)],
                        },
                    );
                }
                self.hv.insert(id, dims);
                self.ready.insert(id, time);
            }
            VsaOp::Bundle { .. } => {
                let items = inputs
                    .iter()
                    .map(|&i| self.hv_of(i, span))
                    .collect::<R<Vec<_>>>()?;
                let sums: Vec<Vec<(usize, f64)>> = (0..d)
                    .map(|c| items.iter().map(|it| (it[c], 1.0)).collect())
                    .collect();
                let tie = bipolar(space.tie(), d);
                let dims = self.hv_dims(id, d);
                let time = even_after(self.ready_of(inputs));
                self.sign_units(id, time, &sums, &tie, &dims, 0.0);
                self.hv.insert(id, dims);
                self.ready.insert(id, time);
            }
            VsaOp::Permute { k, .. } => {
                // A permutation is a relabelling of the input's dimensions: no weights at all.
                let a = self.hv_of(inputs[0], span)?;
                let s = (*k).rem_euclid(d as i64) as usize;
                let mut dims: Vec<usize> = a.clone();
                for (i, &c) in a.iter().enumerate() {
                    dims[shifted(i, s, d, width)] = c;
                }
                self.hv.insert(id, dims);
                let r = self.ready_of(inputs);
                self.ready.insert(id, r);
            }
            VsaOp::PermuteBy { .. } => {
                let a = self.hv_of(inputs[0], span)?;
                let kenc = self
                    .enc
                    .get(&inputs[1])
                    .cloned()
                    .ok_or_else(|| CompileError {
                        message: "`permute` reads a shift without an encoding".into(),
                        span,
                    })?;
                let dims = self.hv_dims(id, width);
                let time = even_after(self.ready_of(inputs));
                for (kd, kv) in &kenc.dims {
                    let Val::Int(k) = kv else {
                        return fail(
                            span,
                            format!("`permute` shifts by an int, but the shift can be `{kv}`"),
                        );
                    };
                    let s = k.rem_euclid(d as i64) as usize;
                    if real {
                        // out[shift(i)] += [k = this shift] · a_i: a product with the one-hot.
                        for (i, &c) in a.iter().enumerate() {
                            self.add_bunit(
                                time,
                                format!("permute %{id}"),
                                BUnit {
                                    u: vec![(*kd, 1.0)],
                                    bu: 0.0,
                                    v: vec![(c, 1.0)],
                                    bv: 0.0,
                                    outputs: vec![(dims[shifted(i, s, d, width)], 1.0)],
                                },
                            );
                        }
                        continue;
                    }
                    // out[(i + s) mod d] = a_i where the shift is k: relu(±a_i + 2g - 2).
                    for i in 0..d {
                        for sign in [1.0, -1.0] {
                            self.add_unit(
                                time,
                                format!("permute %{id}"),
                                Unit {
                                    inputs: vec![(a[i], sign), (*kd, 2.0), (self.bos, -BOS_GATE)],
                                    bias: -2.0,
                                    outputs: vec![(dims[(i + s) % d], sign)],
                                },
                            );
                        }
                    }
                }
                self.hv.insert(id, dims);
                self.ready.insert(id, time);
            }
            VsaOp::Sum { .. } if real => {
                // HRR (FHRR is refused): the head's average of the selected vectors, a positive
                // multiple of the interpreter's bundle, which `length_blind` showed is all that
                // matters. Selected keys score β = 40, the rest and BOS 0: the unselected ones
                // add less than (N+1)e^{-40} of their vectors. (Selecting nothing is an error
                // in the interpreter.)
                let (sel, values) = (inputs[0], inputs[1]);
                let v = self.hv_of(values, span)?;
                let (keys, queries, table) = self.selector(sel)?;
                let vt = self.ready_of(&[values]);
                let t = odd_after(self.features_ready(sel, &keys, &queries)?.max(vt));
                let (kf, qf) = self.features(sel, &keys, &queries, t - 1)?;
                let dims = self.hv_dims(id, width);
                let ov: Vec<(usize, usize, f64)> =
                    v.iter().zip(&dims).map(|(a, r)| (*a, *r, 1.0)).collect();
                let head = self.head(&format!("sum %{id}"), &kf, &qf, &table, 40.0, 0.0, &ov)?;
                self.heads.entry(t).or_default().push(head);
                self.hv.insert(id, dims);
                self.ready.insert(id, t);
            }
            VsaOp::Sum { .. } => {
                let (sel, values) = (inputs[0], inputs[1]);
                let v = self.hv_of(values, span)?;
                let (keys, queries, table) = self.selector(sel)?;
                let vt = self.ready_of(&[values]);
                let t = odd_after(self.features_ready(sel, &keys, &queries)?.max(vt));
                let (kf, qf) = self.features(sel, &keys, &queries, t - 1)?;
                // Selected keys score β, the rest (and BOS, whose vector is 0) score 0; the head
                // reads the mean of the selected vectors with error below 2(N+1)e^{-β} < 1/(4N).
                let nn = self.n as f64;
                let beta = (8.0 * nn * (nn + 1.0)).ln() + 2.0;
                let raw: Vec<usize> = (0..d).map(|i| self.dim(format!("%{id}.raw{i}"))).collect();
                let ov: Vec<(usize, usize, f64)> =
                    v.iter().zip(&raw).map(|(a, r)| (*a, *r, 1.0)).collect();
                let head = self.head(&format!("sum %{id}"), &kf, &qf, &table, beta, 0.0, &ov)?;
                self.heads.entry(t).or_default().push(head);
                // A nonzero mean of w values ±1 is at least 1/w ≥ 1/N from 0: stretch by 2N and
                // step at 0.5 and 1.5.
                let scale = 2.0 * nn;
                let sums: Vec<Vec<(usize, f64)>> = raw.iter().map(|r| vec![(*r, scale)]).collect();
                let tie = bipolar(space.tie(), d);
                let dims = self.hv_dims(id, d);
                self.sign_units(id, t + 1, &sums, &tie, &dims, 0.5);
                self.hv.insert(id, dims);
                self.ready.insert(id, t + 1);
            }
            VsaOp::Sim { .. } => {
                let (a, b) = (self.hv_of(inputs[0], span)?, self.hv_of(inputs[1], span)?);
                let raw = self.dim(format!("%{id}.raw"));
                let time = even_after(self.ready_of(inputs));
                let df = d as f64;
                // MAP: dot/d = Σ 2(h1 + h2)/d - 1; BSC: 1 - hamming/d = Σ (h1 + h2)/d.
                let (w, c) = if model == VsaModel::Map {
                    (1.0 / df, -1.0)
                } else {
                    (0.5 / df, 0.0)
                };
                let out: Vec<(usize, f64)> = (0..d).map(|_| (raw, w)).collect();
                self.product_units(id, time, &a, &b, &out, -1.0, "sim");
                // product_units adds -w per component (Σ = -d·w); correct to the constant `c`.
                let fix = c + df * w;
                if fix != 0.0 {
                    self.add_unit(
                        time,
                        format!("sim %{id}"),
                        Unit {
                            inputs: vec![(self.real, 1.0), (self.bos, -BOS_GATE)],
                            bias: 0.0,
                            outputs: vec![(raw, fix)],
                        },
                    );
                }
                // Every value the interpreter can compute, exactly as it computes it.
                let mut points: Vec<(f64, Val)> = (0..=d)
                    .map(|k| {
                        let x = if model == VsaModel::Map {
                            ((d - k) as f64 - k as f64) / df
                        } else {
                            1.0 - (k as f64) / df
                        };
                        (x, Val::Float(x))
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                points.dedup_by(|a, b| a.0 == b.0);
                let enc = self.decode(id, raw, &points, time + 2);
                self.enc.insert(id, enc);
                self.ready.insert(id, time + 2);
            }
            VsaOp::Cleanup { book, min } => {
                let a = self.hv_of(inputs[0], span)?;
                let n_sym = book.book.len();
                let mut keys = Vec::new();
                let mut bias = Vec::new();
                for (j, v) in book.book.vectors().iter().enumerate() {
                    let x = residual_values(v, d);
                    if real {
                        // Scores are dot products with the unit-length items: the argmax of the
                        // cosines, whatever the query's length. Ties go to the first slot.
                        let norm = x.iter().map(|y| y * y).sum::<f64>().sqrt();
                        let s = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                        for (c, y) in a.iter().zip(&x) {
                            keys.push((*c, j, y * s));
                        }
                        bias.push(0.0);
                        continue;
                    }
                    for (c, y) in a.iter().zip(x) {
                        keys.push((*c, j, y));
                    }
                    // Ties go to the lowest index: distinct integer scores stay ordered.
                    bias.push(-(j as f64) / (n_sym as f64 + 1.0));
                }
                let mut outs: Vec<Val> = book
                    .book
                    .symbols()
                    .iter()
                    .map(|s| Val::Str(s.as_str().into()))
                    .collect();
                let df = d as f64;
                let sim_of = |dot: i64| -> f64 {
                    if model == VsaModel::Map {
                        dot as f64 / df
                    } else {
                        1.0 - (((d as i64 - dot) / 2) as f64) / df
                    }
                };
                if let Some(m) = min {
                    // The smallest reachable dot product (same parity as d) that passes.
                    let passing = (0..=d)
                        .map(|k| d as i64 - 2 * k as i64)
                        .filter(|&t| sim_of(t) >= *m)
                        .min();
                    let none_score = match passing {
                        Some(t) => t as f64 - 1.5,
                        None => df + 2.0,
                    };
                    bias.push(none_score);
                    outs.push(Val::None);
                }
                let slots = bias.len();
                let mut seen = BTreeSet::new();
                let dims: Vec<(usize, Val)> = outs
                    .iter()
                    .filter(|v| seen.insert((*v).clone()))
                    .map(|v| (self.value_dim(id, v), v.clone()))
                    .collect();
                let values: Vec<(usize, usize, f64)> = outs
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (j, dim_of(&dims, v), 1.0))
                    .collect();
                let r = self.ready_of(inputs);
                let time = if r >= 2 && r.is_multiple_of(2) {
                    r
                } else {
                    even_after(r)
                };
                self.memories.entry(time).or_default().push(MemorySpec {
                    label: format!("cleanup %{id}"),
                    slots,
                    keys,
                    bias,
                    values,
                    tie: if real {
                        tessera_vsa::cleanup::REAL_TIE
                    } else {
                        0.0
                    },
                });
                self.enc.insert(id, Enc { dims });
                self.ready.insert(id, time);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod unfuse_tests {
    use super::*;
    use tessera_lang::ast::{BinOp, UnOp};

    /// A pseudo-random function over `arity` inputs (integers and booleans mixed, so some
    /// fail on some tuples and some everywhere), `depth` levels deep.
    fn random_fun(rng: &mut u64, arity: usize, depth: usize) -> Fun {
        let mut next = |n: u64| {
            *rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*rng >> 33) % n
        };
        if depth == 0 || next(4) == 0 {
            return match next(4) {
                0 => Fun::Const(Val::Int(next(5) as i64 - 2)),
                1 => Fun::Const(
                    [Val::Float(1.0), Val::Float(-0.0), Val::Float(2.5)][next(3) as usize].clone(),
                ),
                _ => Fun::Arg(next(arity as u64) as usize),
            };
        }
        let ops = [
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::FloorDiv,
            BinOp::Rem,
            BinOp::Eq,
            BinOp::Lt,
            BinOp::And,
            BinOp::Shl,
        ];
        let op = ops[next(ops.len() as u64) as usize];
        let kind = next(6);
        let sub = |rng: &mut u64| random_fun(rng, arity, depth - 1);
        match kind {
            0 => Fun::If(Box::new(sub(rng)), Box::new(sub(rng)), Box::new(sub(rng))),
            1 => Fun::Unary(UnOp::Neg, Box::new(sub(rng))),
            2 => Fun::Builtin(
                ["abs", "str", "float", "int"][(*rng >> 40) as usize % 4],
                Box::new(sub(rng)),
            ),
            _ => Fun::Binary(op, Box::new(sub(rng)), Box::new(sub(rng))),
        }
    }

    #[test]
    fn value_sets_equal_evaluation_on_every_tuple() {
        // inputs of 4, 5 and 5 values, booleans, an integer and floats equal to integers
        // among the last (functions of them fail on some tuples, on every tuple or on none, and
        // `1` and `1.0` are one value to a set but not to `<<` or `str`)
        let encs = [
            ints(0, 4),
            ints(4, 5),
            Enc {
                dims: vec![
                    (9, Val::Bool(false)),
                    (10, Val::Bool(true)),
                    (11, Val::Int(2)),
                    (12, Val::Float(1.0)),
                    (13, Val::Float(-0.0)),
                ],
            },
        ];
        // and the same with an input that has no values (no tuple reads it)
        let empty = [encs[0].clone(), Enc { dims: Vec::new() }, encs[2].clone()];
        let mut rng = 7u64;
        let (mut subexpressions, mut total) = (0, 0);
        for round in 0..4000 {
            let encs = if round % 4 == 3 { &empty } else { &encs };
            let f = random_fun(&mut rng, 3, 4);
            let mut subs = Vec::new();
            subexprs(&f, &mut subs);
            let mut memo = SetMemo::new();
            for e in subs {
                let fast = value_set(e, encs, 1 << 20, &mut memo);
                let slow = enumerate_values(e, encs, 1 << 20);
                // values only matter for a total subexpression
                let same = match (&fast, &slow) {
                    (Some(a), Some(b)) => {
                        a.total == b.total
                            && (!a.total
                                || ((a.ints, a.floats) == (b.ints, b.floats)
                                    && a.values == b.values
                                    // which of `1` and `1.0` a mixed set keeps depends on the
                                    // order of evaluation; nothing is computed from such a set
                                    && (a.mixed()
                                        || a.values.iter().zip(&b.values).all(|(x, y)| same_val(x, y)))))
                    }
                    (a, b) => a.is_none() && b.is_none(),
                };
                assert!(same, "{}: {fast:?} against {slow:?}", e.render());
                subexpressions += 1;
                total += usize::from(slow.is_some_and(|s| s.total));
            }
        }
        assert!(
            total > 1000 && subexpressions > total,
            "{total} total of {subexpressions}"
        );
    }

    #[test]
    fn only_identical_subexpressions_are_replaced() {
        // $0 * 2 and $0 * 2.0 are == (1 and 1.0 compare equal) but differ: `<< 1` of the
        // second is a type error
        let x = bin(BinOp::Mul, Fun::Arg(0), Fun::Const(Val::Int(2)));
        let x2 = bin(BinOp::Mul, Fun::Arg(0), Fun::Const(Val::Float(2.0)));
        assert_eq!(x, x2);
        let f = bin(
            BinOp::Shl,
            bin(BinOp::Add, x2.clone(), x.clone()),
            Fun::Const(Val::Int(1)),
        );
        let (outer, outer_args) = outer_of(&f, &x, 1);
        assert_eq!(outer_args, vec![0]);
        // the float copy still reads input 0; only the integer one became the new argument
        let want = bin(
            BinOp::Shl,
            bin(BinOp::Add, x2, Fun::Arg(1)),
            Fun::Const(Val::Int(1)),
        );
        assert!(identical(&outer, &want), "{}", outer.render());
        assert!(
            contains_sub(&f, &x)
                && !identical(
                    &x,
                    &bin(BinOp::Mul, Fun::Arg(0), Fun::Const(Val::Float(2.0)))
                )
        );
    }

    #[test]
    fn value_sets_keep_ints_and_floats_apart() {
        // (if $0 then $2 else $1) << 1 with $1 in {0, 1} and $2 in {0.0, 1.0}: the `if` takes
        // the values {0, 1} as a set, but `1.0 << 1` is a type error, so the shift is not total;
        // str(...) of it has four values, not two
        let encs = [
            Enc {
                dims: vec![(0, Val::Bool(false)), (1, Val::Bool(true))],
            },
            ints(2, 2),
            Enc {
                dims: vec![(4, Val::Float(0.0)), (5, Val::Float(1.0))],
            },
        ];
        let choice = Fun::If(
            Box::new(Fun::Arg(0)),
            Box::new(Fun::Arg(2)),
            Box::new(Fun::Arg(1)),
        );
        let shifted = bin(BinOp::Shl, choice.clone(), Fun::Const(Val::Int(1)));
        let shown = Fun::Builtin("str", Box::new(choice));
        for e in [&shifted, &shown] {
            let fast = value_set(e, &encs, 1 << 20, &mut SetMemo::new()).expect("small");
            let slow = enumerate_values(e, &encs, 1 << 20).expect("small");
            assert_eq!(fast.total, slow.total, "{}", e.render());
            assert_eq!(fast.values.len(), slow.values.len(), "{}", e.render());
        }
        assert!(!enumerate_values(&shifted, &encs, 1 << 20).is_some_and(|s| s.total));
    }

    #[test]
    fn value_sets_of_differences_come_from_the_operands_values() {
        // ($1 - $2) - 1 over two counts of 257 values: 513 values, total
        let e = bin(
            BinOp::Sub,
            bin(BinOp::Sub, Fun::Arg(1), Fun::Arg(2)),
            Fun::Const(Val::Int(1)),
        );
        let encs = [ints(0, 4), ints(4, 257), ints(300, 257)];
        let mut memo = SetMemo::new();
        let vs = value_set(&e, &encs, 1 << 20, &mut memo).expect("within the limit");
        assert!(vs.total);
        assert_eq!(vs.values.len(), 513);
        assert_eq!(Some(vs), enumerate_values(&e, &encs, 1 << 20));
        // past the limit both give up
        assert_eq!(value_set(&e, &encs, 1000, &mut SetMemo::new()), None);
    }

    #[test]
    fn linear_forms_are_found_and_refused_as_by_the_full_pass() {
        let encs = [ints(0, 40), ints(40, 81)];
        // a function of $0 - $1
        let f = bin(
            BinOp::Eq,
            bin(BinOp::Sub, Fun::Arg(0), Fun::Arg(1)),
            Fun::Const(Val::Int(3)),
        );
        let lin = linear_form(&encs, &f, 1 << 20).expect("a signed sum");
        assert_eq!(lin.signs, vec![1.0, -1.0]);
        assert_eq!(lin.points.len(), 40 + 81 - 1);
        // reads $0 alone where $1 is 0: not a function of any signed sum
        let g = Fun::If(
            Box::new(bin(BinOp::Eq, Fun::Arg(1), Fun::Const(Val::Int(0)))),
            Box::new(Fun::Arg(0)),
            Box::new(Fun::Const(Val::Int(-1))),
        );
        assert_eq!(linear_form(&encs, &g, 1 << 20), None);
    }

    fn ints(first_dim: usize, n: i64) -> Enc {
        Enc {
            dims: (0..n)
                .map(|v| (first_dim + v as usize, Val::Int(v)))
                .collect(),
        }
    }
    fn bin(op: BinOp, a: Fun, b: Fun) -> Fun {
        Fun::Binary(op, Box::new(a), Box::new(b))
    }

    #[test]
    fn splits_off_the_part_over_fewer_inputs_and_renumbers_the_rest() {
        // if $0 > 0 then 1 else ($1 - $2 == 0): 30^3 rows fused; `$0 > 0` has two values
        let f = Fun::If(
            Box::new(bin(BinOp::Gt, Fun::Arg(0), Fun::Const(Val::Int(0)))),
            Box::new(Fun::Const(Val::Bool(true))),
            Box::new(bin(
                BinOp::Eq,
                bin(BinOp::Sub, Fun::Arg(1), Fun::Arg(2)),
                Fun::Const(Val::Int(0)),
            )),
        );
        let encs = [ints(0, 30), ints(30, 30), ints(60, 30)];
        let split = unfuse(&encs, &f, 27_000, 1 << 20).expect("a split");
        // every tuple: the split pair computes what the fused function computes
        for a in 0..30 {
            for b in 0..30 {
                for c in 0..30 {
                    let args = [Val::Int(a), Val::Int(b), Val::Int(c)];
                    let sub_args: Vec<Val> =
                        split.sub_args.iter().map(|&i| args[i].clone()).collect();
                    let mut outer_args: Vec<Val> =
                        split.outer_args.iter().map(|&i| args[i].clone()).collect();
                    outer_args.push(split.sub.eval(&sub_args).expect("total"));
                    assert_eq!(split.outer.eval(&outer_args), f.eval(&args));
                }
            }
        }
        // the cheapest split: `$1 - $2 == 0` (900 rows, two values) under a 30 × 2 table
        assert_eq!(split.sub_args, vec![1, 2]);
        assert_eq!(split.outer_args, vec![0]);
        assert!(
            matches!(split.sub, Fun::Binary(BinOp::Eq, ..)),
            "{}",
            split.sub.render()
        );
    }

    #[test]
    fn never_splits_off_a_part_that_can_fail() {
        // if $0 == 0 then 0 else $1 / $0: the division fails at $0 = 0, where `f` does not
        // evaluate it; splitting it off would make those inputs fail
        let f = Fun::If(
            Box::new(bin(BinOp::Eq, Fun::Arg(0), Fun::Const(Val::Int(0)))),
            Box::new(Fun::Const(Val::Int(0))),
            Box::new(bin(BinOp::FloorDiv, Fun::Arg(1), Fun::Arg(0))),
        );
        let encs = [ints(0, 40), ints(40, 40)];
        let split = unfuse(&encs, &f, 1600, 1 << 20);
        assert!(split.is_none_or(|s| {
            let mut e = Vec::new();
            subexprs(&s.sub, &mut e);
            !e.iter()
                .any(|x| matches!(x, Fun::Binary(BinOp::FloorDiv, ..)))
        }));
    }

    #[test]
    fn repeated_inputs_become_one_argument() {
        let f = bin(
            BinOp::Add,
            Fun::Arg(0),
            bin(BinOp::Mul, Fun::Arg(1), Fun::Arg(2)),
        );
        let (inputs, g) = dedup_args(&[7, 9, 7], &f).expect("a repeat");
        assert_eq!(inputs, vec![7, 9]);
        assert_eq!(
            g,
            bin(
                BinOp::Add,
                Fun::Arg(0),
                bin(BinOp::Mul, Fun::Arg(1), Fun::Arg(0))
            )
        );
        assert!(dedup_args(&[1, 2], &f).is_none());
    }
}
