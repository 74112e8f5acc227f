//! The type checker.
//!
//! Every function is checked on its own, with annotated parameters at their written type and
//! the others `Unknown` (so an error in a function nobody calls is still found). Each call of a
//! user function is then checked again with the argument types of that call (functions unroll at
//! compile time, so this is the type they really get), which infers parameter and result types
//! and finds errors that only some arguments cause; those are reported at the call. A call graph
//! check rejects recursion, which could never unroll.

use crate::ast::{Arg, BinOp, Expr, ExprKind, FnDef, Ident, SelOp, Stmt, TypeArg, TypeExpr, UnOp};
use crate::diag::{Diagnostic, did_you_mean};
use crate::interp::{is_builtin, is_scalar_type};
use crate::program::{BUILTIN_SEQS, DefId, DefKind, ModId, Program, RESERVED};
use crate::span::Span;
use crate::types::{Enc, Kind, Ty};
use crate::value::SCALAR_BUILTINS;
use std::collections::{BTreeSet, HashMap, HashSet};

const MAX_INSTANTIATION_DEPTH: usize = 64;
/// Deeper than this (through calls), the checker stops looking; the interpreter's own limit
/// then reports the problem at run time.
const MAX_CHECK_NESTING: usize = 4000;
/// A local-scope entry meaning "a statement here failed to parse".
const PARSE_ERROR_MARK: &str = "<parse error>";

/// Check a loaded program: every definition, every call.
pub fn check_program(program: &Program) -> Vec<Diagnostic> {
    let mut c = Checker {
        program,
        diags: Vec::new(),
        memo: HashMap::new(),
        let_memo: HashMap::new(),
        stack: Vec::new(),
        generic_failed: BTreeSet::new(),
        nest: 0,
        inner_adds: HashSet::new(),
        warned: HashSet::new(),
    };
    c.check_recursion();
    for (id, def) in program.defs.iter().enumerate() {
        match &def.kind {
            DefKind::Fn(f) => {
                let before = c.diags.len();
                for (i, p) in f.params.iter().enumerate() {
                    if let Some(prev) = f.params[..i].iter().find(|q| q.name.name == p.name.name) {
                        c.diags.push(
                            Diagnostic::error(
                                "E0102",
                                "DuplicateDefinition",
                                format!("parameter `{}` is declared twice", p.name.name),
                            )
                            .with_primary(p.name.span, "declared again here")
                            .with_secondary(prev.name.span, "first declared here"),
                        );
                    }
                }
                let params: Vec<Ty> = f
                    .params
                    .iter()
                    .map(|p| {
                        p.ty.as_ref()
                            .map_or(Ty::Unknown, |t| c.type_of_annotation(t, def.module))
                    })
                    .collect();
                c.check_fn_body(id, f, &params, def.module);
                if c.diags.len() > before {
                    c.generic_failed.insert(id);
                }
            }
            DefKind::Let(e, ty) => {
                let mut env = Vec::new();
                let t = c.expr(e, &mut env, def.module);
                if let Some(ann) = ty {
                    let want = c.type_of_annotation(ann, def.module);
                    if !compatible(&want, &t) {
                        c.mismatch(
                            e.span,
                            format!("`{}` is declared {want}, but its value is {t}", def.name),
                        );
                    }
                }
            }
            DefKind::Space { model, args } => c.check_space(model, args, def.module),
            DefKind::Symbols { space, .. } => {
                let t = c.name_type(
                    std::slice::from_ref(space),
                    space.span,
                    &Vec::new(),
                    def.module,
                );
                if !matches!(t, Ty::Space | Ty::Unknown) {
                    c.err(
                        space.span,
                        "TypeMismatch",
                        "E0200",
                        format!("`{}` is not a space (found {t})", space.name),
                    );
                }
            }
            DefKind::Circuit(_) => {
                // The circuit elaborated over widths alone raises every error running it
                // would (unknown names included).
                if let Err(e) = crate::circuit::check(program, id, &crate::circuit::DiskTables) {
                    c.diags.push(e.to_diagnostic());
                }
            }
            DefKind::Gss(g) => {
                if let Err(ds) = crate::gss::lower(g) {
                    c.diags.extend(ds);
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    c.diags.retain(|d| {
        seen.insert((
            d.code,
            d.message.clone(),
            d.primary_span().map(|s| (s.file, s.start, s.end)),
        ))
    });
    c.diags
}

/// The type of a definition's value: a function's result with its parameters at their written
/// types (unannotated sequence parameters are taken to read the input, `cat`), or a `let`'s.
pub fn result_type(program: &Program, def: DefId) -> Ty {
    let mut c = Checker {
        program,
        diags: Vec::new(),
        memo: HashMap::new(),
        let_memo: HashMap::new(),
        stack: Vec::new(),
        generic_failed: BTreeSet::new(),
        nest: 0,
        inner_adds: HashSet::new(),
        warned: HashSet::new(),
    };
    let d = program.def(def);
    match &d.kind {
        DefKind::Fn(f) => {
            let params: Vec<Ty> = f
                .params
                .iter()
                .map(|p| match &p.ty {
                    Some(t) => c.type_of_annotation(t, d.module),
                    None if p.default.is_some() => Ty::Scalar(Kind::Any),
                    None => Ty::Seq(Enc::Cat, Kind::Any),
                })
                .collect();
            c.check_fn_body(def, f, &params, d.module)
        }
        DefKind::Let(e, _) => c.expr(e, &mut Vec::new(), d.module),
        DefKind::Space { .. } => Ty::Space,
        DefKind::Symbols { space, .. } => Ty::Codebook(space.name.clone()),
        DefKind::Circuit(_) | DefKind::Gss(_) => Ty::Func,
    }
}

struct Checker<'p> {
    program: &'p Program,
    diags: Vec<Diagnostic>,
    memo: HashMap<(DefId, Vec<Ty>), Ty>,
    /// The types of item-level `let`s read so far (a chain of lets that each read the previous
    /// one twice would otherwise be re-checked exponentially often).
    let_memo: HashMap<DefId, Ty>,
    stack: Vec<DefId>,
    /// Functions whose own check failed: their calls are not re-reported.
    generic_failed: BTreeSet<DefId>,
    /// Current nesting of `expr` (expressions and instantiated calls together).
    nest: usize,
    /// `+` nodes that are the left operand of another `+` (not the top of a bundle chain).
    inner_adds: HashSet<usize>,
    /// Spans already warned about (a function body is checked once per instantiation).
    warned: HashSet<Span>,
}

type Env = Vec<(String, Ty)>;

impl<'p> Checker<'p> {
    fn err(&mut self, span: Span, kind: &'static str, code: &'static str, msg: impl Into<String>) {
        let msg = msg.into();
        self.diags
            .push(Diagnostic::error(code, kind, msg.clone()).with_primary(span, short_label(kind)));
    }

    fn mismatch(&mut self, span: Span, msg: impl Into<String>) {
        self.err(span, "TypeMismatch", "E0200", msg);
    }

    fn type_of_annotation(&mut self, t: &TypeExpr, module: ModId) -> Ty {
        let name = t.name.name.as_str();
        match (name, &t.arg) {
            ("cat", None) => Ty::Seq(Enc::Cat, Kind::Any),
            ("cat", Some(TypeArg::Name(k))) => match k.name.as_str() {
                "int" => Ty::Seq(Enc::Cat, Kind::Int),
                "float" => Ty::Seq(Enc::Cat, Kind::Float),
                "bool" => Ty::Seq(Enc::Cat, Kind::Bool),
                "str" => Ty::Seq(Enc::Cat, Kind::Str),
                "any" => Ty::Seq(Enc::Cat, Kind::Any),
                other => {
                    self.err(
                        k.span,
                        "UnknownType",
                        "E0107",
                        format!(
                            "`cat<{other}>`: the value kinds are int, float, bool, str and any"
                        ),
                    );
                    Ty::Unknown
                }
            },
            ("num", None) => Ty::Seq(Enc::Num, Kind::Float),
            ("sel", None) => Ty::Sel,
            ("int", None) => Ty::Scalar(Kind::Int),
            ("float", None) => Ty::Scalar(Kind::Float),
            ("bool", None) => Ty::Scalar(Kind::Bool),
            ("str", None) => Ty::Scalar(Kind::Str),
            ("scalar", None) => Ty::Scalar(Kind::Any),
            ("list", None) => Ty::List(Box::new(Ty::Unknown)),
            ("bits", Some(TypeArg::Size(n))) => Ty::Bits(Some(*n)),
            ("bits", None) => Ty::Bits(None),
            ("hv", Some(TypeArg::Name(s))) => {
                match self.program.modules[module]
                    .scope
                    .get(&s.name)
                    .map(|&id| &self.program.def(id).kind)
                {
                    Some(DefKind::Space { .. }) => Ty::Hv {
                        space: s.name.clone(),
                        seq: true,
                    },
                    _ => {
                        self.err(
                            s.span,
                            "UnknownName",
                            "E0100",
                            format!("no space named `{}`", s.name),
                        );
                        Ty::Unknown
                    }
                }
            }
            _ => {
                let known = [
                    "cat", "num", "sel", "hv", "int", "float", "bool", "str", "scalar", "list",
                    "bits",
                ];
                let mut d = Diagnostic::error(
                    "E0107",
                    "UnknownType",
                    format!("unknown type `{name}`"),
                )
                .with_primary(t.span, "not a type")
                .with_note(
                    "types: cat, num, sel, hv<S>, int, float, bool, str, scalar, list, bits[n]",
                );
                if let Some(s) = did_you_mean(name, known) {
                    d = d.with_note(format!("help: did you mean `{s}`?"));
                }
                self.diags.push(d);
                Ty::Unknown
            }
        }
    }

    fn check_space(&mut self, model: &Ident, args: &[Arg], module: ModId) {
        const MODELS: [&str; 4] = ["map", "bsc", "hrr", "fhrr"];
        if !MODELS.contains(&model.name.as_str()) {
            let mut d = Diagnostic::error(
                "E0100",
                "UnknownName",
                format!("unknown VSA model `{}`", model.name),
            )
            .with_primary(model.span, "not a model")
            .with_note("models: map (bipolar), bsc (binary), hrr, fhrr");
            if let Some(s) = did_you_mean(&model.name, MODELS) {
                d = d.with_note(format!("help: did you mean `{s}`?"));
            }
            self.diags.push(d);
        }
        for a in args {
            let mut env = Vec::new();
            let t = self.expr(&a.value, &mut env, module);
            match a.name.as_ref().map(|n| n.name.as_str()) {
                Some("dim") | Some("seed") => {
                    if !matches!(t, Ty::Scalar(Kind::Int)) {
                        self.mismatch(
                            a.value.span,
                            format!(
                                "`{}` must be an integer, found {t}",
                                a.name.as_ref().map_or("", |n| n.name.as_str())
                            ),
                        );
                    }
                }
                Some(other) => {
                    let span = a.name.as_ref().map_or(a.value.span, |n| n.span);
                    self.err(
                        span,
                        "UnknownArgument",
                        "E0202",
                        format!("a space takes `dim` and `seed`, not `{other}`"),
                    );
                }
                None => self.err(
                    a.value.span,
                    "UnknownArgument",
                    "E0202",
                    "space arguments are named: `dim: 10000, seed: 7`",
                ),
            }
        }
    }

    /// Reject recursion among functions and item-level `let`s: they unroll at compile time.
    fn check_recursion(&mut self) {
        let n = self.program.defs.len();
        let mut edges: Vec<Vec<(DefId, Span)>> = vec![Vec::new(); n];
        for (id, def) in self.program.defs.iter().enumerate() {
            let mut names = Vec::new();
            match &def.kind {
                DefKind::Fn(f) => {
                    for p in &f.params {
                        if let Some(d) = &p.default {
                            collect_names(d, &mut names);
                        }
                    }
                    collect_names(&f.body, &mut names);
                }
                DefKind::Let(e, _) => collect_names(e, &mut names),
                _ => {}
            }
            for (path, span) in names {
                if let Some(target) = self.program.lookup(def.module, path)
                    && matches!(
                        self.program.def(target).kind,
                        DefKind::Fn(_) | DefKind::Let(..)
                    )
                {
                    edges[id].push((target, span));
                }
            }
        }
        // Depth-first search for back edges; report each cycle once, at its closing reference.
        let mut state = vec![0u8; n];
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(DefId, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (node, ref mut i)) = stack.last_mut() {
                if let Some(&(next, span)) = edges[node].get(*i) {
                    *i += 1;
                    match state[next] {
                        0 => {
                            state[next] = 1;
                            stack.push((next, 0));
                        }
                        1 => {
                            let from = self.program.qualified(node);
                            let to = self.program.qualified(next);
                            let msg = if from == to {
                                format!("`{from}` refers to itself")
                            } else {
                                format!("`{from}` and `{to}` refer to each other")
                            };
                            self.diags.push(
                                Diagnostic::error("E0103", "Recursion", msg)
                                    .with_primary(span, "recursive reference")
                                    .with_note("functions and lets unroll at compile time (as in RASP), so they cannot be recursive"),
                            );
                        }
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
    }

    fn check_fn_body(&mut self, id: DefId, f: &FnDef, params: &[Ty], module: ModId) -> Ty {
        let mut env: Env = Vec::new();
        for (p, t) in f.params.iter().zip(params) {
            if let Some(d) = &p.default {
                let dt = self.expr(d, &mut env, module);
                if !matches!(dt, Ty::Scalar(_) | Ty::Unknown | Ty::List(_)) {
                    self.mismatch(
                        d.span,
                        format!("a parameter default must be a constant scalar, found {dt}"),
                    );
                }
            }
            env.push((p.name.name.clone(), t.clone()));
        }
        let _ = id;
        let t = self.expr(&f.body, &mut env, module);
        if let Some(ret) = &f.ret {
            let want = self.type_of_annotation(ret, module);
            if !compatible(&want, &t) {
                self.mismatch(
                    f.body.span,
                    format!(
                        "`{}` is declared to return {want}, but its body is {t}",
                        f.name.name
                    ),
                );
            }
        }
        t
    }

    /// Type of a user-function call with these argument types (checked in place).
    fn instantiate(&mut self, id: DefId, args: Vec<Ty>, call: Span) -> Ty {
        if self.generic_failed.contains(&id)
            || self.stack.contains(&id)
            || self.stack.len() > MAX_INSTANTIATION_DEPTH
        {
            return Ty::Unknown;
        }
        let key = (id, args.clone());
        if let Some(t) = self.memo.get(&key) {
            return t.clone();
        }
        let def = self.program.def(id);
        let f = match &def.kind {
            DefKind::Fn(f) => f.clone(),
            _ => return Ty::Unknown,
        };
        self.stack.push(id);
        let saved = std::mem::take(&mut self.diags);
        let t = self.check_fn_body(id, &f, &args, def.module);
        let inner = std::mem::replace(&mut self.diags, saved);
        self.stack.pop();
        if let Some(first) = inner.into_iter().next() {
            let mut d = Diagnostic::error(
                first.code,
                first.kind,
                format!(
                    "in this call to `{}`: {}",
                    self.program.qualified(id),
                    first.message
                ),
            )
            .with_primary(call, "called here with these argument types");
            if let Some(s) = first.primary_span() {
                d = d.with_secondary(s, "the error is here");
            }
            let sig: Vec<String> = args.iter().map(ToString::to_string).collect();
            d = d.with_note(format!("the arguments have types ({})", sig.join(", ")));
            self.diags.push(d);
            self.memo.insert(key, Ty::Unknown);
            return Ty::Unknown;
        }
        self.memo.insert(key, t.clone());
        t
    }

    fn lookup_local(env: &Env, name: &str) -> Option<Ty> {
        env.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    fn name_type(&mut self, path: &[Ident], span: Span, env: &Env, module: ModId) -> Ty {
        if let [single] = path {
            if let Some(t) = Self::lookup_local(env, &single.name) {
                return t;
            }
            if !self.program.modules[module]
                .scope
                .contains_key(&single.name)
            {
                if Self::lookup_local(env, PARSE_ERROR_MARK).is_some() {
                    return Ty::Unknown;
                }
                match single.name.as_str() {
                    "tokens" => return Ty::Seq(Enc::Cat, Kind::Any),
                    "indices" | "length" => return Ty::Seq(Enc::Cat, Kind::Int),
                    _ => {}
                }
                if is_builtin(&single.name) {
                    return Ty::Func;
                }
                let locals: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
                let scope: Vec<&str> = self.program.modules[module]
                    .scope
                    .keys()
                    .map(String::as_str)
                    .collect();
                let mut d = Diagnostic::error(
                    "E0100",
                    "UnknownName",
                    format!("cannot find `{}` in this scope", single.name),
                )
                .with_primary(span, "not found");
                let candidates = locals
                    .iter()
                    .chain(scope.iter())
                    .copied()
                    .chain(RESERVED.iter().copied())
                    .chain(BUILTIN_SEQS.iter().copied());
                if let Some(s) = did_you_mean(&single.name, candidates) {
                    d = d.with_note(format!("help: did you mean `{s}`?"));
                } else if self
                    .program
                    .modules
                    .iter()
                    .any(|m| m.own.contains_key(&single.name) && m.name.starts_with("std::"))
                {
                    let m = self
                        .program
                        .modules
                        .iter()
                        .find(|m| m.own.contains_key(&single.name))
                        .map(|m| m.name.clone())
                        .unwrap_or_default();
                    d = d.with_note(format!("help: import it with `use {m}::{};`", single.name));
                }
                self.diags.push(d);
                return Ty::Unknown;
            }
        }
        match self.program.resolve(module, path) {
            Ok(id) => match &self.program.def(id).kind {
                DefKind::Fn(_) => Ty::Func,
                DefKind::Let(e, _) => {
                    if let Some(t) = self.let_memo.get(&id) {
                        return t.clone();
                    }
                    let e = e.clone();
                    let m = self.program.def(id).module;
                    if self.stack.len() > MAX_INSTANTIATION_DEPTH {
                        return Ty::Unknown;
                    }
                    self.stack.push(usize::MAX);
                    let saved = std::mem::take(&mut self.diags);
                    let t = self.expr(&e, &mut Vec::new(), m);
                    self.diags = saved;
                    self.stack.pop();
                    self.let_memo.insert(id, t.clone());
                    t
                }
                DefKind::Space { .. } => Ty::Space,
                DefKind::Symbols { space, .. } => Ty::Codebook(space.name.clone()),
                DefKind::Circuit(_) | DefKind::Gss(_) => Ty::Func,
            },
            Err(d) => {
                self.diags.push(d);
                Ty::Unknown
            }
        }
    }

    fn expr(&mut self, e: &Expr, env: &mut Env, module: ModId) -> Ty {
        // Bound the native stack through nested expressions and instantiated calls.
        if self.nest > MAX_CHECK_NESTING {
            return Ty::Unknown;
        }
        self.nest += 1;
        let t = crate::with_stack(|| self.expr_inner(e, env, module));
        self.nest -= 1;
        t
    }

    fn expr_inner(&mut self, e: &Expr, env: &mut Env, module: ModId) -> Ty {
        match &e.kind {
            ExprKind::Int(_) => Ty::Scalar(Kind::Int),
            ExprKind::Float(_) => Ty::Scalar(Kind::Float),
            ExprKind::Str(_) => Ty::Scalar(Kind::Str),
            ExprKind::Bool(_) => Ty::Scalar(Kind::Bool),
            ExprKind::None => Ty::Scalar(Kind::None),
            ExprKind::Error => Ty::Unknown,
            ExprKind::Name(path) => self.name_type(path, e.span, env, module),
            ExprKind::Field(base, field) => {
                let bt = self.expr(base, env, module);
                match bt {
                    Ty::Codebook(space) => {
                        let syms = match &base.kind {
                            ExprKind::Name(p) => self.program.lookup(module, p).and_then(|id| {
                                match &self.program.def(id).kind {
                                    DefKind::Symbols { symbols, .. } => Some(
                                        symbols.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                                    ),
                                    _ => None,
                                }
                            }),
                            _ => None,
                        }
                        .unwrap_or_default();
                        if !syms.contains(&field.name) {
                            let mut d = Diagnostic::error(
                                "E0100",
                                "UnknownName",
                                format!("the codebook has no symbol `{}`", field.name),
                            )
                            .with_primary(field.span, "not in the codebook");
                            if let Some(s) =
                                did_you_mean(&field.name, syms.iter().map(String::as_str))
                            {
                                d = d.with_note(format!("help: did you mean `{s}`?"));
                            }
                            self.diags.push(d);
                        }
                        Ty::Hv { space, seq: false }
                    }
                    Ty::Unknown => Ty::Unknown,
                    other => {
                        self.mismatch(
                            e.span,
                            format!("only codebooks have fields (`Color.red`), found {other}"),
                        );
                        Ty::Unknown
                    }
                }
            }
            ExprKind::List(items) => {
                let mut t = Ty::Unknown;
                for i in items {
                    let it = self.expr(i, env, module);
                    t = t.join(&it).unwrap_or(Ty::Unknown);
                }
                Ty::List(Box::new(t))
            }
            ExprKind::Unary(op, a) => {
                let t = self.expr(a, env, module);
                self.unary(*op, t, e.span)
            }
            ExprKind::Binary(op, a, b) => {
                let is_add = *op == BinOp::Add;
                if is_add && matches!(a.kind, ExprKind::Binary(BinOp::Add, ..)) {
                    self.inner_adds
                        .insert(std::ptr::from_ref::<Expr>(a) as usize);
                }
                let ta = self.expr(a, env, module);
                let tb = self.expr(b, env, module);
                let t = self.binary(*op, ta, tb, e.span);
                if is_add
                    && !self.inner_adds.contains(&(std::ptr::from_ref(e) as usize))
                    && let Ty::Hv { space, .. } = &t
                {
                    let k = crate::ast::add_chain(e).1.len() + 1;
                    self.bundle_capacity(space, k, e.span, module);
                }
                t
            }
            ExprKind::If(c, a, b) => {
                let tc = self.expr(c, env, module);
                let ta = self.expr(a, env, module);
                let tb = self.expr(b, env, module);
                match &tc {
                    Ty::Unknown => {}
                    Ty::Scalar(k) | Ty::Seq(_, k) if matches!(k, Kind::Bool | Kind::Any) => {}
                    other => self.mismatch(
                        c.span,
                        format!("the condition of `if` must be a bool, found {other}"),
                    ),
                }
                match ta.join(&tb) {
                    Some(t) => {
                        if let (Ty::Seq(..), Ty::Scalar(k)) = (&tc, &t) {
                            Ty::Seq(Enc::Cat, *k)
                        } else {
                            t
                        }
                    }
                    None => {
                        self.mismatch(
                            e.span,
                            format!("the branches of `if` have incompatible types {ta} and {tb}"),
                        );
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Lambda(params, body) => {
                let n = env.len();
                for p in params {
                    env.push((p.name.clone(), Ty::Unknown));
                }
                self.expr(body, env, module);
                env.truncate(n);
                Ty::Func
            }
            ExprKind::Call(callee, args) => self.call(callee, args, e.span, env, module),
            ExprKind::Select(k, q, op, op_span) => {
                let tk = self.expr(k, env, module);
                let tq = self.expr(q, env, module);
                for (t, what, s) in [(&tk, "keys", k.span), (&tq, "queries", q.span)] {
                    if !t.is_seq_like() {
                        self.mismatch(
                            s,
                            format!(
                                "the {what} of `select` must be a sequence or a scalar, found {t}"
                            ),
                        );
                    }
                }
                if let SelOp::Lambda(l) = op {
                    let k = self.apply_elementwise(
                        l,
                        &[tk.kind(), tq.kind()],
                        *op_span,
                        env,
                        module,
                        "a select predicate",
                    );
                    if !matches!(k, Kind::Bool | Kind::Any) {
                        self.mismatch(
                            *op_span,
                            format!(
                                "a select predicate must give a bool, this one gives {}",
                                k.name()
                            ),
                        );
                    }
                }
                Ty::Sel
            }
            ExprKind::Index(a, i) => {
                let ta = self.expr(a, env, module);
                let ti = self.expr(i, env, module);
                if !matches!(ti, Ty::Scalar(Kind::Int | Kind::Any) | Ty::Unknown) {
                    self.mismatch(
                        i.span,
                        format!("an index must be an int scalar, found {ti}"),
                    );
                }
                match ta {
                    Ty::List(t) => *t,
                    t @ (Ty::Seq(..) | Ty::Unknown) => t,
                    Ty::Bits(_) => Ty::Bits(Some(1)),
                    other => {
                        self.mismatch(e.span, format!("cannot index {other}"));
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Slice(a, lo, hi) => {
                let ta = self.expr(a, env, module);
                for x in [lo, hi].into_iter().flatten() {
                    self.expr(x, env, module);
                }
                if !matches!(ta, Ty::Bits(_) | Ty::Unknown) {
                    self.mismatch(
                        e.span,
                        format!("slices apply to circuit bit vectors, found {ta}"),
                    );
                }
                Ty::Bits(None)
            }
            ExprKind::Block(stmts, result) => {
                let n = env.len();
                self.stmts(stmts, env, module);
                let t = self.expr(result, env, module);
                env.truncate(n);
                t
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt], env: &mut Env, module: ModId) {
        for s in stmts {
            match s {
                Stmt::Let {
                    name, ty, value, ..
                } => {
                    let mut t = self.expr(value, env, module);
                    if let Some(ann) = ty {
                        let want = self.type_of_annotation(ann, module);
                        if !compatible(&want, &t) {
                            self.mismatch(
                                value.span,
                                format!("`{}` is declared {want}, but its value is {t}", name.name),
                            );
                        }
                        if t.is_unknown() {
                            t = want;
                        }
                    }
                    env.push((name.name.clone(), t));
                }
                Stmt::For {
                    var, iter, body, ..
                } => {
                    let t = self.expr(iter, env, module);
                    let elem = match t {
                        Ty::List(e) => *e,
                        Ty::Unknown => Ty::Unknown,
                        other => {
                            self.mismatch(
                                iter.span,
                                format!("`for` iterates over a constant list, found {other}"),
                            );
                            Ty::Unknown
                        }
                    };
                    let n = env.len();
                    env.push((var.name.clone(), elem));
                    self.stmts(body, env, module);
                    // Bindings made in the body stay visible after the loop; the variable does not.
                    env.remove(n);
                }
                // After a statement that could not be parsed, names it may have bound are
                // unknown rather than missing: do not report them again.
                Stmt::Error(_) => env.push((PARSE_ERROR_MARK.to_string(), Ty::Unknown)),
            }
        }
    }

    fn unary(&mut self, op: UnOp, t: Ty, span: Span) -> Ty {
        match (op, &t) {
            (_, Ty::Unknown) => Ty::Unknown,
            (UnOp::Not | UnOp::Bang, Ty::Sel) => Ty::Sel,
            (UnOp::Not | UnOp::Bang, Ty::Scalar(Kind::Bool | Kind::Any)) => Ty::Scalar(Kind::Bool),
            (UnOp::Not | UnOp::Bang, Ty::Seq(_, Kind::Bool | Kind::Any)) => {
                Ty::Seq(Enc::Cat, Kind::Bool)
            }
            (UnOp::Bang, Ty::Bits(n)) => Ty::Bits(*n),
            (UnOp::Neg, Ty::Scalar(k)) if k.is_numeric() => t.clone(),
            (UnOp::Neg, Ty::Seq(_, k)) if k.is_numeric() => t.clone(),
            _ => {
                let what = if op == UnOp::Neg {
                    "negate"
                } else {
                    "apply `not` to"
                };
                self.mismatch(span, format!("cannot {what} {t}"));
                Ty::Unknown
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: Ty, b: Ty, span: Span) -> Ty {
        use BinOp::*;
        let logic = matches!(op, And | Or | Amp | Pipe | Xor);
        // Selector algebra.
        if matches!(a, Ty::Sel) || matches!(b, Ty::Sel) {
            let ok_other = |t: &Ty| matches!(t, Ty::Sel | Ty::Unknown);
            if logic && ok_other(&a) && ok_other(&b) {
                return Ty::Sel;
            }
            self.mismatch(span, format!("cannot apply `{}` to {a} and {b}: selectors combine only with selectors, through `&`, `|` and `!`", op.symbol()));
            return Ty::Unknown;
        }
        // Hypervectors.
        if let (Ty::Hv { space: s1, seq: q1 }, Ty::Hv { space: s2, seq: q2 }) = (&a, &b) {
            if s1 != s2 {
                self.err(
                    span,
                    "SpaceMismatch",
                    "E0205",
                    format!("cannot combine hypervectors of space `{s1}` and space `{s2}`"),
                );
                return Ty::Unknown;
            }
            if matches!(op, Mul | Div | Add) {
                return Ty::Hv {
                    space: s1.clone(),
                    seq: *q1 || *q2,
                };
            }
            self.mismatch(
                span,
                format!(
                    "hypervectors combine with `*` (bind), `/` (unbind) and `+` (bundle), not `{}`",
                    op.symbol()
                ),
            );
            return Ty::Unknown;
        }
        if matches!(a, Ty::Bits(_)) || matches!(b, Ty::Bits(_)) {
            return Ty::Bits(None);
        }
        if a.is_unknown() || b.is_unknown() {
            return if op.is_comparison() || logic {
                if matches!(a, Ty::Seq(..)) || matches!(b, Ty::Seq(..)) {
                    Ty::Seq(Enc::Cat, Kind::Bool)
                } else {
                    Ty::Unknown
                }
            } else {
                Ty::Unknown
            };
        }
        if !a.is_seq_like() || !b.is_seq_like() {
            self.mismatch(
                span,
                format!("cannot apply `{}` to {a} and {b}", op.symbol()),
            );
            return Ty::Unknown;
        }
        let (ka, kb) = (a.kind(), b.kind());
        let kind = if op.is_comparison() {
            Kind::Bool
        } else if logic {
            let okb = |k: Kind| matches!(k, Kind::Bool | Kind::Any);
            if !okb(ka) || !okb(kb) {
                self.mismatch(
                    span,
                    format!(
                        "`{}` needs booleans (or selectors), found {a} and {b}",
                        op.symbol()
                    ),
                );
                return Ty::Unknown;
            }
            Kind::Bool
        } else {
            match (ka, kb) {
                (Kind::Str, Kind::Str) if op == Add => Kind::Str,
                (Kind::Any, Kind::Any | Kind::Str) | (Kind::Str, Kind::Any) if op == Add => {
                    Kind::Any
                }
                (x, y) if x.is_numeric() && y.is_numeric() => match op {
                    Div => Kind::Float,
                    _ if x == Kind::Int && y == Kind::Int => Kind::Int,
                    _ if x == Kind::Any || y == Kind::Any => Kind::Any,
                    _ => Kind::Float,
                },
                _ => {
                    self.mismatch(
                        span,
                        format!("cannot apply `{}` to {a} and {b}", op.symbol()),
                    );
                    return Ty::Unknown;
                }
            }
        };
        match (&a, &b) {
            (Ty::Scalar(_), Ty::Scalar(_)) => Ty::Scalar(kind),
            _ => {
                let num = !(op.is_comparison() || logic) && (a.is_num() || b.is_num());
                Ty::Seq(if num { Enc::Num } else { Enc::Cat }, kind)
            }
        }
    }

    /// Check a function value applied to scalars of these kinds; returns the result kind.
    fn apply_elementwise(
        &mut self,
        f: &Expr,
        kinds: &[Kind],
        span: Span,
        env: &mut Env,
        module: ModId,
        what: &str,
    ) -> Kind {
        match &f.kind {
            ExprKind::Lambda(params, body) => {
                if params.len() != kinds.len() {
                    self.err(
                        f.span,
                        "ArgumentCount",
                        "E0201",
                        format!(
                            "{what} takes {} parameter(s), this lambda has {}",
                            kinds.len(),
                            params.len()
                        ),
                    );
                    return Kind::Any;
                }
                let n = env.len();
                for (p, k) in params.iter().zip(kinds) {
                    env.push((p.name.clone(), Ty::Scalar(*k)));
                }
                let t = self.expr(body, env, module);
                env.truncate(n);
                match t {
                    Ty::Scalar(k) => k,
                    Ty::Unknown => Kind::Any,
                    other => {
                        self.mismatch(body.span, format!("{what} must be elementwise (scalar in, scalar out), but its body is {other}"));
                        Kind::Any
                    }
                }
            }
            ExprKind::Name(path) => {
                let is_local = matches!(path.as_slice(), [one] if Self::lookup_local(env, &one.name).is_some());
                if !is_local
                    && let Some(id) = self.program.lookup(module, path)
                    && let DefKind::Fn(fdef) = &self.program.def(id).kind
                {
                    let required = fdef.params.iter().filter(|p| p.default.is_none()).count();
                    if kinds.len() < required || kinds.len() > fdef.params.len() {
                        let msg = format!(
                            "{what} gets {} argument(s), but `{}` takes {}",
                            kinds.len(),
                            self.program.qualified(id),
                            fdef.params.len()
                        );
                        self.err(f.span, "ArgumentCount", "E0201", msg);
                        return Kind::Any;
                    }
                    let t =
                        self.instantiate(id, kinds.iter().map(|k| Ty::Scalar(*k)).collect(), span);
                    return match t {
                        Ty::Scalar(k) => k,
                        _ => Kind::Any,
                    };
                }
                let t = self.expr(f, env, module);
                if !matches!(t, Ty::Func | Ty::Unknown) {
                    self.mismatch(
                        f.span,
                        format!("{what} must be a lambda or a function, found {t}"),
                    );
                }
                Kind::Any
            }
            _ => {
                let t = self.expr(f, env, module);
                if !matches!(t, Ty::Func | Ty::Unknown) {
                    self.mismatch(
                        f.span,
                        format!("{what} must be a lambda or a function, found {t}"),
                    );
                }
                Kind::Any
            }
        }
    }

    fn call(
        &mut self,
        callee: &Expr,
        args: &[Arg],
        span: Span,
        env: &mut Env,
        module: ModId,
    ) -> Ty {
        if let ExprKind::Name(path) = &callee.kind {
            if let [single] = path.as_slice()
                && Self::lookup_local(env, &single.name).is_none()
                && !self.program.modules[module]
                    .scope
                    .contains_key(&single.name)
                && is_builtin(&single.name)
            {
                return self.builtin(&single.name, args, span, env, module);
            }
            let is_local =
                matches!(path.as_slice(), [one] if Self::lookup_local(env, &one.name).is_some());
            if !is_local
                && let Some(id) = self.program.lookup(module, path)
                && let DefKind::Fn(f) = &self.program.def(id).kind
            {
                let f = f.clone();
                return self.user_call(id, &f, args, span, env, module);
            }
        }
        let t = self.expr(callee, env, module);
        for a in args {
            self.expr(&a.value, env, module);
        }
        match t {
            Ty::Func | Ty::Unknown => Ty::Unknown,
            other => {
                self.err(
                    callee.span,
                    "NotCallable",
                    "E0204",
                    format!("{other} is not callable"),
                );
                Ty::Unknown
            }
        }
    }

    fn user_call(
        &mut self,
        id: DefId,
        f: &FnDef,
        args: &[Arg],
        span: Span,
        env: &mut Env,
        module: ModId,
    ) -> Ty {
        let name = self.program.qualified(id);
        let mut slots: Vec<Option<Ty>> = vec![None; f.params.len()];
        let mut next = 0;
        let mut ok = true;
        for a in args {
            let t = self.expr(&a.value, env, module);
            let i = match &a.name {
                Some(n) => match f.params.iter().position(|p| p.name.name == n.name) {
                    Some(i) => i,
                    None => {
                        let mut d = Diagnostic::error(
                            "E0202",
                            "UnknownArgument",
                            format!("`{name}` has no parameter `{}`", n.name),
                        )
                        .with_primary(n.span, "unknown parameter");
                        if let Some(s) =
                            did_you_mean(&n.name, f.params.iter().map(|p| p.name.name.as_str()))
                        {
                            d = d.with_note(format!("help: did you mean `{s}`?"));
                        }
                        self.diags.push(d);
                        ok = false;
                        continue;
                    }
                },
                None => {
                    next += 1;
                    next - 1
                }
            };
            match slots.get_mut(i) {
                Some(Some(_)) => {
                    self.err(
                        a.value.span,
                        "ArgumentCount",
                        "E0201",
                        format!(
                            "argument `{}` of `{name}` is given twice",
                            f.params[i].name.name
                        ),
                    );
                    ok = false;
                }
                Some(slot) => *slot = Some(t),
                None => {
                    self.err(
                        span,
                        "ArgumentCount",
                        "E0201",
                        format!(
                            "`{name}` takes {} arguments, but {} were given",
                            f.params.len(),
                            args.len()
                        ),
                    );
                    return Ty::Unknown;
                }
            }
        }
        let mut tys = Vec::with_capacity(slots.len());
        for (p, slot) in f.params.iter().zip(slots) {
            match slot {
                Some(t) => {
                    if let Some(ann) = &p.ty {
                        let want = self.annotation_quiet(ann, self.program.def(id).module);
                        if !compatible(&want, &t) {
                            self.mismatch(
                                span,
                                format!(
                                    "argument `{}` of `{name}` must be {want}, found {t}",
                                    p.name.name
                                ),
                            );
                            ok = false;
                        }
                    }
                    tys.push(t);
                }
                None if p.default.is_some() => {
                    let t = p.ty.as_ref().map_or(Ty::Unknown, |ann| {
                        self.annotation_quiet(ann, self.program.def(id).module)
                    });
                    tys.push(if t.is_unknown() {
                        Ty::Scalar(Kind::Any)
                    } else {
                        t
                    });
                }
                None => {
                    self.err(
                        span,
                        "ArgumentCount",
                        "E0201",
                        format!(
                            "missing argument `{}` in this call to `{name}`",
                            p.name.name
                        ),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            return Ty::Unknown;
        }
        self.instantiate(id, tys, span)
    }

    fn annotation_quiet(&mut self, ann: &TypeExpr, module: ModId) -> Ty {
        let saved = self.diags.len();
        let t = self.type_of_annotation(ann, module);
        self.diags.truncate(saved);
        t
    }

    fn builtin(
        &mut self,
        name: &str,
        args: &[Arg],
        span: Span,
        env: &mut Env,
        module: ModId,
    ) -> Ty {
        let (options, arity): (&[&str], (usize, usize)) = match name {
            "aggregate" | "gather" | "best" => (&["default"], (2, 3)),
            "mean" | "zipmap" | "permute" | "sim" | "embed" | "sum" | "factor" => {
                (&[], if name == "zipmap" { (3, 3) } else { (2, 2) })
            }
            "map" => (&[], (2, 2)),
            "cleanup" => (&["min", "z"], (2, 3)),
            "bundle" | "width" | "numeric" | "categorical" | "table" => (&[], (1, 1)),
            "concat" => (&[], (1, usize::MAX)),
            _ => (&[], (1, 1)),
        };
        let pos: Vec<&Expr> = args
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| &a.value)
            .collect();
        for a in args {
            if let Some(n) = &a.name
                && !options.contains(&n.name.as_str())
            {
                let note = if options.is_empty() {
                    format!("`{name}` takes no named arguments")
                } else {
                    format!("`{name}` accepts: {}", options.join(", "))
                };
                self.diags.push(
                    Diagnostic::error(
                        "E0202",
                        "UnknownArgument",
                        format!("`{name}` has no option `{}`", n.name),
                    )
                    .with_primary(n.span, "unknown option")
                    .with_note(note),
                );
            }
        }
        if pos.len() < arity.0 || pos.len() > arity.1 {
            let want = if arity.0 == arity.1 {
                arity.0.to_string()
            } else if arity.1 == usize::MAX {
                format!("at least {}", arity.0)
            } else {
                format!("{} or {}", arity.0, arity.1)
            };
            self.err(
                span,
                "ArgumentCount",
                "E0201",
                format!(
                    "`{name}` takes {want} arguments, but {} were given",
                    pos.len()
                ),
            );
            for a in args {
                self.expr(&a.value, env, module);
            }
            return Ty::Unknown;
        }
        // Function-valued arguments are checked where they are applied.
        let fn_arg = match name {
            "map" => Some(1),
            "zipmap" => Some(2),
            _ => None,
        };
        let mut tys = Vec::new();
        for (i, e) in pos.iter().enumerate() {
            if Some(i) == fn_arg {
                tys.push(Ty::Func);
            } else {
                tys.push(self.expr(e, env, module));
            }
        }
        let named: Vec<Ty> = args
            .iter()
            .filter(|a| a.name.is_some())
            .map(|a| self.expr(&a.value, env, module))
            .collect();
        let default_ty = named
            .first()
            .or(if matches!(name, "aggregate" | "gather" | "best") {
                tys.get(2)
            } else {
                None
            });
        if let Some(t) = default_ty
            && !matches!(t, Ty::Scalar(_) | Ty::Unknown)
            && matches!(name, "aggregate" | "gather" | "best")
        {
            self.mismatch(
                span,
                format!("the default of `{name}` must be a scalar, found {t}"),
            );
        }
        let default_kind = default_ty.map(Ty::kind);
        let want_sel = |c: &mut Self, i: usize| {
            if !matches!(tys[i], Ty::Sel | Ty::Unknown) {
                c.mismatch(
                    pos[i].span,
                    format!(
                        "`{name}` needs a selector (sel) as argument {}, found {}",
                        i + 1,
                        tys[i]
                    ),
                );
            }
        };
        let want_seq = |c: &mut Self, i: usize, what: &str| {
            if !tys[i].is_seq_like() {
                c.mismatch(
                    pos[i].span,
                    format!(
                        "{what} of `{name}` must be a sequence or a scalar, found {}",
                        tys[i]
                    ),
                );
            }
        };
        match name {
            "aggregate" => {
                want_sel(self, 0);
                want_seq(self, 1, "the values");
                match &tys[1] {
                    Ty::Unknown => Ty::Unknown,
                    t => Ty::Seq(t.enc(), default_kind.map_or(t.kind(), |k| t.kind().join(k))),
                }
            }
            "gather" => {
                want_seq(self, 0, "the pointer");
                want_seq(self, 1, "the values");
                match &tys[1] {
                    Ty::Unknown => Ty::Unknown,
                    t => Ty::Seq(t.enc(), default_kind.map_or(t.kind(), |k| t.kind().join(k))),
                }
            }
            "best" => {
                want_sel(self, 0);
                want_seq(self, 1, "the score");
                Ty::Seq(
                    Enc::Cat,
                    default_kind.map_or(Kind::Int, |k| Kind::Int.join(k)),
                )
            }
            "mean" => {
                want_sel(self, 0);
                match &tys[1] {
                    Ty::Seq(Enc::Num, k @ (Kind::Bool | Kind::Str | Kind::None)) => {
                        self.err(
                            pos[1].span,
                            "NotNumeric",
                            "E0203",
                            format!(
                                "`mean` needs numbers; this numerical sequence holds {} values",
                                k.name()
                            ),
                        );
                    }
                    Ty::Seq(Enc::Cat, _) => {
                        self.diags.push(
                            Diagnostic::error(
                                "E0203",
                                "NotNumeric",
                                format!(
                                    "`mean` needs a numerical sequence (num), found {}",
                                    tys[1]
                                ),
                            )
                            .with_primary(pos[1].span, "categorical")
                            .with_note(
                                "help: convert it with `numeric(...)` (booleans become 1 and 0)",
                            ),
                        );
                    }
                    Ty::Scalar(k) if !k.is_numeric() => {
                        self.err(
                            pos[1].span,
                            "NotNumeric",
                            "E0203",
                            format!("`mean` needs numbers, found {}", tys[1]),
                        );
                    }
                    t if !t.is_seq_like() => self.mismatch(
                        pos[1].span,
                        format!("`mean` needs a numerical sequence, found {t}"),
                    ),
                    _ => {}
                }
                Ty::Seq(Enc::Num, Kind::Float)
            }
            "width" => {
                want_sel(self, 0);
                Ty::Seq(Enc::Cat, Kind::Int)
            }
            "map" | "zipmap" => {
                let n = if name == "map" { 1 } else { 2 };
                for i in 0..n {
                    want_seq(self, i, "the input");
                }
                let kinds: Vec<Kind> = tys[..n].iter().map(Ty::kind).collect();
                let k = self.apply_elementwise(
                    pos[n],
                    &kinds,
                    span,
                    env,
                    module,
                    &format!("the function of `{name}`"),
                );
                if tys[..n].iter().all(|t| matches!(t, Ty::Scalar(_))) {
                    Ty::Scalar(k)
                } else if tys[..n].iter().any(Ty::is_unknown) {
                    Ty::Unknown
                } else {
                    Ty::Seq(
                        // The encoding is static, as in the interpreter: a map of a
                        // numerical sequence is numerical.
                        if tys[..n].iter().any(Ty::is_num) {
                            Enc::Num
                        } else {
                            Enc::Cat
                        },
                        k,
                    )
                }
            }
            "numeric" => match &tys[0] {
                Ty::Unknown => Ty::Seq(Enc::Num, Kind::Any),
                Ty::Scalar(k) | Ty::Seq(_, k) if *k == Kind::Str || *k == Kind::None => {
                    self.err(
                        pos[0].span,
                        "NotNumeric",
                        "E0203",
                        format!("`numeric` needs numbers or booleans, found {}", tys[0]),
                    );
                    Ty::Unknown
                }
                Ty::Scalar(k) => Ty::Scalar(if *k == Kind::Bool { Kind::Int } else { *k }),
                Ty::Seq(_, k) => Ty::Seq(Enc::Num, if *k == Kind::Bool { Kind::Int } else { *k }),
                other => {
                    self.mismatch(
                        pos[0].span,
                        format!("`numeric` needs a sequence, found {other}"),
                    );
                    Ty::Unknown
                }
            },
            "categorical" => match &tys[0] {
                Ty::Unknown => Ty::Seq(Enc::Cat, Kind::Any),
                Ty::Scalar(k) => Ty::Scalar(*k),
                Ty::Seq(_, k) => Ty::Seq(Enc::Cat, *k),
                other => {
                    self.mismatch(
                        pos[0].span,
                        format!("`categorical` needs a sequence, found {other}"),
                    );
                    Ty::Unknown
                }
            },
            _ if SCALAR_BUILTINS.contains(&name) => {
                let k = match name {
                    "round" | "floor" | "ceil" | "int" => Kind::Int,
                    "float" => Kind::Float,
                    "str" => Kind::Str,
                    _ => tys[0].kind(),
                };
                match &tys[0] {
                    Ty::Unknown => Ty::Unknown,
                    Ty::Scalar(_) => Ty::Scalar(k),
                    Ty::Seq(_, _) if k == Kind::Str => Ty::Seq(Enc::Cat, k),
                    Ty::Seq(e, _) => Ty::Seq(*e, k),
                    other => {
                        self.mismatch(
                            pos[0].span,
                            format!("`{name}` applies to scalars and sequences, found {other}"),
                        );
                        Ty::Unknown
                    }
                }
            }
            // Vector-symbolic forms: typed now, evaluated with the VSA layer.
            "bundle" => match &tys[0] {
                Ty::List(t) => match t.as_ref() {
                    t @ Ty::Hv { space, .. } => {
                        if let ExprKind::List(items) = &pos[0].kind {
                            self.bundle_capacity(&space.clone(), items.len(), span, module);
                        }
                        t.clone()
                    }
                    Ty::Unknown => Ty::Unknown,
                    other => {
                        self.mismatch(pos[0].span, format!("`bundle` needs a list of hypervectors of one space, found a list of {other}"));
                        Ty::Unknown
                    }
                },
                other => {
                    self.mismatch(
                        pos[0].span,
                        format!("`bundle` needs a list of hypervectors, found {other}"),
                    );
                    Ty::Unknown
                }
            },
            "permute" => {
                let t = self.want_hv(&tys[0], pos[0].span, name);
                match &tys[1] {
                    Ty::Unknown | Ty::Scalar(Kind::Int | Kind::Any) => t,
                    Ty::Seq(Enc::Cat, Kind::Int | Kind::Any) => match t {
                        Ty::Hv { space, .. } => Ty::Hv { space, seq: true },
                        other => other,
                    },
                    other => {
                        self.mismatch(
                            pos[1].span,
                            format!("`permute` shifts by an int or an int sequence, found {other}"),
                        );
                        t
                    }
                }
            }
            "sim" => {
                let a = self.want_hv(&tys[0], pos[0].span, name);
                let b = self.want_hv(&tys[1], pos[1].span, name);
                if let (Ty::Hv { space: s1, seq: q1 }, Ty::Hv { space: s2, seq: q2 }) = (&a, &b) {
                    if s1 != s2 {
                        self.err(
                            span,
                            "SpaceMismatch",
                            "E0205",
                            format!("`sim` of hypervectors from spaces `{s1}` and `{s2}`"),
                        );
                    }
                    return if *q1 || *q2 {
                        Ty::Seq(Enc::Num, Kind::Float)
                    } else {
                        Ty::Scalar(Kind::Float)
                    };
                }
                Ty::Unknown
            }
            "cleanup" => {
                let a = self.want_hv(&tys[0], pos[0].span, name);
                self.same_space(&a, &tys[1], pos[1].span, name);
                match a {
                    Ty::Hv { seq: false, .. } => Ty::Scalar(Kind::Str),
                    _ => Ty::Seq(Enc::Cat, Kind::Str),
                }
            }
            "embed" => {
                want_seq(self, 0, "the input");
                match &tys[1] {
                    Ty::Codebook(s) => Ty::Hv {
                        space: s.clone(),
                        seq: true,
                    },
                    Ty::Unknown => Ty::Unknown,
                    other => {
                        self.mismatch(
                            pos[1].span,
                            format!("`embed` needs a codebook, found {other}"),
                        );
                        Ty::Unknown
                    }
                }
            }
            "sum" => {
                want_sel(self, 0);
                match self.want_hv(&tys[1], pos[1].span, name) {
                    Ty::Hv { space, .. } => Ty::Hv { space, seq: true },
                    t => t,
                }
            }
            "factor" => {
                let a = self.want_hv(&tys[0], pos[0].span, name);
                if let ExprKind::List(books) = &pos[1].kind {
                    for b in books {
                        let bt = self.expr(b, env, module);
                        self.same_space(&a, &bt, b.span, name);
                    }
                } else if !tys[1].is_unknown() {
                    self.mismatch(
                        pos[1].span,
                        "`factor` needs a list of codebooks, e.g. [Color, Shape]",
                    );
                }
                Ty::List(Box::new(Ty::Seq(Enc::Cat, Kind::Str)))
            }
            "table" => {
                if !matches!(tys[0], Ty::Scalar(Kind::Str)) {
                    self.mismatch(
                        pos[0].span,
                        "`table` needs a file name string, e.g. table(\"f.truth\")",
                    );
                }
                Ty::Bits(None)
            }
            _ => Ty::Bits(None),
        }
    }

    /// Warn when a bundle of `k` hypervectors in `space` exceeds what cleanup against the
    /// space's largest codebook recovers reliably (`tessera_vsa::capacity`, calibrated rule).
    fn bundle_capacity(&mut self, space: &str, k: usize, span: Span, module: ModId) {
        let scope = &self.program.modules[module].scope;
        let Some(DefKind::Space { args, .. }) =
            scope.get(space).map(|&id| &self.program.def(id).kind)
        else {
            return;
        };
        let dim = args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.name == "dim"))
            .and_then(|a| match a.value.kind {
                ExprKind::Int(d) => usize::try_from(d).ok(),
                _ => None,
            })
            .unwrap_or(crate::interp::DEFAULT_DIM);
        let n = scope
            .values()
            .filter_map(|&id| match &self.program.def(id).kind {
                DefKind::Symbols { space: s, symbols } if s.name == space => Some(symbols.len()),
                _ => None,
            })
            .max()
            .unwrap_or(k)
            .max(k);
        let max = tessera_vsa::capacity::max_items(dim, n);
        if k > max && self.warned.insert(span) {
            self.diags.push(
                Diagnostic::warning(
                    "W0601",
                    "BundleCapacity",
                    format!(
                        "a bundle of {k} hypervectors in `{space}` (d = {dim}) may not give its items back"
                    ),
                )
                .with_primary(span, format!("{k} items; about {max} are reliable here"))
                .with_note(format!(
                    "rule: d >= {} * k * ln(n / {}) with n = {n} symbols to tell apart, calibrated by `tessera bench vsa`",
                    tessera_vsa::capacity::RULE_C,
                    tessera_vsa::capacity::DELTA
                ))
                .with_note(format!(
                    "help: raise `dim` to at least {}",
                    tessera_vsa::capacity::required_dim(k, n)
                )),
            );
        }
    }

    fn want_hv(&mut self, t: &Ty, span: Span, name: &str) -> Ty {
        match t {
            Ty::Hv { .. } | Ty::Unknown => t.clone(),
            other => {
                self.mismatch(span, format!("`{name}` needs a hypervector, found {other}"));
                Ty::Unknown
            }
        }
    }

    fn same_space(&mut self, hv: &Ty, book: &Ty, span: Span, name: &str) {
        match (hv, book) {
            (Ty::Hv { space, .. }, Ty::Codebook(s)) if space != s => {
                self.err(
                    span,
                    "SpaceMismatch",
                    "E0205",
                    format!(
                        "`{name}`: the hypervector is in space `{space}`, the codebook in `{s}`"
                    ),
                );
            }
            (_, Ty::Codebook(_) | Ty::Unknown) => {}
            (_, other) => self.mismatch(span, format!("`{name}` needs a codebook, found {other}")),
        }
    }
}

/// Whether a value of type `got` may stand where `want` is written.
fn compatible(want: &Ty, got: &Ty) -> bool {
    match (want, got) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (Ty::Scalar(Kind::Any), Ty::Scalar(_)) => true,
        (Ty::Scalar(a), Ty::Scalar(b)) => {
            a == b || *b == Kind::None || (*a == Kind::Float && *b == Kind::Int)
        }
        (Ty::Seq(e1, k1), Ty::Seq(e2, k2)) => {
            e1 == e2
                && (*k1 == Kind::Any
                    || *k2 == Kind::Any
                    || k1 == k2
                    || (*k1 == Kind::Float && *k2 != Kind::Str))
        }
        // A scalar broadcasts to a sequence.
        (Ty::Seq(..), Ty::Scalar(_)) => true,
        (Ty::List(_), Ty::List(_)) => true,
        (Ty::Bits(_), Ty::Bits(_)) => true,
        (a, b) => a == b,
    }
}

fn short_label(kind: &str) -> &'static str {
    match kind {
        "TypeMismatch" => "type error",
        "UnknownName" => "not found",
        "ArgumentCount" => "wrong number of arguments",
        "NotCallable" => "not a function",
        "SpaceMismatch" => "spaces differ",
        "NotNumeric" => "not numeric",
        _ => "here",
    }
}

/// Every name path referenced in an expression (for the call graph).
fn collect_names<'a>(e: &'a Expr, out: &mut Vec<(&'a [Ident], Span)>) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(p) => out.push((p, e.span)),
            ExprKind::Field(b, _) => stack.push(b),
            ExprKind::List(items) => stack.extend(items),
            ExprKind::Unary(_, a) => stack.push(a),
            ExprKind::Binary(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            ExprKind::If(c, a, b) => stack.extend([c.as_ref(), a, b]),
            ExprKind::Lambda(_, b) => stack.push(b),
            ExprKind::Call(f, args) => {
                stack.push(f);
                stack.extend(args.iter().map(|a| &a.value));
            }
            ExprKind::Select(k, q, op, _) => {
                stack.push(k);
                stack.push(q);
                if let SelOp::Lambda(l) = op {
                    stack.push(l);
                }
            }
            ExprKind::Index(a, i) => {
                stack.push(a);
                stack.push(i);
            }
            ExprKind::Slice(a, lo, hi) => {
                stack.push(a);
                stack.extend(lo.iter().map(|b| b.as_ref()));
                stack.extend(hi.iter().map(|b| b.as_ref()));
            }
            ExprKind::Block(stmts, r) => {
                collect_stmt_exprs(stmts, &mut stack);
                stack.push(r);
            }
            _ => {}
        }
    }
}

fn collect_stmt_exprs<'a>(stmts: &'a [Stmt], stack: &mut Vec<&'a Expr>) {
    for s in stmts {
        match s {
            Stmt::Let { value, .. } => stack.push(value),
            Stmt::For { iter, body, .. } => {
                stack.push(iter);
                collect_stmt_exprs(body, stack);
            }
            Stmt::Error(_) => {}
        }
    }
}

/// Whether an entry parameter is bound to the input (`true`) or set with `--arg` (`false`).
pub fn is_sequence_param(p: &crate::ast::Param) -> bool {
    p.default.is_none() && !p.ty.as_ref().is_some_and(|t| is_scalar_type(&t.name.name))
}
