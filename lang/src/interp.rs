//! The reference interpreter: **the specification** every later stage is checked against.
//!
//! It evaluates a checked program eagerly on one concrete input. Functions, lists and `for`
//! loops are compile-time constructs in the language (they unroll, as in RASP); evaluating them
//! directly on the input computes exactly what the unrolled program computes. Sequences are
//! vectors of [`Val`], selectors are dense boolean matrices indexed `[query][key]`, and every
//! elementwise operator comes from [`crate::value`]. The code follows LANGUAGE.md line by line;
//! where it is faster than the obvious loop (selector comparisons on plain integers, memoised
//! lambdas), the fast path computes the same function and the tests compare both.

use crate::ast::{Arg, BinOp, Expr, ExprKind, Ident, SelOp, Stmt, UnOp};
use crate::diag::Diagnostic;
use crate::kernels;
use crate::program::{DefId, DefKind, ModId, Program};
use crate::span::Span;
use crate::value::{self, OpError, Val};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::rc::Rc;

mod vsa;
pub use vsa::{DEFAULT_DIM, HvOutput, HvVal};

/// A sequence: one value per position, and whether it is numerically encoded (`num`).
#[derive(Debug, Clone, PartialEq)]
pub struct Seq {
    pub vals: Vec<Val>,
    pub numeric: bool,
}

pub use crate::kernels::Selector;

/// A runtime value.
#[derive(Debug, Clone)]
pub enum Value<'p> {
    Scalar(Val),
    Seq(Rc<Seq>),
    Sel(Rc<Selector>),
    List(Rc<Vec<Value<'p>>>),
    Lambda(Rc<Closure<'p>>),
    Func(DefId),
    /// Hypervectors (one, or one per position).
    Hv(Rc<HvVal>),
    /// A `space` item named as a value.
    Space(DefId),
    /// A `symbols` item: a codebook.
    Codebook(DefId),
}

#[derive(Debug)]
pub struct Closure<'p> {
    pub params: &'p [Ident],
    pub body: &'p Expr,
    pub env: Env<'p>,
    pub module: ModId,
}

impl Value<'_> {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::Seq(s) if s.numeric => "num",
            Value::Seq(_) => "cat",
            Value::Sel(_) => "sel",
            Value::List(_) => "list",
            Value::Lambda(_) => "lambda",
            Value::Func(_) => "function",
            Value::Hv(h) if h.seq => "hv sequence",
            Value::Hv(_) => "hypervector",
            Value::Space(_) => "space",
            Value::Codebook(_) => "codebook",
        }
    }
}

/// A value detached from the program (what `run` returns).
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Scalar(Val),
    Seq(Seq),
    Sel(Selector),
    List(Vec<Output>),
    Function(String),
    Hv(HvOutput),
}

impl Output {
    /// The printed form of LANGUAGE.md: tokens separated by spaces; selectors as a 0/1 grid.
    pub fn render(&self) -> String {
        match self {
            Output::Scalar(v) => v.to_string(),
            Output::Seq(s) => s
                .vals
                .iter()
                .map(Val::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            Output::Sel(s) => {
                let mut out = String::new();
                for q in 0..s.n {
                    let row: Vec<&str> = s
                        .row(q)
                        .iter()
                        .map(|&b| if b { "1" } else { "0" })
                        .collect();
                    let _ = writeln!(out, "{}", row.join(" "));
                }
                out.trim_end().to_string()
            }
            Output::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Output::render)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Output::Function(name) => format!("<fn {name}>"),
            Output::Hv(h) => h.render(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        fn val(v: &Val) -> serde_json::Value {
            match v {
                Val::None => serde_json::Value::Null,
                Val::Bool(b) => json!(b),
                Val::Int(i) => json!(i),
                Val::Float(x) => serde_json::Number::from_f64(*x)
                    .map_or_else(|| json!(value::format_float(*x)), serde_json::Value::Number),
                Val::Str(s) => json!(s.as_ref()),
            }
        }
        match self {
            Output::Scalar(v) => json!({"type": "scalar", "value": val(v)}),
            Output::Seq(s) => json!({
                "type": if s.numeric { "num" } else { "cat" },
                "value": s.vals.iter().map(val).collect::<Vec<_>>(),
            }),
            Output::Sel(s) => json!({
                "type": "sel",
                "value": (0..s.n).map(|q| s.row(q).to_vec()).collect::<Vec<_>>(),
            }),
            Output::List(items) => json!({
                "type": "list",
                "value": items.iter().map(Output::to_json).collect::<Vec<_>>(),
            }),
            Output::Function(name) => json!({"type": "function", "value": name}),
            Output::Hv(h) => h.to_json(),
        }
    }
}

/// Persistent (shared-tail) environment of local bindings.
pub type Env<'p> = Option<Rc<Frame<'p>>>;

#[derive(Debug)]
pub struct Frame<'p> {
    name: &'p str,
    value: Value<'p>,
    parent: Env<'p>,
}

fn bind<'p>(env: &Env<'p>, name: &'p str, value: Value<'p>) -> Env<'p> {
    Some(Rc::new(Frame {
        name,
        value,
        parent: env.clone(),
    }))
}

fn lookup<'a, 'p>(env: &'a Env<'p>, name: &str) -> Option<&'a Value<'p>> {
    let mut cur = env.as_ref();
    while let Some(f) = cur {
        if f.name == name {
            return Some(&f.value);
        }
        cur = f.parent.as_ref();
    }
    None
}

/// A runtime error: what, where in the source, and at which query position.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeError {
    pub kind: &'static str,
    pub message: String,
    pub span: Span,
    pub position: Option<usize>,
    pub notes: Vec<String>,
}

impl RuntimeError {
    fn new(kind: &'static str, span: Span, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            kind,
            message: message.into(),
            span,
            position: None,
            notes: Vec::new(),
        }
    }

    fn with_note(mut self, note: impl Into<String>) -> RuntimeError {
        self.notes.push(note.into());
        self
    }

    fn at(mut self, q: usize) -> RuntimeError {
        self.position = Some(q);
        self
    }

    fn op(e: OpError, span: Span) -> RuntimeError {
        let kind = match e {
            OpError::Type(_) => "TypeError",
            OpError::DivisionByZero => "DivisionByZero",
            OpError::Overflow(_) => "Overflow",
        };
        RuntimeError::new(kind, span, e.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self.kind {
            "EmptySelection" => "E0501",
            "AggregateConflict" => "E0502",
            "TypeError" => "E0503",
            "DivisionByZero" => "E0504",
            "Overflow" => "E0505",
            "IndexOutOfRange" => "E0506",
            "Unsupported" => "E0507",
            "RecursionLimit" => "E0508",
            "MissingInput" => "E0509",
            "UnknownSymbol" => "E0510",
            "LimitExceeded" => "E0511",
            "InputTooLong" => "E0512",
            "UnknownName" => "E0100",
            _ => "E0500",
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        let label = match self.position {
            Some(q) => format!("{} at query position {q}", self.kind),
            None => self.kind.to_string(),
        };
        let mut d = Diagnostic::error(self.code(), self.kind, self.message.clone())
            .with_primary(self.span, label);
        for n in &self.notes {
            d = d.with_note(n.clone());
        }
        d
    }
}

type R<T> = Result<T, RuntimeError>;

/// One run of a program on one input.
/// One argument of a memoised call: a scalar by value, anything shared by its address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ArgKey {
    None,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(std::sync::Arc<str>),
    Ptr(usize),
    Def(DefId),
}

type CallKey = (DefId, Vec<(Option<String>, ArgKey)>);

fn call_key(id: DefId, args: &[(Option<&Ident>, Value<'_>)]) -> Option<CallKey> {
    let parts = args
        .iter()
        .map(|(name, v)| {
            let k = match v {
                Value::Scalar(Val::None) => ArgKey::None,
                Value::Scalar(Val::Bool(b)) => ArgKey::Bool(*b),
                Value::Scalar(Val::Int(i)) => ArgKey::Int(*i),
                Value::Scalar(Val::Float(x)) => ArgKey::Float(x.to_bits()),
                Value::Scalar(Val::Str(s)) => ArgKey::Str(s.clone()),
                Value::Seq(r) => ArgKey::Ptr(Rc::as_ptr(r) as usize),
                Value::Sel(r) => ArgKey::Ptr(Rc::as_ptr(r) as usize),
                Value::List(r) => ArgKey::Ptr(Rc::as_ptr(r) as usize),
                Value::Lambda(r) => ArgKey::Ptr(Rc::as_ptr(r) as usize),
                Value::Hv(r) => ArgKey::Ptr(Rc::as_ptr(r) as usize),
                Value::Func(d) | Value::Space(d) | Value::Codebook(d) => ArgKey::Def(*d),
            };
            (name.map(|n| n.name.clone()), k)
        })
        .collect();
    Some((id, parts))
}

pub struct Interp<'p> {
    program: &'p Program,
    n: usize,
    tokens: Rc<Seq>,
    indices: Rc<Seq>,
    length: Rc<Seq>,
    /// Whether an input was given; without one, reading the input is an error.
    has_input: bool,
    lets: RefCell<HashMap<DefId, Value<'p>>>,
    lets_in_progress: RefCell<Vec<DefId>>,
    depth: Cell<usize>,
    nest: Cell<usize>,
    /// Results of function calls by (function, arguments): functions are pure, so a program
    /// that calls the same function on the same values many times (a chain where each function
    /// calls the previous one twice) runs in linear, not exponential, time. The arguments are
    /// kept alive with the result, so the addresses in the keys stay unique.
    calls: RefCell<HashMap<CallKey, (Vec<Value<'p>>, Value<'p>)>>,
    /// Spaces and codebooks, built on first use.
    spaces: RefCell<HashMap<DefId, Rc<tessera_vsa::Space>>>,
    books: RefCell<HashMap<DefId, (DefId, Rc<tessera_vsa::Codebook>)>>,
}

/// How to bind an entry function's parameters.
#[derive(Debug, Clone, Default)]
pub struct EntryArgs {
    /// `--arg name=value`
    pub values: BTreeMap<String, ArgValue>,
}

/// The value of one `--arg`: a scalar, or a constant list (`[a, b, c]`).
#[derive(Debug, Clone, PartialEq)]
pub enum ArgValue {
    Scalar(Val),
    List(Vec<Val>),
}

impl<'p> Interp<'p> {
    /// Prepare a run on `input` (`None`: the program must not read its input).
    pub fn new(program: &'p Program, input: Option<&[Val]>) -> Interp<'p> {
        let toks: Vec<Val> = input.map(<[Val]>::to_vec).unwrap_or_default();
        let n = toks.len();
        let ni = i64::try_from(n).unwrap_or(i64::MAX);
        Interp {
            program,
            n,
            tokens: Rc::new(Seq {
                vals: toks,
                numeric: false,
            }),
            indices: Rc::new(Seq {
                vals: (0..ni).map(Val::Int).collect(),
                numeric: false,
            }),
            length: Rc::new(Seq {
                vals: vec![Val::Int(ni); n],
                numeric: false,
            }),
            has_input: input.is_some(),
            lets: RefCell::new(HashMap::new()),
            lets_in_progress: RefCell::new(Vec::new()),
            depth: Cell::new(0),
            calls: RefCell::new(HashMap::new()),
            nest: Cell::new(0),
            spaces: RefCell::new(HashMap::new()),
            books: RefCell::new(HashMap::new()),
        }
    }

    /// Run the entry function `def` (sequence parameters get `tokens`).
    pub fn run_entry(&self, def: DefId, args: &EntryArgs) -> R<Output> {
        let d: &'p crate::program::Def = self.program.def(def);
        let max = self.program.limits.input_tokens;
        if self.n > max {
            return Err(RuntimeError::new(
                "InputTooLong",
                d.span,
                format!(
                    "the input has {} tokens; the limit is {max} (`{}`)",
                    self.n,
                    crate::limits::INPUT_TOKENS.flag
                ),
            ));
        }
        let f: &'p crate::ast::FnDef = match &d.kind {
            DefKind::Fn(f) => f,
            DefKind::Let(e, _) => {
                let v = self.eval_let(def, e, d.span)?;
                return Ok(self.detach(&v));
            }
            _ => {
                return Err(RuntimeError::new(
                    "TypeError",
                    d.span,
                    format!("`{}` is not a function", d.name),
                ));
            }
        };
        let mut env: Env<'p> = None;
        for p in &f.params {
            let v = if let Some(v) = args.values.get(&p.name.name) {
                match v {
                    ArgValue::Scalar(v) => Value::Scalar(v.clone()),
                    ArgValue::List(items) => {
                        Value::List(Rc::new(items.iter().cloned().map(Value::Scalar).collect()))
                    }
                }
            } else if let Some(def_expr) = &p.default {
                self.eval(def_expr, &env, d.module, 0)?
            } else if p.ty.as_ref().is_some_and(|t| is_scalar_type(&t.name.name)) {
                return Err(RuntimeError::new(
                    "MissingInput",
                    p.span,
                    format!(
                        "the entry parameter `{}` is a scalar: give it with `--arg {}=VALUE`",
                        p.name.name, p.name.name
                    ),
                ));
            } else {
                self.read_input(p.span)?;
                Value::Seq(self.tokens.clone())
            };
            env = bind(&env, &p.name.name, v);
        }
        let v = self.eval(&f.body, &env, d.module, 0)?;
        Ok(self.detach(&v))
    }

    fn read_input(&self, span: Span) -> R<()> {
        if self.has_input {
            Ok(())
        } else {
            Err(RuntimeError::new(
                "MissingInput",
                span,
                "this program reads its input, but no input was given",
            )
            .with_note("help: pass `--input \"a b c\"` or pipe the tokens on stdin"))
        }
    }

    fn detach(&self, v: &Value<'p>) -> Output {
        match v {
            Value::Scalar(s) => Output::Scalar(s.clone()),
            Value::Seq(s) => Output::Seq((**s).clone()),
            Value::Sel(s) => Output::Sel((**s).clone()),
            Value::List(items) => Output::List(items.iter().map(|i| self.detach(i)).collect()),
            Value::Lambda(_) => Output::Function("lambda".into()),
            Value::Func(d) => Output::Function(self.program.qualified(*d)),
            Value::Hv(h) => {
                let (model, dim) = self
                    .spaces
                    .borrow()
                    .get(&h.space)
                    .map_or(("?", 0), |s| (s.model().name(), s.dim()));
                Output::Hv(HvOutput {
                    space: self.program.qualified(h.space),
                    model,
                    dim,
                    seq: h.seq,
                    vecs: h.vecs.iter().map(|v| v.as_ref().clone()).collect(),
                })
            }
            Value::Space(d) => Output::Function(format!("space {}", self.program.qualified(*d))),
            Value::Codebook(d) => {
                Output::Function(format!("codebook {}", self.program.qualified(*d)))
            }
        }
    }

    fn eval_let(&self, id: DefId, e: &'p Expr, span: Span) -> R<Value<'p>> {
        if let Some(v) = self.lets.borrow().get(&id) {
            return Ok(v.clone());
        }
        if self.lets_in_progress.borrow().contains(&id) {
            return Err(RuntimeError::new(
                "RecursionLimit",
                span,
                format!(
                    "`{}` is defined in terms of itself",
                    self.program.def(id).name
                ),
            ));
        }
        self.lets_in_progress.borrow_mut().push(id);
        let module = self.program.def(id).module;
        let r = self.eval(e, &None, module, 0);
        self.lets_in_progress.borrow_mut().retain(|&x| x != id);
        let v = r?;
        self.lets.borrow_mut().insert(id, v.clone());
        Ok(v)
    }

    fn seq(&self, vals: Vec<Val>, numeric: bool) -> Value<'p> {
        Value::Seq(Rc::new(Seq { vals, numeric }))
    }

    /// Evaluate an expression.
    pub fn eval(&self, e: &'p Expr, env: &Env<'p>, module: ModId, depth: usize) -> R<Value<'p>> {
        // The nesting of evaluation across calls bounds the native stack.
        let nest = self.nest.get();
        let max = self.program.limits.eval_depth;
        if nest > max {
            return Err(RuntimeError::new(
                "RecursionLimit",
                e.span,
                format!(
                    "evaluation nested deeper than {max} (through expressions and calls; `{}`)",
                    crate::limits::EVAL_DEPTH.flag
                ),
            ));
        }
        self.nest.set(nest + 1);
        let r = crate::with_stack(|| self.eval_inner(e, env, module, depth));
        self.nest.set(nest);
        r
    }

    fn eval_inner(&self, e: &'p Expr, env: &Env<'p>, module: ModId, depth: usize) -> R<Value<'p>> {
        let d = depth + 1;
        match &e.kind {
            ExprKind::Int(i) => Ok(Value::Scalar(Val::Int(*i))),
            ExprKind::Float(x) => Ok(Value::Scalar(Val::Float(*x))),
            ExprKind::Str(s) => Ok(Value::Scalar(Val::string(s))),
            ExprKind::Bool(b) => Ok(Value::Scalar(Val::Bool(*b))),
            ExprKind::None => Ok(Value::Scalar(Val::None)),
            ExprKind::Name(path) => self.eval_name(path, e.span, env, module),
            ExprKind::Field(base, field) => self.vsa_field(base, field, e.span, env, module, d),
            ExprKind::List(items) => {
                let vs = items
                    .iter()
                    .map(|i| self.eval(i, env, module, d))
                    .collect::<R<Vec<_>>>()?;
                Ok(Value::List(Rc::new(vs)))
            }
            ExprKind::Unary(op, a) => {
                let a = self.eval(a, env, module, d)?;
                self.unary(*op, a, e.span)
            }
            ExprKind::Binary(BinOp::Add, ..) => self.eval_add_chain(e, env, module, d),
            ExprKind::Binary(op, a, b) => {
                let a = self.eval(a, env, module, d)?;
                let b = self.eval(b, env, module, d)?;
                self.binary(*op, a, b, e.span)
            }
            ExprKind::If(c, a, b) => {
                let c = self.eval(c, env, module, d)?;
                match c {
                    Value::Scalar(Val::Bool(true)) => self.eval(a, env, module, d),
                    Value::Scalar(Val::Bool(false)) => self.eval(b, env, module, d),
                    Value::Seq(cs) => {
                        let a = self.eval(a, env, module, d)?;
                        let b = self.eval(b, env, module, d)?;
                        self.select_elementwise(&cs, a, b, e.span)
                    }
                    other => Err(RuntimeError::new(
                        "TypeError",
                        e.span,
                        format!("`if` needs a bool condition, found {}", describe(&other)),
                    )),
                }
            }
            ExprKind::Lambda(params, body) => Ok(Value::Lambda(Rc::new(Closure {
                params,
                body,
                env: env.clone(),
                module,
            }))),
            ExprKind::Call(callee, args) => self.eval_call(callee, args, e.span, env, module, d),
            ExprKind::Select(k, q, op, _) => {
                let k = self.eval(k, env, module, d)?;
                let q = self.eval(q, env, module, d)?;
                self.select(k, q, op, e.span, env, module)
            }
            ExprKind::Index(a, i) => {
                let a = self.eval(a, env, module, d)?;
                let i = self.eval(i, env, module, d)?;
                self.index(a, i, e.span)
            }
            ExprKind::Slice(..) => Err(RuntimeError::new(
                "Unsupported",
                e.span,
                "slices apply to circuit bit vectors, which the interpreter does not evaluate yet",
            )),
            ExprKind::Block(stmts, result) => {
                let env = self.exec_stmts(stmts, env.clone(), module, d)?;
                self.eval(result, &env, module, d)
            }
            ExprKind::Error => Err(RuntimeError::new(
                "SyntaxError",
                e.span,
                "this expression could not be parsed",
            )),
        }
    }

    fn exec_stmts(
        &self,
        stmts: &'p [Stmt],
        mut env: Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Env<'p>> {
        for s in stmts {
            match s {
                Stmt::Let { name, value, .. } => {
                    let v = self.eval(value, &env, module, d)?;
                    env = bind(&env, &name.name, v);
                }
                Stmt::For {
                    var, iter, body, ..
                } => {
                    let items = match self.eval(iter, &env, module, d)? {
                        Value::List(items) => items,
                        other => {
                            return Err(RuntimeError::new(
                                "TypeError",
                                iter.span,
                                format!("`for` iterates over a list, found {}", describe(&other)),
                            ));
                        }
                    };
                    for item in items.iter() {
                        let inner = bind(&env, &var.name, item.clone());
                        let after = self.exec_stmts(body, inner.clone(), module, d)?;
                        // Keep the body's bindings (RASP semantics), drop the loop variable.
                        let mut frames = Vec::new();
                        let mut cur = after;
                        while let Some(f) = cur {
                            if inner.as_ref().is_some_and(|i| Rc::ptr_eq(i, &f)) {
                                break;
                            }
                            frames.push((f.name, f.value.clone()));
                            cur = f.parent.clone();
                        }
                        for (name, value) in frames.into_iter().rev() {
                            env = bind(&env, name, value);
                        }
                    }
                }
                Stmt::Error(span) => {
                    return Err(RuntimeError::new(
                        "SyntaxError",
                        *span,
                        "this statement could not be parsed",
                    ));
                }
            }
        }
        Ok(env)
    }

    fn eval_name(
        &self,
        path: &'p [Ident],
        span: Span,
        env: &Env<'p>,
        module: ModId,
    ) -> R<Value<'p>> {
        if let [single] = path {
            if let Some(v) = lookup(env, &single.name) {
                return Ok(v.clone());
            }
            // Item-level names of the module come before the built-in sequences, so a module
            // may define its own `length` (std::rasp does).
            if !self.program.modules[module]
                .scope
                .contains_key(&single.name)
            {
                let builtin = match single.name.as_str() {
                    "tokens" => Some(&self.tokens),
                    "indices" => Some(&self.indices),
                    "length" => Some(&self.length),
                    _ => None,
                };
                if let Some(seq) = builtin {
                    self.read_input(span)?;
                    return Ok(Value::Seq(seq.clone()));
                }
            }
        }
        let id = self
            .program
            .resolve(module, path)
            .map_err(|d| RuntimeError::new(d.kind, span, d.message))?;
        let def = self.program.def(id);
        match &def.kind {
            DefKind::Fn(_) => Ok(Value::Func(id)),
            DefKind::Let(e, _) => {
                let e: &'p Expr = e;
                self.eval_let(id, e, span)
            }
            DefKind::Space { .. } => {
                self.vsa_space(id, span)?;
                Ok(Value::Space(id))
            }
            DefKind::Symbols { .. } => Ok(Value::Codebook(id)),
            DefKind::Circuit(_) => Err(RuntimeError::new(
                "Unsupported",
                span,
                "circuit items are parsed and checked, but not evaluated by the interpreter yet",
            )),
            DefKind::Gss(_) => Err(RuntimeError::new(
                "Unsupported",
                span,
                "a `gss` item is not a value: run it as the entry (`tessera run FILE --entry NAME`)",
            )),
        }
    }

    fn unary(&self, op: UnOp, a: Value<'p>, span: Span) -> R<Value<'p>> {
        match (op, a) {
            (UnOp::Not | UnOp::Bang, Value::Sel(s)) => Ok(Value::Sel(Rc::new(Selector {
                n: s.n,
                bits: s.bits.iter().map(|b| !b).collect(),
            }))),
            (_, Value::Scalar(v)) => {
                let r = if op == UnOp::Neg {
                    value::neg(&v)
                } else {
                    value::not(&v)
                };
                r.map(Value::Scalar).map_err(|e| RuntimeError::op(e, span))
            }
            (_, Value::Seq(s)) => {
                let mut out = Vec::with_capacity(s.vals.len());
                for (q, v) in s.vals.iter().enumerate() {
                    let r = if op == UnOp::Neg {
                        value::neg(v)
                    } else {
                        value::not(v)
                    };
                    out.push(r.map_err(|e| RuntimeError::op(e, span).at(q))?);
                }
                Ok(self.seq(out, s.numeric && op == UnOp::Neg))
            }
            (_, other) => Err(RuntimeError::new(
                "TypeError",
                span,
                format!("cannot apply a unary operator to {}", describe(&other)),
            )),
        }
    }

    fn binary(&self, op: BinOp, a: Value<'p>, b: Value<'p>, span: Span) -> R<Value<'p>> {
        let numeric_result = !(op.is_comparison()
            || matches!(
                op,
                BinOp::And | BinOp::Or | BinOp::Amp | BinOp::Pipe | BinOp::Xor
            ));
        match (&a, &b) {
            (Value::Hv(x), Value::Hv(y)) => self.vsa_binary(op, x, y, span),
            (Value::Sel(x), Value::Sel(y)) => {
                let f: fn(bool, bool) -> bool = match op {
                    BinOp::And | BinOp::Amp => |p, q| p && q,
                    BinOp::Or | BinOp::Pipe => |p, q| p || q,
                    BinOp::Xor => |p, q| p != q,
                    _ => {
                        return Err(RuntimeError::new(
                            "TypeError",
                            span,
                            format!(
                                "selectors combine with `&`, `|` and `!`, not `{}`",
                                op.symbol()
                            ),
                        ));
                    }
                };
                Ok(Value::Sel(Rc::new(Selector {
                    n: x.n,
                    bits: x.bits.iter().zip(&y.bits).map(|(&p, &q)| f(p, q)).collect(),
                })))
            }
            (Value::Scalar(x), Value::Scalar(y)) => value::binop(op, x, y)
                .map(Value::Scalar)
                .map_err(|e| RuntimeError::op(e, span)),
            (Value::Seq(x), Value::Scalar(y)) => {
                let mut out = Vec::with_capacity(x.vals.len());
                for (q, v) in x.vals.iter().enumerate() {
                    out.push(value::binop(op, v, y).map_err(|e| RuntimeError::op(e, span).at(q))?);
                }
                Ok(self.seq(out, x.numeric && numeric_result))
            }
            (Value::Scalar(x), Value::Seq(y)) => {
                let mut out = Vec::with_capacity(y.vals.len());
                for (q, v) in y.vals.iter().enumerate() {
                    out.push(value::binop(op, x, v).map_err(|e| RuntimeError::op(e, span).at(q))?);
                }
                Ok(self.seq(out, y.numeric && numeric_result))
            }
            (Value::Seq(x), Value::Seq(y)) => {
                let mut out = Vec::with_capacity(x.vals.len());
                for (q, (v, w)) in x.vals.iter().zip(&y.vals).enumerate() {
                    out.push(value::binop(op, v, w).map_err(|e| RuntimeError::op(e, span).at(q))?);
                }
                Ok(self.seq(out, (x.numeric || y.numeric) && numeric_result))
            }
            _ => Err(RuntimeError::new(
                "TypeError",
                span,
                format!(
                    "cannot apply `{}` to {} and {}",
                    op.symbol(),
                    describe(&a),
                    describe(&b)
                ),
            )),
        }
    }

    fn select_elementwise(&self, c: &Seq, a: Value<'p>, b: Value<'p>, span: Span) -> R<Value<'p>> {
        let pick = |v: &Value<'p>, q: usize| -> R<Val> {
            match v {
                Value::Scalar(s) => Ok(s.clone()),
                Value::Seq(s) => Ok(s.vals[q].clone()),
                other => Err(RuntimeError::new(
                    "TypeError",
                    span,
                    format!(
                        "elementwise `if` needs sequence or scalar branches, found {}",
                        describe(other)
                    ),
                )),
            }
        };
        let numeric =
            matches!(&a, Value::Seq(s) if s.numeric) || matches!(&b, Value::Seq(s) if s.numeric);
        let mut out = Vec::with_capacity(c.vals.len());
        for (q, cv) in c.vals.iter().enumerate() {
            match cv {
                Val::Bool(true) => out.push(pick(&a, q)?),
                Val::Bool(false) => out.push(pick(&b, q)?),
                other => {
                    return Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!(
                            "`if` needs a bool condition, found {} `{other}`",
                            other.kind_name()
                        ),
                    )
                    .at(q));
                }
            }
        }
        Ok(self.seq(out, numeric))
    }

    fn index(&self, a: Value<'p>, i: Value<'p>, span: Span) -> R<Value<'p>> {
        let idx = match &i {
            Value::Scalar(Val::Int(i)) => *i,
            other => {
                return Err(RuntimeError::new(
                    "TypeError",
                    span,
                    format!("an index must be an int scalar, found {}", describe(other)),
                ));
            }
        };
        let resolve = |len: usize| -> R<usize> {
            let l = i64::try_from(len).unwrap_or(i64::MAX);
            let j = if idx < 0 { idx + l } else { idx };
            if (0..l).contains(&j) {
                Ok(j as usize)
            } else {
                Err(RuntimeError::new(
                    "IndexOutOfRange",
                    span,
                    format!("index {idx} is out of range for length {len}"),
                ))
            }
        };
        match a {
            Value::List(items) => Ok(items[resolve(items.len())?].clone()),
            // `xs[i]`: the value at position i, at every position (RASP's load).
            Value::Seq(s) => {
                let j = resolve(s.vals.len())?;
                Ok(self.seq(vec![s.vals[j].clone(); s.vals.len()], s.numeric))
            }
            other => Err(RuntimeError::new(
                "TypeError",
                span,
                format!("cannot index {}", describe(&other)),
            )),
        }
    }

    fn broadcast(&self, v: &Value<'p>, what: &str, span: Span) -> R<Rc<Seq>> {
        match v {
            Value::Seq(s) => Ok(s.clone()),
            Value::Scalar(x) => Ok(Rc::new(Seq {
                vals: vec![x.clone(); self.n],
                numeric: false,
            })),
            other => Err(RuntimeError::new(
                "TypeError",
                span,
                format!(
                    "{what} must be a sequence or a scalar, found {}",
                    describe(other)
                ),
            )),
        }
    }

    fn select(
        &self,
        k: Value<'p>,
        q: Value<'p>,
        op: &'p SelOp,
        span: Span,
        env: &Env<'p>,
        module: ModId,
    ) -> R<Value<'p>> {
        // A selector relates positions: without an input there are none.
        self.read_input(span)?;
        let keys = self.broadcast(&k, "the keys of `select`", span)?;
        let queries = self.broadcast(&q, "the queries of `select`", span)?;
        let sel = match op {
            SelOp::True => Selector::filled(self.n, true),
            SelOp::False => Selector::filled(self.n, false),
            SelOp::Cmp(cmp) => kernels::select_cmp(&keys.vals, &queries.vals, *cmp),
            SelOp::Lambda(lam) => {
                let f = self.eval(lam, env, module, 0)?;
                kernels::select_with(&keys.vals, &queries.vals, |kv, qv| {
                    match self.apply_scalar(&f, &[kv.clone(), qv.clone()], span)? {
                        Val::Bool(b) => Ok(b),
                        other => Err(RuntimeError::new(
                            "TypeError",
                            span,
                            format!(
                                "a select predicate must give a bool, it gave {} `{other}`",
                                other.kind_name()
                            ),
                        )),
                    }
                })
                .map_err(|(e, q)| e.at(q))?
            }
        };
        Ok(Value::Sel(Rc::new(sel)))
    }

    /// Apply a lambda or function to scalar arguments, expecting a scalar back.
    fn apply_scalar(&self, f: &Value<'p>, args: &[Val], span: Span) -> R<Val> {
        let vals: Vec<Value<'p>> = args.iter().cloned().map(Value::Scalar).collect();
        match self.apply(f, vals, span, 0)? {
            Value::Scalar(v) => Ok(v),
            other => Err(RuntimeError::new(
                "TypeError",
                span,
                format!(
                    "an elementwise function must return a scalar, this one returned {}",
                    describe(&other)
                ),
            )),
        }
    }

    fn apply(&self, f: &Value<'p>, args: Vec<Value<'p>>, span: Span, d: usize) -> R<Value<'p>> {
        match f {
            Value::Lambda(c) => {
                if c.params.len() != args.len() {
                    return Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!(
                            "this lambda takes {} arguments, it was given {}",
                            c.params.len(),
                            args.len()
                        ),
                    ));
                }
                let mut env = c.env.clone();
                for (p, a) in c.params.iter().zip(args) {
                    env = bind(&env, &p.name, a);
                }
                self.eval(c.body, &env, c.module, d + 1)
            }
            Value::Func(id) => {
                let args = args.into_iter().map(|value| (None, value)).collect();
                self.call_fn(*id, args, span)
            }
            other => Err(RuntimeError::new(
                "TypeError",
                span,
                format!("expected a function or lambda, found {}", describe(other)),
            )),
        }
    }

    fn call_fn(
        &self,
        id: DefId,
        args: Vec<(Option<&'p Ident>, Value<'p>)>,
        span: Span,
    ) -> R<Value<'p>> {
        let def = self.program.def(id);
        let f: &'p crate::ast::FnDef = match &def.kind {
            DefKind::Fn(f) => f,
            _ => {
                return Err(RuntimeError::new(
                    "TypeError",
                    span,
                    format!("`{}` is not a function", def.name),
                ));
            }
        };
        let max = self.program.limits.call_depth;
        if self.depth.get() >= max {
            return Err(RuntimeError::new(
                "RecursionLimit",
                span,
                format!(
                    "calls nested deeper than {max} (is `{}` recursive? `{}` raises the limit)",
                    def.name,
                    crate::limits::CALL_DEPTH.flag
                ),
            ));
        }
        let key = call_key(id, &args);
        if let Some(k) = &key
            && let Some((_, v)) = self.calls.borrow().get(k)
        {
            return Ok(v.clone());
        }
        let kept: Vec<Value<'p>> = match key {
            Some(_) => args.iter().map(|(_, v)| v.clone()).collect(),
            None => Vec::new(),
        };
        let slots = crate::program::bind_arguments(f, &def.name, args, span)
            .map_err(|(at, msg)| RuntimeError::new("TypeError", at, msg))?;
        let mut env: Env<'p> = None;
        for (p, slot) in f.params.iter().zip(slots) {
            let v = match (slot, &p.default) {
                (Some(v), _) => v,
                (None, Some(dflt)) => self.eval(dflt, &env, def.module, 0)?,
                (None, None) => {
                    return Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!("missing argument `{}` of `{}`", p.name.name, def.name),
                    ));
                }
            };
            env = bind(&env, &p.name.name, v);
        }
        self.depth.set(self.depth.get() + 1);
        let r = self.eval(&f.body, &env, def.module, 0);
        self.depth.set(self.depth.get() - 1);
        if let (Some(k), Ok(v)) = (key, &r) {
            self.calls.borrow_mut().insert(k, (kept, v.clone()));
        }
        r
    }

    fn eval_call(
        &self,
        callee: &'p Expr,
        args: &'p [Arg],
        span: Span,
        env: &Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Value<'p>> {
        // Built-ins are found by name unless a local binding shadows them.
        if let ExprKind::Name(path) = &callee.kind
            && let [single] = path.as_slice()
            && lookup(env, &single.name).is_none()
            && is_builtin(&single.name)
        {
            return self.builtin(&single.name, args, span, env, module, d);
        }
        let f = self.eval(callee, env, module, d)?;
        let mut vals = Vec::with_capacity(args.len());
        for a in args {
            vals.push((a.name.as_ref(), self.eval(&a.value, env, module, d)?));
        }
        match f {
            Value::Func(id) => self.call_fn(id, vals, span),
            Value::Lambda(_) => {
                if let Some(n) = vals.iter().find_map(|(n, _)| *n) {
                    return Err(RuntimeError::new(
                        "TypeError",
                        n.span,
                        "lambdas take no named arguments",
                    ));
                }
                self.apply(&f, vals.into_iter().map(|(_, v)| v).collect(), span, d)
            }
            other => Err(RuntimeError::new(
                "TypeError",
                callee.span,
                format!("{} is not callable", describe(&other)),
            )),
        }
    }

    fn builtin(
        &self,
        name: &str,
        args: &'p [Arg],
        span: Span,
        env: &Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Value<'p>> {
        let a = BuiltinArgs::new(name, args, span)?;
        let ev = |e: &'p Expr| self.eval(e, env, module, d);
        match name {
            "aggregate" | "gather" | "best" => {
                a.expect(2, &["default"])?;
                let default = match a.named("default").or_else(|| a.pos(2)) {
                    Some(e) => match ev(e)? {
                        Value::Scalar(v) => Some(v),
                        other => {
                            return Err(RuntimeError::new(
                                "TypeError",
                                e.span,
                                format!("the default must be a scalar, found {}", describe(&other)),
                            ));
                        }
                    },
                    None => None,
                };
                let first = ev(a.req(0)?)?;
                let second = ev(a.req(1)?)?;
                match name {
                    "aggregate" => self.aggregate(&first, &second, default, span),
                    "gather" => {
                        let ptr = self.broadcast(&first, "the pointer of `gather`", span)?;
                        let xs = self.broadcast(&second, "the values of `gather`", span)?;
                        self.gather(&ptr, &xs, default, span)
                    }
                    _ => self.best(&first, &second, default, span),
                }
            }
            "mean" => {
                a.expect(2, &[])?;
                let s = ev(a.req(0)?)?;
                let xs = ev(a.req(1)?)?;
                self.mean(&s, &xs, span)
            }
            "width" => {
                a.expect(1, &[])?;
                let sv = ev(a.req(0)?)?;
                let s = as_sel(&sv, "width", span)?;
                Ok(self.seq(kernels::width(s), false))
            }
            "map" | "zipmap" => {
                let arity = if name == "map" { 1 } else { 2 };
                a.expect(arity + 1, &[])?;
                let f = ev(a.req(arity)?)?;
                let inputs: Vec<Value<'p>> = (0..arity).map(|i| ev(a.req(i)?)).collect::<R<_>>()?;
                self.map_values(&f, &inputs, span)
            }
            "numeric" | "categorical" => {
                a.expect(1, &[])?;
                let x = ev(a.req(0)?)?;
                let to_num = name == "numeric";
                match x {
                    Value::Scalar(v) if to_num => value::to_numeric(&v)
                        .map(Value::Scalar)
                        .map_err(|e| RuntimeError::op(e, span)),
                    Value::Scalar(v) => Ok(Value::Scalar(v)),
                    Value::Seq(s) => {
                        let vals = if to_num {
                            s.vals
                                .iter()
                                .enumerate()
                                .map(|(q, v)| {
                                    value::to_numeric(v)
                                        .map_err(|e| RuntimeError::op(e, span).at(q))
                                })
                                .collect::<R<Vec<_>>>()?
                        } else {
                            s.vals.clone()
                        };
                        Ok(self.seq(vals, to_num))
                    }
                    other => Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!("`{name}` needs a sequence, found {}", describe(&other)),
                    )),
                }
            }
            _ if value::SCALAR_BUILTINS.contains(&name) => {
                a.expect(1, &[])?;
                let x = ev(a.req(0)?)?;
                match x {
                    Value::Scalar(v) => value::scalar_builtin(name, &v)
                        .map(Value::Scalar)
                        .map_err(|e| RuntimeError::op(e, span)),
                    Value::Seq(s) => {
                        let vals = s
                            .vals
                            .iter()
                            .enumerate()
                            .map(|(q, v)| {
                                value::scalar_builtin(name, v)
                                    .map_err(|e| RuntimeError::op(e, span).at(q))
                            })
                            .collect::<R<Vec<_>>>()?;
                        Ok(self.seq(vals, s.numeric && name != "str"))
                    }
                    other => Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!(
                            "`{name}` applies to scalars and sequences, found {}",
                            describe(&other)
                        ),
                    )),
                }
            }
            "table" | "concat" => Err(RuntimeError::new(
                "Unsupported",
                span,
                format!(
                    "`{name}` belongs to circuits, which the interpreter does not evaluate yet"
                ),
            )),
            _ => self.vsa_builtin(name, &a, span, env, module, d),
        }
    }

    fn aggregate(
        &self,
        s: &Value<'p>,
        xs: &Value<'p>,
        default: Option<Val>,
        span: Span,
    ) -> R<Value<'p>> {
        let s = as_sel(s, "aggregate", span)?;
        let xs = self.broadcast(xs, "the values of `aggregate`", span)?;
        let out =
            kernels::aggregate(s, &xs.vals, default.as_ref()).map_err(|e| kernel_err(e, span))?;
        Ok(self.seq(out, xs.numeric))
    }

    fn gather(&self, ptr: &Seq, xs: &Seq, default: Option<Val>, span: Span) -> R<Value<'p>> {
        let out = kernels::gather(&ptr.vals, &xs.vals, default.as_ref())
            .map_err(|e| kernel_err(e, span))?;
        Ok(self.seq(out, xs.numeric))
    }

    fn best(
        &self,
        s: &Value<'p>,
        score: &Value<'p>,
        default: Option<Val>,
        span: Span,
    ) -> R<Value<'p>> {
        let s = as_sel(s, "best", span)?;
        let score = self.broadcast(score, "the score of `best`", span)?;
        let out =
            kernels::best(s, &score.vals, default.as_ref()).map_err(|e| kernel_err(e, span))?;
        Ok(self.seq(out, false))
    }

    fn mean(&self, s: &Value<'p>, xs: &Value<'p>, span: Span) -> R<Value<'p>> {
        let s = as_sel(s, "mean", span)?;
        let xs = self.broadcast(xs, "the values of `mean`", span)?;
        let out = kernels::mean(s, &xs.vals).map_err(|e| kernel_err(e, span))?;
        Ok(self.seq(out, true))
    }

    fn map_values(&self, f: &Value<'p>, inputs: &[Value<'p>], span: Span) -> R<Value<'p>> {
        if inputs.iter().all(|v| matches!(v, Value::Scalar(_))) {
            let args: Vec<Val> = inputs
                .iter()
                .filter_map(|v| {
                    if let Value::Scalar(s) = v {
                        Some(s.clone())
                    } else {
                        None
                    }
                })
                .collect();
            return self.apply_scalar(f, &args, span).map(Value::Scalar);
        }
        let seqs = inputs
            .iter()
            .map(|v| self.broadcast(v, "the input of a map", span))
            .collect::<R<Vec<_>>>()?;
        let numeric_in = inputs
            .iter()
            .any(|v| matches!(v, Value::Seq(s) if s.numeric));
        let mut memo: BTreeMap<Vec<Val>, Val> = BTreeMap::new();
        let mut out = Vec::with_capacity(self.n);
        for q in 0..self.n {
            let key: Vec<Val> = seqs.iter().map(|s| s.vals[q].clone()).collect();
            let v = match memo.get(&key) {
                Some(v) => v.clone(),
                None => {
                    let v = self.apply_scalar(f, &key, span).map_err(|e| e.at(q))?;
                    memo.insert(key, v.clone());
                    v
                }
            };
            out.push(v);
        }
        // The encoding is static: a map of a numerical sequence is numerical.
        Ok(self.seq(out, numeric_in))
    }
}

/// Whether a written type names a scalar (entry parameters of these types come from `--arg`).
pub fn is_scalar_type(name: &str) -> bool {
    matches!(name, "int" | "float" | "bool" | "str" | "scalar")
}

/// Built-in functions, called by name.
pub fn is_builtin(name: &str) -> bool {
    matches!(
        name,
        "aggregate"
            | "mean"
            | "width"
            | "best"
            | "gather"
            | "map"
            | "zipmap"
            | "numeric"
            | "categorical"
            | "bundle"
            | "permute"
            | "sim"
            | "cleanup"
            | "embed"
            | "sum"
            | "factor"
            | "table"
            | "concat"
    ) || value::SCALAR_BUILTINS.contains(&name)
}

fn kernel_err(e: kernels::KernelError, span: Span) -> RuntimeError {
    let mut r = RuntimeError::new(e.kind, span, e.message);
    r.position = e.position;
    if let Some(n) = e.note {
        r.notes.push(n);
    }
    r
}

fn as_sel<'a>(v: &'a Value<'_>, what: &str, span: Span) -> R<&'a Selector> {
    match v {
        Value::Sel(s) => Ok(s),
        other => Err(RuntimeError::new(
            "TypeError",
            span,
            format!(
                "`{what}` needs a selector (sel) as its first argument, found {}",
                describe(other)
            ),
        )),
    }
}

fn describe(v: &Value<'_>) -> String {
    match v {
        Value::Scalar(s) => format!("the {} `{s}`", s.kind_name()),
        other => format!("a {}", other.type_name()),
    }
}

/// Arguments of a built-in call, split into positional and named.
struct BuiltinArgs<'p> {
    name: String,
    pos: Vec<&'p Expr>,
    named: Vec<(&'p Ident, &'p Expr)>,
    span: Span,
}

impl<'p> BuiltinArgs<'p> {
    fn new(name: &str, args: &'p [Arg], span: Span) -> R<BuiltinArgs<'p>> {
        let mut pos = Vec::new();
        let mut named = Vec::new();
        for a in args {
            match &a.name {
                Some(n) => named.push((n, &a.value)),
                None => pos.push(&a.value),
            }
        }
        Ok(BuiltinArgs {
            name: name.to_string(),
            pos,
            named,
            span,
        })
    }

    /// `n` positional arguments (one more allowed when a named option may also be positional).
    fn expect(&self, n: usize, options: &[&str]) -> R<()> {
        let max = n + options.len();
        if self.pos.len() < n || self.pos.len() > max {
            return Err(RuntimeError::new(
                "TypeError",
                self.span,
                format!(
                    "`{}` takes {n} arguments, it was given {}",
                    self.name,
                    self.pos.len()
                ),
            ));
        }
        for (ident, _) in &self.named {
            if !options.contains(&ident.name.as_str()) {
                return Err(RuntimeError::new(
                    "TypeError",
                    ident.span,
                    format!("`{}` has no option `{}`", self.name, ident.name),
                ));
            }
        }
        Ok(())
    }

    fn req(&self, i: usize) -> R<&'p Expr> {
        self.pos.get(i).copied().ok_or_else(|| {
            RuntimeError::new(
                "TypeError",
                self.span,
                format!("`{}` is missing argument {}", self.name, i + 1),
            )
        })
    }

    fn pos(&self, i: usize) -> Option<&'p Expr> {
        self.pos.get(i).copied()
    }

    fn named(&self, name: &str) -> Option<&'p Expr> {
        self.named
            .iter()
            .find(|(n, _)| n.name == name)
            .map(|(_, e)| *e)
    }
}
