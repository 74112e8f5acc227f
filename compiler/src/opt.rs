//! Optimisation of the IR by equality saturation (egg).
//!
//! The IR is loaded into an e-graph; rules add equivalent forms; extraction picks, for the
//! output, the cheapest form by (layers, heads, MLPs, nodes), compared in that order. Rules:
//!
//! - `map-fusion`: a map of a map is one map (one lookup table), when the fused map reads at
//!   most [`MAX_FUSED_INPUTS`] sequences (so its table stays small);
//! - `map-const-input`: a constant input of a map is folded into its function;
//! - `const-fold`: a map of constants is a constant;
//! - `map-identity`: a map that returns its only input unchanged (same encoding) is that input;
//! - `select-through-map`: `select(map(f, x), q, p)` is `select(x, q, p∘f)` (the map is folded
//!   into the predicate: no MLP before the head), and likewise on the query side;
//! - `sel-not-cmp`: `!select(k, q, <)` is `select(k, q, >=)` (each comparison has an exact
//!   negation under the language's total order); `!true` is `false`;
//! - `sel-not-not`, `sel-and-idem`, `sel-or-idem`, `sel-and-comm`, `sel-or-comm`,
//!   `sel-and-true`, `sel-or-false`: selector algebra;
//! - `aggregate-identity`: `aggregate(select(indices, indices, ==), x)` is `x`;
//! - `width-of-all`: `width(select(k, q, true))` is `length` (std::rasp's `length(xs)`), which
//!   the lowering reads as a function of the input's length alone (a numeric query of it can be
//!   scored without its one-hot, see `ir_to_graph`'s `numeric_eq`).
//! - VSA algebra, each enabled only in the models where it holds bit for bit:
//!   `bind-comm` (all), `bind-assoc`, `unbind-is-bind`, `bind-self-inverse` (`a * a` is the
//!   identity vector), `bind-identity`, `bind-cancel` (`(a * b) * b` is `a`) and `bundle-of-one`
//!   (map and bsc: integer and bit arithmetic), `permute-over-bind` (all but hrr, whose
//!   convolution does not commute with a shift of both operands), `permute-compose` (all), and
//!   `permute-over-bundle` (map and bsc with an odd count: no tie for the fixed tie vector to break).
//!
//! Common subexpressions are shared by the e-graph itself, and dead code is whatever extraction
//! does not reach from the output. Every rule replaces a node by one that computes the same
//! value at every position of every input (or fails on the same inputs); `tests/opt.rs` checks
//! optimisation never changes a result. Saturation is bounded by iterations, nodes and time,
//! and the report says which bound stopped it.

use crate::ir::{Fun, HvConst, Ir, IrOutput, NodeId, Op, Pred, VsaOp, VsaSpace};
use egg::{
    Analysis, CostFunction, DidMerge, EGraph, Extractor, Id, Language, Rewrite, Runner,
    SearchMatches, Searcher, Subst, Symbol, Var,
};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::time::Duration;
use tessera_lang::ast::{BinOp, UnOp};
use tessera_lang::span::Span;
use tessera_lang::value::Val;
use tessera_vsa::{Hv, Model};

/// A fused map may read at most this many sequences.
pub const MAX_FUSED_INPUTS: usize = 3;

/// A payload compared, ordered and hashed by its canonical text (made once, with its hash:
/// the e-graph hashes and compares nodes on every lookup). Cloning shares it.
pub struct Key<T>(Rc<Keyed<T>>);

/// A [`Key`]'s text, hash and value.
pub struct Keyed<T> {
    text: String,
    hash: u64,
    pub value: T,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        Key(Rc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for Key<T> {
    type Target = Keyed<T>;
    fn deref(&self) -> &Keyed<T> {
        &self.0
    }
}

impl<T: fmt::Debug> Key<T> {
    fn new(value: T) -> Key<T> {
        let text = format!("{value:?}");
        let mut h = std::hash::DefaultHasher::new();
        text.hash(&mut h);
        Key(Rc::new(Keyed {
            text,
            hash: h.finish(),
            value,
        }))
    }
}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text)
    }
}
impl<T> PartialEq for Key<T> {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.0, &o.0) || (self.hash == o.hash && self.text == o.text)
    }
}
impl<T> Eq for Key<T> {}
impl<T> PartialOrd for Key<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Key<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        if Rc::ptr_eq(&self.0, &o.0) {
            return std::cmp::Ordering::Equal;
        }
        self.text.cmp(&o.text)
    }
}
impl<T> Hash for Key<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.hash)
    }
}

/// An e-graph node: an IR operation whose inputs are e-classes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ENode {
    Tokens,
    Indices,
    Length,
    Const(Key<Val>),
    Map(Key<Fun>, bool, Vec<Id>),
    Select(Key<Pred>, [Id; 2]),
    SelAnd([Id; 2]),
    SelOr([Id; 2]),
    SelNot([Id; 1]),
    Aggregate(Option<Key<Val>>, [Id; 2]),
    Mean([Id; 2]),
    Width([Id; 1]),
    Best(Option<Key<Val>>, [Id; 2]),
    Vsa(Key<VsaOp>, Vec<Id>),
}

impl Language for ENode {
    type Discriminant = std::mem::Discriminant<ENode>;

    fn discriminant(&self) -> Self::Discriminant {
        std::mem::discriminant(self)
    }

    fn matches(&self, other: &Self) -> bool {
        use ENode::*;
        match (self, other) {
            (Tokens, Tokens) | (Indices, Indices) | (Length, Length) => true,
            (Const(a), Const(b)) => a == b,
            (Map(f, n, xs), Map(g, m, ys)) => f == g && n == m && xs.len() == ys.len(),
            (Select(p, _), Select(q, _)) => p == q,
            (SelAnd(_), SelAnd(_)) | (SelOr(_), SelOr(_)) | (SelNot(_), SelNot(_)) => true,
            (Aggregate(a, _), Aggregate(b, _)) | (Best(a, _), Best(b, _)) => a == b,
            (Mean(_), Mean(_)) | (Width(_), Width(_)) => true,
            (Vsa(a, xs), Vsa(b, ys)) => a == b && xs.len() == ys.len(),
            _ => false,
        }
    }

    fn children(&self) -> &[Id] {
        use ENode::*;
        match self {
            Tokens | Indices | Length | Const(_) => &[],
            Map(_, _, xs) | Vsa(_, xs) => xs,
            Select(_, c) | SelAnd(c) | SelOr(c) | Aggregate(_, c) | Mean(c) | Best(_, c) => c,
            SelNot(c) | Width(c) => c,
        }
    }

    fn children_mut(&mut self) -> &mut [Id] {
        use ENode::*;
        match self {
            Tokens | Indices | Length | Const(_) => &mut [],
            Map(_, _, xs) | Vsa(_, xs) => xs,
            Select(_, c) | SelAnd(c) | SelOr(c) | Aggregate(_, c) | Mean(c) | Best(_, c) => c,
            SelNot(c) | Width(c) => c,
        }
    }
}

/// What every e-class knows: its encoding, its constant value if it is one, a source span.
#[derive(Debug, Clone, Default)]
pub struct ClassData {
    pub numeric: bool,
    pub constant: Option<Val>,
    pub span: Option<Span>,
}

/// The analysis, and what the rules remember between iterations: egg visits every class on
/// every iteration, and `map-fusion` would rebuild (and re-key) the same fused functions each
/// time.
#[derive(Default)]
pub struct IrAnalysis {
    fusions: RefCell<HashMap<Fusion, Key<Fun>>>,
}

/// One fusion: `f` (of `arity` inputs) with input `at` replaced by `g`, whose inputs go to the
/// fused map's inputs `g_args`.
#[derive(PartialEq, Eq, Hash)]
struct Fusion {
    f: Key<Fun>,
    arity: usize,
    at: usize,
    g: Key<Fun>,
    g_args: Vec<usize>,
}

impl Analysis<ENode> for IrAnalysis {
    type Data = ClassData;

    fn make(egraph: &mut EGraph<ENode, Self>, enode: &ENode, _id: Id) -> ClassData {
        let numeric = match enode {
            ENode::Map(_, n, _) => *n,
            ENode::Mean(_) => true,
            ENode::Vsa(op, _) => matches!(op.value, VsaOp::Sim { .. }),
            ENode::Aggregate(_, [_, v]) => egraph[*v].data.numeric,
            _ => false,
        };
        let constant = match enode {
            ENode::Const(k) => Some(k.value.clone()),
            _ => None,
        };
        ClassData {
            numeric,
            constant,
            span: None,
        }
    }

    fn merge(&mut self, a: &mut ClassData, b: ClassData) -> DidMerge {
        let mut changed_a = false;
        if a.constant.is_none() && b.constant.is_some() {
            a.constant = b.constant.clone();
            changed_a = true;
        }
        if a.span.is_none() && b.span.is_some() {
            a.span = b.span;
            changed_a = true;
        }
        DidMerge(changed_a, a.constant.is_some() && b.constant.is_none())
    }
}

type G = EGraph<ENode, IrAnalysis>;

/// Bounds on saturation.
#[derive(Debug, Clone)]
pub struct OptLimits {
    pub iterations: usize,
    pub nodes: usize,
    pub time: Duration,
}

impl Default for OptLimits {
    fn default() -> OptLimits {
        OptLimits {
            iterations: 30,
            nodes: 20_000,
            time: Duration::from_secs(5),
        }
    }
}

/// What optimisation did.
#[derive(Debug, Clone)]
pub struct OptReport {
    /// Why saturation stopped: `saturated`, or the bound that was hit.
    pub stop_reason: String,
    pub iterations: usize,
    pub egraph_nodes: usize,
    /// How many times each rule fired, in total.
    pub rules_fired: BTreeMap<String, usize>,
    pub nodes_before: usize,
    pub nodes_after: usize,
}

impl OptReport {
    pub fn render(&self) -> String {
        let mut s = format!(
            "stop: {} after {} iterations ({} e-nodes); live nodes {} -> {}\n",
            self.stop_reason,
            self.iterations,
            self.egraph_nodes,
            self.nodes_before,
            self.nodes_after
        );
        for (rule, n) in &self.rules_fired {
            s.push_str(&format!("  {rule}: {n}\n"));
        }
        s
    }
}

/// A rule: for an e-class, the nodes to add to it.
type RuleFn = fn(&G, Id) -> Vec<ENode>;

struct ClassSearcher;

impl Searcher<ENode, IrAnalysis> for ClassSearcher {
    fn search_eclass_with_limit(
        &self,
        _: &G,
        eclass: Id,
        limit: usize,
    ) -> Option<SearchMatches<'_, ENode>> {
        (limit > 0).then(|| SearchMatches {
            eclass,
            substs: vec![Subst::default()],
            ast: None,
        })
    }

    fn vars(&self) -> Vec<Var> {
        Vec::new()
    }
}

struct RuleApplier(RuleFn);

impl egg::Applier<ENode, IrAnalysis> for RuleApplier {
    fn apply_one(
        &self,
        egraph: &mut G,
        eclass: Id,
        _: &Subst,
        _: Option<&egg::PatternAst<ENode>>,
        _: Symbol,
    ) -> Vec<Id> {
        let new = (self.0)(egraph, eclass);
        let mut changed = Vec::new();
        for n in new {
            let id = egraph.add(n);
            if egraph.union(id, eclass) {
                changed.push(id);
            }
        }
        changed
    }
}

fn rule(name: &str, f: RuleFn) -> Rewrite<ENode, IrAnalysis> {
    // The searcher visits every class; the rule function decides what (if anything) applies.
    match Rewrite::new(name, ClassSearcher, RuleApplier(f)) {
        Ok(r) => r,
        Err(e) => unreachable!("rule {name} is well-formed: {e}"),
    }
}

/// Every rule, by name.
pub fn rules() -> Vec<Rewrite<ENode, IrAnalysis>> {
    vec![
        rule("map-fusion", map_fusion),
        rule("map-const-input", map_const_input),
        rule("const-fold", const_fold),
        rule("map-identity", map_identity),
        rule("select-through-map", select_through_map),
        rule("sel-not-cmp", sel_not_cmp),
        rule("sel-not-not", sel_not_not),
        rule("sel-and-idem", sel_idem),
        rule("sel-and-comm", sel_comm),
        rule("sel-and-true", sel_unit),
        rule("aggregate-identity", aggregate_identity),
        rule("width-of-all", width_of_all),
        rule("bind-comm", bind_comm),
        rule("bind-assoc", bind_assoc),
        rule("unbind-is-bind", unbind_is_bind),
        rule("bind-cancel", bind_cancel),
        rule("bind-self-inverse", bind_self_inverse),
        rule("bind-identity", bind_identity),
        rule("permute-over-bind", permute_over_bind),
        rule("permute-compose", permute_compose),
        rule("permute-over-bundle", permute_over_bundle),
        rule("bundle-of-one", bundle_of_one),
    ]
}

/// The maps among a class's nodes (borrowed: every rule asks for them in every class on every
/// iteration).
fn maps_in(g: &G, class: Id) -> impl Iterator<Item = (&Key<Fun>, bool, &[Id])> {
    g[class].nodes.iter().filter_map(|n| match n {
        ENode::Map(f, num, xs) => Some((f, *num, xs.as_slice())),
        _ => None,
    })
}

fn map_fusion(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (f, numeric, inputs) in maps_in(g, class) {
        for (i, &child) in inputs.iter().enumerate() {
            for (gf, _, ginputs) in maps_in(g, child) {
                // New inputs: f's other inputs, then g's (shared ones reused).
                let mut merged: Vec<Id> = inputs
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &x)| x)
                    .collect();
                let mut gmap = Vec::with_capacity(ginputs.len());
                for &x in ginputs {
                    let x = g.find(x);
                    let pos = merged
                        .iter()
                        .position(|&m| g.find(m) == x)
                        .unwrap_or_else(|| {
                            merged.push(x);
                            merged.len() - 1
                        });
                    gmap.push(pos);
                }
                if merged.len() > MAX_FUSED_INPUTS {
                    continue;
                }
                let fusion = Fusion {
                    f: f.clone(),
                    arity: inputs.len(),
                    at: i,
                    g: gf.clone(),
                    g_args: gmap,
                };
                let mut memo = g.analysis.fusions.borrow_mut();
                let fused = memo
                    .entry(fusion)
                    .or_insert_with_key(|k| Key::new(fuse(k)))
                    .clone();
                out.push(ENode::Map(fused, numeric, merged));
            }
        }
    }
    out
}

/// The fused function: `f` with its input `at` replaced by `g` (see [`Fusion`]); `f`'s other
/// inputs keep their order, first.
fn fuse(k: &Fusion) -> Fun {
    let inner = k.g.value.subst(&|j| Fun::Arg(k.g_args[j]));
    k.f.value.subst(&|j| match j.cmp(&k.at) {
        std::cmp::Ordering::Less => Fun::Arg(j),
        std::cmp::Ordering::Equal => inner.clone(),
        std::cmp::Ordering::Greater => Fun::Arg(j - 1),
    })
}

fn map_const_input(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (f, numeric, inputs) in maps_in(g, class) {
        if inputs.len() < 2 {
            continue;
        }
        if let Some(i) = inputs.iter().position(|&x| g[x].data.constant.is_some()) {
            let Some(c) = g[inputs[i]].data.constant.clone() else {
                continue;
            };
            let rest: Vec<Id> = inputs
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, &x)| x)
                .collect();
            let folded = f.value.subst(&|j| match j.cmp(&i) {
                std::cmp::Ordering::Less => Fun::Arg(j),
                std::cmp::Ordering::Equal => Fun::Const(c.clone()),
                std::cmp::Ordering::Greater => Fun::Arg(j - 1),
            });
            out.push(ENode::Map(Key::new(folded), numeric, rest));
        }
    }
    out
}

fn const_fold(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (f, _, inputs) in maps_in(g, class) {
        // Only a map whose result is categorical: a constant sequence is categorical.
        if g[class].data.numeric {
            continue;
        }
        let consts: Option<Vec<Val>> = inputs.iter().map(|&x| g[x].data.constant.clone()).collect();
        if let Some(args) = consts
            && let Ok(v) = f.value.eval(&args)
        {
            out.push(ENode::Const(Key::new(v)));
        }
    }
    out
}

fn map_identity(g: &G, class: Id) -> Vec<ENode> {
    // Express "this class equals its input" by adding the input's nodes here.
    let mut out = Vec::new();
    for (f, numeric, inputs) in maps_in(g, class) {
        if let ([x], Fun::Arg(0)) = (inputs, &f.value)
            && g[*x].data.numeric == numeric
            && g.find(*x) != g.find(class)
        {
            out.extend(g[*x].nodes.iter().cloned());
        }
    }
    out
}

fn select_through_map(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        let ENode::Select(p, [k, q]) = n else {
            continue;
        };
        let pred_fun = |p: &Pred| -> Option<Fun> {
            match p {
                Pred::Cmp(op) => Some(Fun::Binary(
                    *op,
                    Box::new(Fun::Arg(0)),
                    Box::new(Fun::Arg(1)),
                )),
                Pred::Fun(f) => Some(f.clone()),
                Pred::True | Pred::False => None,
            }
        };
        let Some(pf) = pred_fun(&p.value) else {
            continue;
        };
        for (mf, _, xs) in maps_in(g, *k) {
            if let [x] = xs {
                let body = mf.value.clone();
                let f = pf.subst(&|i| if i == 0 { body.clone() } else { Fun::Arg(1) });
                out.push(ENode::Select(Key::new(Pred::Fun(f)), [*x, *q]));
            }
        }
        for (mf, _, xs) in maps_in(g, *q) {
            if let [x] = xs {
                let body = mf.value.subst(&|_| Fun::Arg(1));
                let f = pf.subst(&|i| if i == 1 { body.clone() } else { Fun::Arg(0) });
                out.push(ENode::Select(Key::new(Pred::Fun(f)), [*k, *x]));
            }
        }
    }
    out
}

fn negate(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Eq => BinOp::Ne,
        BinOp::Ne => BinOp::Eq,
        BinOp::Lt => BinOp::Ge,
        BinOp::Ge => BinOp::Lt,
        BinOp::Gt => BinOp::Le,
        BinOp::Le => BinOp::Gt,
        _ => return None,
    })
}

fn sel_not_cmp(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        let ENode::SelNot([s]) = n else { continue };
        for m in &g[*s].nodes {
            if let ENode::Select(p, kq) = m {
                let np = match &p.value {
                    Pred::Cmp(op) => negate(*op).map(Pred::Cmp),
                    Pred::True => Some(Pred::False),
                    Pred::False => Some(Pred::True),
                    Pred::Fun(f) => Some(Pred::Fun(Fun::Unary(UnOp::Not, Box::new(f.clone())))),
                };
                if let Some(np) = np {
                    out.push(ENode::Select(Key::new(np), *kq));
                }
            }
        }
    }
    out
}

fn sel_not_not(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        if let ENode::SelNot([s]) = n {
            for m in &g[*s].nodes {
                if let ENode::SelNot([inner]) = m {
                    out.extend(g[*inner].nodes.iter().cloned());
                }
            }
        }
    }
    out
}

fn sel_idem(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        if let ENode::SelAnd([a, b]) | ENode::SelOr([a, b]) = n
            && g.find(*a) == g.find(*b)
            && g.find(*a) != g.find(class)
        {
            out.extend(g[*a].nodes.iter().cloned());
        }
    }
    out
}

fn sel_comm(g: &G, class: Id) -> Vec<ENode> {
    g[class]
        .nodes
        .iter()
        .filter_map(|n| match n {
            ENode::SelAnd([a, b]) => Some(ENode::SelAnd([*b, *a])),
            ENode::SelOr([a, b]) => Some(ENode::SelOr([*b, *a])),
            _ => None,
        })
        .collect()
}

fn is_const_sel(g: &G, s: Id, value: bool) -> bool {
    let want = if value { Pred::True } else { Pred::False };
    g[s].nodes
        .iter()
        .any(|n| matches!(n, ENode::Select(p, _) if p.value == want))
}

fn sel_unit(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        match n {
            // x & true = x, x | false = x
            ENode::SelAnd([a, b]) if is_const_sel(g, *b, true) => {
                out.extend(g[*a].nodes.iter().cloned())
            }
            ENode::SelOr([a, b]) if is_const_sel(g, *b, false) => {
                out.extend(g[*a].nodes.iter().cloned())
            }
            _ => {}
        }
    }
    out
}

fn aggregate_identity(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for n in &g[class].nodes {
        if let ENode::Aggregate(_, [s, x]) = n {
            let diagonal = g[*s].nodes.iter().any(|m| match m {
                ENode::Select(p, [k, q]) => {
                    p.value == Pred::Cmp(BinOp::Eq)
                        && g.find(*k) == g.find(*q)
                        && g[*k].nodes.iter().any(|o| matches!(o, ENode::Indices))
                }
                _ => false,
            });
            if diagonal && g.find(*x) != g.find(class) {
                out.extend(g[*x].nodes.iter().cloned());
            }
        }
    }
    out
}

fn width_of_all(g: &G, class: Id) -> Vec<ENode> {
    let all = g[class].nodes.iter().any(|n| match n {
        ENode::Width([s]) => g[*s]
            .nodes
            .iter()
            .any(|m| matches!(m, ENode::Select(p, _) if p.value == Pred::True)),
        _ => false,
    });
    let known = g[class].nodes.iter().any(|n| matches!(n, ENode::Length));
    if all && !known {
        vec![ENode::Length]
    } else {
        Vec::new()
    }
}

// ---- Vector-symbolic algebra ---------------------------------------------------------------
//
// Each rule is exact (bit for bit) in the models it is enabled for: MAP and BSC compute with
// integers and bits; commutativity holds exactly in every model (IEEE products commute);
// permutations commute with elementwise operations (MAP, BSC, FHRR) but not with HRR's circular
// convolution; a permutation commutes with a bundle only when the vote has no ties to break
// (an odd count in MAP and BSC), since the tie vector stays in place.

fn vsa_in(g: &G, class: Id) -> Vec<(VsaOp, Vec<Id>)> {
    g[class]
        .nodes
        .iter()
        .filter_map(|n| match n {
            ENode::Vsa(op, xs) => Some((op.value.clone(), xs.clone())),
            _ => None,
        })
        .collect()
}

fn exact_model(space: &VsaSpace) -> bool {
    matches!(space.space.model(), Model::Map | Model::Bsc)
}

fn elementwise_model(space: &VsaSpace) -> bool {
    space.space.model() != Model::Hrr
}

fn bind_comm(g: &G, class: Id) -> Vec<ENode> {
    vsa_in(g, class)
        .into_iter()
        .filter_map(|(op, xs)| match (&op, xs.as_slice()) {
            (VsaOp::Bind { .. }, [a, b]) => Some(ENode::Vsa(Key::new(op.clone()), vec![*b, *a])),
            _ => None,
        })
        .collect()
}

fn bind_assoc(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        let (VsaOp::Bind { space }, [ab, c]) = (&op, xs.as_slice()) else {
            continue;
        };
        if !exact_model(space) {
            continue;
        }
        for (inner, ys) in vsa_in(g, *ab) {
            if let (VsaOp::Bind { .. }, [a, b]) = (&inner, ys.as_slice()) {
                let bc = g.lookup(ENode::Vsa(Key::new(op.clone()), vec![*b, *c]));
                // Only re-associate onto a `b * c` that exists, so the e-graph stays finite.
                if let Some(bc) = bc {
                    out.push(ENode::Vsa(Key::new(op.clone()), vec![*a, bc]));
                }
            }
        }
    }
    out
}

fn bind_cancel(g: &G, class: Id) -> Vec<ENode> {
    // (a * b) * b = a (and a * (a * b) = b, by commutativity) in self-inverse models.
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        let (VsaOp::Bind { space }, [ab, c]) = (&op, xs.as_slice()) else {
            continue;
        };
        if !exact_model(space) {
            continue;
        }
        for (inner, ys) in vsa_in(g, *ab) {
            if let (VsaOp::Bind { .. }, [a, b]) = (&inner, ys.as_slice()) {
                for (keep, gone) in [(a, b), (b, a)] {
                    if g.find(*gone) == g.find(*c) && g.find(*keep) != g.find(class) {
                        out.extend(g[*keep].nodes.iter().cloned());
                    }
                }
            }
        }
    }
    out
}

fn unbind_is_bind(g: &G, class: Id) -> Vec<ENode> {
    vsa_in(g, class)
        .into_iter()
        .filter_map(|(op, xs)| match &op {
            VsaOp::Unbind { space } if exact_model(space) => Some(ENode::Vsa(
                Key::new(VsaOp::Bind {
                    space: space.clone(),
                }),
                xs,
            )),
            _ => None,
        })
        .collect()
}

/// The vector that binding leaves unchanged (MAP: all +1; BSC: all 0 bits).
fn identity(space: &VsaSpace) -> Hv {
    let x = space.space.symbol("", "identity");
    space.space.bind(&x, &x).unwrap_or(x)
}

fn bind_self_inverse(g: &G, class: Id) -> Vec<ENode> {
    vsa_in(g, class)
        .into_iter()
        .filter_map(|(op, xs)| match (&op, xs.as_slice()) {
            (VsaOp::Bind { space }, [a, b]) if exact_model(space) && g.find(*a) == g.find(*b) => {
                Some(ENode::Vsa(
                    Key::new(VsaOp::Const {
                        space: space.clone(),
                        vec: HvConst(std::rc::Rc::new(identity(space))),
                    }),
                    vec![],
                ))
            }
            _ => None,
        })
        .collect()
}

fn is_identity(g: &G, class: Id, space: &VsaSpace) -> bool {
    let id = identity(space);
    vsa_in(g, class)
        .iter()
        .any(|(op, _)| matches!(op, VsaOp::Const { vec, .. } if *vec.0 == id))
}

fn bind_identity(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        if let (VsaOp::Bind { space }, [a, b]) = (&op, xs.as_slice())
            && exact_model(space)
        {
            for (x, other) in [(a, b), (b, a)] {
                if is_identity(g, *other, space) && g.find(*x) != g.find(class) {
                    out.extend(g[*x].nodes.iter().cloned());
                }
            }
        }
    }
    out
}

fn permute_over_bind(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        // bind(permute(a, k), permute(b, k)) -> permute(bind(a, b), k): one permutation, and
        // it costs nothing (a relabelling).
        if let (VsaOp::Bind { space }, [pa, pb]) = (&op, xs.as_slice())
            && elementwise_model(space)
        {
            for (oa, ya) in vsa_in(g, *pa) {
                for (ob, yb) in vsa_in(g, *pb) {
                    if let (VsaOp::Permute { k: ka, .. }, VsaOp::Permute { k: kb, .. }) = (&oa, &ob)
                        && ka == kb
                    {
                        let inner = g.lookup(ENode::Vsa(Key::new(op.clone()), vec![ya[0], yb[0]]));
                        if let Some(inner) = inner {
                            out.push(ENode::Vsa(Key::new(oa.clone()), vec![inner]));
                        }
                    }
                }
            }
        }
    }
    out
}

fn permute_compose(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        let (VsaOp::Permute { space, k }, [a]) = (&op, xs.as_slice()) else {
            continue;
        };
        let d = space.space.dim() as i64;
        if k.rem_euclid(d) == 0 && g.find(*a) != g.find(class) {
            out.extend(g[*a].nodes.iter().cloned());
            continue;
        }
        for (inner, ys) in vsa_in(g, *a) {
            if let VsaOp::Permute { k: j, .. } = inner {
                let total = (k.rem_euclid(d) + j.rem_euclid(d)).rem_euclid(d);
                out.push(ENode::Vsa(
                    Key::new(VsaOp::Permute {
                        space: space.clone(),
                        k: total,
                    }),
                    ys.clone(),
                ));
            }
        }
    }
    out
}

fn permute_over_bundle(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        // bundle(permute(x1, k), …, permute(xn, k)) -> permute(bundle(x1, …, xn), k), n odd.
        if let VsaOp::Bundle { space } = &op
            && exact_model(space)
            && xs.len() % 2 == 1
        {
            let mut k0 = None;
            let mut inner = Vec::new();
            for x in &xs {
                let p = vsa_in(g, *x).into_iter().find_map(|(o, ys)| match o {
                    VsaOp::Permute { k, .. } => Some((k, ys[0])),
                    _ => None,
                });
                match (p, k0) {
                    (Some((k, y)), None) => {
                        k0 = Some(k);
                        inner.push(y);
                    }
                    (Some((k, y)), Some(k1)) if k == k1 => inner.push(y),
                    _ => {
                        inner.clear();
                        break;
                    }
                }
            }
            if let (Some(k), false) = (k0, inner.is_empty())
                && let Some(b) = g.lookup(ENode::Vsa(Key::new(op.clone()), inner))
            {
                out.push(ENode::Vsa(
                    Key::new(VsaOp::Permute {
                        space: space.clone(),
                        k,
                    }),
                    vec![b],
                ));
            }
        }
    }
    out
}

fn bundle_of_one(g: &G, class: Id) -> Vec<ENode> {
    let mut out = Vec::new();
    for (op, xs) in vsa_in(g, class) {
        if let (VsaOp::Bundle { space }, [a]) = (&op, xs.as_slice())
            && exact_model(space)
            && g.find(*a) != g.find(class)
        {
            out.extend(g[*a].nodes.iter().cloned());
        }
    }
    out
}

/// Extraction cost: layers first, then heads, MLPs and nodes (RASP's depth rules).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Cost {
    pub layers: usize,
    pub heads: usize,
    pub mlps: usize,
    pub nodes: usize,
}

struct CompileCost;

impl CostFunction<ENode> for CompileCost {
    type Cost = Cost;

    fn cost<C>(&mut self, enode: &ENode, mut costs: C) -> Cost
    where
        C: FnMut(Id) -> Cost,
    {
        let kids: Vec<Cost> = enode.children().iter().map(|&c| costs(c)).collect();
        let depth = |i: usize| kids.get(i).map_or(0, |c| c.layers);
        let max = kids.iter().map(|c| c.layers).max().unwrap_or(0);
        let (layers, head, mlp) = match enode {
            ENode::Tokens | ENode::Indices | ENode::Const(_) => (0, 0, 0),
            ENode::Length => (1, 1, 0),
            ENode::Map(..) => (max, 0, 1),
            ENode::Select(..) => (max + 1, 0, 0),
            ENode::SelAnd(_) | ENode::SelOr(_) | ENode::SelNot(_) => (max, 0, 0),
            ENode::Aggregate(..) | ENode::Mean(_) | ENode::Best(..) => {
                (depth(0).max(depth(1) + 1), 1, 0)
            }
            ENode::Width(_) => (depth(0), 1, 0),
            ENode::Vsa(op, _) => match op.value {
                VsaOp::Sum { .. } => (depth(0).max(depth(1) + 1), 1, 0),
                // A permutation relabels residual dimensions; a constant is an embedding.
                VsaOp::Permute { .. } | VsaOp::Const { .. } => (max, 0, 0),
                _ => (max, 0, 1),
            },
        };
        Cost {
            layers,
            heads: kids.iter().map(|c| c.heads).sum::<usize>() + head,
            mlps: kids.iter().map(|c| c.mlps).sum::<usize>() + mlp,
            nodes: kids.iter().map(|c| c.nodes).sum::<usize>() + 1,
        }
    }
}

fn to_enode(op: &Op, numeric: bool, ids: &[Id]) -> ENode {
    let c = |i: NodeId| ids[i];
    match op {
        Op::Tokens => ENode::Tokens,
        Op::Indices => ENode::Indices,
        Op::Length => ENode::Length,
        Op::Const(v) => ENode::Const(Key::new(v.clone())),
        Op::Elementwise { inputs, f } => ENode::Map(
            Key::new(f.clone()),
            numeric,
            inputs.iter().map(|&i| c(i)).collect(),
        ),
        Op::Select {
            keys,
            queries,
            pred,
        } => ENode::Select(Key::new(pred.clone()), [c(*keys), c(*queries)]),
        Op::SelAnd(a, b) => ENode::SelAnd([c(*a), c(*b)]),
        Op::SelOr(a, b) => ENode::SelOr([c(*a), c(*b)]),
        Op::SelNot(a) => ENode::SelNot([c(*a)]),
        Op::Aggregate {
            sel,
            values,
            default,
        } => ENode::Aggregate(default.clone().map(Key::new), [c(*sel), c(*values)]),
        Op::Mean { sel, values } => ENode::Mean([c(*sel), c(*values)]),
        Op::Width { sel } => ENode::Width([c(*sel)]),
        Op::Best {
            sel,
            score,
            default,
        } => ENode::Best(default.clone().map(Key::new), [c(*sel), c(*score)]),
        Op::Vsa { op, inputs } => {
            ENode::Vsa(Key::new(op.clone()), inputs.iter().map(|&i| c(i)).collect())
        }
    }
}

/// Optimise an IR; returns the optimised IR (live nodes only) and what happened.
pub fn optimize(ir: &Ir, limits: &OptLimits) -> (Ir, OptReport) {
    let nodes_before = ir.live().len();
    let root = match &ir.output {
        Some(IrOutput::Seq(n)) | Some(IrOutput::Sel(n)) => *n,
        _ => {
            return (
                ir.clone(),
                OptReport {
                    stop_reason: "nothing to optimise (constant output)".into(),
                    iterations: 0,
                    egraph_nodes: 0,
                    rules_fired: BTreeMap::new(),
                    nodes_before,
                    nodes_after: nodes_before,
                },
            );
        }
    };
    let mut g: G = EGraph::new(IrAnalysis::default());
    let mut ids: Vec<Id> = vec![Id::from(0usize); ir.nodes.len()];
    for id in ir.live() {
        let node = ir.node(id);
        let enode = to_enode(&node.op, node.numeric, &ids);
        let eid = g.add(enode);
        if g[eid].data.span.is_none() {
            g[eid].data.span = Some(node.span);
        }
        ids[id] = eid;
    }
    let root_id = ids[root];
    let runner = Runner::default()
        .with_iter_limit(limits.iterations)
        .with_node_limit(limits.nodes)
        .with_time_limit(limits.time)
        .with_egraph(g)
        .run(&rules());
    let stop_reason = match &runner.stop_reason {
        Some(egg::StopReason::Saturated) => "saturated".to_string(),
        Some(egg::StopReason::IterationLimit(n)) => format!("iteration limit ({n})"),
        Some(egg::StopReason::NodeLimit(n)) => format!("e-node limit ({n})"),
        Some(egg::StopReason::TimeLimit(t)) => format!("time limit ({t} s)"),
        Some(egg::StopReason::Other(s)) => s.clone(),
        None => "not run".to_string(),
    };
    let mut rules_fired: BTreeMap<String, usize> = BTreeMap::new();
    for it in &runner.iterations {
        for (rule, n) in &it.applied {
            *rules_fired.entry(rule.to_string()).or_default() += n;
        }
    }
    let egraph_nodes = runner.egraph.total_number_of_nodes();
    let extractor = Extractor::new(&runner.egraph, CompileCost);
    let out = extract(
        &runner.egraph,
        &extractor,
        root_id,
        matches!(ir.output, Some(IrOutput::Sel(_))),
    );
    let nodes_after = out.live().len();
    (
        out,
        OptReport {
            stop_reason,
            iterations: runner.iterations.len(),
            egraph_nodes,
            rules_fired,
            nodes_before,
            nodes_after,
        },
    )
}

/// Build the IR for the best node of every class reachable from `root` (post-order, without
/// recursion), keeping each class's source span.
fn extract(
    g: &G,
    extractor: &Extractor<'_, CompileCost, ENode, IrAnalysis>,
    root: Id,
    selector_output: bool,
) -> Ir {
    let mut ir = Ir::default();
    let mut done: BTreeMap<Id, NodeId> = BTreeMap::new();
    let mut stack: Vec<(Id, bool)> = vec![(g.find(root), false)];
    while let Some((class, expanded)) = stack.pop() {
        if done.contains_key(&class) {
            continue;
        }
        let best = extractor.find_best_node(class);
        if !expanded {
            stack.push((class, true));
            for &c in best.children() {
                let c = g.find(c);
                if !done.contains_key(&c) {
                    stack.push((c, false));
                }
            }
            continue;
        }
        let c = |i: &Id| done.get(&g.find(*i)).copied().unwrap_or(0);
        let (op, numeric) = match best {
            ENode::Tokens => (Op::Tokens, false),
            ENode::Indices => (Op::Indices, false),
            ENode::Length => (Op::Length, false),
            ENode::Const(k) => (Op::Const(k.value.clone()), false),
            ENode::Map(f, n, xs) => (
                Op::Elementwise {
                    inputs: xs.iter().map(c).collect(),
                    f: f.value.clone(),
                },
                *n,
            ),
            ENode::Select(p, [k, q]) => (
                Op::Select {
                    keys: c(k),
                    queries: c(q),
                    pred: p.value.clone(),
                },
                false,
            ),
            ENode::SelAnd([a, b]) => (Op::SelAnd(c(a), c(b)), false),
            ENode::SelOr([a, b]) => (Op::SelOr(c(a), c(b)), false),
            ENode::SelNot([a]) => (Op::SelNot(c(a)), false),
            ENode::Aggregate(d, [s, v]) => {
                let numeric = ir.node(c(v)).numeric;
                (
                    Op::Aggregate {
                        sel: c(s),
                        values: c(v),
                        default: d.as_ref().map(|k| k.value.clone()),
                    },
                    numeric,
                )
            }
            ENode::Mean([s, v]) => (
                Op::Mean {
                    sel: c(s),
                    values: c(v),
                },
                true,
            ),
            ENode::Width([s]) => (Op::Width { sel: c(s) }, false),
            ENode::Best(d, [s, v]) => (
                Op::Best {
                    sel: c(s),
                    score: c(v),
                    default: d.as_ref().map(|k| k.value.clone()),
                },
                false,
            ),
            ENode::Vsa(op, xs) => (
                Op::Vsa {
                    op: op.value.clone(),
                    inputs: xs.iter().map(c).collect(),
                },
                matches!(op.value, VsaOp::Sim { .. }),
            ),
        };
        let span = g[class].data.span.unwrap_or_default();
        let id = ir.add(op, numeric, span);
        done.insert(class, id);
    }
    let root = done.get(&g.find(root)).copied().unwrap_or(0);
    ir.output = Some(if selector_output {
        IrOutput::Sel(root)
    } else {
        IrOutput::Seq(root)
    });
    ir
}
