//! Enumerative synthesis of meanings from input/output examples.
//!
//! A meaning is a concatenation of atoms (see [`crate::model::Atom`]). The search is a
//! depth-first segmentation of all the examples' outputs at once: an atom may extend the word
//! only if its value is the next piece of *every* example's output, so the branching is small
//! and the word found is consistent by construction. Before the search, atoms are pruned by
//! observational equivalence (two atoms with the same values on every example are one; the
//! cheaper is kept), and branch and bound on the description length returns the cheapest word.
//!
//! Arguments may be *unknown leaves*: atoms of the tree whose meaning is not known yet. Such an
//! argument is bound, consistently across the examples, to a piece of the output (or to the
//! token itself, the cheaper guess), so a meaning and the constants it is applied to are found
//! together (`juxtapose(walk, left) = I_TURN_LEFT I_WALK` gives `|x, y| y ++ x` and
//! `left = [I_TURN_LEFT]`).

use crate::model::{Atom, ElemOp, ListOp, Path, Program, Sym};
use std::collections::HashMap;

/// An argument of an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Known(Vec<Sym>),
    /// An atom symbol whose meaning is unknown.
    Leaf(Sym),
    /// A nested application of the meaning being synthesised (token, arguments): checked when
    /// scoring a candidate, never used to build one.
    Rec(Sym, Vec<Arg>),
}

impl Arg {
    fn is_flat(&self) -> bool {
        !matches!(self, Arg::Rec(..))
    }
}

/// One observation of a meaning: arguments, the token applied, and the required output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthEx {
    pub args: Vec<Arg>,
    pub tok: Sym,
    pub target: Vec<Sym>,
}

#[derive(Debug, Clone, Copy)]
pub struct SynthConfig {
    /// Description length of a literal token (a whole argument costs 1).
    pub const_cost: u32,
    /// The most atoms in a meaning.
    pub max_atoms: usize,
    /// The longest piece of an output an unknown leaf may be bound to.
    pub max_leaf: usize,
    /// Search nodes per call.
    pub budget: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            const_cost: 4,
            max_atoms: 10,
            max_leaf: 3,
            budget: 40_000,
        }
    }
}

/// A meaning with the values it assumes for unknown leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    pub program: Program,
    pub bindings: Vec<(Sym, Vec<Sym>)>,
    /// For each binding, how many reproduced examples use it.
    pub support: Vec<usize>,
    /// Description length of the program and of the bindings.
    pub cost: u32,
    /// How many of the examples it reproduces.
    pub matched: usize,
}

/// The description length of binding leaf `s` to `v`.
pub fn binding_cost(s: Sym, v: &[Sym], const_cost: u32) -> u32 {
    if v == [s] {
        1
    } else {
        (const_cost * v.len() as u32).max(1)
    }
}

/// Candidate atoms for `arity` arguments (literals are added during the search).
fn atom_pool(arity: u8) -> Vec<Atom> {
    let mut paths = Vec::new();
    for var in 0..arity {
        paths.push(Path::var(var));
        for a in ListOp::ALL {
            paths.push(Path { var, ops: vec![a] });
            for b in ListOp::ALL {
                paths.push(Path {
                    var,
                    ops: vec![a, b],
                });
            }
        }
    }
    let mut atoms: Vec<Atom> = paths.iter().cloned().map(Atom::Seq).collect();
    for p in paths.iter().filter(|p| p.ops.len() <= 1) {
        atoms.push(Atom::Elem(ElemOp::Head, p.clone()));
        atoms.push(Atom::Elem(ElemOp::Last, p.clone()));
    }
    atoms.push(Atom::SelfTok);
    atoms
}

/// An atom's value on one example: concrete, or a leaf to bind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AVal {
    Val(Vec<Sym>),
    Leaf(Sym),
}

fn atom_value(a: &Atom, ex: &SynthEx) -> Option<AVal> {
    if let Atom::Seq(p) = a
        && p.ops.is_empty()
        && let Some(Arg::Leaf(s)) = ex.args.get(p.var as usize)
    {
        return Some(AVal::Leaf(*s));
    }
    let mut args: Vec<&[Sym]> = Vec::with_capacity(ex.args.len());
    for arg in &ex.args {
        match arg {
            Arg::Known(v) => args.push(v),
            Arg::Leaf(_) => args.push(&[]),
            Arg::Rec(..) => return None,
        }
    }
    // an atom that reads a leaf through a function cannot be evaluated yet
    let reads_leaf = match a {
        Atom::Seq(p) | Atom::Elem(_, p) => {
            matches!(ex.args.get(p.var as usize), Some(Arg::Leaf(_)))
        }
        _ => false,
    };
    if reads_leaf {
        return None;
    }
    let mut out = Vec::new();
    a.eval_into(&args, ex.tok, &mut out)
        .then_some(AVal::Val(out))
}

/// A word found by the search: (cost, atoms, leaf bindings).
type Found = (u32, Vec<Atom>, Vec<(Sym, Vec<Sym>)>);

struct Search<'a> {
    exs: &'a [&'a SynthEx],
    atoms: std::rc::Rc<Vec<(Atom, u32, Vec<AVal>)>>,
    cfg: SynthConfig,
    nodes: usize,
    best: Option<Found>,
    /// collect every solution (for the fallback), not just the cheapest
    collect: Option<Vec<Found>>,
}

impl Search<'_> {
    fn bound(&self) -> u32 {
        match (&self.collect, &self.best) {
            (None, Some((c, _, _))) => *c,
            _ => u32::MAX,
        }
    }

    fn dfs(
        &mut self,
        word: &mut Vec<Atom>,
        offs: &mut Vec<usize>,
        binds: &mut Vec<(Sym, Vec<Sym>)>,
        cost: u32,
    ) {
        self.nodes += 1;
        let budget = if self.collect.is_some() {
            self.cfg.budget / 8
        } else {
            self.cfg.budget
        };
        if self.nodes > budget || cost >= self.bound() {
            return;
        }
        if let Some(c) = &self.collect
            && c.len() >= 32
        {
            return;
        }
        if offs.iter().zip(self.exs).all(|(&o, e)| o == e.target.len()) {
            let sol = (cost, word.clone(), binds.clone());
            match &mut self.collect {
                Some(c) => c.push(sol),
                None => self.best = Some(sol),
            }
            return;
        }
        if word.len() >= self.cfg.max_atoms {
            return;
        }
        // literals: the next token of the first unfinished example
        let lit = self
            .exs
            .iter()
            .zip(offs.iter())
            .find(|(e, o)| **o < e.target.len())
            .map(|(e, &o)| e.target[o]);
        // unfinished: at least one more atom, costing at least 1
        if cost + 1 >= self.bound() {
            return;
        }
        let atoms = std::rc::Rc::clone(&self.atoms);
        for (atom, acost, vals) in atoms.iter() {
            word.push(atom.clone());
            self.extend(0, vals, word, offs, binds, cost + acost, false);
            word.pop();
        }
        if let Some(l) = lit {
            let vals = vec![AVal::Val(vec![l]); self.exs.len()];
            word.push(Atom::Lit(l));
            self.extend(
                0,
                &vals,
                word,
                offs,
                binds,
                cost + self.cfg.const_cost,
                false,
            );
            word.pop();
        }
    }

    /// Matches the last atom of `word` against example `e` onwards, binding leaves as needed.
    #[allow(clippy::too_many_arguments)]
    fn extend(
        &mut self,
        e: usize,
        vals: &[AVal],
        word: &mut Vec<Atom>,
        offs: &mut Vec<usize>,
        binds: &mut Vec<(Sym, Vec<Sym>)>,
        cost: u32,
        advanced: bool,
    ) {
        // binding choices multiply across examples: they count against the budget too
        self.nodes += 1;
        if self.nodes > self.cfg.budget {
            return;
        }
        if e == self.exs.len() {
            if advanced {
                self.dfs(word, offs, binds, cost);
            }
            return;
        }
        let target = &self.exs[e].target;
        let off = offs[e];
        // a value known here (the atom's, or the leaf's binding) must be the next piece
        let fixed = match &vals[e] {
            AVal::Val(v) => Some(std::borrow::Cow::Borrowed(v.as_slice())),
            AVal::Leaf(s) => binds
                .iter()
                .find(|(b, _)| b == s)
                .map(|(_, v)| std::borrow::Cow::Owned(v.clone())),
        };
        if let Some(v) = fixed {
            if target.len() - off >= v.len() && target[off..off + v.len()] == v[..] {
                offs[e] += v.len();
                self.extend(
                    e + 1,
                    vals,
                    word,
                    offs,
                    binds,
                    cost,
                    advanced || !v.is_empty(),
                );
                offs[e] = off;
            }
            return;
        }
        match &vals[e] {
            AVal::Val(_) => {}
            AVal::Leaf(s) => {
                for v in leaf_options(*s, target, off, self.cfg.max_leaf) {
                    let c = binding_cost(*s, &v, self.cfg.const_cost);
                    let n = v.len();
                    binds.push((*s, v));
                    offs[e] += n;
                    self.extend(e + 1, vals, word, offs, binds, cost + c, true);
                    offs[e] = off;
                    binds.pop();
                }
            }
        }
    }
}

/// The values an unbound leaf `s` may take where the output continues at `off`: the token
/// itself first (the cheaper guess), then every piece of up to `max_leaf` tokens, the empty one
/// included.
fn leaf_options(s: Sym, target: &[Sym], off: usize, max_leaf: usize) -> Vec<Vec<Sym>> {
    let mut options: Vec<Vec<Sym>> = Vec::new();
    if target.get(off) == Some(&s) {
        options.push(vec![s]);
    }
    for len in 0..=max_leaf.min(target.len() - off) {
        let v = target[off..off + len].to_vec();
        if !options.contains(&v) {
            options.push(v);
        }
    }
    options
}

/// Evaluates a program on an example, with leaves bound by `binds` (unbound leaves denote
/// their own token).
pub fn eval_with(p: &Program, ex: &SynthEx, binds: &[(Sym, Vec<Sym>)]) -> Option<Vec<Sym>> {
    let owned: Vec<Vec<Sym>> = ex
        .args
        .iter()
        .map(|a| resolve(a, p, binds))
        .collect::<Option<_>>()?;
    let args: Vec<&[Sym]> = owned.iter().map(|v| v.as_slice()).collect();
    p.eval(&args, ex.tok)
}

/// An argument's value under `p` and `binds` (unbound leaves denote their own token).
fn resolve(a: &Arg, p: &Program, binds: &[(Sym, Vec<Sym>)]) -> Option<Vec<Sym>> {
    match a {
        Arg::Known(v) => Some(v.clone()),
        Arg::Leaf(s) => Some(
            binds
                .iter()
                .find(|(b, _)| b == s)
                .map_or_else(|| vec![*s], |(_, v)| v.clone()),
        ),
        Arg::Rec(tok, args) => {
            let vals: Vec<Vec<Sym>> = args
                .iter()
                .map(|a| resolve(a, p, binds))
                .collect::<Option<_>>()?;
            let refs: Vec<&[Sym]> = vals.iter().map(|v| v.as_slice()).collect();
            p.eval(&refs, *tok)
        }
    }
}

fn run_search(arity: u8, exs: &[&SynthEx], cfg: SynthConfig, collect: bool) -> Vec<Found> {
    // observational equivalence: one atom per behaviour on these examples, the cheapest
    let mut by_behaviour: HashMap<Vec<AVal>, (Atom, u32)> = HashMap::new();
    for a in atom_pool(arity) {
        let vals: Option<Vec<AVal>> = exs.iter().map(|e| atom_value(&a, e)).collect();
        let Some(vals) = vals else { continue };
        if vals.iter().all(|v| *v == AVal::Val(Vec::new())) {
            continue;
        }
        let c = a.cost(cfg.const_cost);
        match by_behaviour.get(&vals) {
            Some((_, c0)) if *c0 <= c => {}
            _ => {
                by_behaviour.insert(vals, (a, c));
            }
        }
    }
    let mut atoms: Vec<(Atom, u32, Vec<AVal>)> = by_behaviour
        .into_iter()
        .map(|(v, (a, c))| (a, c, v))
        .collect();
    atoms.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    let mut s = Search {
        exs,
        atoms: std::rc::Rc::new(atoms),
        cfg,
        nodes: 0,
        best: None,
        collect: collect.then(Vec::new),
    };
    s.dfs(&mut Vec::new(), &mut vec![0; exs.len()], &mut Vec::new(), 0);
    match s.collect {
        Some(c) => c,
        None => s.best.into_iter().collect(),
    }
}

/// Matches `atoms[k..]` against `target[off..]`, binding unbound leaves (the cheapest guess
/// first); `true` with the bindings extended on success.
fn match_word(
    atoms: &[Atom],
    k: usize,
    ex: &SynthEx,
    off: usize,
    binds: &mut Vec<(Sym, Vec<Sym>)>,
    cfg: &SynthConfig,
) -> bool {
    let target = &ex.target;
    let Some(a) = atoms.get(k) else {
        return off == target.len();
    };
    match atom_value(a, ex) {
        None => false,
        Some(AVal::Val(v)) => {
            target.len() - off >= v.len()
                && target[off..off + v.len()] == v[..]
                && match_word(atoms, k + 1, ex, off + v.len(), binds, cfg)
        }
        Some(AVal::Leaf(s)) => {
            if let Some((_, v)) = binds.iter().find(|(b, _)| *b == s) {
                let v = v.clone();
                return target.len() - off >= v.len()
                    && target[off..off + v.len()] == v[..]
                    && match_word(atoms, k + 1, ex, off + v.len(), binds, cfg);
            }
            for v in leaf_options(s, target, off, cfg.max_leaf) {
                let n = v.len();
                binds.push((s, v));
                if match_word(atoms, k + 1, ex, off + n, binds, cfg) {
                    return true;
                }
                binds.pop();
            }
            false
        }
    }
}

/// Scores a word on every example, binding leaves the search left unbound as the examples
/// are met (shortest outputs first).
fn score(
    arity: u8,
    atoms: Vec<Atom>,
    mut binds: Vec<(Sym, Vec<Sym>)>,
    cost: u32,
    all: &[SynthEx],
    order: &[usize],
    cfg: &SynthConfig,
) -> Solution {
    let program = Program { arity, atoms };
    let mut matched = 0;
    let mut support: HashMap<Sym, usize> = HashMap::new();
    for &i in order {
        let ex = &all[i];
        // nested applications are evaluated with the candidate itself
        let resolved;
        let ex = if ex.args.iter().all(Arg::is_flat) {
            ex
        } else {
            let args: Option<Vec<Arg>> = ex
                .args
                .iter()
                .map(|a| match a {
                    Arg::Rec(..) => resolve(a, &program, &binds).map(Arg::Known),
                    a => Some(a.clone()),
                })
                .collect();
            let Some(args) = args else { continue };
            resolved = SynthEx {
                args,
                tok: ex.tok,
                target: ex.target.clone(),
            };
            &resolved
        };
        let mut b = binds.clone();
        if match_word(&program.atoms, 0, ex, 0, &mut b, cfg) {
            matched += 1;
            binds = b;
            for a in &ex.args {
                if let Arg::Leaf(s) = a {
                    *support.entry(*s).or_default() += 1;
                }
            }
        }
    }
    // a binding only one example asks for explains nothing: drop those and count again
    // with the rest fixed (unbound leaves denote themselves)
    let kept: Vec<(Sym, Vec<Sym>)> = binds
        .iter()
        .filter(|(s, v)| v[..] == [*s] || support.get(s).copied().unwrap_or(0) >= 2)
        .cloned()
        .collect();
    if kept.len() < binds.len() {
        binds = kept;
        matched = order
            .iter()
            .filter(|&&i| {
                eval_with(&program, &all[i], &binds).as_deref() == Some(&all[i].target[..])
            })
            .count();
    }
    let support = binds
        .iter()
        .map(|(s, _)| support.get(s).copied().unwrap_or(0))
        .collect();
    Solution {
        program,
        bindings: binds,
        support,
        cost,
        matched,
    }
}

/// The cheapest meaning consistent with all of `exs` if one is found (the search runs on a
/// growing sample, counterexample-guided); otherwise the meaning, among those fitting single
/// examples, that reproduces the most.
pub fn synthesize(arity: u8, exs: &[SynthEx], cfg: SynthConfig) -> Option<Solution> {
    if exs.is_empty() {
        return None;
    }
    // a sample: the shortest outputs first, then spread over the rest
    let mut order: Vec<usize> = (0..exs.len()).collect();
    // flat examples first (they bind leaves), each group shortest first
    order.sort_by_key(|&i| {
        (
            !exs[i].args.iter().all(Arg::is_flat),
            exs[i].target.len(),
            i,
        )
    });
    let flat: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| exs[i].args.iter().all(Arg::is_flat))
        .collect();
    if flat.is_empty() {
        return None;
    }
    let mut sample: Vec<usize> = flat.iter().take(4).copied().collect();
    let rest = &flat[sample.len()..];
    let step = (rest.len() / 8).max(1);
    sample.extend(rest.iter().step_by(step).take(8));
    for _ in 0..4 {
        let refs: Vec<&SynthEx> = sample.iter().map(|&i| &exs[i]).collect();
        let Some((cost, atoms, binds)) = run_search(arity, &refs, cfg, false).pop() else {
            break;
        };
        let sol = score(arity, atoms, binds, cost, exs, &order, &cfg);
        if sol.matched == exs.len() {
            return Some(sol);
        }
        // add up to four counterexamples and search again
        let program = &sol.program;
        let bad: Vec<usize> = flat
            .iter()
            .copied()
            .filter(|&i| {
                eval_with(program, &exs[i], &sol.bindings).as_deref() != Some(&exs[i].target[..])
            })
            .take(4)
            .collect();
        sample.extend(bad);
    }
    // fallback: fit single examples (the shortest and a spread of others), keep what
    // explains the most
    let mut best: Option<Solution> = None;
    // seeds: the most informative examples (longest arguments: on one-token arguments `x`,
    // `reverse(x)` and `[head(x)]` are one behaviour), then the shortest
    let arg_len = |i: usize| -> usize {
        exs[i]
            .args
            .iter()
            .map(|a| match a {
                Arg::Known(v) => v.len(),
                _ => 1,
            })
            .sum()
    };
    let mut by_info = flat.clone();
    by_info.sort_by_key(|&i| (std::cmp::Reverse(arg_len(i)), exs[i].target.len(), i));
    let mut seeds: Vec<usize> = by_info.iter().take(3).copied().collect();
    for &i in flat.iter().take(3) {
        if !seeds.contains(&i) {
            seeds.push(i);
        }
    }
    for &i in &seeds {
        for (cost, atoms, binds) in run_search(arity, &[&exs[i]], cfg, true) {
            let sol = score(arity, atoms, binds, cost, exs, &order, &cfg);
            let better = match &best {
                None => true,
                Some(b) => {
                    (sol.matched, std::cmp::Reverse(sol.cost))
                        > (b.matched, std::cmp::Reverse(b.cost))
                }
            };
            if better {
                best = Some(sol);
            }
        }
    }
    best.filter(|b| b.matched > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(args: Vec<Arg>, target: &[Sym]) -> SynthEx {
        SynthEx {
            args,
            tok: 99,
            target: target.to_vec(),
        }
    }
    fn k(v: &[Sym]) -> Arg {
        Arg::Known(v.to_vec())
    }

    #[test]
    fn finds_concatenations() {
        // twice: x ++ x
        let exs = vec![
            ex(vec![k(&[1])], &[1, 1]),
            ex(vec![k(&[2, 3])], &[2, 3, 2, 3]),
        ];
        let s = synthesize(1, &exs, SynthConfig::default()).unwrap();
        assert_eq!(s.matched, 2);
        assert_eq!(s.program.atoms.len(), 2);
        // after: y ++ x
        let exs = vec![
            ex(vec![k(&[1]), k(&[2])], &[2, 1]),
            ex(vec![k(&[1, 1]), k(&[3])], &[3, 1, 1]),
        ];
        let s = synthesize(2, &exs, SynthConfig::default()).unwrap();
        assert_eq!(
            s.program.atoms,
            vec![Atom::Seq(Path::var(1)), Atom::Seq(Path::var(0))]
        );
    }

    #[test]
    fn copying_beats_constants_when_constants_cost_more() {
        // opposite seen only with left (5): y ++ y ++ x fits as well as [5, 5] ++ x
        let exs = vec![
            ex(vec![k(&[1]), k(&[5])], &[5, 5, 1]),
            ex(vec![k(&[2]), k(&[5])], &[5, 5, 2]),
        ];
        let s = synthesize(2, &exs, SynthConfig::default()).unwrap();
        assert_eq!(
            s.program.atoms,
            vec![
                Atom::Seq(Path::var(1)),
                Atom::Seq(Path::var(1)),
                Atom::Seq(Path::var(0))
            ]
        );
        assert_eq!(s.cost, 3); // and [5, 5] ++ x would cost 9
    }

    #[test]
    fn binds_unknown_leaves() {
        // juxtapose(walk, ?left) = LTURN WALK; juxtapose(look, ?left) = LTURN LOOK
        let exs = vec![
            ex(vec![k(&[1]), Arg::Leaf(7)], &[5, 1]),
            ex(vec![k(&[2]), Arg::Leaf(7)], &[5, 2]),
            ex(vec![k(&[2]), Arg::Leaf(8)], &[6, 2]),
            ex(vec![k(&[3]), Arg::Leaf(8)], &[6, 3]),
        ];
        let s = synthesize(2, &exs, SynthConfig::default()).unwrap();
        assert_eq!(s.matched, 4);
        assert_eq!(
            s.program.atoms,
            vec![Atom::Seq(Path::var(1)), Atom::Seq(Path::var(0))]
        );
        let mut b = s.bindings.clone();
        b.sort();
        assert_eq!(b, vec![(7, vec![5]), (8, vec![6])]);
    }

    #[test]
    fn swap_first_last_needs_elements_and_paths() {
        let exs = vec![
            ex(vec![k(&[1, 2, 3])], &[3, 2, 1]),
            ex(vec![k(&[1, 2, 3, 4])], &[4, 2, 3, 1]),
            ex(vec![k(&[5, 6])], &[6, 5]),
        ];
        let s = synthesize(1, &exs, SynthConfig::default()).unwrap();
        assert_eq!(s.matched, 3, "{:?}", s.program);
    }
}
