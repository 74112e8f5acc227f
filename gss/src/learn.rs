//! Learning a grounded symbol system from (input, output) pairs.
//!
//! Two nested searches, both scored by how many training pairs the system then explains:
//!
//! - **Syntax**: hill climbing over schemas (each symbol's fixity and precedence, and the
//!   juxtaposition operator's precedence). It starts from "every symbol is an atom, operands
//!   side by side are juxtaposed" and takes the single change that explains the most pairs of a
//!   curriculum (the shortest training pairs, a few per skeleton), ties broken by description
//!   length; when no single change helps, it sets a separator and climbs from there, taken as
//!   one step if it ends higher. After each climb the whole training set is fitted and the
//!   shortest unexplained pairs join the curriculum. Arities are not given: they follow from
//!   the fixities learned.
//! - **Semantics** for one schema ([`fit`]), by deduction and abduction: parse every pair,
//!   evaluate the trees bottom-up with the meanings known so far, and record (children's values
//!   → required output) wherever a node's children are known (or are unknown atoms, or nested
//!   applications of the same unknown meaning); synthesise the cheapest meaning reproducing the
//!   observations ([`crate::synth`]), binding unknown atoms at the same time, and revise a
//!   known meaning when the evidence contradicts it and a new one reproduces more. When that
//!   stalls, known meanings pass targets down to their children (top-down inversion); when
//!   that stalls too, atoms nothing constrained denote themselves.

pub use crate::model::Fixity;
use crate::model::{Gss, Head, Interner, Meaning, Program, Rule, Sym, Tree, parse};
use crate::synth::{self, Arg, SynthConfig, SynthEx, synthesize};
use std::collections::{BTreeMap, HashMap};

/// Observations kept per meaning and round.
const MAX_EXAMPLES: usize = 4000;

/// A training or test pair as token ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub input: Vec<Sym>,
    pub output: Vec<Sym>,
}

/// Fixities and the juxtaposition precedence.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    pub fix: BTreeMap<Sym, Fixity>,
    pub jux: Option<u8>,
}

impl Schema {
    pub fn fixity(&self, s: Sym) -> Fixity {
        self.fix.get(&s).copied().unwrap_or(Fixity::Atom)
    }
    fn set(&mut self, s: Sym, f: Fixity) {
        if f == Fixity::Atom {
            self.fix.remove(&s);
        } else {
            self.fix.insert(s, f);
        }
    }
    fn cost(&self) -> u32 {
        self.fix.len() as u32 + u32::from(self.jux.is_some())
    }
    pub fn parse(&self, toks: &[Sym]) -> Option<Tree> {
        parse(toks, &|s| Some(self.fixity(s)), self.jux).ok()
    }
    /// `twice: postfix 2, and: infix 1, juxtapose 4`.
    pub fn describe(&self, names: &Interner) -> String {
        let mut parts: Vec<String> = self
            .fix
            .iter()
            .map(|(s, f)| format!("{}{}", names.name(*s), f.to_source()))
            .collect();
        if let Some(p) = self.jux {
            parts.push(format!("juxtapose: infix {p}"));
        }
        parts.join(", ")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct LearnConfig {
    pub synth: SynthConfig,
    /// Precedence levels 1..=max_prec.
    pub max_prec: u8,
    /// Training pairs the schema search scores on (the shortest inputs).
    pub curriculum: usize,
    /// The most frequent symbols whose fixity is searched (the others stay atoms).
    pub search_symbols: usize,
    /// Deduction–abduction rounds per fit.
    pub rounds: usize,
    /// Hill-climbing steps per round.
    pub max_steps: usize,
    /// Rounds in which unexplained training pairs join the curriculum.
    pub refinements: usize,
    /// Pairs added per round.
    pub refine_add: usize,
    /// Curriculum pairs per skeleton (input with rare tokens blanked).
    pub per_skeleton: usize,
    /// Numeric meanings: the fraction of observations a program may disagree with (0 for
    /// exact data; above 0 when symbols come from noisy perception).
    pub tolerance: f64,
}

impl Default for LearnConfig {
    fn default() -> Self {
        LearnConfig {
            synth: SynthConfig::default(),
            max_prec: 4,
            curriculum: 400,
            search_symbols: 24,
            rounds: 24,
            max_steps: 40,
            refinements: 6,
            refine_add: 100,
            per_skeleton: 4,
            tolerance: 0.0,
        }
    }
}

/// The meanings a fit found and how well they explain the pairs.
#[derive(Debug, Clone, Default)]
pub struct Fit {
    pub programs: HashMap<Head, Program>,
    pub explained: usize,
    /// Indices of the pairs not explained.
    pub unexplained: Vec<usize>,
    pub cost: u32,
}

/// A partial value during deduction.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PVal {
    Known(Vec<Sym>),
    Leaf(Sym),
    Unknown,
    Fail,
}

fn partial_eval(
    tree: &Tree,
    toks: &[Sym],
    schema: &Schema,
    known: &HashMap<Head, Program>,
) -> Vec<PVal> {
    let mut vals: Vec<PVal> = Vec::with_capacity(tree.nodes.len());
    for node in &tree.nodes {
        let tok = toks[node.pos];
        let v = match known.get(&node.head) {
            None => {
                if node.children.is_empty()
                    && matches!(node.head, Head::Tok(s) if schema.fixity(s) == Fixity::Atom)
                {
                    PVal::Leaf(tok)
                } else {
                    PVal::Unknown
                }
            }
            Some(p) => {
                let mut args: Vec<&[Sym]> = Vec::new();
                let mut ok = true;
                for &c in &node.children {
                    match &vals[c] {
                        PVal::Known(v) => args.push(v),
                        _ => ok = false,
                    }
                }
                if !ok {
                    if node.children.iter().any(|&c| vals[c] == PVal::Fail) {
                        PVal::Fail
                    } else {
                        PVal::Unknown
                    }
                } else {
                    match p.eval(&args, tok) {
                        Some(v) => PVal::Known(v),
                        None => PVal::Fail,
                    }
                }
            }
        };
        vals.push(v);
    }
    vals
}

/// The meaning of an atom whose value was observed to be `v`.
fn atom_program(s: Sym, v: &[Sym]) -> Program {
    if v == [s] {
        Program::self_token()
    } else {
        Program::constant(v)
    }
}

/// Learns meanings for a fixed schema.
pub fn fit(schema: &Schema, examples: &[Example], cfg: &LearnConfig) -> Fit {
    let trees: Vec<Option<Tree>> = examples.iter().map(|e| schema.parse(&e.input)).collect();
    let mut known: HashMap<Head, Program> = HashMap::new();
    let mut self_bound = false;
    let mut inverting = false;
    for _ in 0..cfg.rounds {
        let mut exs: HashMap<Head, Vec<SynthEx>> = HashMap::new();
        let mut votes: BTreeMap<Sym, BTreeMap<Vec<Sym>, usize>> = BTreeMap::new();
        for (tree, ex) in trees.iter().zip(examples) {
            let Some(tree) = tree else { continue };
            let toks = &ex.input;
            let vals = partial_eval(tree, toks, schema, &known);
            let root = tree.root();
            let mut stack: Vec<(usize, Vec<Sym>)> = vec![(root, ex.output.clone())];
            while let Some((n, target)) = stack.pop() {
                let node = &tree.nodes[n];
                match &vals[n] {
                    PVal::Known(_) | PVal::Fail => {
                        // evidence for (or against) a known meaning, to revise it
                        if !node.children.is_empty() {
                            let args: Vec<Arg> = node
                                .children
                                .iter()
                                .filter_map(|&c| match &vals[c] {
                                    PVal::Known(v) => Some(Arg::Known(v.clone())),
                                    _ => None,
                                })
                                .collect();
                            let list = exs.entry(node.head).or_default();
                            if args.len() == node.children.len() && list.len() < MAX_EXAMPLES {
                                list.push(SynthEx {
                                    args,
                                    tok: toks[node.pos],
                                    target,
                                });
                            }
                        }
                    }
                    PVal::Leaf(s) => {
                        // a whole input that is one atom is direct evidence: it counts twice
                        let w = if n == root { 2 } else { 1 };
                        *votes.entry(*s).or_default().entry(target).or_default() += w;
                    }
                    PVal::Unknown => {
                        let tok = toks[node.pos];
                        if let Some(p) = known.get(&node.head) {
                            // invert: the one child not known must produce a piece of the target
                            let open: Vec<usize> = node
                                .children
                                .iter()
                                .copied()
                                .filter(|&c| !matches!(vals[c], PVal::Known(_)))
                                .collect();
                            if inverting
                                && let [c] = open[..]
                                && let Some(v) = invert(p, node, c, &vals, tok, &target)
                            {
                                stack.push((c, v));
                            }
                        } else {
                            let mut args = Vec::new();
                            for &c in &node.children {
                                match rec_arg(tree, toks, &vals, c, node.head, 0) {
                                    Some(a) => args.push(a),
                                    None => break,
                                }
                            }
                            let list = exs.entry(node.head).or_default();
                            if args.len() == node.children.len() && list.len() < MAX_EXAMPLES {
                                list.push(SynthEx { args, tok, target });
                            }
                        }
                    }
                }
            }
        }
        let mut progress = false;
        // atoms: the value most often required of them
        for (s, counts) in &votes {
            if known.contains_key(&Head::Tok(*s)) {
                continue;
            }
            // two observations that agree, as for bindings (one inverted target may be wrong),
            // or the atom alone as a whole input
            if let Some((v, _)) = counts
                .iter()
                .max_by_key(|(v, c)| (**c, std::cmp::Reverse(v.len())))
                .filter(|(_, c)| **c >= 2)
            {
                known.insert(Head::Tok(*s), atom_program(*s, v));
                progress = true;
            }
        }
        // operators: the most observed first; leaves bound by one are known to the next
        let mut keys: Vec<(Head, Vec<SynthEx>)> = exs.into_iter().collect();
        keys.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
        for (head, mut list) in keys {
            for e in &mut list {
                for a in &mut e.args {
                    if let Arg::Leaf(s) = a
                        && let Some(p) = known.get(&Head::Tok(*s))
                        && let Some(v) = p.eval(&[], *s)
                    {
                        *a = Arg::Known(v);
                    }
                }
            }
            let arity = list.first().map_or(0, |e| e.args.len() as u8);
            // a known meaning is revised only when the evidence contradicts it and the new
            // one reproduces more of it
            let mut keep = 0;
            if let Some(p) = known.get(&head) {
                keep = list
                    .iter()
                    .filter(|e| synth::eval_with(p, e, &[]).as_deref() == Some(&e.target[..]))
                    .count();
                if keep == list.len() {
                    continue;
                }
            }
            if let Some(sol) = synthesize(arity, &list, cfg.synth)
                && (!known.contains_key(&head) || sol.matched > keep)
            {
                // leaves are bound by a meaning that explains all its evidence, or where
                // two or more reproduced examples agree on them
                let all = sol.matched == list.len();
                for ((s, v), &n) in sol.bindings.iter().zip(&sol.support) {
                    if all || n >= 2 {
                        known
                            .entry(Head::Tok(*s))
                            .or_insert_with(|| atom_program(*s, v));
                    }
                }
                known.insert(head, sol.program);
                progress = true;
            }
        }
        if !progress {
            // stalled: first let known meanings pass targets down to their children (top-down
            // inversion: evidence built on meanings that may still be revised, so it waits
            // until bottom-up evidence is exhausted), then let atoms that nothing constrained
            // denote themselves (the prior)
            if !inverting {
                inverting = true;
                continue;
            }
            if self_bound {
                break;
            }
            self_bound = true;
            for (tree, ex) in trees.iter().zip(examples) {
                let Some(tree) = tree else { continue };
                for node in &tree.nodes {
                    if let Head::Tok(s) = node.head
                        && node.children.is_empty()
                        && schema.fixity(s) == Fixity::Atom
                    {
                        known
                            .entry(node.head)
                            .or_insert_with(|| atom_program(ex.input[node.pos], &[s]));
                    }
                }
            }
        }
    }
    // atoms never constrained denote themselves
    let mut explained = 0;
    let mut unexplained = Vec::new();
    for (i, (tree, ex)) in trees.iter().zip(examples).enumerate() {
        let ok = tree.as_ref().is_some_and(|tree| {
            eval_full(tree, &ex.input, &known).as_deref() == Some(&ex.output[..])
        });
        if ok {
            explained += 1;
        } else {
            unexplained.push(i);
        }
    }
    let cost = known.values().map(|p| p.cost(cfg.synth.const_cost)).sum();
    Fit {
        programs: known,
        explained,
        unexplained,
        cost,
    }
}

/// Child `c` as a synthesis argument: its value, an unknown leaf, or a nested application of
/// the same unknown meaning `head` (up to depth 8).
fn rec_arg(
    tree: &Tree,
    toks: &[Sym],
    vals: &[PVal],
    c: usize,
    head: Head,
    depth: usize,
) -> Option<Arg> {
    match &vals[c] {
        PVal::Known(v) => Some(Arg::Known(v.clone())),
        PVal::Leaf(s) => Some(Arg::Leaf(*s)),
        PVal::Unknown if depth < 8 && tree.nodes[c].head == head => {
            let node = &tree.nodes[c];
            let args = node
                .children
                .iter()
                .map(|&k| rec_arg(tree, toks, vals, k, head, depth + 1))
                .collect::<Option<Vec<Arg>>>()?;
            Some(Arg::Rec(toks[node.pos], args))
        }
        _ => None,
    }
}

/// Evaluates with `known` meanings; a leaf without one denotes its token.
fn eval_full(tree: &Tree, toks: &[Sym], known: &HashMap<Head, Program>) -> Option<Vec<Sym>> {
    let mut vals: Vec<Vec<Sym>> = Vec::with_capacity(tree.nodes.len());
    for node in &tree.nodes {
        let tok = toks[node.pos];
        let v = match known.get(&node.head) {
            Some(p) => {
                let args: Vec<&[Sym]> = node.children.iter().map(|&c| vals[c].as_slice()).collect();
                p.eval(&args, tok)?
            }
            None if node.children.is_empty() && matches!(node.head, Head::Tok(_)) => vec![tok],
            None => return None,
        };
        vals.push(v);
    }
    vals.pop()
}

/// The value child `c` must take for `p` to produce `target` (when exactly one piece works).
fn invert(
    p: &Program,
    node: &crate::model::Node,
    c: usize,
    vals: &[PVal],
    tok: Sym,
    target: &[Sym],
) -> Option<Vec<Sym>> {
    let mut found: Option<Vec<Sym>> = None;
    for i in 0..=target.len() {
        for j in i..=target.len() {
            let cand = &target[i..j];
            let args: Vec<&[Sym]> = node
                .children
                .iter()
                .map(|&k| {
                    if k == c {
                        cand
                    } else {
                        match &vals[k] {
                            PVal::Known(v) => v.as_slice(),
                            _ => &[],
                        }
                    }
                })
                .collect();
            if p.eval(&args, tok).as_deref() == Some(target) {
                if found.as_deref().is_some_and(|f| f != cand) {
                    return None;
                }
                found = Some(cand.to_vec());
            }
        }
    }
    found
}

/// Where each symbol occurs, to rule out fixities the data contradict.
#[derive(Debug, Default, Clone, Copy)]
struct Positions {
    count: usize,
    alone: bool,
    first: bool,
    last: bool,
}

fn options(p: Positions, max_prec: u8) -> Vec<Fixity> {
    let mut out = vec![Fixity::Atom];
    if p.alone {
        return out;
    }
    for prec in 1..=max_prec {
        if !p.last {
            out.push(Fixity::Prefix { arity: 1, prec });
            out.push(Fixity::Prefix { arity: 2, prec });
        }
        if !p.first {
            out.push(Fixity::Postfix { prec });
        }
        if !p.first && !p.last {
            out.push(Fixity::Infix { prec });
        }
    }
    if !p.first && !p.last {
        out.push(Fixity::Separator);
    }
    out
}

/// A token is rare (open-class) when it makes up less than 1/RARE of the training tokens.
const RARE: usize = 200;

fn positions(train: &[Example]) -> BTreeMap<Sym, Positions> {
    let mut pos: BTreeMap<Sym, Positions> = BTreeMap::new();
    for e in train {
        for (i, &s) in e.input.iter().enumerate() {
            let p = pos.entry(s).or_default();
            p.count += 1;
            p.alone |= e.input.len() == 1;
            p.first |= i == 0;
            p.last |= i + 1 == e.input.len();
        }
    }
    pos
}

/// The shortest pairs, at most `per_skeleton` per skeleton (the input with rare tokens
/// blanked), so that `copy A1`, `copy B7`, … do not crowd out everything else.
fn curriculum<'a>(
    train: &'a [Example],
    cfg: &LearnConfig,
    pos: &BTreeMap<Sym, Positions>,
    seen: &mut std::collections::HashSet<&'a Vec<Sym>>,
) -> Vec<Example> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.sort_by_key(|&i| (train[i].input.len(), train[i].output.len(), i));
    let total: usize = pos.values().map(|p| p.count).sum();
    let rare = |s: &Sym| pos[s].count * RARE < total;
    let mut per_skeleton: HashMap<Vec<Option<Sym>>, usize> = HashMap::new();
    let mut out: Vec<Example> = Vec::new();
    for &i in &order {
        if out.len() >= cfg.curriculum {
            break;
        }
        let skeleton: Vec<Option<Sym>> = train[i]
            .input
            .iter()
            .map(|s| (!rare(s)).then_some(*s))
            .collect();
        let n = per_skeleton.entry(skeleton).or_default();
        if *n >= cfg.per_skeleton {
            continue;
        }
        if seen.insert(&train[i].input) {
            *n += 1;
            out.push(train[i].clone());
        }
    }
    out
}

/// The curriculum [`learn`] starts the schema search on.
pub fn initial_curriculum(train: &[Example], cfg: &LearnConfig) -> Vec<Example> {
    curriculum(
        train,
        cfg,
        &positions(train),
        &mut std::collections::HashSet::new(),
    )
}

/// What learning did, for the report.
#[derive(Debug, Clone, Default)]
pub struct LearnReport {
    /// One line per accepted schema change.
    pub steps: Vec<String>,
    pub schemas_scored: usize,
    pub curriculum: usize,
    pub curriculum_explained: usize,
    pub train: usize,
    pub train_explained: usize,
}

type Score = (usize, std::cmp::Reverse<u32>);

fn score(schema: &Schema, exs: &[Example], cfg: &LearnConfig) -> Score {
    let f = fit(schema, exs, cfg);
    (f.explained, std::cmp::Reverse(f.cost + schema.cost()))
}

/// Learns a system from `train` (token ids interned in `names`). `progress` hears one line
/// per step.
pub fn learn(
    name: &str,
    names: &Interner,
    train: &[Example],
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> (Gss, LearnReport) {
    let mut report = LearnReport {
        train: train.len(),
        ..LearnReport::default()
    };
    let pos = positions(train);
    let mut seen = std::collections::HashSet::new();
    let mut curriculum = curriculum(train, cfg, &pos, &mut seen);
    report.curriculum = curriculum.len();
    let mut searched: Vec<Sym> = pos.keys().copied().collect();
    searched.sort_by_key(|s| (std::cmp::Reverse(pos[s].count), *s));
    searched.truncate(cfg.search_symbols);
    let total: usize = pos.values().map(|p| p.count).sum();
    // open-class (rare) tokens stay atoms; so do tokens that form a whole input
    searched.retain(|s| !pos[s].alone && pos[s].count * RARE >= total);

    let mut schema = Schema {
        fix: BTreeMap::new(),
        jux: Some(cfg.max_prec),
    };
    let mut current = score(&schema, &curriculum, cfg);
    report.schemas_scored += 1;
    progress(&format!(
        "schema search over {} symbols on {} pairs: start explains {}",
        searched.len(),
        curriculum.len(),
        current.0
    ));
    let mut f;
    let mut round = 0;
    loop {
        let moves = Moves {
            searched: &searched,
            pos: &pos,
            curriculum: &curriculum,
            cfg,
            names,
        };
        for _ in 0..cfg.max_steps {
            let mut best = moves.best(&schema, &mut report);
            let improved = best.as_ref().is_some_and(|(b, _, _)| *b > current);
            if !improved {
                // A separator only helps together with the operators that read it: set it, then
                // climb from there with single moves; taken as one step if it ends higher.
                let seps: Vec<Sym> = searched
                    .iter()
                    .copied()
                    .filter(|s| {
                        options(pos[s], cfg.max_prec).contains(&Fixity::Separator)
                            && schema.fixity(*s) != Fixity::Separator
                    })
                    .collect();
                for &sep in &seps {
                    let mut cand = schema.clone();
                    cand.set(sep, Fixity::Separator);
                    let mut sc = score(&cand, &curriculum, cfg);
                    report.schemas_scored += 1;
                    let mut what = vec![format!("{}: separator", names.name(sep))];
                    for _ in 0..8 {
                        match moves.best(&cand, &mut report) {
                            Some((s2, c2, w2)) if s2 > sc => {
                                sc = s2;
                                cand = c2;
                                what.push(w2);
                            }
                            _ => break,
                        }
                    }
                    if best.as_ref().is_none_or(|(b, _, _)| sc > *b) {
                        best = Some((sc, cand, what.join(", then ")));
                    }
                }
            }
            match best {
                Some((sc, cand, what)) if sc > current => {
                    let line = format!(
                        "{what}: explains {}/{} (description length {})",
                        sc.0,
                        curriculum.len(),
                        (sc.1).0
                    );
                    progress(&line);
                    report.steps.push(line);
                    schema = cand;
                    current = sc;
                }
                _ => break,
            }
        }
        report.curriculum_explained = current.0;
        progress(&format!("schema: {}", schema.describe(names)));
        f = fit(&schema, train, cfg);
        report.train_explained = f.explained;
        progress(&format!(
            "semantics on all {} training pairs: explains {}",
            train.len(),
            f.explained
        ));
        round += 1;
        if f.unexplained.is_empty() || round > cfg.refinements {
            break;
        }
        // counterexample-guided: the shortest pairs not explained join the curriculum
        let mut bad = f.unexplained.clone();
        bad.sort_by_key(|&i| (train[i].input.len(), train[i].output.len(), i));
        let mut added = 0;
        for i in bad {
            if added >= cfg.refine_add {
                break;
            }
            if seen.insert(&train[i].input) {
                curriculum.push(train[i].clone());
                added += 1;
            }
        }
        if added == 0 {
            break;
        }
        report.curriculum = curriculum.len();
        current = score(&schema, &curriculum, cfg);
        progress(&format!(
            "{added} unexplained pairs join the curriculum ({} pairs): the schema explains {}",
            curriculum.len(),
            current.0
        ));
    }
    let g = finish(name, names, &schema, f, train, &curriculum, cfg, progress);
    report.train_explained = accuracy(&g, names, train).0;
    (g, report)
}

/// The system for `schema` from the meanings fitted on all the pairs (`f`), or from those
/// fitted on the curriculum when they explain more: meanings fitted on everything can be led
/// astray where the curriculum's were not (an early guess from one-token arguments that later
/// evidence does not overturn).
#[allow(clippy::too_many_arguments)]
fn finish(
    name: &str,
    names: &Interner,
    schema: &Schema,
    f: Fit,
    train: &[Example],
    curriculum: &[Example],
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> Gss {
    let g = build(name, names, schema, &f, train);
    if f.unexplained.is_empty() {
        return g;
    }
    let fc = fit(schema, curriculum, cfg);
    let gc = build(name, names, schema, &fc, train);
    let (ok, _) = accuracy(&gc, names, train);
    if ok > f.explained {
        progress(&format!(
            "the curriculum's meanings explain {ok} training pairs: kept instead"
        ));
        return gc;
    }
    g
}

/// Learns meanings only, for a given schema (the syntax of an existing `gss` item, say).
pub fn learn_semantics(
    name: &str,
    names: &Interner,
    train: &[Example],
    schema: &Schema,
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> (Gss, LearnReport) {
    progress(&format!("schema given: {}", schema.describe(names)));
    let mut seen = std::collections::HashSet::new();
    let curriculum = curriculum(train, cfg, &positions(train), &mut seen);
    let f = fit(schema, train, cfg);
    progress(&format!(
        "semantics on all {} training pairs: explains {}",
        train.len(),
        f.explained
    ));
    let g = finish(name, names, schema, f, train, &curriculum, cfg, progress);
    let report = LearnReport {
        schemas_scored: 1,
        curriculum: curriculum.len(),
        train: train.len(),
        train_explained: accuracy(&g, names, train).0,
        ..LearnReport::default()
    };
    (g, report)
}

impl Schema {
    /// The schema of a system, with symbols interned in `names` (the training data's ids).
    pub fn of(g: &Gss, names: &mut Interner) -> Schema {
        let mut s = Schema {
            fix: BTreeMap::new(),
            jux: g.juxtapose.as_ref().map(|j| j.0),
        };
        for (sym, rule) in &g.rules {
            let id = names.intern(g.names.name(*sym));
            s.set(id, rule.fixity);
        }
        s
    }
}

/// What the schema search scores against: the symbols it may change, where they occur, and the
/// curriculum of the current round.
struct Moves<'a> {
    searched: &'a [Sym],
    pos: &'a BTreeMap<Sym, Positions>,
    curriculum: &'a [Example],
    cfg: &'a LearnConfig,
    names: &'a Interner,
}

impl Moves<'_> {
    /// The best schema one change away from `schema` (a symbol's fixity or the juxtaposition).
    fn best(&self, schema: &Schema, report: &mut LearnReport) -> Option<(Score, Schema, String)> {
        let Moves {
            searched,
            pos,
            curriculum,
            cfg,
            names,
        } = *self;
        let mut best: Option<(Score, Schema, String)> = None;
        let mut consider = |cand: Schema, what: String| {
            report.schemas_scored += 1;
            let sc = score(&cand, curriculum, cfg);
            if best.as_ref().is_none_or(|(b, _, _)| sc > *b) {
                best = Some((sc, cand, what));
            }
        };
        for &s in searched {
            for f in options(pos[&s], cfg.max_prec) {
                if f == schema.fixity(s) {
                    continue;
                }
                let mut cand = schema.clone();
                cand.set(s, f);
                consider(cand, format!("{}{}", names.name(s), fixity_text(f)));
            }
        }
        for j in std::iter::once(None).chain((1..=cfg.max_prec).map(Some)) {
            if j != schema.jux {
                let mut cand = schema.clone();
                cand.jux = j;
                consider(
                    cand,
                    match j {
                        Some(p) => format!("juxtapose: infix {p}"),
                        None => "no juxtaposition".into(),
                    },
                );
            }
        }
        best
    }
}

fn fixity_text(f: Fixity) -> String {
    match f {
        Fixity::Atom => ": atom".into(),
        f => f.to_source(),
    }
}

/// The learned system: a rule for every symbol of the training inputs (in order of first
/// appearance), and `_ = [self]` when most atoms denote themselves.
pub fn build(name: &str, names: &Interner, schema: &Schema, f: &Fit, train: &[Example]) -> Gss {
    let mut syms: Vec<Sym> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in train {
        for &s in &e.input {
            if seen.insert(s) {
                syms.push(s);
            }
        }
    }
    syms.sort_unstable();
    let self_atoms = syms
        .iter()
        .filter(|&&s| schema.fixity(s) == Fixity::Atom)
        .filter(|&&s| {
            f.programs
                .get(&Head::Tok(s))
                .is_none_or(|p| *p == Program::self_token())
        })
        .count();
    let atoms = syms
        .iter()
        .filter(|&&s| schema.fixity(s) == Fixity::Atom)
        .count();
    let default = (self_atoms * 2 > atoms).then(Program::self_token);
    let mut rules = Vec::new();
    for s in syms {
        let fixity = schema.fixity(s);
        let program = match fixity {
            Fixity::Separator => None,
            _ => Some(
                f.programs
                    .get(&Head::Tok(s))
                    .cloned()
                    .unwrap_or_else(|| match fixity {
                        Fixity::Atom => Program::self_token(),
                        // never observed with known arguments: the identity on the first operand
                        f => Program {
                            arity: f.arity(),
                            atoms: vec![crate::model::Atom::Seq(crate::model::Path::var(0))],
                        },
                    }),
            ),
        };
        if default.is_some() && fixity == Fixity::Atom && program == Some(Program::self_token()) {
            continue; // the `_` rule says it
        }
        rules.push((
            s,
            Rule {
                fixity,
                meaning: program.map(Meaning::List),
            },
        ));
    }
    let juxtapose = schema.jux.and_then(|p| {
        f.programs
            .get(&Head::Juxtapose)
            .map(|prog| (p, prog.clone()))
    });
    Gss {
        name: name.to_string(),
        names: names.clone(),
        rules,
        juxtapose,
        default,
    }
}

/// Accuracy of `g` on pairs interned in `names` (which extends `g.names`): (correct, total).
pub fn accuracy(g: &Gss, names: &Interner, exs: &[Example]) -> (usize, usize) {
    let reader = g.reader();
    let mut names = names.clone();
    let ok = exs
        .iter()
        .filter(|e| matches!(reader.interpret(&e.input, &mut names), Ok(v) if v == e.output))
        .count();
    (ok, exs.len())
}
