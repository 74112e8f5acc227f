//! Numeric meanings: programs over natural numbers built from `0`, `succ`, `pred` (floored at
//! 0), the parameters, the meanings of other symbols, and one bounded recursion scheme,
//!
//! ```text
//! |x, y| if y == 0 then x else succ(rec(x, pred(y)))        // +
//! |x, y| if y == 0 then 0 else "+"(rec(x, pred(y)), x)      // *, once + is known
//! ```
//!
//! where `rec(…)` calls the meaning itself and may appear once, in the `else` branch. Evaluation
//! is iterative (no Rust recursion per step), counts steps against a budget, and stops with an
//! error when a recursive call makes no progress (its arguments equal the current ones).
//!
//! [`synthesize`] finds the cheapest program that agrees with observations, enumerating by
//! description length (a literal other than 0 costs `const_cost`); candidates without
//! recursion are pruned by observational equivalence.

use crate::model::{Interner, Sym, quote_string};
use std::collections::HashSet;
use std::fmt::Write as _;

/// A numeric expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NumExpr {
    /// A parameter (`x` is 0, `y` is 1).
    Var(u8),
    Lit(u64),
    Succ(Box<NumExpr>),
    /// Predecessor, floored at 0.
    Pred(Box<NumExpr>),
    /// Another symbol's meaning applied to arguments.
    Call(Sym, Vec<NumExpr>),
    /// The meaning itself (only in the `else` branch of a recursive program, once).
    Rec(Vec<NumExpr>),
}

impl NumExpr {
    fn size(&self, const_cost: u32) -> u32 {
        match self {
            NumExpr::Var(_) | NumExpr::Lit(0) => 1,
            NumExpr::Lit(_) => const_cost,
            NumExpr::Succ(e) | NumExpr::Pred(e) => 1 + e.size(const_cost),
            NumExpr::Call(_, a) | NumExpr::Rec(a) => {
                1 + a.iter().map(|e| e.size(const_cost)).sum::<u32>()
            }
        }
    }
    fn count_rec(&self) -> usize {
        match self {
            NumExpr::Var(_) | NumExpr::Lit(_) => 0,
            NumExpr::Succ(e) | NumExpr::Pred(e) => e.count_rec(),
            NumExpr::Call(_, a) => a.iter().map(NumExpr::count_rec).sum(),
            NumExpr::Rec(a) => 1 + a.iter().map(NumExpr::count_rec).sum::<usize>(),
        }
    }
    fn rec_args(&self) -> Option<&[NumExpr]> {
        match self {
            NumExpr::Var(_) | NumExpr::Lit(_) => None,
            NumExpr::Succ(e) | NumExpr::Pred(e) => e.rec_args(),
            NumExpr::Call(_, a) => a.iter().find_map(NumExpr::rec_args),
            NumExpr::Rec(a) => Some(a),
        }
    }
    fn max_var(&self) -> Option<u8> {
        match self {
            NumExpr::Var(v) => Some(*v),
            NumExpr::Lit(_) => None,
            NumExpr::Succ(e) | NumExpr::Pred(e) => e.max_var(),
            NumExpr::Call(_, a) | NumExpr::Rec(a) => a.iter().filter_map(NumExpr::max_var).max(),
        }
    }
    fn calls(&self, out: &mut Vec<(Sym, usize)>) {
        match self {
            NumExpr::Var(_) | NumExpr::Lit(_) => {}
            NumExpr::Succ(e) | NumExpr::Pred(e) => e.calls(out),
            NumExpr::Call(s, a) => {
                out.push((*s, a.len()));
                a.iter().for_each(|e| e.calls(out));
            }
            NumExpr::Rec(a) => a.iter().for_each(|e| e.calls(out)),
        }
    }
    fn write(&self, out: &mut String, names: &Interner) {
        const PARAMS: [&str; 2] = ["x", "y"];
        let args = |out: &mut String, a: &[NumExpr]| {
            out.push('(');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                e.write(out, names);
            }
            out.push(')');
        };
        match self {
            NumExpr::Var(v) => out.push_str(PARAMS.get(*v as usize).copied().unwrap_or("?")),
            NumExpr::Lit(n) => {
                let _ = write!(out, "{n}");
            }
            NumExpr::Succ(e) | NumExpr::Pred(e) => {
                out.push_str(if matches!(self, NumExpr::Succ(_)) {
                    "succ("
                } else {
                    "pred("
                });
                e.write(out, names);
                out.push(')');
            }
            NumExpr::Call(s, a) => {
                out.push_str(&quote_string(names.name(*s)));
                args(out, a);
            }
            NumExpr::Rec(a) => {
                out.push_str("rec");
                args(out, a);
            }
        }
    }
}

/// A numeric meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NumBody {
    Expr(NumExpr),
    /// `if VAR == 0 then base else step`, `step` holding at most one `rec(…)`.
    Rec {
        test: u8,
        base: NumExpr,
        step: NumExpr,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NumProgram {
    pub arity: u8,
    pub body: NumBody,
}

/// Why a numeric meaning has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumError {
    /// The step budget ran out.
    Steps(u64),
    /// A recursive call with the same arguments as the current one.
    NoProgress,
    /// Recursion deeper than [`MAX_REC_DEPTH`].
    TooDeep,
    /// Calls of other meanings nested deeper than [`MAX_CALL_DEPTH`] (a cycle of calls).
    CallDepth,
    /// A call of a symbol with no numeric meaning of that arity.
    Missing(Sym),
    Overflow,
}

impl NumError {
    pub fn describe(&self, names: &Interner) -> String {
        match self {
            NumError::Steps(n) => format!("gave up after {n} steps (the step budget)"),
            NumError::NoProgress => "a recursive call with unchanged arguments".into(),
            NumError::TooDeep => format!("recursion deeper than {MAX_REC_DEPTH}"),
            NumError::CallDepth => {
                format!("calls of other meanings nested deeper than {MAX_CALL_DEPTH}")
            }
            NumError::Missing(s) => format!(
                "`{}` has no numeric meaning with that many operands",
                names.name(*s)
            ),
            NumError::Overflow => "a value beyond 2^64".into(),
        }
    }
}

/// The deepest recursion one meaning may take.
pub const MAX_REC_DEPTH: usize = 1_000_000;
/// The deepest nesting of calls of other meanings.
pub const MAX_CALL_DEPTH: u32 = 64;
/// Steps one input may take when a system runs.
pub const RUN_STEPS: u64 = 200_000_000;

/// A step budget shared by everything one evaluation calls.
pub struct Fuel {
    pub left: u64,
    pub budget: u64,
    depth: u32,
}

impl Fuel {
    pub fn new(budget: u64) -> Fuel {
        Fuel {
            left: budget,
            budget,
            depth: 0,
        }
    }
    fn tick(&mut self) -> Result<(), NumError> {
        if self.left == 0 {
            return Err(NumError::Steps(self.budget));
        }
        self.left -= 1;
        Ok(())
    }
}

/// Looks up other symbols' meanings.
pub type Lib<'a> = dyn Fn(Sym) -> Option<&'a NumProgram> + 'a;

fn eval_expr(
    e: &NumExpr,
    env: &[u64],
    r: Option<u64>,
    lib: &Lib<'_>,
    fuel: &mut Fuel,
) -> Result<u64, NumError> {
    fuel.tick()?;
    Ok(match e {
        NumExpr::Var(v) => *env.get(*v as usize).ok_or(NumError::Overflow)?,
        NumExpr::Lit(n) => *n,
        NumExpr::Succ(a) => eval_expr(a, env, r, lib, fuel)?
            .checked_add(1)
            .ok_or(NumError::Overflow)?,
        NumExpr::Pred(a) => eval_expr(a, env, r, lib, fuel)?.saturating_sub(1),
        NumExpr::Rec(_) => r.ok_or(NumError::NoProgress)?,
        NumExpr::Call(s, a) => {
            let p = lib(*s)
                .filter(|p| p.arity as usize == a.len())
                .ok_or(NumError::Missing(*s))?;
            let mut vals = [0u64; 2];
            for (i, x) in a.iter().enumerate().take(2) {
                vals[i] = eval_expr(x, env, r, lib, fuel)?;
            }
            if fuel.depth >= MAX_CALL_DEPTH {
                return Err(NumError::CallDepth);
            }
            fuel.depth += 1;
            let v = p.eval(&vals[..a.len().min(2)], lib, fuel);
            fuel.depth -= 1;
            v?
        }
    })
}

impl NumProgram {
    pub fn constant(n: u64) -> NumProgram {
        NumProgram {
            arity: 0,
            body: NumBody::Expr(NumExpr::Lit(n)),
        }
    }

    /// Description length.
    pub fn cost(&self, const_cost: u32) -> u32 {
        match &self.body {
            NumBody::Expr(e) => e.size(const_cost),
            NumBody::Rec { base, step, .. } => 1 + base.size(const_cost) + step.size(const_cost),
        }
    }

    /// Evaluates on `args` (one per operand).
    pub fn eval(&self, args: &[u64], lib: &Lib<'_>, fuel: &mut Fuel) -> Result<u64, NumError> {
        match &self.body {
            NumBody::Expr(e) => eval_expr(e, args, None, lib, fuel),
            NumBody::Rec { test, base, step } => {
                let Some(rec_args) = step.rec_args() else {
                    // a plain conditional
                    let branch = match args.get(*test as usize) {
                        Some(0) => base,
                        _ => step,
                    };
                    return eval_expr(branch, args, None, lib, fuel);
                };
                let mut frames: Vec<[u64; 2]> = Vec::new();
                let mut cur = [0u64; 2];
                for (i, a) in args.iter().enumerate().take(2) {
                    cur[i] = *a;
                }
                let n = args.len().min(2);
                loop {
                    fuel.tick()?;
                    if cur[*test as usize] == 0 {
                        break;
                    }
                    let mut next = [0u64; 2];
                    for (i, a) in rec_args.iter().enumerate().take(2) {
                        next[i] = eval_expr(a, &cur[..n], None, lib, fuel)?;
                    }
                    if next == cur {
                        return Err(NumError::NoProgress);
                    }
                    if frames.len() >= MAX_REC_DEPTH {
                        return Err(NumError::TooDeep);
                    }
                    frames.push(cur);
                    cur = next;
                }
                let mut r = eval_expr(base, &cur[..n], None, lib, fuel)?;
                while let Some(f) = frames.pop() {
                    r = eval_expr(step, &f[..n], Some(r), lib, fuel)?;
                }
                Ok(r)
            }
        }
    }

    /// Problems with the program's shape (checked when a system is written by hand): the
    /// parameters it uses, `rec` placement and arity.
    pub fn validate(&self) -> Result<(), String> {
        let too_many = |e: &NumExpr| e.max_var().is_some_and(|v| v >= self.arity);
        match &self.body {
            NumBody::Expr(e) => {
                if e.count_rec() > 0 {
                    return Err(
                        "`rec(…)` may appear only in the `else` branch of `if P == 0 then … else …`"
                            .into(),
                    );
                }
                if too_many(e) {
                    return Err("a parameter beyond the meaning's operands".into());
                }
            }
            NumBody::Rec { test, base, step } => {
                if *test >= self.arity {
                    return Err("the `if` tests a parameter the meaning does not have".into());
                }
                if base.count_rec() > 0 {
                    return Err("`rec(…)` in the `then` branch would never stop".into());
                }
                if step.count_rec() > 1 {
                    return Err(format!(
                        "the `else` branch may call `rec(…)` once (it calls it {} times)",
                        step.count_rec()
                    ));
                }
                if let Some(a) = step.rec_args() {
                    if a.len() != self.arity as usize {
                        return Err(format!(
                            "`rec` takes {} argument{} (the meaning's operands)",
                            self.arity,
                            if self.arity == 1 { "" } else { "s" }
                        ));
                    }
                    if a.iter().any(|e| e.count_rec() > 0) {
                        return Err("`rec(…)` inside the arguments of `rec(…)`".into());
                    }
                }
                if too_many(base) || too_many(step) {
                    return Err("a parameter beyond the meaning's operands".into());
                }
            }
        }
        Ok(())
    }

    /// The other symbols it calls, with the number of arguments.
    pub fn calls(&self) -> Vec<(Sym, usize)> {
        let mut out = Vec::new();
        match &self.body {
            NumBody::Expr(e) => e.calls(&mut out),
            NumBody::Rec { base, step, .. } => {
                base.calls(&mut out);
                step.calls(&mut out);
            }
        }
        out
    }

    /// Tessera source: `|x, y| if y == 0 then x else succ(rec(x, pred(y)))`.
    pub fn to_source(&self, names: &Interner) -> String {
        let mut out = String::new();
        match self.arity {
            0 => {}
            1 => out.push_str("|x| "),
            _ => out.push_str("|x, y| "),
        }
        match &self.body {
            NumBody::Expr(e) => e.write(&mut out, names),
            NumBody::Rec { test, base, step } => {
                out.push_str("if ");
                NumExpr::Var(*test).write(&mut out, names);
                out.push_str(" == 0 then ");
                base.write(&mut out, names);
                out.push_str(" else ");
                step.write(&mut out, names);
            }
        }
        out
    }
}

/// One observation: the operands and the value.
pub type Obs = (Vec<u64>, u64);

/// Synthesis settings.
#[derive(Debug, Clone, Copy)]
pub struct NumSynthConfig {
    /// The largest description length tried for recursive programs.
    pub max_cost: u32,
    /// The largest size of a non-recursive program.
    pub max_expr: u32,
    /// Steps per observation while checking a candidate.
    pub fuel: u64,
    pub const_cost: u32,
    /// Observations a program may disagree with (a fraction; 0 for exact data, above 0 when
    /// the operands come from noisy perception).
    pub tolerance: f64,
}

impl Default for NumSynthConfig {
    fn default() -> Self {
        NumSynthConfig {
            max_cost: 9,
            max_expr: 5,
            fuel: 4000,
            const_cost: 4,
            tolerance: 0.0,
        }
    }
}

/// Expressions over `arity` parameters (and `r`, the recursive result, standing for a
/// `Rec` node, when `with_r`), listed by size up to `max`, without trivially redundant forms
/// (`pred(0)`, `succ(pred(e))`, `pred(succ(e))`).
fn exprs_by_size(arity: u8, lib: &[(Sym, u8)], with_r: bool, max: u32) -> Vec<Vec<NumExpr>> {
    let mut by: Vec<Vec<NumExpr>> = vec![Vec::new(); max as usize + 1];
    if max == 0 {
        return by;
    }
    for v in 0..arity {
        by[1].push(NumExpr::Var(v));
    }
    by[1].push(NumExpr::Lit(0));
    if with_r {
        by[1].push(NumExpr::Rec(Vec::new()));
    }
    for size in 2..=max as usize {
        let mut next = Vec::new();
        for e in &by[size - 1] {
            if !matches!(e, NumExpr::Pred(_)) {
                next.push(NumExpr::Succ(Box::new(e.clone())));
            }
            if !matches!(e, NumExpr::Succ(_) | NumExpr::Lit(0)) {
                next.push(NumExpr::Pred(Box::new(e.clone())));
            }
        }
        for &(g, ar) in lib {
            match ar {
                1 => {
                    for e in &by[size - 1] {
                        next.push(NumExpr::Call(g, vec![e.clone()]));
                    }
                }
                2 => {
                    for a in 1..size - 1 {
                        let b = size - 1 - a;
                        for ea in &by[a] {
                            for eb in &by[b] {
                                next.push(NumExpr::Call(g, vec![ea.clone(), eb.clone()]));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if with_r {
            next.retain(|e| e.count_rec() <= 1);
        }
        by[size] = next;
    }
    by
}

/// Replaces the placeholder `Rec(vec![])` by `Rec(args)`.
fn plug(e: &NumExpr, args: &[NumExpr]) -> NumExpr {
    match e {
        NumExpr::Rec(a) if a.is_empty() => NumExpr::Rec(args.to_vec()),
        NumExpr::Succ(x) => NumExpr::Succ(Box::new(plug(x, args))),
        NumExpr::Pred(x) => NumExpr::Pred(Box::new(plug(x, args))),
        NumExpr::Call(s, a) => NumExpr::Call(*s, a.iter().map(|x| plug(x, args)).collect()),
        other => other.clone(),
    }
}

fn fits(p: &NumProgram, obs: &[Obs], lib: &Lib<'_>, fuel: u64, misses: usize) -> bool {
    let mut missed = 0;
    for (args, want) in obs {
        let mut f = Fuel::new(fuel);
        if !p.eval(args, lib, &mut f).is_ok_and(|v| v == *want) {
            missed += 1;
            if missed > misses {
                return false;
            }
        }
    }
    true
}

/// The cheapest program of `arity` operands that agrees with every observation, or `None`
/// within the search bounds. `lib` lists the other meanings it may call.
pub fn synthesize(
    arity: u8,
    obs: &[Obs],
    lib: &[(Sym, &NumProgram)],
    cfg: NumSynthConfig,
) -> Option<NumProgram> {
    if obs.is_empty() || obs.iter().any(|(a, _)| a.len() != arity as usize) {
        return None;
    }
    let sig: Vec<(Sym, u8)> = lib.iter().map(|(s, p)| (*s, p.arity)).collect();
    let misses = (cfg.tolerance.clamp(0.0, 0.5) * obs.len() as f64).floor() as usize;
    let lookup = |s: Sym| lib.iter().find(|(t, _)| *t == s).map(|(_, p)| *p);
    // 1. no recursion: by size, pruned by observational equivalence
    let plain = exprs_by_size(arity, &sig, false, cfg.max_expr);
    let mut seen: HashSet<Vec<Option<u64>>> = HashSet::new();
    for level in &plain {
        for e in level {
            let p = NumProgram {
                arity,
                body: NumBody::Expr(e.clone()),
            };
            let behaviour: Vec<Option<u64>> = obs
                .iter()
                .map(|(args, _)| p.eval(args, &lookup, &mut Fuel::new(cfg.fuel)).ok())
                .collect();
            let wrong = behaviour
                .iter()
                .zip(obs)
                .filter(|(b, (_, w))| **b != Some(*w))
                .count();
            if wrong <= misses {
                return Some(p);
            }
            seen.insert(behaviour);
        }
    }
    if arity == 0 {
        return None;
    }
    // 2. the recursion scheme, by total description length
    let parts = cfg.max_cost.saturating_sub(2);
    let plain = exprs_by_size(arity, &sig, false, parts);
    let with_r = exprs_by_size(arity, &sig, true, parts);
    let steps: Vec<Vec<&NumExpr>> = with_r
        .iter()
        .map(|l| l.iter().filter(|e| e.count_rec() == 1).collect())
        .collect();
    // argument tuples by total size; at least one argument differs from its parameter
    let mut tuples: Vec<Vec<Vec<NumExpr>>> = vec![Vec::new(); parts as usize + 1];
    if arity == 1 {
        for (s, l) in plain.iter().enumerate() {
            for e in l {
                if *e != NumExpr::Var(0) {
                    tuples[s].push(vec![e.clone()]);
                }
            }
        }
    } else {
        for sa in 1..plain.len() {
            for sb in 1..plain.len() - sa {
                for a in &plain[sa] {
                    for b in &plain[sb] {
                        if *a != NumExpr::Var(0) || *b != NumExpr::Var(1) {
                            tuples[sa + sb].push(vec![a.clone(), b.clone()]);
                        }
                    }
                }
            }
        }
    }
    for total in 4..=cfg.max_cost {
        // 1 (if) + base + step (with rec counted as 1 + args)
        let rest = total - 1;
        for sb in 1..rest {
            for ss in 1..rest - sb {
                let sa = rest - sb - ss; // the arguments' total; rec itself is counted in ss
                let (Some(bases), Some(stps), Some(args)) = (
                    plain.get(sb as usize),
                    steps.get(ss as usize),
                    tuples.get(sa as usize),
                ) else {
                    continue;
                };
                for test in 0..arity {
                    for a in args {
                        // the tested parameter must change
                        if a[test as usize] == NumExpr::Var(test) {
                            continue;
                        }
                        for step in stps {
                            let step = plug(step, a);
                            for base in bases {
                                let p = NumProgram {
                                    arity,
                                    body: NumBody::Rec {
                                        test,
                                        base: base.clone(),
                                        step: step.clone(),
                                    },
                                };
                                if fits(&p, obs, &lookup, cfg.fuel, misses) {
                                    return Some(p);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table(f: impl Fn(u64, u64) -> Option<u64>) -> Vec<Obs> {
        let mut out = Vec::new();
        for a in 0..10 {
            for b in 0..10 {
                if let Some(v) = f(a, b) {
                    out.push((vec![a, b], v));
                }
            }
        }
        out
    }

    #[test]
    fn learns_the_four_operations_in_rounds() {
        let mut names = Interner::default();
        let (plus, minus, times) = (names.intern("+"), names.intern("-"), names.intern("*"));
        let cfg = NumSynthConfig::default();
        let add = synthesize(2, &table(|a, b| Some(a + b)), &[], cfg).unwrap();
        let sub = synthesize(2, &table(|a, b| Some(a.saturating_sub(b))), &[], cfg).unwrap();
        assert_eq!(synthesize(2, &table(|a, b| Some(a * b)), &[], cfg), None);
        let lib = [(plus, &add), (minus, &sub)];
        let mul = synthesize(2, &table(|a, b| Some(a * b)), &lib, cfg).unwrap();
        let lib3 = [(plus, &add), (minus, &sub), (times, &mul)];
        let div = synthesize(2, &table(|a, b| (b > 0).then(|| a.div_ceil(b))), &lib3, cfg).unwrap();
        let lookup = |s: Sym| lib3.iter().find(|(t, _)| *t == s).map(|(_, p)| *p);
        // exact far beyond the observations
        for (a, b) in [(1234, 567), (10_000, 3), (0, 9), (99, 100)] {
            let run = |p: &NumProgram| p.eval(&[a, b], &lookup, &mut Fuel::new(RUN_STEPS));
            assert_eq!(run(&add), Ok(a + b));
            assert_eq!(run(&sub), Ok(a.saturating_sub(b)));
            assert_eq!(run(&mul), Ok(a * b), "{}", mul.to_source(&names));
            assert_eq!(run(&div), Ok(a.div_ceil(b)), "{}", div.to_source(&names));
        }
        // the cheapest: tail recursion moving x into y
        assert_eq!(
            add.to_source(&names),
            "|x, y| if x == 0 then y else rec(pred(x), succ(y))"
        );
        assert!(
            mul.to_source(&names).contains("\"+\"("),
            "{}",
            mul.to_source(&names)
        );
        for p in [&add, &sub, &mul, &div] {
            p.validate().unwrap();
        }
    }

    #[test]
    fn evaluation_is_bounded() {
        let names = Interner::default();
        let stuck = NumProgram {
            arity: 1,
            body: NumBody::Rec {
                test: 0,
                base: NumExpr::Lit(0),
                step: NumExpr::Rec(vec![NumExpr::Var(0)]),
            },
        };
        let none = |_: Sym| None;
        assert_eq!(
            stuck.eval(&[3], &none, &mut Fuel::new(100)),
            Err(NumError::NoProgress)
        );
        let up = NumProgram {
            arity: 1,
            body: NumBody::Rec {
                test: 0,
                base: NumExpr::Lit(0),
                step: NumExpr::Rec(vec![NumExpr::Succ(Box::new(NumExpr::Var(0)))]),
            },
        };
        assert_eq!(
            up.eval(&[3], &none, &mut Fuel::new(1000)),
            Err(NumError::Steps(1000))
        );
        assert!(stuck.to_source(&names).starts_with("|x| if x == 0"));
    }
}
