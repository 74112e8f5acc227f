//! Lowering a checked program to the IR by symbolic unrolling.
//!
//! This walks the entry function exactly as the interpreter does, but instead of sequences of
//! values it produces IR nodes: a user function call is inlined, a `for` loop unrolled, a scalar
//! computation folded to a constant, and a lambda turned into a [`Fun`] by evaluating its body
//! on symbolic arguments (`Fun::Arg(i)`). Each construct maps to the node that computes what the
//! interpreter computes for it, so `eval(ast_to_ir(p)) == interp(p)` on every input; the tests
//! check this on the standard library.

use crate::ir::{Fun, HvConst, Ir, IrOutput, NodeId, Op, Pred, VsaBook, VsaOp, VsaSpace};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use tessera_lang::ast::{Arg, BinOp, Expr, ExprKind, FnDef, Ident, SelOp, Stmt, UnOp};
use tessera_lang::interp::Interp;
use tessera_lang::interp::{ArgValue, EntryArgs, is_builtin, is_scalar_type};
use tessera_lang::program::{DefId, DefKind, ModId, Program};
use tessera_lang::span::Span;
use tessera_lang::value::{SCALAR_BUILTINS, Val};
use tessera_vsa::Hv;

const MAX_DEPTH: usize = 4000;

/// Why a program could not be lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct LowerError {
    pub message: String,
    pub span: Span,
}

type R<T> = Result<T, LowerError>;

fn fail<T>(span: Span, message: impl Into<String>) -> R<T> {
    Err(LowerError {
        message: message.into(),
        span,
    })
}

#[derive(Debug, Clone)]
enum SV<'p> {
    Scalar(Val),
    Seq(NodeId),
    Sel(NodeId),
    /// A value inside a lambda that is being turned into an elementwise function.
    Elem(Fun),
    List(Vec<SV<'p>>),
    Lambda(Rc<Closure<'p>>),
    Func(DefId),
    /// One hypervector (the same at every position): folded now, as the interpreter computes it.
    HvScalar(VsaSpace, Rc<Hv>),
    /// A hypervector sequence node.
    Hv(NodeId),
    Space,
    Book(VsaBook),
}

#[derive(Debug)]
struct Closure<'p> {
    params: &'p [Ident],
    body: &'p Expr,
    env: Env<'p>,
    module: ModId,
}

type Env<'p> = Vec<(&'p str, SV<'p>)>;

/// Lower the entry `def` of `program` (sequence parameters read the input, scalar ones come
/// from `args` or their defaults).
pub fn ast_to_ir(program: &Program, def: DefId, args: &EntryArgs) -> R<Ir> {
    let mut l = Lower {
        program,
        ir: Ir::default(),
        globals: BTreeMap::new(),
        calls: HashMap::new(),
        depth: 0,
        consts: Interp::new(program, None),
    };
    let d = program.def(def);
    let out = match &d.kind {
        DefKind::Fn(f) => {
            let f: &FnDef = f;
            let mut env: Env<'_> = Vec::new();
            for p in &f.params {
                let v = match args.values.get(&p.name.name) {
                    Some(ArgValue::Scalar(v)) => SV::Scalar(v.clone()),
                    Some(ArgValue::List(items)) => {
                        SV::List(items.iter().map(|v| SV::Scalar(v.clone())).collect())
                    }
                    None => match &p.default {
                        Some(e) => l.eval(e, &mut env, d.module)?,
                        None if p.ty.as_ref().is_some_and(|t| is_scalar_type(&t.name.name)) => {
                            return fail(p.span, format!("give `--arg {}=VALUE`", p.name.name));
                        }
                        None => SV::Seq(l.ir.add(Op::Tokens, false, p.span)),
                    },
                };
                env.push((&p.name.name, v));
            }
            l.eval(&f.body, &mut env, d.module)?
        }
        DefKind::Let(e, _) => l.eval(e, &mut Vec::new(), d.module)?,
        DefKind::Gss(_) => {
            return fail(
                d.span,
                "a `gss` item is not compiled to a model (its output length depends on its input): `tessera run` executes it",
            );
        }
        _ => return fail(d.span, "only functions and lets can be compiled"),
    };
    l.ir.output = Some(match out {
        SV::Scalar(v) => IrOutput::Scalar(v),
        SV::Seq(n) => IrOutput::Seq(n),
        SV::Sel(n) => IrOutput::Sel(n),
        SV::Hv(_) | SV::HvScalar(..) => {
            return fail(
                d.span,
                "a hypervector cannot be a model's output: read it with `cleanup` or `sim`",
            );
        }
        _ => {
            return fail(
                d.span,
                "the entry must return a sequence, a selector or a scalar",
            );
        }
    });
    Ok(l.ir)
}

/// One argument of a memoised call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ArgKey {
    Node(NodeId),
    Def(DefId),
    None,
    Bool(bool),
    Int(i64),
    Str(String),
}

type CallKey = (DefId, Vec<(Option<String>, ArgKey)>);

/// The key of a call whose arguments are all nodes, functions or non-float scalars (`None`
/// otherwise: lambdas, lists and elementwise values are lowered each time).
fn call_key(id: DefId, args: &[(Option<&Ident>, SV<'_>)]) -> Option<CallKey> {
    let parts = args
        .iter()
        .map(|(name, v)| {
            let k = match v {
                SV::Seq(n) | SV::Sel(n) | SV::Hv(n) => ArgKey::Node(*n),
                SV::Func(d) => ArgKey::Def(*d),
                SV::Scalar(Val::None) => ArgKey::None,
                SV::Scalar(Val::Bool(b)) => ArgKey::Bool(*b),
                SV::Scalar(Val::Int(i)) => ArgKey::Int(*i),
                SV::Scalar(Val::Str(s)) => ArgKey::Str(s.to_string()),
                _ => return None,
            };
            Some((name.map(|n| n.name.clone()), k))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((id, parts))
}

struct Lower<'p> {
    program: &'p Program,
    ir: Ir,
    globals: BTreeMap<DefId, SV<'p>>,
    /// Lowered calls by (function, arguments) when every argument is a node, a scalar or a
    /// function: the same call lowers to the same nodes, so it is done once (a chain where each
    /// function calls the previous one twice stays linear).
    calls: HashMap<CallKey, SV<'p>>,
    depth: usize,
    /// Builds spaces and codebooks exactly as the interpreter does (the same seeds and names).
    consts: Interp<'p>,
}

fn is_arith(op: BinOp) -> bool {
    !(op.is_comparison()
        || matches!(
            op,
            BinOp::And | BinOp::Or | BinOp::Amp | BinOp::Pipe | BinOp::Xor
        ))
}

impl<'p> Lower<'p> {
    fn numeric(&self, v: &SV<'p>) -> bool {
        matches!(v, SV::Seq(n) if self.ir.node(*n).numeric)
    }

    fn seq_node(&mut self, v: SV<'p>, span: Span, what: &str) -> R<NodeId> {
        match v {
            SV::Seq(n) => Ok(n),
            SV::Scalar(x) => Ok(self.ir.add(Op::Const(x), false, span)),
            _ => fail(span, format!("{what} must be a sequence or a scalar")),
        }
    }

    fn sel_node(&self, v: SV<'p>, span: Span, what: &str) -> R<NodeId> {
        match v {
            SV::Sel(n) => Ok(n),
            _ => fail(span, format!("`{what}` needs a selector")),
        }
    }

    /// Combine operands elementwise with `build` (which receives one `Fun` per operand).
    fn elementwise(
        &mut self,
        parts: Vec<SV<'p>>,
        numeric: bool,
        span: Span,
        build: impl FnOnce(Vec<Fun>) -> Fun,
    ) -> R<SV<'p>> {
        let in_lambda = parts.iter().any(|p| matches!(p, SV::Elem(_)));
        let mut inputs: Vec<NodeId> = Vec::new();
        let mut funs = Vec::with_capacity(parts.len());
        for p in parts {
            funs.push(match p {
                SV::Scalar(v) => Fun::Const(v),
                SV::Elem(f) => f,
                SV::Seq(n) if !in_lambda => {
                    let i = inputs.iter().position(|&x| x == n).unwrap_or_else(|| {
                        inputs.push(n);
                        inputs.len() - 1
                    });
                    Fun::Arg(i)
                }
                SV::Seq(_) => {
                    return fail(
                        span,
                        "an elementwise function (lambda) cannot read a whole sequence",
                    );
                }
                _ => return fail(span, "expected a sequence or a scalar here"),
            });
        }
        let f = build(funs);
        if in_lambda {
            return Ok(SV::Elem(f));
        }
        if inputs.is_empty() {
            // All scalars: fold now, as the interpreter computes it.
            return f.eval(&[]).map(SV::Scalar).map_err(|e| LowerError {
                message: e.to_string(),
                span,
            });
        }
        Ok(SV::Seq(self.ir.add(
            Op::Elementwise { inputs, f },
            numeric,
            span,
        )))
    }

    fn eval(&mut self, e: &'p Expr, env: &mut Env<'p>, module: ModId) -> R<SV<'p>> {
        if self.depth > MAX_DEPTH {
            return fail(e.span, "nesting too deep to compile");
        }
        self.depth += 1;
        let r = tessera_lang::with_stack(|| self.eval_inner(e, env, module));
        self.depth -= 1;
        r
    }

    fn eval_inner(&mut self, e: &'p Expr, env: &mut Env<'p>, module: ModId) -> R<SV<'p>> {
        match &e.kind {
            ExprKind::Int(i) => Ok(SV::Scalar(Val::Int(*i))),
            ExprKind::Float(x) => Ok(SV::Scalar(Val::Float(*x))),
            ExprKind::Str(s) => Ok(SV::Scalar(Val::string(s))),
            ExprKind::Bool(b) => Ok(SV::Scalar(Val::Bool(*b))),
            ExprKind::None => Ok(SV::Scalar(Val::None)),
            ExprKind::Name(path) => self.name(path, e.span, env, module),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i, env, module)?);
                }
                Ok(SV::List(out))
            }
            ExprKind::Unary(op, a) => {
                let a = self.eval(a, env, module)?;
                if let SV::Sel(n) = a {
                    return Ok(SV::Sel(self.ir.add(Op::SelNot(n), false, e.span)));
                }
                let numeric = *op == UnOp::Neg && self.numeric(&a);
                let op = *op;
                self.elementwise(vec![a], numeric, e.span, |mut f| {
                    Fun::Unary(op, Box::new(f.remove(0)))
                })
            }
            ExprKind::Binary(BinOp::Add, ..) => self.add_chain(e, env, module),
            ExprKind::Binary(op, a, b) => {
                let a = self.eval(a, env, module)?;
                let b = self.eval(b, env, module)?;
                self.binary(*op, a, b, e.span)
            }
            ExprKind::If(c, a, b) => {
                let c = self.eval(c, env, module)?;
                match c {
                    SV::Scalar(Val::Bool(true)) => self.eval(a, env, module),
                    SV::Scalar(Val::Bool(false)) => self.eval(b, env, module),
                    SV::Scalar(_) => fail(c_span(e), "`if` needs a bool condition"),
                    c @ (SV::Seq(_) | SV::Elem(_)) => {
                        let a = self.eval(a, env, module)?;
                        let b = self.eval(b, env, module)?;
                        let numeric = self.numeric(&a) || self.numeric(&b);
                        self.elementwise(vec![c, a, b], numeric, e.span, |mut f| {
                            let b = f.pop();
                            let a = f.pop();
                            let c = f.pop();
                            match (c, a, b) {
                                (Some(c), Some(a), Some(b)) => {
                                    Fun::If(Box::new(c), Box::new(a), Box::new(b))
                                }
                                _ => Fun::Const(Val::None),
                            }
                        })
                    }
                    _ => fail(e.span, "`if` needs a bool condition"),
                }
            }
            ExprKind::Lambda(params, body) => Ok(SV::Lambda(Rc::new(Closure {
                params,
                body,
                env: env.clone(),
                module,
            }))),
            ExprKind::Call(callee, args) => self.call(callee, args, e.span, env, module),
            ExprKind::Select(k, q, op, _) => {
                let k = self.eval(k, env, module)?;
                let q = self.eval(q, env, module)?;
                let keys = self.seq_node(k, e.span, "the keys of `select`")?;
                let queries = self.seq_node(q, e.span, "the queries of `select`")?;
                let pred = match op {
                    SelOp::Cmp(c) => Pred::Cmp(*c),
                    SelOp::True => Pred::True,
                    SelOp::False => Pred::False,
                    SelOp::Lambda(lam) => {
                        let f = self.eval(lam, env, module)?;
                        match self.apply(
                            &f,
                            vec![SV::Elem(Fun::Arg(0)), SV::Elem(Fun::Arg(1))],
                            e.span,
                        )? {
                            SV::Elem(f) => Pred::Fun(f),
                            SV::Scalar(Val::Bool(true)) => Pred::True,
                            SV::Scalar(Val::Bool(false)) => Pred::False,
                            _ => return fail(e.span, "a select predicate must give a bool"),
                        }
                    }
                };
                Ok(SV::Sel(self.ir.add(
                    Op::Select {
                        keys,
                        queries,
                        pred,
                    },
                    false,
                    e.span,
                )))
            }
            ExprKind::Index(a, i) => {
                let a = self.eval(a, env, module)?;
                let i = self.eval(i, env, module)?;
                let idx = match i {
                    SV::Scalar(Val::Int(i)) => i,
                    _ => return fail(e.span, "an index must be an int scalar"),
                };
                match a {
                    SV::List(items) => {
                        let len = items.len() as i64;
                        let j = if idx < 0 { idx + len } else { idx };
                        match usize::try_from(j).ok().and_then(|j| items.get(j)) {
                            Some(v) => Ok(v.clone()),
                            None => fail(
                                e.span,
                                format!("index {idx} is out of range for length {len}"),
                            ),
                        }
                    }
                    SV::Seq(xs) => {
                        // xs[i]: the value at position i (from the end when negative), everywhere.
                        let indices = self.ir.add(Op::Indices, false, e.span);
                        let at = if idx >= 0 {
                            self.ir.add(Op::Const(Val::Int(idx)), false, e.span)
                        } else {
                            let length = self.ir.add(Op::Length, false, e.span);
                            let f = Fun::Binary(
                                BinOp::Add,
                                Box::new(Fun::Arg(0)),
                                Box::new(Fun::Const(Val::Int(idx))),
                            );
                            self.ir.add(
                                Op::Elementwise {
                                    inputs: vec![length],
                                    f,
                                },
                                false,
                                e.span,
                            )
                        };
                        let sel = self.ir.add(
                            Op::Select {
                                keys: indices,
                                queries: at,
                                pred: Pred::Cmp(BinOp::Eq),
                            },
                            false,
                            e.span,
                        );
                        let numeric = self.ir.node(xs).numeric;
                        Ok(SV::Seq(self.ir.add(
                            Op::Aggregate {
                                sel,
                                values: xs,
                                default: None,
                            },
                            numeric,
                            e.span,
                        )))
                    }
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
            ExprKind::Field(base, field) => match self.eval(base, env, module)? {
                SV::Book(b) => match b.book.index_of(&field.name) {
                    Some(i) => Ok(SV::HvScalar(
                        b.space.clone(),
                        Rc::new(b.book.vectors()[i].clone()),
                    )),
                    None => fail(
                        field.span,
                        format!("the codebook `{}` has no symbol `{}`", b.name, field.name),
                    ),
                },
                _ => fail(base.span, "only codebooks have fields"),
            },
            ExprKind::Slice(..) => {
                fail(e.span, "circuit slices cannot be compiled to a transformer")
            }
            ExprKind::Error => fail(e.span, "syntax error"),
        }
    }

    fn binary(&mut self, op: BinOp, a: SV<'p>, b: SV<'p>, span: Span) -> R<SV<'p>> {
        if is_hv(&a) || is_hv(&b) {
            let vop = match op {
                BinOp::Mul => VsaOp::Bind {
                    space: self.hv_space(&a, span)?,
                },
                BinOp::Div => VsaOp::Unbind {
                    space: self.hv_space(&a, span)?,
                },
                BinOp::Add => return self.bundle(vec![a, b], span),
                _ => return fail(span, "hypervectors combine with `*`, `/` and `+`"),
            };
            return self.vsa(vop, vec![a, b], span);
        }
        if let (SV::Sel(x), SV::Sel(y)) = (&a, &b) {
            let (x, y) = (*x, *y);
            let n = match op {
                BinOp::And | BinOp::Amp => self.ir.add(Op::SelAnd(x, y), false, span),
                BinOp::Or | BinOp::Pipe => self.ir.add(Op::SelOr(x, y), false, span),
                BinOp::Xor => {
                    let nx = self.ir.add(Op::SelNot(x), false, span);
                    let ny = self.ir.add(Op::SelNot(y), false, span);
                    let l = self.ir.add(Op::SelAnd(x, ny), false, span);
                    let r = self.ir.add(Op::SelAnd(nx, y), false, span);
                    self.ir.add(Op::SelOr(l, r), false, span)
                }
                _ => return fail(span, "selectors combine with `&`, `|` and `!`"),
            };
            return Ok(SV::Sel(n));
        }
        let numeric = is_arith(op) && (self.numeric(&a) || self.numeric(&b));
        self.elementwise(vec![a, b], numeric, span, |mut f| {
            let b = f.pop().unwrap_or(Fun::Const(Val::None));
            let a = f.pop().unwrap_or(Fun::Const(Val::None));
            Fun::Binary(op, Box::new(a), Box::new(b))
        })
    }

    fn stmts(&mut self, stmts: &'p [Stmt], env: &mut Env<'p>, module: ModId) -> R<()> {
        for s in stmts {
            match s {
                Stmt::Let { name, value, .. } => {
                    let v = self.eval(value, env, module)?;
                    env.push((&name.name, v));
                }
                Stmt::For {
                    var, iter, body, ..
                } => {
                    let items = match self.eval(iter, env, module)? {
                        SV::List(items) => items,
                        _ => return fail(iter.span, "`for` iterates over a constant list"),
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

    fn name(&mut self, path: &'p [Ident], span: Span, env: &Env<'p>, module: ModId) -> R<SV<'p>> {
        if let [single] = path {
            if let Some((_, v)) = env.iter().rev().find(|(n, _)| *n == single.name) {
                return Ok(v.clone());
            }
            if !self.program.modules[module]
                .scope
                .contains_key(&single.name)
            {
                let op = match single.name.as_str() {
                    "tokens" => Some(Op::Tokens),
                    "indices" => Some(Op::Indices),
                    "length" => Some(Op::Length),
                    _ => None,
                };
                if let Some(op) = op {
                    return Ok(SV::Seq(self.ir.add(op, false, span)));
                }
            }
        }
        let id = self.program.resolve(module, path).map_err(|d| LowerError {
            message: d.message,
            span,
        })?;
        let def = self.program.def(id);
        match &def.kind {
            DefKind::Fn(_) => Ok(SV::Func(id)),
            DefKind::Space { .. } => {
                self.space_of(id, span)?;
                Ok(SV::Space)
            }
            DefKind::Symbols { .. } => Ok(SV::Book(self.book_of(id, span)?)),
            DefKind::Let(e, _) => {
                if let Some(v) = self.globals.get(&id) {
                    return Ok(v.clone());
                }
                let e: &'p Expr = e;
                let v = self.eval(e, &mut Vec::new(), def.module)?;
                self.globals.insert(id, v.clone());
                Ok(v)
            }
            _ => fail(span, "circuit items cannot be compiled to a transformer"),
        }
    }

    fn apply(&mut self, f: &SV<'p>, args: Vec<SV<'p>>, span: Span) -> R<SV<'p>> {
        match f {
            SV::Lambda(c) => {
                if c.params.len() != args.len() {
                    return fail(span, "wrong number of lambda arguments");
                }
                let mut env = c.env.clone();
                for (p, a) in c.params.iter().zip(args) {
                    env.push((&p.name, a));
                }
                self.eval(c.body, &mut env, c.module)
            }
            SV::Func(id) => self.call_fn(*id, args.into_iter().map(|a| (None, a)).collect(), span),
            _ => fail(span, "expected a function or a lambda"),
        }
    }

    fn call_fn(
        &mut self,
        id: DefId,
        args: Vec<(Option<&'p Ident>, SV<'p>)>,
        span: Span,
    ) -> R<SV<'p>> {
        let def = self.program.def(id);
        let f: &'p FnDef = match &def.kind {
            DefKind::Fn(f) => f,
            _ => return fail(span, "not a function"),
        };
        let key = call_key(id, &args);
        if let Some(v) = key.as_ref().and_then(|k| self.calls.get(k)) {
            return Ok(v.clone());
        }
        let slots = tessera_lang::program::bind_arguments(f, &def.name, args, span)
            .map_err(|(span, message)| LowerError { message, span })?;
        let mut env: Env<'p> = Vec::new();
        for (p, slot) in f.params.iter().zip(slots) {
            let v = match (slot, &p.default) {
                (Some(v), _) => v,
                (None, Some(d)) => self.eval(d, &mut env, def.module)?,
                (None, None) => return fail(span, format!("missing argument `{}`", p.name.name)),
            };
            env.push((&p.name.name, v));
        }
        let r = self.eval(&f.body, &mut env, def.module)?;
        if let Some(k) = key {
            self.calls.insert(k, r.clone());
        }
        Ok(r)
    }

    fn call(
        &mut self,
        callee: &'p Expr,
        args: &'p [Arg],
        span: Span,
        env: &mut Env<'p>,
        module: ModId,
    ) -> R<SV<'p>> {
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
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push((a.name.as_ref(), self.eval(&a.value, env, module)?));
        }
        match f {
            SV::Func(id) => self.call_fn(id, vals, span),
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
    ) -> R<SV<'p>> {
        let mut pos = Vec::new();
        let mut default = None;
        let mut min = None;
        let mut z = None;
        for a in args {
            let v = self.eval(&a.value, env, module)?;
            match &a.name {
                Some(n) if n.name == "default" => match v {
                    SV::Scalar(d) => default = Some(d),
                    _ => return fail(a.value.span, "a default must be a scalar"),
                },
                Some(n) if n.name == "min" && name == "cleanup" => match v {
                    SV::Scalar(Val::Float(x)) => min = Some(x),
                    SV::Scalar(Val::Int(i)) => min = Some(i as f64),
                    _ => return fail(a.value.span, "`min` must be a number"),
                },
                Some(n) if n.name == "z" && name == "cleanup" => match v {
                    SV::Scalar(Val::Float(x)) => z = Some(x),
                    SV::Scalar(Val::Int(i)) => z = Some(i as f64),
                    _ => return fail(a.value.span, "`z` must be a number"),
                },
                Some(n) => return fail(n.span, format!("`{name}` has no option `{}`", n.name)),
                None => pos.push(v),
            }
        }
        if name == "cleanup" && pos.len() == 3 {
            match pos.pop() {
                Some(SV::Scalar(Val::Float(x))) => min = Some(x),
                Some(SV::Scalar(Val::Int(i))) => min = Some(i as f64),
                _ => return fail(span, "`min` must be a number"),
            }
        }
        if default.is_none() && pos.len() == 3 && matches!(name, "aggregate" | "gather" | "best") {
            match pos.pop() {
                Some(SV::Scalar(d)) => default = Some(d),
                _ => return fail(span, "a default must be a scalar"),
            }
        }
        let mut arg = |i: usize| -> R<SV<'p>> {
            match pos.get_mut(i) {
                Some(v) => Ok(std::mem::replace(v, SV::Scalar(Val::None))),
                None => fail(span, format!("`{name}` is missing argument {}", i + 1)),
            }
        };
        match name {
            "aggregate" => {
                let sel = arg(0)?;
                let sel = self.sel_node(sel, span, name)?;
                let xs = arg(1)?;
                let numeric = self.numeric(&xs);
                let values = self.seq_node(xs, span, "the values of `aggregate`")?;
                Ok(SV::Seq(self.ir.add(
                    Op::Aggregate {
                        sel,
                        values,
                        default,
                    },
                    numeric,
                    span,
                )))
            }
            "gather" => {
                let ptr = arg(0)?;
                let ptr = self.seq_node(ptr, span, "the pointer of `gather`")?;
                let xs = arg(1)?;
                let numeric = self.numeric(&xs);
                let values = self.seq_node(xs, span, "the values of `gather`")?;
                let indices = self.ir.add(Op::Indices, false, span);
                let sel = self.ir.add(
                    Op::Select {
                        keys: indices,
                        queries: ptr,
                        pred: Pred::Cmp(BinOp::Eq),
                    },
                    false,
                    span,
                );
                Ok(SV::Seq(self.ir.add(
                    Op::Aggregate {
                        sel,
                        values,
                        default,
                    },
                    numeric,
                    span,
                )))
            }
            "best" => {
                let sel = arg(0)?;
                let sel = self.sel_node(sel, span, name)?;
                let score = arg(1)?;
                let score = self.seq_node(score, span, "the score of `best`")?;
                Ok(SV::Seq(self.ir.add(
                    Op::Best {
                        sel,
                        score,
                        default,
                    },
                    false,
                    span,
                )))
            }
            "mean" => {
                let sel = arg(0)?;
                let sel = self.sel_node(sel, span, name)?;
                let xs = arg(1)?;
                let values = self.seq_node(xs, span, "the values of `mean`")?;
                Ok(SV::Seq(self.ir.add(Op::Mean { sel, values }, true, span)))
            }
            "width" => {
                let sel = arg(0)?;
                let sel = self.sel_node(sel, span, name)?;
                Ok(SV::Seq(self.ir.add(Op::Width { sel }, false, span)))
            }
            "map" | "zipmap" => {
                let n = if name == "map" { 1 } else { 2 };
                let f = arg(n)?;
                let inputs: Vec<SV<'p>> = (0..n).map(&mut arg).collect::<R<_>>()?;
                let numeric = inputs.iter().any(|v| self.numeric(v));
                if inputs
                    .iter()
                    .all(|v| matches!(v, SV::Scalar(_) | SV::Elem(_)))
                {
                    return self.apply(&f, inputs, span);
                }
                // Apply the function to symbolic arguments, one per input.
                let symbolic: Vec<SV<'p>> = (0..n).map(|i| SV::Elem(Fun::Arg(i))).collect();
                let body = match self.apply(&f, symbolic, span)? {
                    SV::Elem(f) => f,
                    SV::Scalar(v) => Fun::Const(v),
                    _ => {
                        return fail(
                            span,
                            "a map function must be elementwise (scalar in, scalar out)",
                        );
                    }
                };
                let mut nodes = Vec::with_capacity(n);
                for v in inputs {
                    nodes.push(self.seq_node(v, span, "the input of a map")?);
                }
                Ok(SV::Seq(self.ir.add(
                    Op::Elementwise {
                        inputs: nodes,
                        f: body,
                    },
                    numeric,
                    span,
                )))
            }
            "numeric" => {
                let x = arg(0)?;
                self.elementwise(vec![x], true, span, |mut f| {
                    Fun::Numeric(Box::new(f.remove(0)))
                })
            }
            "categorical" => match arg(0)? {
                SV::Seq(n) if self.ir.node(n).numeric => Ok(SV::Seq(self.ir.add(
                    Op::Elementwise {
                        inputs: vec![n],
                        f: Fun::Arg(0),
                    },
                    false,
                    span,
                ))),
                other => Ok(other),
            },
            _ if SCALAR_BUILTINS.contains(&name) => {
                let x = arg(0)?;
                let numeric = self.numeric(&x) && name != "str";
                let b: &'static str = SCALAR_BUILTINS
                    .iter()
                    .find(|b| **b == name)
                    .copied()
                    .unwrap_or("str");
                self.elementwise(vec![x], numeric, span, |mut f| {
                    Fun::Builtin(b, Box::new(f.remove(0)))
                })
            }
            "bundle" => match arg(0)? {
                SV::List(items) => self.bundle(items, span),
                _ => fail(span, "`bundle` needs a list of hypervectors"),
            },
            "permute" => {
                let a = arg(0)?;
                let space = self.hv_space(&a, span)?;
                match arg(1)? {
                    SV::Scalar(Val::Int(k)) => self.vsa(VsaOp::Permute { space, k }, vec![a], span),
                    k @ SV::Seq(_) => self.vsa(VsaOp::PermuteBy { space }, vec![a, k], span),
                    _ => fail(span, "`permute` shifts by an int or an int sequence"),
                }
            }
            "sim" => {
                let (a, b) = (arg(0)?, arg(1)?);
                let space = self.hv_space(&a, span)?;
                self.vsa(VsaOp::Sim { space }, vec![a, b], span)
            }
            "cleanup" => {
                let a = arg(0)?;
                match arg(1)? {
                    SV::Book(book) => {
                        // `z:` as the interpreter reads it.
                        let min = book.space.space.threshold(min, z);
                        self.vsa(VsaOp::Cleanup { book, min }, vec![a], span)
                    }
                    _ => fail(span, "`cleanup` needs a codebook"),
                }
            }
            "embed" => {
                let xs = arg(0)?;
                match arg(1)? {
                    SV::Book(book) => self.vsa(VsaOp::Embed { book }, vec![xs], span),
                    _ => fail(span, "`embed` needs a codebook"),
                }
            }
            "sum" => {
                let (s, h) = (arg(0)?, arg(1)?);
                let space = self.hv_space(&h, span)?;
                self.vsa(VsaOp::Sum { space }, vec![s, h], span)
            }
            "factor" => fail(
                span,
                "`factor` (the resonator network) runs in the interpreter; it does not compile to a model",
            ),
            _ => fail(span, format!("`{name}` cannot be compiled yet")),
        }
    }
}

fn is_hv(v: &SV<'_>) -> bool {
    matches!(v, SV::Hv(_) | SV::HvScalar(..))
}

impl<'p> Lower<'p> {
    fn space_of(&mut self, id: DefId, span: Span) -> R<VsaSpace> {
        let space = self.consts.vsa_space(id, span).map_err(|e| LowerError {
            message: e.message,
            span: e.span,
        })?;
        Ok(VsaSpace {
            name: self.program.qualified(id),
            space,
        })
    }

    fn book_of(&mut self, id: DefId, span: Span) -> R<VsaBook> {
        let (sid, book) = self.consts.vsa_book(id, span).map_err(|e| LowerError {
            message: e.message,
            span: e.span,
        })?;
        Ok(VsaBook {
            name: self.program.qualified(id),
            space: self.space_of(sid, span)?,
            book,
        })
    }

    /// The space of a hypervector operand.
    fn hv_space(&self, v: &SV<'p>, span: Span) -> R<VsaSpace> {
        match v {
            SV::HvScalar(s, _) => Ok(s.clone()),
            SV::Hv(n) => match &self.ir.node(*n).op {
                Op::Vsa { op, .. } => Ok(op.space().clone()),
                _ => fail(span, "expected a hypervector"),
            },
            _ => fail(span, "expected a hypervector"),
        }
    }

    /// A `+` chain: one bundle when its first operand is a hypervector (as the interpreter
    /// evaluates it), else the ordinary left fold.
    fn add_chain(&mut self, e: &'p Expr, env: &mut Env<'p>, module: ModId) -> R<SV<'p>> {
        let (head, rhs) = tessera_lang::ast::add_chain(e);
        let first = self.eval(head, env, module)?;
        if is_hv(&first) {
            let mut items = vec![first];
            for (r, _) in &rhs {
                items.push(self.eval(r, env, module)?);
            }
            return self.bundle(items, e.span);
        }
        let mut acc = first;
        for (r, span) in rhs {
            let b = self.eval(r, env, module)?;
            acc = self.binary(BinOp::Add, acc, b, span)?;
        }
        Ok(acc)
    }

    fn bundle(&mut self, items: Vec<SV<'p>>, span: Span) -> R<SV<'p>> {
        let Some(first) = items.first() else {
            return fail(span, "a bundle needs at least one hypervector");
        };
        let space = self.hv_space(first, span)?;
        self.vsa(VsaOp::Bundle { space }, items, span)
    }

    /// Fold when every operand is a constant vector; otherwise add the node.
    fn vsa(&mut self, op: VsaOp, parts: Vec<SV<'p>>, span: Span) -> R<SV<'p>> {
        let space = op.space().space.clone();
        let err = |e: tessera_vsa::VsaError| LowerError {
            message: e.to_string(),
            span,
        };
        let consts: Option<Vec<Rc<Hv>>> = parts
            .iter()
            .map(|p| match p {
                SV::HvScalar(_, v) => Some(v.clone()),
                _ => None,
            })
            .collect();
        let foldable = match &op {
            VsaOp::Embed { .. }
            | VsaOp::Sum { .. }
            | VsaOp::PermuteBy { .. }
            | VsaOp::Const { .. } => None,
            _ => consts,
        };
        if let Some(c) = foldable {
            let hv = |v: Hv| SV::HvScalar(op.space().clone(), Rc::new(v));
            return Ok(match &op {
                VsaOp::Bind { .. } => hv(space.bind(&c[0], &c[1]).map_err(err)?),
                VsaOp::Unbind { .. } => hv(space.unbind(&c[0], &c[1]).map_err(err)?),
                VsaOp::Bundle { .. } => {
                    let refs: Vec<&Hv> = c.iter().map(|v| v.as_ref()).collect();
                    hv(space.bundle(&refs).map_err(err)?)
                }
                VsaOp::Permute { k, .. } => hv(space.permute(&c[0], *k).map_err(err)?),
                VsaOp::Sim { .. } => {
                    SV::Scalar(Val::Float(space.similarity(&c[0], &c[1]).map_err(err)?))
                }
                VsaOp::Cleanup { book, min } => {
                    let vals =
                        tessera_lang::kernels::cleanup(&book.book, &[c[0].as_ref().clone()], *min)
                            .map_err(|e| LowerError {
                                message: e.message,
                                span,
                            })?;
                    SV::Scalar(vals.into_iter().next().unwrap_or(Val::None))
                }
                _ => return fail(span, "internal error: an unfoldable VSA operation"),
            });
        }
        let mut inputs = Vec::with_capacity(parts.len());
        for p in parts {
            inputs.push(match p {
                SV::Hv(n) | SV::Seq(n) | SV::Sel(n) => n,
                SV::HvScalar(sp, v) => self.ir.add(
                    Op::Vsa {
                        op: VsaOp::Const {
                            space: sp,
                            vec: HvConst(v),
                        },
                        inputs: vec![],
                    },
                    false,
                    span,
                ),
                SV::Scalar(x) => self.ir.add(Op::Const(x), false, span),
                _ => {
                    return fail(
                        span,
                        "expected a hypervector, a sequence or a selector here",
                    );
                }
            });
        }
        let numeric = matches!(op, VsaOp::Sim { .. });
        let makes_hv = op.makes_hv();
        let id = self.ir.add(Op::Vsa { op, inputs }, numeric, span);
        Ok(if makes_hv { SV::Hv(id) } else { SV::Seq(id) })
    }
}

fn c_span(e: &Expr) -> Span {
    match &e.kind {
        ExprKind::If(c, _, _) => c.span,
        _ => e.span,
    }
}
