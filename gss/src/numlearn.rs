//! Learning a system with numeric meanings (HINT-like arithmetic) from pairs whose outputs are
//! numbers.
//!
//! 1. **Symbols**: a token that is a whole input by itself is an atom and means that input's
//!    output (the most common one when pairs disagree).
//! 2. **Schema**: hill climbing over the fixities of the other tokens (infix, prefix, postfix at
//!    precedences 1..=max, and opening/closing bracket pairs), scored by how many curriculum
//!    pairs (the shortest inputs) the fitted meanings explain, then by description length.
//! 3. **Meanings, for one schema** (deduction): parse every pair; wherever the root's symbol has
//!    no meaning yet and all its operands have values, the pair gives an observation
//!    `symbol(operands) = output`. A symbol with consistent observations gets the cheapest
//!    program that agrees with them all ([`crate::arith::synthesize`]); symbols learned in one
//!    round are callable in the next (`*` is found as repeated `+` once `+` is known). Rounds
//!    repeat until nothing new is learned.
//!
//! A wrong precedence shows up twice: operands of a root are computed with the wrong grouping,
//! so its observations contradict each other or the cheap programs, and the pairs it parses
//! wrongly are not explained.

use crate::arith::{Fuel, NumBody, NumExpr, NumProgram, NumSynthConfig, Obs, synthesize};
use crate::learn::{Example, LearnReport};
use crate::model::{Fixity, Gss, Head, Interner, Meaning, Rule, Sym, Tree, parse};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy)]
pub struct NumLearnConfig {
    pub synth: NumSynthConfig,
    /// Precedence levels 1..=max_prec.
    pub max_prec: u8,
    /// Pairs the schema search scores on (the shortest inputs).
    pub curriculum: usize,
    /// Observations a symbol needs before a meaning is synthesized.
    pub min_obs: usize,
    /// Observations (those with the smallest operands) passed to synthesis.
    pub max_obs: usize,
    /// Hill-climbing steps.
    pub max_steps: usize,
    /// Rounds in which unexplained training pairs join the curriculum.
    pub refinements: usize,
    /// Pairs added per round (the shortest unexplained ones).
    pub refine_add: usize,
    /// Symbols whose fixity is searched (the most frequent).
    pub search_symbols: usize,
    /// Steps one pair may take while fitting.
    pub fuel: u64,
}

impl Default for NumLearnConfig {
    fn default() -> Self {
        NumLearnConfig {
            synth: NumSynthConfig::default(),
            max_prec: 4,
            curriculum: 600,
            min_obs: 3,
            max_obs: 60,
            max_steps: 30,
            refinements: 6,
            refine_add: 200,
            search_symbols: 12,
            fuel: 1_000_000,
        }
    }
}

/// The outputs as numbers, when every output is one token that reads as a natural number.
pub fn numeric_outputs(names: &Interner, exs: &[Example]) -> Option<Vec<u64>> {
    if exs.is_empty() {
        return None;
    }
    exs.iter()
        .map(|e| match e.output[..] {
            [t] => {
                let s = names.name(t);
                // "007" is a token, not the number 7
                (s == "0" || !s.starts_with('0'))
                    .then(|| s.parse::<u64>().ok())
                    .flatten()
            }
            _ => None,
        })
        .collect()
}

type SchemaMap = BTreeMap<Sym, Fixity>;

fn parse_with(schema: &SchemaMap, toks: &[Sym]) -> Option<Tree> {
    parse(
        toks,
        &|s| Some(schema.get(&s).copied().unwrap_or(Fixity::Atom)),
        None,
    )
    .ok()
}

/// Values of a tree's nodes under the known meanings.
fn values(tree: &Tree, known: &BTreeMap<Sym, NumProgram>, fuel: u64) -> Vec<Option<u64>> {
    let lib = |s: Sym| known.get(&s);
    let mut f = Fuel::new(fuel);
    let mut vals: Vec<Option<u64>> = Vec::with_capacity(tree.nodes.len());
    for node in &tree.nodes {
        let v = match node.head {
            Head::Tok(s) => known.get(&s).and_then(|p| {
                let args: Option<Vec<u64>> = node.children.iter().map(|&c| vals[c]).collect();
                let args = args?;
                (p.arity as usize == args.len())
                    .then(|| p.eval(&args, &lib, &mut f).ok())
                    .flatten()
            }),
            Head::Juxtapose => None,
        };
        vals.push(v);
    }
    vals
}

type CacheKey = (Sym, u8, Vec<Obs>, Vec<(Sym, NumProgram)>);

/// What one schema explains.
struct NumFit {
    known: BTreeMap<Sym, NumProgram>,
    explained: usize,
    cost: u32,
}

struct Learner<'a> {
    exs: &'a [Example],
    outs: &'a [u64],
    atoms: BTreeMap<Sym, u64>,
    cfg: NumLearnConfig,
    cache: HashMap<CacheKey, Option<NumProgram>>,
    scored: usize,
}

impl Learner<'_> {
    fn fit(&mut self, schema: &SchemaMap, idx: &[usize]) -> NumFit {
        self.scored += 1;
        let mut known: BTreeMap<Sym, NumProgram> = self
            .atoms
            .iter()
            .map(|(&s, &v)| (s, NumProgram::constant(v)))
            .collect();
        let trees: Vec<Option<Tree>> = idx
            .iter()
            .map(|&i| parse_with(schema, &self.exs[i].input))
            .collect();
        loop {
            let mut obs: BTreeMap<Sym, Vec<Obs>> = BTreeMap::new();
            for (k, &i) in idx.iter().enumerate() {
                let Some(t) = &trees[k] else { continue };
                let Some(root) = t.nodes.last() else { continue };
                let Head::Tok(s) = root.head else { continue };
                if known.contains_key(&s) || root.children.is_empty() {
                    continue;
                }
                let vals = values(t, &known, self.cfg.fuel);
                let args: Option<Vec<u64>> = root.children.iter().map(|&c| vals[c]).collect();
                if let Some(args) = args {
                    obs.entry(s).or_default().push((args, self.outs[i]));
                }
            }
            let lib: Vec<(Sym, NumProgram)> = known
                .iter()
                .filter(|(_, p)| p.arity > 0)
                .map(|(&s, p)| (s, p.clone()))
                .collect();
            let mut learned = Vec::new();
            for (s, o) in obs {
                // the same operands with two values: exact data says it is not one function
                // (or a wrong parse); with a tolerance the most frequent value stands
                let mut by_args: BTreeMap<Vec<u64>, BTreeMap<u64, usize>> = BTreeMap::new();
                for (a, v) in o {
                    *by_args.entry(a).or_default().entry(v).or_default() += 1;
                }
                let exact = self.cfg.synth.tolerance <= 0.0;
                if exact && by_args.values().any(|vs| vs.len() > 1) {
                    continue;
                }
                let mut o: Vec<Obs> = by_args
                    .into_iter()
                    .filter_map(|(a, vs)| {
                        let total: usize = vs.values().sum();
                        let (v, n) = vs
                            .into_iter()
                            .max_by_key(|&(v, n)| (n, std::cmp::Reverse(v)))?;
                        (2 * n > total).then_some((a, v))
                    })
                    .collect();
                if o.len() < self.cfg.min_obs {
                    continue;
                }
                o.sort_by_key(|(a, v)| (a.iter().copied().max().unwrap_or(0).max(*v), a.clone()));
                o.truncate(self.cfg.max_obs);
                let arity = o[0].0.len() as u8;
                if o.iter().any(|(a, _)| a.len() != arity as usize) {
                    continue;
                }
                let key = (s, arity, o, lib.clone());
                let p = match self.cache.get(&key) {
                    Some(p) => p.clone(),
                    None => {
                        let refs: Vec<(Sym, &NumProgram)> =
                            lib.iter().map(|(s, p)| (*s, p)).collect();
                        let p = synthesize(arity, &key.2, &refs, self.cfg.synth);
                        self.cache.insert(key, p.clone());
                        p
                    }
                };
                if let Some(p) = p {
                    learned.push((s, p));
                }
            }
            if learned.is_empty() {
                break;
            }
            known.extend(learned);
        }
        let explained = idx
            .iter()
            .enumerate()
            .filter(|(k, i)| {
                trees[*k].as_ref().is_some_and(|t| {
                    values(t, &known, self.cfg.fuel).last().copied().flatten()
                        == Some(self.outs[**i])
                })
            })
            .count();
        let cost = known
            .values()
            .map(|p| p.cost(self.cfg.synth.const_cost))
            .sum::<u32>()
            + schema
                .values()
                .map(|f| match f {
                    Fixity::Infix { prec } | Fixity::Postfix { prec } => u32::from(*prec),
                    Fixity::Prefix { prec, arity } => u32::from(*prec) + u32::from(*arity),
                    _ => 1,
                })
                .sum::<u32>();
        NumFit {
            known,
            explained,
            cost,
        }
    }
}

/// Learns a numeric system from pairs (outputs are numbers, see [`numeric_outputs`]); with
/// `schema`, only the meanings for that schema.
pub fn learn_num(
    name: &str,
    names: &Interner,
    train: &[Example],
    given: Option<&BTreeMap<Sym, Fixity>>,
    cfg: &NumLearnConfig,
    progress: &mut dyn FnMut(&str),
) -> Option<(Gss, LearnReport)> {
    let outs = numeric_outputs(names, train)?;
    // 1. atoms: whole inputs of one token
    let mut votes: BTreeMap<Sym, BTreeMap<u64, usize>> = BTreeMap::new();
    for (e, &v) in train.iter().zip(&outs) {
        if let [t] = e.input[..] {
            *votes.entry(t).or_default().entry(v).or_default() += 1;
        }
    }
    let atoms: BTreeMap<Sym, u64> = votes
        .iter()
        .filter_map(|(&s, vs)| {
            vs.iter()
                .max_by_key(|(v, n)| (**n, std::cmp::Reverse(**v)))
                .map(|(&v, _)| (s, v))
        })
        .collect();
    // symbols by frequency
    let mut freq: BTreeMap<Sym, usize> = BTreeMap::new();
    for e in train {
        for &t in &e.input {
            if !atoms.contains_key(&t) {
                *freq.entry(t).or_default() += 1;
            }
        }
    }
    let mut syms: Vec<(Sym, usize)> = freq.into_iter().collect();
    syms.sort_by_key(|&(s, n)| (std::cmp::Reverse(n), s));
    syms.truncate(cfg.search_symbols);
    let syms: Vec<Sym> = syms.into_iter().map(|(s, _)| s).collect();
    progress(&format!(
        "{} atoms from one-token inputs ({}); searching the fixity of {}",
        atoms.len(),
        atoms
            .iter()
            .map(|(s, v)| format!("{} = {v}", names.name(*s)))
            .collect::<Vec<_>>()
            .join(", "),
        syms.iter()
            .map(|s| names.name(*s))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.sort_by_key(|&i| (train[i].input.len(), i));
    let mut curriculum: Vec<usize> = order.iter().copied().take(cfg.curriculum).collect();
    let all: Vec<usize> = (0..train.len()).collect();
    let mut l = Learner {
        exs: train,
        outs: &outs,
        atoms,
        cfg: *cfg,
        cache: HashMap::new(),
        scored: 0,
    };
    let mut report = LearnReport {
        train: train.len(),
        ..LearnReport::default()
    };
    let describe = |schema: &SchemaMap| {
        schema
            .iter()
            .map(|(s, f)| format!("{}{}", names.name(*s), f.to_source()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let schema: SchemaMap = match given {
        Some(g) => {
            progress(&format!("schema given: {}", describe(g)));
            g.clone()
        }
        None => {
            // 2. hill climbing from "every symbol is infix 1"
            let mut schema: SchemaMap = syms
                .iter()
                .map(|&s| (s, Fixity::Infix { prec: 1 }))
                .collect();
            let score = |l: &mut Learner<'_>, sc: &SchemaMap, cur: &[usize]| {
                let f = l.fit(sc, cur);
                (f.explained, std::cmp::Reverse(f.cost))
            };
            let mut current = score(&mut l, &schema, &curriculum);
            progress(&format!(
                "start: {} (explains {} of {} curriculum pairs)",
                describe(&schema),
                current.0,
                curriculum.len()
            ));
            for round in 0..=cfg.refinements {
                if round > 0 {
                    // the shortest training pairs the current schema and meanings get wrong
                    let f = l.fit(&schema, &curriculum);
                    let in_cur: std::collections::HashSet<usize> =
                        curriculum.iter().copied().collect();
                    let missed: Vec<usize> = order
                        .iter()
                        .copied()
                        .filter(|i| !in_cur.contains(i))
                        .filter(|&i| curriculum_check(&l, &schema, &f.known, &[i]) == 0)
                        .take(cfg.refine_add)
                        .collect();
                    if missed.is_empty() {
                        break;
                    }
                    curriculum.extend(&missed);
                    current = score(&mut l, &schema, &curriculum);
                    let line = format!(
                        "{} unexplained pairs join the curriculum ({} pairs): the schema explains {}",
                        missed.len(),
                        curriculum.len(),
                        current.0
                    );
                    progress(&line);
                    report.steps.push(line);
                }
                for _ in 0..cfg.max_steps {
                    let mut moves: Vec<(String, SchemaMap)> = Vec::new();
                    for &s in &syms {
                        for p in 1..=cfg.max_prec {
                            for f in [
                                Fixity::Infix { prec: p },
                                Fixity::Prefix { arity: 1, prec: p },
                                Fixity::Postfix { prec: p },
                            ] {
                                if schema.get(&s) != Some(&f) {
                                    let mut c = schema.clone();
                                    c.insert(s, f);
                                    moves.push((format!("{}{}", names.name(s), f.to_source()), c));
                                }
                            }
                        }
                    }
                    for &a in &syms {
                        for &b in &syms {
                            if a != b
                                && (schema.get(&a) != Some(&Fixity::Open)
                                    || schema.get(&b) != Some(&Fixity::Close))
                            {
                                let mut c = schema.clone();
                                c.insert(a, Fixity::Open);
                                c.insert(b, Fixity::Close);
                                moves.push((
                                    format!("{} and {} are brackets", names.name(a), names.name(b)),
                                    c,
                                ));
                            }
                        }
                    }
                    let mut best: Option<(_, String, SchemaMap)> = None;
                    for (what, c) in moves {
                        let sc = score(&mut l, &c, &curriculum);
                        if sc > current && best.as_ref().is_none_or(|(b, _, _)| sc > *b) {
                            best = Some((sc, what, c));
                        }
                    }
                    let Some((sc, what, c)) = best else { break };
                    current = sc;
                    schema = c;
                    let line = format!(
                        "{what}: explains {} of {} curriculum pairs",
                        sc.0,
                        curriculum.len()
                    );
                    progress(&line);
                    report.steps.push(line);
                }
            }
            schema
        }
    };
    // 3. meanings from all the pairs, or the curriculum's when they explain more
    let f_all = l.fit(&schema, &all);
    let f_cur = l.fit(&schema, &curriculum);
    let known_cur = f_cur.known;
    let explained_cur = curriculum_check(&l, &schema, &known_cur, &all);
    let known = if explained_cur > f_all.explained {
        known_cur
    } else {
        f_all.known
    };
    report.schemas_scored = l.scored;
    report.curriculum = curriculum.len();
    let g = build(name, names, &schema, &known, train);
    report.train_explained = crate::learn::accuracy(&g, names, train).0;
    report.curriculum_explained = curriculum_check(&l, &schema, &known, &curriculum);
    progress(&format!(
        "schema {}; explains {} of {} training pairs",
        describe(&schema),
        report.train_explained,
        train.len()
    ));
    Some((g, report))
}

fn curriculum_check(
    l: &Learner<'_>,
    schema: &SchemaMap,
    known: &BTreeMap<Sym, NumProgram>,
    idx: &[usize],
) -> usize {
    idx.iter()
        .filter(|&&i| {
            parse_with(schema, &l.exs[i].input).is_some_and(|t| {
                values(&t, known, l.cfg.fuel).last().copied().flatten() == Some(l.outs[i])
            })
        })
        .count()
}

/// The system: every input token in id order, atoms with their numbers, brackets, and operators
/// with their meanings (an operator never observed means its first operand).
fn build(
    name: &str,
    names: &Interner,
    schema: &SchemaMap,
    known: &BTreeMap<Sym, NumProgram>,
    train: &[Example],
) -> Gss {
    let mut syms: Vec<Sym> = train.iter().flat_map(|e| e.input.iter().copied()).collect();
    syms.sort_unstable();
    syms.dedup();
    let rules = syms
        .into_iter()
        .map(|s| {
            let fixity = schema.get(&s).copied().unwrap_or(Fixity::Atom);
            let meaning = match fixity {
                Fixity::Open | Fixity::Close | Fixity::Separator => None,
                f => Some(Meaning::Num(known.get(&s).cloned().unwrap_or_else(|| {
                    NumProgram {
                        arity: f.arity(),
                        body: NumBody::Expr(if f.arity() == 0 {
                            NumExpr::Lit(0)
                        } else {
                            NumExpr::Var(0)
                        }),
                    }
                }))),
            };
            (s, Rule { fixity, meaning })
        })
        .collect();
    Gss {
        name: name.to_string(),
        names: names.clone(),
        rules,
        juxtapose: None,
        default: None,
    }
}

/// The fixities of a system, with symbols interned in `names`.
pub fn schema_of(g: &Gss, names: &mut Interner) -> BTreeMap<Sym, Fixity> {
    g.rules
        .iter()
        .filter(|(_, r)| r.fixity != Fixity::Atom)
        .map(|(s, r)| (names.intern(g.names.name(*s)), r.fixity))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn learns_hint_like_arithmetic_with_its_syntax() {
        let d = crate::hint::hint(0);
        let mut names = Interner::default();
        let train = crate::examples(&mut names, &d.train);
        let mut lines = Vec::new();
        let (g, report) = learn_num(
            "hint",
            &names,
            &train,
            None,
            &NumLearnConfig::default(),
            &mut |s| lines.push(s.to_string()),
        )
        .unwrap();
        let src = g.to_source();
        assert_eq!(report.train_explained, train.len(), "{src}\n{lines:#?}");
        for (s, pairs) in &d.tests {
            let exs = crate::examples(&mut names, pairs);
            let (ok, n) = crate::learn::accuracy(&g, &names, &exs);
            assert_eq!(ok, n, "{s:?}\n{src}");
        }
        assert!(src.contains("\"(\": open;"), "{src}");
    }
}
