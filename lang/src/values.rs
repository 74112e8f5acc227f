//! Value-set inference: given a vocabulary and a maximum length, the set of values every
//! categorical expression of a program can take, over **all** inputs of at most that length.
//!
//! This is an abstract interpretation of the program in which a sequence is represented by the
//! set of values any of its positions can hold. Each rule over-approximates the interpreter's:
//! `tokens` can be any vocabulary item, `indices` any of `0..max_len`, `length` any of
//! `1..=max_len`; an elementwise operation can produce `op(a, b)` for any `a` and `b` of its
//! operands' sets (positions are aligned, so this is exact per position and a superset overall);
//! `aggregate` and `gather` produce one of the values they read (or the default), `width` a count
//! in `0..=max_len`, `best` a position, and `mean` the average of a non-empty multiset of at
//! most `max_len` values of its operand (or 0). Selectors carry no values. An operation that
//! would fail at run time for some combination contributes nothing for it (the run stops
//! there). Sets that would grow past [`MAX_SET`] values become `Unbounded`. The compiler uses
//! these sets to size one-hot encodings and to build MLPs that are exact on every value they
//! can see.

use crate::ast::{Arg, Expr, ExprKind, Ident, Stmt, UnOp};
use crate::interp::{ArgValue, EntryArgs, is_builtin, is_scalar_type};
use crate::program::{DefId, DefKind, ModId, Program};
use crate::span::Span;
use crate::value::{self, SCALAR_BUILTINS, Val};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Sets larger than this become [`VSet::Unbounded`].
pub const MAX_SET: usize = 100_000;
const MAX_DEPTH: usize = 4000;

/// The possible values of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum VSet {
    Finite(BTreeSet<Val>),
    Unbounded,
}

impl VSet {
    fn one(v: Val) -> VSet {
        VSet::Finite(BTreeSet::from([v]))
    }

    fn range(lo: i64, hi_inclusive: i64) -> VSet {
        VSet::Finite((lo..=hi_inclusive).map(Val::Int).collect())
    }

    fn union(&self, other: &VSet) -> VSet {
        match (self, other) {
            (VSet::Finite(a), VSet::Finite(b)) => capped(a.union(b).cloned().collect()),
            _ => VSet::Unbounded,
        }
    }

    pub fn len(&self) -> Option<usize> {
        match self {
            VSet::Finite(s) => Some(s.len()),
            VSet::Unbounded => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// `{a, b, c}` (sorted by the language's order) or `unbounded`.
    pub fn render(&self) -> String {
        match self {
            VSet::Finite(s) => format!(
                "{{{}}}",
                s.iter().map(Val::to_string).collect::<Vec<_>>().join(", ")
            ),
            VSet::Unbounded => "unbounded".into(),
        }
    }
}

fn capped(s: BTreeSet<Val>) -> VSet {
    if s.len() > MAX_SET {
        VSet::Unbounded
    } else {
        VSet::Finite(s)
    }
}

/// Inputs: the vocabulary and the maximum length.
#[derive(Debug, Clone)]
pub struct Domain {
    pub vocab: Vec<Val>,
    pub max_len: usize,
}

/// What inference found: the set of the entry's result and of every `let` it evaluated.
#[derive(Debug, Clone)]
pub struct ValueSets {
    pub result: VSet,
    /// `(name, span of the name, set)`, in first-evaluation order; a `let` evaluated several
    /// times (in several calls) holds the union.
    pub lets: Vec<(String, Span, VSet)>,
}

#[derive(Debug, Clone)]
enum AV<'p> {
    Vals(VSet),
    Sel,
    List(Vec<AV<'p>>),
    Lambda(Rc<(&'p [Ident], &'p Expr, Env<'p>, ModId)>),
    Func(DefId),
    /// A codebook (`symbols` item): `cleanup` and `factor` give its symbols.
    Book(DefId),
}

type Env<'p> = Vec<(&'p str, AV<'p>)>;

/// Why inference could not finish (the program itself has an error the checker reports).
#[derive(Debug, Clone, PartialEq)]
pub struct InferError {
    pub message: String,
    pub span: Span,
}

type R<T> = Result<T, InferError>;

fn fail<T>(span: Span, message: impl Into<String>) -> R<T> {
    Err(InferError {
        message: message.into(),
        span,
    })
}

/// Infer the value sets of the entry `def` over `domain`.
pub fn infer(program: &Program, def: DefId, domain: &Domain, args: &EntryArgs) -> R<ValueSets> {
    let mut inf = Infer {
        program,
        domain,
        lets: Vec::new(),
        globals: BTreeMap::new(),
        depth: 0,
    };
    let d = program.def(def);
    let result = match &d.kind {
        DefKind::Fn(f) => {
            let mut env: Env<'_> = Vec::new();
            for p in &f.params {
                let v = match args.values.get(&p.name.name) {
                    Some(ArgValue::Scalar(v)) => AV::Vals(VSet::one(v.clone())),
                    Some(ArgValue::List(items)) => AV::List(
                        items
                            .iter()
                            .map(|v| AV::Vals(VSet::one(v.clone())))
                            .collect(),
                    ),
                    None => match &p.default {
                        Some(e) => inf.eval(e, &mut env, d.module)?,
                        None if p.ty.as_ref().is_some_and(|t| is_scalar_type(&t.name.name)) => {
                            return fail(p.span, format!("give `--arg {}=VALUE`", p.name.name));
                        }
                        None => inf.tokens(),
                    },
                };
                env.push((&p.name.name, v));
            }
            inf.eval(&f.body, &mut env, d.module)?
        }
        DefKind::Let(e, _) => inf.eval(e, &mut Vec::new(), d.module)?,
        _ => return fail(d.span, "not a function"),
    };
    let result = match result {
        AV::Vals(s) => s,
        _ => VSet::Unbounded,
    };
    Ok(ValueSets {
        result,
        lets: inf.lets,
    })
}

struct Infer<'p, 'd> {
    program: &'p Program,
    domain: &'d Domain,
    lets: Vec<(String, Span, VSet)>,
    globals: BTreeMap<DefId, AV<'p>>,
    depth: usize,
}

impl<'p> Infer<'p, '_> {
    fn tokens(&self) -> AV<'p> {
        AV::Vals(capped(self.domain.vocab.iter().cloned().collect()))
    }

    fn positions(&self) -> VSet {
        VSet::range(0, self.domain.max_len as i64 - 1)
    }

    fn counts(&self) -> VSet {
        VSet::range(0, self.domain.max_len as i64)
    }

    fn record(&mut self, name: &str, span: Span, v: &AV<'p>) {
        if let AV::Vals(s) = v {
            match self.lets.iter_mut().find(|(_, sp, _)| *sp == span) {
                Some(entry) => entry.2 = entry.2.union(s),
                None => self.lets.push((name.to_string(), span, s.clone())),
            }
        }
    }

    fn vals(&self, v: AV<'p>, span: Span) -> R<VSet> {
        match v {
            AV::Vals(s) => Ok(s),
            // A codebook where a value is expected: nothing to say about it.
            AV::Book(_) => Ok(VSet::Unbounded),
            _ => fail(span, "expected a sequence or a scalar"),
        }
    }

    fn eval(&mut self, e: &'p Expr, env: &mut Env<'p>, module: ModId) -> R<AV<'p>> {
        if self.depth > MAX_DEPTH {
            return fail(e.span, "nesting too deep");
        }
        self.depth += 1;
        let r = crate::with_stack(|| self.eval_inner(e, env, module));
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, e: &'p Expr, env: &mut Env<'p>, module: ModId) -> R<AV<'p>> {
        let one = |v: Val| Ok(AV::Vals(VSet::one(v)));
        match &e.kind {
            ExprKind::Int(i) => one(Val::Int(*i)),
            ExprKind::Float(x) => one(Val::Float(*x)),
            ExprKind::Str(s) => one(Val::string(s)),
            ExprKind::Bool(b) => one(Val::Bool(*b)),
            ExprKind::None => one(Val::None),
            ExprKind::Name(path) => self.name(path, e.span, env, module),
            ExprKind::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.eval(i, env, module)?);
                }
                Ok(AV::List(out))
            }
            ExprKind::Unary(op, a) => match self.eval(a, env, module)? {
                AV::Sel => Ok(AV::Sel),
                v => {
                    let s = self.vals(v, e.span)?;
                    Ok(AV::Vals(map1(&s, |x| match op {
                        UnOp::Neg => value::neg(x).ok(),
                        _ => value::not(x).ok(),
                    })))
                }
            },
            ExprKind::Binary(op, a, b) => {
                let a = self.eval(a, env, module)?;
                let b = self.eval(b, env, module)?;
                match (a, b) {
                    (AV::Sel, _) | (_, AV::Sel) => Ok(AV::Sel),
                    (a, b) => {
                        let (a, b) = (self.vals(a, e.span)?, self.vals(b, e.span)?);
                        Ok(AV::Vals(map2(&a, &b, |x, y| value::binop(*op, x, y).ok())))
                    }
                }
            }
            ExprKind::If(c, a, b) => {
                let c = self.eval(c, env, module)?;
                let c = self.vals(c, e.span)?;
                let (t, f) = match &c {
                    VSet::Finite(s) => {
                        (s.contains(&Val::Bool(true)), s.contains(&Val::Bool(false)))
                    }
                    VSet::Unbounded => (true, true),
                };
                let mut out: Option<AV<'p>> = None;
                for (taken, branch) in [(t, a), (f, b)] {
                    if taken {
                        let v = self.eval(branch, env, module)?;
                        out = Some(match (out, v) {
                            (None, v) => v,
                            (Some(AV::Vals(x)), AV::Vals(y)) => AV::Vals(x.union(&y)),
                            (Some(_), v) => v,
                        });
                    }
                }
                Ok(out.unwrap_or(AV::Vals(VSet::Finite(BTreeSet::new()))))
            }
            ExprKind::Lambda(params, body) => {
                Ok(AV::Lambda(Rc::new((params, body, env.clone(), module))))
            }
            ExprKind::Call(callee, args) => self.call(callee, args, e.span, env, module),
            ExprKind::Select(k, q, _, _) => {
                self.eval(k, env, module)?;
                self.eval(q, env, module)?;
                Ok(AV::Sel)
            }
            ExprKind::Index(a, i) => {
                let a = self.eval(a, env, module)?;
                let i = self.eval(i, env, module)?;
                match (a, i) {
                    (AV::List(items), AV::Vals(VSet::Finite(ix))) if ix.len() == 1 => {
                        let len = items.len() as i64;
                        match ix.iter().next() {
                            Some(Val::Int(i)) => {
                                let j = if *i < 0 { i + len } else { *i };
                                match usize::try_from(j).ok().and_then(|j| items.get(j)) {
                                    Some(v) => Ok(v.clone()),
                                    None => fail(e.span, "index out of range"),
                                }
                            }
                            _ => fail(e.span, "an index must be an int"),
                        }
                    }
                    (v @ AV::Vals(_), _) => Ok(v),
                    _ => fail(e.span, "cannot index this value"),
                }
            }
            ExprKind::Block(stmts, result) => {
                let n = env.len();
                self.stmts(stmts, env, module)?;
                let v = self.eval(result, env, module);
                env.truncate(n);
                v
            }
            ExprKind::Field(..) | ExprKind::Slice(..) => Ok(AV::Vals(VSet::Unbounded)),
            ExprKind::Error => fail(e.span, "syntax error"),
        }
    }

    fn stmts(&mut self, stmts: &'p [Stmt], env: &mut Env<'p>, module: ModId) -> R<()> {
        for s in stmts {
            match s {
                Stmt::Let { name, value, .. } => {
                    let v = self.eval(value, env, module)?;
                    self.record(&name.name, name.span, &v);
                    env.push((&name.name, v));
                }
                Stmt::For {
                    var, iter, body, ..
                } => {
                    let items = match self.eval(iter, env, module)? {
                        AV::List(items) => items,
                        _ => return fail(iter.span, "`for` needs a list"),
                    };
                    for item in items {
                        let at = env.len();
                        env.push((&var.name, item));
                        self.stmts(body, env, module)?;
                        env.remove(at);
                    }
                }
                Stmt::Error(span) => return fail(*span, "syntax error"),
            }
        }
        Ok(())
    }

    fn name(&mut self, path: &'p [Ident], span: Span, env: &Env<'p>, module: ModId) -> R<AV<'p>> {
        if let [single] = path {
            if let Some((_, v)) = env.iter().rev().find(|(n, _)| *n == single.name) {
                return Ok(v.clone());
            }
            if !self.program.modules[module]
                .scope
                .contains_key(&single.name)
            {
                match single.name.as_str() {
                    "tokens" => return Ok(self.tokens()),
                    "indices" => return Ok(AV::Vals(self.positions())),
                    "length" => return Ok(AV::Vals(VSet::range(1, self.domain.max_len as i64))),
                    _ => {}
                }
            }
        }
        let id = self.program.resolve(module, path).map_err(|d| InferError {
            message: d.message,
            span,
        })?;
        let def = self.program.def(id);
        match &def.kind {
            DefKind::Fn(_) => Ok(AV::Func(id)),
            DefKind::Let(e, _) => {
                if let Some(v) = self.globals.get(&id) {
                    return Ok(v.clone());
                }
                let e: &'p Expr = e;
                let v = self.eval(e, &mut Vec::new(), def.module)?;
                self.globals.insert(id, v.clone());
                Ok(v)
            }
            DefKind::Symbols { .. } => Ok(AV::Book(id)),
            _ => Ok(AV::Vals(VSet::Unbounded)),
        }
    }

    /// The symbols of a codebook, as the values `cleanup` can give.
    fn symbols(&self, book: &AV<'p>) -> VSet {
        match book {
            AV::Book(id) => match &self.program.def(*id).kind {
                DefKind::Symbols { symbols, .. } => {
                    VSet::Finite(symbols.iter().map(|s| Val::string(&s.name)).collect())
                }
                _ => VSet::Unbounded,
            },
            _ => VSet::Unbounded,
        }
    }

    fn apply(&mut self, f: &AV<'p>, args: Vec<AV<'p>>, span: Span) -> R<AV<'p>> {
        match f {
            AV::Lambda(c) => {
                let (params, body, captured, module) = c.as_ref();
                if params.len() != args.len() {
                    return fail(span, "wrong number of lambda arguments");
                }
                let mut env = captured.clone();
                for (p, a) in params.iter().zip(args) {
                    env.push((&p.name, a));
                }
                self.eval(body, &mut env, *module)
            }
            AV::Func(id) => self.call_fn(*id, args.into_iter().map(|a| (None, a)).collect(), span),
            _ => fail(span, "not a function"),
        }
    }

    /// The set of `f(x, y, ...)` over every combination of values of the argument sets.
    fn apply_elementwise(&mut self, f: &AV<'p>, sets: &[VSet], span: Span) -> R<VSet> {
        let mut finite: Vec<Vec<Val>> = Vec::new();
        for s in sets {
            match s {
                VSet::Finite(s) => finite.push(s.iter().cloned().collect()),
                VSet::Unbounded => return Ok(VSet::Unbounded),
            }
        }
        let total: usize = finite.iter().map(Vec::len).product();
        if total > MAX_SET {
            return Ok(VSet::Unbounded);
        }
        let mut out = BTreeSet::new();
        let mut idx = vec![0usize; finite.len()];
        for _ in 0..total {
            let args: Vec<AV<'p>> = idx
                .iter()
                .zip(&finite)
                .map(|(&i, vals)| AV::Vals(VSet::one(vals[i].clone())))
                .collect();
            match self.apply(f, args, span)? {
                AV::Vals(VSet::Finite(s)) => out.extend(s),
                AV::Vals(VSet::Unbounded) => return Ok(VSet::Unbounded),
                _ => return fail(span, "an elementwise function must return a value"),
            }
            for (i, vals) in idx.iter_mut().zip(&finite) {
                *i += 1;
                if *i < vals.len() {
                    break;
                }
                *i = 0;
            }
        }
        Ok(capped(out))
    }

    fn call_fn(
        &mut self,
        id: DefId,
        args: Vec<(Option<&'p Ident>, AV<'p>)>,
        span: Span,
    ) -> R<AV<'p>> {
        let def = self.program.def(id);
        let f: &'p crate::ast::FnDef = match &def.kind {
            DefKind::Fn(f) => f,
            _ => return fail(span, "not a function"),
        };
        let slots = crate::program::bind_arguments(f, &def.name, args, span)
            .map_err(|(span, message)| InferError { message, span })?;
        let mut env: Env<'p> = Vec::new();
        for (p, slot) in f.params.iter().zip(slots) {
            let v = match (slot, &p.default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.eval(d, &mut env, def.module)?,
                (None, None) => return fail(span, format!("missing argument `{}`", p.name.name)),
            };
            env.push((&p.name.name, v));
        }
        self.eval(&f.body, &mut env, def.module)
    }

    fn call(
        &mut self,
        callee: &'p Expr,
        args: &'p [Arg],
        span: Span,
        env: &mut Env<'p>,
        module: ModId,
    ) -> R<AV<'p>> {
        if let ExprKind::Name(path) = &callee.kind
            && let [single] = path.as_slice()
            && !env.iter().any(|(n, _)| *n == single.name)
            && !self.program.modules[module]
                .scope
                .contains_key(&single.name)
            && is_builtin(&single.name)
        {
            return self.builtin(&single.name, args, span, env, module);
        }
        let f = self.eval(callee, env, module)?;
        let mut vals = Vec::new();
        for a in args {
            vals.push((a.name.as_ref(), self.eval(&a.value, env, module)?));
        }
        match f {
            AV::Func(id) => self.call_fn(id, vals, span),
            other => self.apply(&other, vals.into_iter().map(|(_, v)| v).collect(), span),
        }
    }

    fn builtin(
        &mut self,
        name: &str,
        args: &'p [Arg],
        span: Span,
        env: &mut Env<'p>,
        module: ModId,
    ) -> R<AV<'p>> {
        let mut pos = Vec::new();
        let mut default = None;
        let mut has_min = false;
        for a in args {
            let v = self.eval(&a.value, env, module)?;
            match &a.name {
                Some(n) if n.name == "default" => default = Some(self.vals(v, a.value.span)?),
                Some(n) if n.name == "min" || n.name == "z" => has_min = true,
                Some(_) => {}
                None => pos.push(v),
            }
        }
        if default.is_none() && pos.len() == 3 && matches!(name, "aggregate" | "gather" | "best") {
            default = pos.pop().map(|v| self.vals(v, span)).transpose()?;
        }
        let with_default = |s: VSet| match &default {
            Some(d) => s.union(d),
            None => s,
        };
        let arg = |i: usize| -> R<AV<'p>> {
            pos.get(i).cloned().ok_or(InferError {
                message: format!("`{name}` is missing argument {}", i + 1),
                span,
            })
        };
        match name {
            "aggregate" | "gather" => {
                let xs = self.vals(arg(1)?, span)?;
                Ok(AV::Vals(with_default(xs)))
            }
            "best" => Ok(AV::Vals(with_default(self.positions()))),
            "width" => Ok(AV::Vals(self.counts())),
            "mean" => {
                let xs = self.vals(arg(1)?, span)?;
                Ok(AV::Vals(means(&xs, self.domain.max_len)))
            }
            "map" | "zipmap" => {
                let n = if name == "map" { 1 } else { 2 };
                let f = arg(n)?;
                let sets = (0..n)
                    .map(|i| self.vals(arg(i)?, span))
                    .collect::<R<Vec<_>>>()?;
                Ok(AV::Vals(self.apply_elementwise(&f, &sets, span)?))
            }
            "numeric" => {
                let xs = self.vals(arg(0)?, span)?;
                Ok(AV::Vals(map1(&xs, |v| value::to_numeric(v).ok())))
            }
            "categorical" => arg(0),
            // `cleanup` gives a symbol of its codebook, or `none` under a threshold.
            "cleanup" => {
                let syms = self.symbols(&arg(1)?);
                Ok(AV::Vals(if has_min || pos.len() > 2 {
                    syms.union(&VSet::one(Val::None))
                } else {
                    syms
                }))
            }
            // `factor` gives one symbol (or `none`) per codebook.
            "factor" => match arg(1)? {
                AV::List(books) => Ok(AV::List(
                    books
                        .iter()
                        .map(|b| AV::Vals(self.symbols(b).union(&VSet::one(Val::None))))
                        .collect(),
                )),
                _ => Ok(AV::Vals(VSet::Unbounded)),
            },
            _ if SCALAR_BUILTINS.contains(&name) => {
                let xs = self.vals(arg(0)?, span)?;
                Ok(AV::Vals(map1(&xs, |v| value::scalar_builtin(name, v).ok())))
            }
            _ => Ok(AV::Vals(VSet::Unbounded)),
        }
    }
}

fn map1(s: &VSet, f: impl Fn(&Val) -> Option<Val>) -> VSet {
    match s {
        VSet::Finite(s) => capped(s.iter().filter_map(f).collect()),
        VSet::Unbounded => VSet::Unbounded,
    }
}

fn map2(a: &VSet, b: &VSet, f: impl Fn(&Val, &Val) -> Option<Val>) -> VSet {
    match (a, b) {
        (VSet::Finite(a), VSet::Finite(b)) => {
            if a.len().saturating_mul(b.len()) > MAX_SET {
                return VSet::Unbounded;
            }
            let mut out = BTreeSet::new();
            for x in a {
                for y in b {
                    if let Some(v) = f(x, y) {
                        out.insert(v);
                    }
                }
            }
            capped(out)
        }
        _ => VSet::Unbounded,
    }
}

/// Every mean of a non-empty multiset of at most `max_len` values from `s`, and 0 (nothing
/// selected). Computed from the reachable sums of exactly `c` values, `c = 1..=max_len`.
pub fn means(s: &VSet, max_len: usize) -> VSet {
    let VSet::Finite(vals) = s else {
        return VSet::Unbounded;
    };
    let nums: Option<Vec<f64>> = vals.iter().map(Val::as_f64).collect();
    let Some(nums) = nums else {
        return VSet::Unbounded;
    };
    // Means as f64 bit patterns (sorted and deduplicated as they grow), and the reachable sums
    // of each count, kept exact the same way: sorted vectors, not trees (this runs for every
    // `mean` the compiler lowers, over up to N·|values| sums per count).
    let mut out: Vec<u64> = vec![0f64.to_bits()];
    let mut sums: Vec<u64> = vec![0f64.to_bits()];
    for c in 1..=max_len {
        let mut next = Vec::with_capacity(sums.len().saturating_mul(nums.len()));
        for s in &sums {
            for x in &nums {
                next.push((f64::from_bits(*s) + x).to_bits());
            }
            if next.len() > 2 * MAX_SET {
                next.sort_unstable();
                next.dedup();
                if next.len() > MAX_SET {
                    return VSet::Unbounded;
                }
            }
        }
        next.sort_unstable();
        next.dedup();
        if next.len() > MAX_SET {
            return VSet::Unbounded;
        }
        sums = next;
        out.extend(
            sums.iter()
                .map(|s| (f64::from_bits(*s) / c as f64).to_bits()),
        );
        if out.len() > MAX_SET {
            out.sort_unstable();
            out.dedup();
            if out.len() > MAX_SET {
                return VSet::Unbounded;
            }
        }
    }
    VSet::Finite(
        out.into_iter()
            .map(|b| Val::Float(f64::from_bits(b)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mean of every multiset of up to `max_len` values, by brute force.
    fn brute_means(vals: &[f64], max_len: usize) -> BTreeSet<Val> {
        let mut out = BTreeSet::from([Val::Float(0.0)]);
        let mut sums: Vec<f64> = vec![0.0];
        for c in 1..=max_len {
            sums = sums
                .iter()
                .flat_map(|s| vals.iter().map(move |x| s + x))
                .collect();
            out.extend(sums.iter().map(|s| Val::Float(s / c as f64)));
        }
        out
    }

    #[test]
    fn means_are_every_reachable_mean_once() {
        for (vals, n) in [
            (vec![1.0, -1.0, 0.0], 6),
            (vec![0.0, 1.0], 7),
            (vec![2.0, 3.0, 5.0], 5),
            (vec![0.1, 0.2], 6),
        ] {
            let set = VSet::Finite(vals.iter().map(|x| Val::Float(*x)).collect());
            let VSet::Finite(got) = means(&set, n) else {
                panic!("finite");
            };
            assert_eq!(got, brute_means(&vals, n), "{vals:?} {n}");
        }
        // Past the limit the set is unbounded, not truncated.
        let many = VSet::Finite((0..400).map(|i| Val::Float(f64::from(i) * 0.37)).collect());
        assert!(matches!(means(&many, 64), VSet::Unbounded));
    }
}
