//! Synthesis: truth tables to AIGs (decomposition first, then the cheaper of the factored
//! irredundant covers of `f` and `¬f` or a Shannon split), and the optimisation scripts that
//! chain the passes of [`crate::opt`] the way ABC's `resyn2` and `compress2rs` do.

use crate::aig::{Aig, Lit};
use crate::opt;
use crate::tt::{Factored, Tt, factor, isop};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Builds functions of truth tables into a graph, sharing equal sub-functions.
pub struct TtBuilder<'a> {
    pub g: &'a mut Aig,
    pub leaves: Vec<Lit>,
    memo: HashMap<Tt, Lit>,
}

/// The estimated gate count of the best factored cover of `f` or `¬f`, with which to build.
fn sop_estimate(f: &Tt) -> (usize, Factored, bool) {
    let pos = factor(&isop(f, f));
    let nf = f.not();
    let neg = factor(&isop(&nf, &nf));
    let (gp, gn) = (pos.gates(), neg.gates());
    if gp <= gn {
        (gp, pos, false)
    } else {
        (gn, neg, true)
    }
}

impl<'a> TtBuilder<'a> {
    pub fn new(g: &'a mut Aig, leaves: Vec<Lit>) -> TtBuilder<'a> {
        TtBuilder {
            g,
            leaves,
            memo: HashMap::new(),
        }
    }

    pub fn factored(&mut self, f: &Factored) -> Lit {
        match f {
            Factored::Const(b) => Lit::FALSE.xor(*b),
            Factored::Lit(i, p) => self.leaves[*i].xor(!p),
            Factored::And(xs) => {
                let l: Vec<Lit> = xs.iter().map(|x| self.factored(x)).collect();
                self.g.and_many(&l)
            }
            Factored::Or(xs) => {
                let l: Vec<Lit> = xs.iter().map(|x| self.factored(x)).collect();
                self.g.or_many(&l)
            }
        }
    }

    /// The literal computing `f`.
    pub fn build(&mut self, f: &Tt) -> Lit {
        if f.is_zero() {
            return Lit::FALSE;
        }
        if f.is_one() {
            return Lit::TRUE;
        }
        if let Some(&l) = self.memo.get(f) {
            return l;
        }
        let nf = f.not();
        if let Some(&l) = self.memo.get(&nf) {
            return !l;
        }
        let l = self.build_new(f);
        self.memo.insert(f.clone(), l);
        l
    }

    fn build_new(&mut self, f: &Tt) -> Lit {
        let support = f.support();
        if support.len() == 1 {
            let v = support[0];
            return self.leaves[v].xor(!f.get(1 << v));
        }
        // Single-variable decompositions, cheapest first: AND/OR with a literal, XOR.
        let mut xor_with = None;
        for &v in &support {
            let (f0, f1) = (f.cofactor(v, false), f.cofactor(v, true));
            let x = self.leaves[v];
            if f0.is_zero() {
                let r = self.build(&f1);
                return self.g.and(x, r);
            }
            if f1.is_zero() {
                let r = self.build(&f0);
                return self.g.and(!x, r);
            }
            if f0.is_one() {
                let r = self.build(&f1);
                return self.g.or(!x, r);
            }
            if f1.is_one() {
                let r = self.build(&f0);
                return self.g.or(x, r);
            }
            if xor_with.is_none() && f0 == f1.not() {
                xor_with = Some((v, f0));
            }
        }
        if let Some((v, f0)) = xor_with {
            let r = self.build(&f0);
            return self.g.xor(self.leaves[v], r);
        }
        // Otherwise the cheapest of: factored cover of f or ¬f, Shannon split.
        let (sop, form, neg) = sop_estimate(f);
        let mut best_split: Option<(usize, usize)> = None;
        for &v in &support {
            let (e0, _, _) = sop_estimate(&f.cofactor(v, false));
            let (e1, _, _) = sop_estimate(&f.cofactor(v, true));
            let cost = 3 + e0 + e1;
            if best_split.is_none_or(|(c, _)| cost < c) {
                best_split = Some((cost, v));
            }
        }
        match best_split {
            Some((cost, v)) if cost < sop => {
                let (f0, f1) = (f.cofactor(v, false), f.cofactor(v, true));
                let (l0, l1) = (self.build(&f0), self.build(&f1));
                self.g.mux(self.leaves[v], l1, l0)
            }
            _ => {
                let l = self.factored(&form);
                l.xor(neg)
            }
        }
    }
}

/// A local graph over `k` inputs computing a factored form (complemented when `negate`).
pub fn factored_aig(form: &Factored, k: usize, negate: bool) -> Aig {
    let (mut g, x) = Aig::with_inputs(k);
    let out = TtBuilder::new(&mut g, x).factored(form).xor(negate);
    g.add_output(out, None);
    g.cleanup()
}

/// A local graph computing `f` over `f.vars()` inputs (one output).
pub fn synth_tt(f: &Tt) -> Aig {
    let (mut g, x) = Aig::with_inputs(f.vars());
    let out = TtBuilder::new(&mut g, x).build(f);
    g.add_output(out, None);
    g.cleanup()
}

/// An AIG for a multi-output truth table (shared sub-functions merge), then optimised lightly.
pub fn from_tables(tables: &[Tt]) -> Aig {
    let n = tables.first().map_or(0, Tt::vars);
    let (mut g, x) = Aig::with_inputs(n);
    let outs: Vec<Lit> = {
        let mut b = TtBuilder::new(&mut g, x);
        tables.iter().map(|t| b.build(t)).collect()
    };
    for o in outs {
        g.add_output(o, None);
    }
    g.cleanup()
}

/// `Default` runs the equality-saturation pass on graphs of at most this many ANDs.
pub const EQSAT_MAX_ANDS: usize = 3000;

/// How hard `run` tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    /// `resyn2`-like: balance, rewrite, refactor.
    Fast,
    /// `fraig`, then `compress2rs`-like (with resubstitution) repeated while it improves, then
    /// equality saturation over windows and `compress2rs` again.
    Default,
    /// `Default`, then randomised restarts within a time budget, keeping the smallest.
    High,
}

impl Effort {
    pub fn parse(s: &str) -> Option<Effort> {
        match s {
            "fast" => Some(Effort::Fast),
            "default" => Some(Effort::Default),
            "high" => Some(Effort::High),
            _ => None,
        }
    }
}

/// One step of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Balance,
    Rewrite {
        zero: bool,
    },
    Refactor {
        zero: bool,
        cut: usize,
    },
    Resub {
        cut: usize,
        depth: usize,
    },
    Sweep,
    /// Equality saturation over window terms (egg), DAG-aware extraction.
    Eqsat {
        zero: bool,
    },
    /// Refactoring with satisfiability don't-cares (at most 16 inputs).
    RefactorDc {
        cut: usize,
    },
    /// Resubstitution with satisfiability don't-cares (at most 16 inputs).
    ResubDc {
        cut: usize,
        depth: usize,
    },
}

impl Step {
    pub fn apply(self, g: &Aig) -> Aig {
        match self {
            Step::Balance => opt::balance(g),
            Step::Rewrite { zero } => opt::rewrite(g, zero),
            Step::Refactor { zero, cut } => opt::refactor(g, cut, zero),
            Step::Resub { cut, depth } => opt::resub(g, cut, depth),
            Step::Sweep => opt::sweep(g),
            Step::Eqsat { zero } => crate::eqsat::eqsat(g, zero).0,
            Step::RefactorDc { cut } => crate::dc::refactor_dc(g, cut),
            Step::ResubDc { cut, depth } => opt::resub_dc(g, cut, depth),
        }
    }
}

/// Parses a script like ABC's: `b; rw; rf; rs -K 8 -N 2; rwz; rfz; fraig`.
pub fn parse_script(s: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for cmd in s.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        let mut w = cmd.split_ascii_whitespace();
        let name = w.next().unwrap_or("");
        let mut k = None;
        let mut n = None;
        while let Some(flag) = w.next() {
            let val = w.next().and_then(|v| v.parse::<usize>().ok());
            match (flag, val) {
                ("-K", Some(v)) if (4..=16).contains(&v) => k = Some(v),
                ("-N", Some(v)) if (1..=3).contains(&v) => n = Some(v),
                ("-l", _) => {}
                _ => {
                    return Err(format!(
                        "`{cmd}`: unknown or out-of-range option `{flag}` (use -K 4..16, -N 1..3)"
                    ));
                }
            }
        }
        out.push(match name {
            "b" | "balance" => Step::Balance,
            "rw" | "rewrite" => Step::Rewrite { zero: false },
            "rwz" => Step::Rewrite { zero: true },
            "rf" | "refactor" => Step::Refactor {
                zero: false,
                cut: k.unwrap_or(10),
            },
            "rfz" => Step::Refactor {
                zero: true,
                cut: k.unwrap_or(10),
            },
            "rs" | "resub" => Step::Resub {
                cut: k.unwrap_or(8),
                depth: n.unwrap_or(1),
            },
            "fraig" | "sweep" => Step::Sweep,
            "es" | "eqsat" => Step::Eqsat { zero: false },
            "rfd" => Step::RefactorDc {
                cut: k.unwrap_or(10),
            },
            "rsd" => Step::ResubDc {
                cut: k.unwrap_or(8),
                depth: n.unwrap_or(1),
            },
            "esz" => Step::Eqsat { zero: true },
            _ => {
                return Err(format!(
                    "unknown step `{name}` (expected b, rw, rwz, rf, rfz, rfd, rs, rsd, es, esz, fraig)"
                ));
            }
        });
    }
    Ok(out)
}

pub const RESYN2: &str = "b; rw; rf; b; rw; rwz; b; rfz; rwz; b";
pub const COMPRESS2RS: &str = "b; rs -K 6; rw; rs -K 6 -N 2; rf; rs -K 8; b; rs -K 8 -N 2; rw; rs -K 10; rwz; rs -K 10 -N 2; b; rs -K 12; rfz; rs -K 12 -N 2; rwz; b";

/// Runs a parsed script once, keeping the smallest graph seen after any step.
pub fn run_script(g: &Aig, steps: &[Step]) -> Aig {
    let mut cur = g.cleanup();
    let mut best = cur.clone();
    for s in steps {
        cur = s.apply(&cur);
        if better(&cur, &best) {
            best = cur.clone();
        }
    }
    best
}

fn better(a: &Aig, b: &Aig) -> bool {
    (a.num_ands(), a.levels()) < (b.num_ands(), b.levels())
}

/// Optimises `g` for AND count (levels break ties).
pub fn run(g: &Aig, effort: Effort) -> Aig {
    run_with_budget(g, effort, Duration::from_secs(10))
}

/// [`run`] with the time budget for `Effort::High`'s restarts.
pub fn run_with_budget(g: &Aig, effort: Effort, budget: Duration) -> Aig {
    let start = Instant::now();
    let resyn2 = parse_script(RESYN2).unwrap_or_default();
    let c2rs = parse_script(COMPRESS2RS).unwrap_or_default();
    let mut best = g.cleanup();
    match effort {
        Effort::Fast => return run_script(&best, &resyn2),
        Effort::Default | Effort::High => {
            best = run_script(&opt::sweep(&best), &c2rs);
            for _ in 0..4 {
                let next = run_script(&best, &c2rs);
                if !better(&next, &best) {
                    break;
                }
                best = next;
            }
            // Equality saturation over windows finds restructurings the local passes miss;
            // it costs milliseconds per window, so only on graphs of moderate size.
            if best.num_ands() <= EQSAT_MAX_ANDS {
                let next = run_script(&crate::eqsat::eqsat(&best, true).0, &c2rs);
                if better(&next, &best) {
                    best = next;
                }
            }
        }
    }
    if effort == Effort::High {
        let mut cur = best.clone();
        let mut round = 0u64;
        while start.elapsed() < budget {
            round += 1;
            // Perturb (re-derive from a different structure), then compress again.
            cur = match round % 4 {
                0 => opt::balance(&opt::refactor(&cur, 12, true)),
                1 => opt::rewrite(&opt::balance(&cur), true),
                2 => crate::eqsat::eqsat(&cur, true).0,
                _ => resynthesize_outputs(&cur),
            };
            cur = run_script(&cur, &c2rs);
            if better(&cur, &best) {
                best = cur.clone();
            } else if round.is_multiple_of(6) {
                cur = best.clone();
            }
        }
    }
    best
}

/// For small input counts, rebuilds every output from its truth table (collapse and
/// re-decompose), which escapes local minima the structural passes cannot.
pub fn resynthesize_outputs(g: &Aig) -> Aig {
    if g.num_inputs() > 12 {
        return opt::refactor(g, 12, true);
    }
    let mut t = from_tables(&crate::sim::output_tables(g));
    t.copy_names(g);
    if t.num_ands() < g.num_ands() {
        t
    } else {
        opt::refactor(g, 12, true)
    }
}
