//! The IR: a program unrolled into a DAG of RASP operations.
//!
//! Functions, lambdas, lists and `for` loops are gone: every node is one sequence operation on
//! earlier nodes (nodes are stored in topological order, inputs first). Elementwise work is an
//! [`Op::Elementwise`] node whose [`Fun`] is an expression over its input nodes, so a map of a
//! map can become one lookup by substituting one `Fun` into another. Identical operations are
//! shared (hash-consing when built).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;
use tessera_lang::ast::{BinOp, UnOp};
use tessera_lang::span::Span;
use tessera_lang::value::Val;

pub type NodeId = usize;

/// An elementwise function of a node's inputs (`Arg(i)` is input `i`'s value at the position).
#[derive(Debug, Clone, PartialEq)]
pub enum Fun {
    Arg(usize),
    Const(Val),
    Unary(UnOp, Box<Fun>),
    Binary(BinOp, Box<Fun>, Box<Fun>),
    If(Box<Fun>, Box<Fun>, Box<Fun>),
    /// `round`, `floor`, `ceil`, `abs`, `int`, `float`, `str`.
    Builtin(&'static str, Box<Fun>),
    /// `numeric(x)` on one value (booleans become 1 and 0).
    Numeric(Box<Fun>),
}

impl Fun {
    /// The direct subexpressions.
    pub fn children(&self) -> Vec<&Fun> {
        match self {
            Fun::Arg(_) | Fun::Const(_) => Vec::new(),
            Fun::Unary(_, a) | Fun::Builtin(_, a) | Fun::Numeric(a) => vec![a],
            Fun::Binary(_, a, b) => vec![a, b],
            Fun::If(c, a, b) => vec![c, a, b],
        }
    }

    /// The same operation over `f` of each direct subexpression.
    pub fn map_children(&self, f: &dyn Fn(&Fun) -> Fun) -> Fun {
        let m = |x: &Fun| Box::new(f(x));
        match self {
            Fun::Arg(_) | Fun::Const(_) => self.clone(),
            Fun::Unary(op, a) => Fun::Unary(*op, m(a)),
            Fun::Binary(op, a, b) => Fun::Binary(*op, m(a), m(b)),
            Fun::If(c, a, b) => Fun::If(m(c), m(a), m(b)),
            Fun::Builtin(n, a) => Fun::Builtin(n, m(a)),
            Fun::Numeric(a) => Fun::Numeric(m(a)),
        }
    }

    /// Every `Arg(i)` replaced by `map(i)`.
    pub fn subst(&self, map: &dyn Fn(usize) -> Fun) -> Fun {
        match self {
            Fun::Arg(i) => map(*i),
            _ => self.map_children(&|c| c.subst(map)),
        }
    }

    /// The largest argument index used, plus one.
    pub fn arity(&self) -> usize {
        match self {
            Fun::Arg(i) => i + 1,
            Fun::Const(_) => 0,
            Fun::Unary(_, a) | Fun::Builtin(_, a) | Fun::Numeric(a) => a.arity(),
            Fun::Binary(_, a, b) => a.arity().max(b.arity()),
            Fun::If(c, a, b) => c.arity().max(a.arity()).max(b.arity()),
        }
    }

    /// Compact text, e.g. `(- (- $0 $1) 1)`.
    pub fn render(&self) -> String {
        match self {
            Fun::Arg(i) => format!("${i}"),
            Fun::Const(v) => match v {
                Val::Str(s) => format!("{s:?}"),
                v => v.to_string(),
            },
            Fun::Unary(op, a) => {
                let o = match op {
                    UnOp::Neg => "neg",
                    _ => "not",
                };
                format!("({o} {})", a.render())
            }
            Fun::Binary(op, a, b) => format!("({} {} {})", op.symbol(), a.render(), b.render()),
            Fun::If(c, a, b) => format!("(if {} {} {})", c.render(), a.render(), b.render()),
            Fun::Builtin(n, a) => format!("({n} {})", a.render()),
            Fun::Numeric(a) => format!("(numeric {})", a.render()),
        }
    }
}

/// The predicate of a select node: `S[q][k] = pred(keys[k], queries[q])`.
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    Cmp(BinOp),
    True,
    False,
    /// A function of `Arg(0)` = the key value and `Arg(1)` = the query value.
    Fun(Fun),
}

impl Pred {
    pub fn render(&self) -> String {
        match self {
            Pred::Cmp(op) => op.symbol().to_string(),
            Pred::True => "true".into(),
            Pred::False => "false".into(),
            Pred::Fun(f) => format!("|k,q| {}", f.render()),
        }
    }
}

/// A hypervector space carried by VSA nodes; compared and printed by name and parameters.
#[derive(Clone)]
pub struct VsaSpace {
    pub name: String,
    pub space: Rc<tessera_vsa::Space>,
}

impl std::fmt::Debug for VsaSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.name,
            self.space.model().name(),
            self.space.dim(),
            self.space.seed()
        )
    }
}

impl PartialEq for VsaSpace {
    fn eq(&self, o: &Self) -> bool {
        format!("{self:?}") == format!("{o:?}")
    }
}

/// A codebook carried by VSA nodes (its vectors and prepared item memory).
#[derive(Clone)]
pub struct VsaBook {
    pub name: String,
    pub space: VsaSpace,
    pub book: Rc<tessera_vsa::Codebook>,
}

impl std::fmt::Debug for VsaBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{:?}", self.name, self.space)
    }
}

impl PartialEq for VsaBook {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.space == o.space
    }
}

/// A constant hypervector, printed as its fingerprint.
#[derive(Clone, PartialEq)]
pub struct HvConst(pub Rc<tessera_vsa::Hv>);

impl std::fmt::Debug for HvConst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:016x}", self.0.fingerprint())
    }
}

/// A vector-symbolic operation (its inputs are the node's `inputs`).
#[derive(Debug, Clone, PartialEq)]
pub enum VsaOp {
    /// A constant vector at every position. Inputs: none.
    Const { space: VsaSpace, vec: HvConst },
    /// Each position's categorical value to its symbol's vector. Inputs: `[xs]`.
    Embed { book: VsaBook },
    /// Inputs: `[a, b]`.
    Bind { space: VsaSpace },
    /// `a / b`. Inputs: `[a, b]`.
    Unbind { space: VsaSpace },
    /// One bundle of all inputs, normalised once.
    Bundle { space: VsaSpace },
    /// Cyclic shift by a constant. Inputs: `[a]`.
    Permute { space: VsaSpace, k: i64 },
    /// Cyclic shift by each position's own integer. Inputs: `[a, k]`.
    PermuteBy { space: VsaSpace },
    /// Bundle of the selected keys' vectors. Inputs: `[sel, values]`.
    Sum { space: VsaSpace },
    /// Similarity (a number). Inputs: `[a, b]`.
    Sim { space: VsaSpace },
    /// The nearest symbol (a categorical value; `none` below `min`). Inputs: `[a]`.
    Cleanup { book: VsaBook, min: Option<f64> },
}

impl VsaOp {
    pub fn name(&self) -> &'static str {
        match self {
            VsaOp::Const { .. } => "hv-const",
            VsaOp::Embed { .. } => "embed",
            VsaOp::Bind { .. } => "bind",
            VsaOp::Unbind { .. } => "unbind",
            VsaOp::Bundle { .. } => "bundle",
            VsaOp::Permute { .. } | VsaOp::PermuteBy { .. } => "permute",
            VsaOp::Sum { .. } => "sum",
            VsaOp::Sim { .. } => "sim",
            VsaOp::Cleanup { .. } => "cleanup",
        }
    }

    /// The space of the vectors this operation reads or makes.
    pub fn space(&self) -> &VsaSpace {
        match self {
            VsaOp::Const { space, .. }
            | VsaOp::Bind { space }
            | VsaOp::Unbind { space }
            | VsaOp::Bundle { space }
            | VsaOp::Permute { space, .. }
            | VsaOp::PermuteBy { space }
            | VsaOp::Sum { space }
            | VsaOp::Sim { space } => space,
            VsaOp::Embed { book } | VsaOp::Cleanup { book, .. } => &book.space,
        }
    }

    /// Whether the result is a hypervector (not a symbol or a number).
    pub fn makes_hv(&self) -> bool {
        !matches!(self, VsaOp::Sim { .. } | VsaOp::Cleanup { .. })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Tokens,
    Indices,
    Length,
    /// A scalar broadcast to every position.
    Const(Val),
    Elementwise {
        inputs: Vec<NodeId>,
        f: Fun,
    },
    Select {
        keys: NodeId,
        queries: NodeId,
        pred: Pred,
    },
    SelAnd(NodeId, NodeId),
    SelOr(NodeId, NodeId),
    SelNot(NodeId),
    Aggregate {
        sel: NodeId,
        values: NodeId,
        default: Option<Val>,
    },
    Mean {
        sel: NodeId,
        values: NodeId,
    },
    Width {
        sel: NodeId,
    },
    Best {
        sel: NodeId,
        score: NodeId,
        default: Option<Val>,
    },
    /// A vector-symbolic operation.
    Vsa {
        op: VsaOp,
        inputs: Vec<NodeId>,
    },
}

impl Op {
    pub fn inputs(&self) -> Vec<NodeId> {
        match self {
            Op::Tokens | Op::Indices | Op::Length | Op::Const(_) => vec![],
            Op::Elementwise { inputs, .. } => inputs.clone(),
            Op::Select { keys, queries, .. } => vec![*keys, *queries],
            Op::SelAnd(a, b) | Op::SelOr(a, b) => vec![*a, *b],
            Op::SelNot(a) => vec![*a],
            Op::Aggregate { sel, values, .. } | Op::Mean { sel, values } => vec![*sel, *values],
            Op::Width { sel } => vec![*sel],
            Op::Best { sel, score, .. } => vec![*sel, *score],
            Op::Vsa { inputs, .. } => inputs.clone(),
        }
    }

    pub fn is_selector(&self) -> bool {
        matches!(
            self,
            Op::Select { .. } | Op::SelAnd(..) | Op::SelOr(..) | Op::SelNot(_)
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Op::Tokens => "tokens",
            Op::Indices => "indices",
            Op::Length => "length",
            Op::Const(_) => "const",
            Op::Elementwise { .. } => "map",
            Op::Select { .. } => "select",
            Op::SelAnd(..) => "sel-and",
            Op::SelOr(..) => "sel-or",
            Op::SelNot(_) => "sel-not",
            Op::Aggregate { .. } => "aggregate",
            Op::Mean { .. } => "mean",
            Op::Width { .. } => "width",
            Op::Best { .. } => "best",
            Op::Vsa { op, .. } => op.name(),
        }
    }
}

/// One node: its operation, its encoding, and the source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub op: Op,
    /// Numerically encoded (`num`); otherwise categorical.
    pub numeric: bool,
    pub span: Span,
}

/// What the program returns.
#[derive(Debug, Clone, PartialEq)]
pub enum IrOutput {
    Seq(NodeId),
    Sel(NodeId),
    Scalar(Val),
}

/// A whole unrolled program.
#[derive(Debug, Clone, Default)]
pub struct Ir {
    pub nodes: Vec<Node>,
    pub output: Option<IrOutput>,
    interned: HashMap<String, NodeId>,
}

impl Ir {
    /// Add a node, or return the existing identical one.
    pub fn add(&mut self, op: Op, numeric: bool, span: Span) -> NodeId {
        let key = format!("{op:?}/{numeric}");
        if let Some(&id) = self.interned.get(&key) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node { op, numeric, span });
        self.interned.insert(key, id);
        id
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// The nodes the output depends on, in topological order.
    pub fn live(&self) -> Vec<NodeId> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = match &self.output {
            Some(IrOutput::Seq(n) | IrOutput::Sel(n)) => vec![*n],
            _ => vec![],
        };
        while let Some(n) = stack.pop() {
            if !live[n] {
                live[n] = true;
                stack.extend(self.nodes[n].op.inputs());
            }
        }
        (0..self.nodes.len()).filter(|&i| live[i]).collect()
    }

    /// Compact listing of the live nodes, one per line: `%3 = aggregate %1 %2 [cat]`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for id in self.live() {
            let n = &self.nodes[id];
            let args: Vec<String> = n.op.inputs().iter().map(|i| format!("%{i}")).collect();
            let extra = match &n.op {
                Op::Const(v) => format!(" {v}"),
                Op::Elementwise { f, .. } => format!(" {}", f.render()),
                Op::Select { pred, .. } => format!(" {}", pred.render()),
                Op::Aggregate {
                    default: Some(d), ..
                }
                | Op::Best {
                    default: Some(d), ..
                } => {
                    format!(" default={d}")
                }
                Op::Vsa { op, .. } => match op {
                    VsaOp::Const { space, vec } => format!(" {} {vec:?}", space.name),
                    VsaOp::Embed { book } => format!(" {}", book.name),
                    VsaOp::Permute { k, .. } => format!(" {k}"),
                    VsaOp::Cleanup { book, min } => match min {
                        Some(m) => format!(" {} min={m}", book.name),
                        None => format!(" {}", book.name),
                    },
                    _ => String::new(),
                },
                _ => String::new(),
            };
            let enc = if n.numeric {
                "num".to_string()
            } else if n.op.is_selector() {
                "sel".to_string()
            } else if let Op::Vsa { op, .. } = &n.op
                && op.makes_hv()
            {
                format!("hv<{}>", op.space().name)
            } else {
                "cat".to_string()
            };
            let _ = writeln!(
                out,
                "%{id} = {} {}{extra} [{enc}]",
                n.op.name(),
                args.join(" ")
            );
        }
        match &self.output {
            Some(IrOutput::Seq(n)) | Some(IrOutput::Sel(n)) => {
                let _ = writeln!(out, "output %{n}");
            }
            Some(IrOutput::Scalar(v)) => {
                let _ = writeln!(out, "output {v}");
            }
            None => {}
        }
        out
    }
}

impl Fun {
    /// `self` with the known arguments put in and every subexpression that then reads no
    /// unknown argument evaluated, where that succeeds (one that fails is kept, to fail the same
    /// way when evaluated), and every `if` with a known condition cut to its branch. On
    /// arguments that agree with `known`, [`Fun::eval`] of the result gives what it gives of
    /// `self`: a table over one input, row by row, evaluates the rest once per row.
    pub fn specialize(&self, known: &[Option<Val>]) -> Fun {
        match self {
            Fun::Arg(i) => match known.get(*i) {
                Some(Some(v)) => Fun::Const(v.clone()),
                _ => self.clone(),
            },
            Fun::Const(_) => self.clone(),
            Fun::If(c, a, b) => {
                let c = c.specialize(known);
                match c {
                    Fun::Const(Val::Bool(true)) => a.specialize(known),
                    Fun::Const(Val::Bool(false)) => b.specialize(known),
                    c => Fun::If(
                        Box::new(c),
                        Box::new(a.specialize(known)),
                        Box::new(b.specialize(known)),
                    ),
                }
            }
            _ => {
                let s = self.map_children(&|c| c.specialize(known));
                let vals: Option<Vec<Val>> = s
                    .children()
                    .into_iter()
                    .map(|c| match c {
                        Fun::Const(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                match vals.map(|vs| s.apply(&vs)) {
                    Some(Ok(v)) => Fun::Const(v),
                    _ => s,
                }
            }
        }
    }

    /// Evaluate on one position's argument values.
    pub fn eval(&self, args: &[Val]) -> Result<Val, tessera_lang::value::OpError> {
        use tessera_lang::value::OpError;
        match self {
            Fun::Arg(i) => args
                .get(*i)
                .cloned()
                .ok_or_else(|| OpError::Type(format!("missing argument ${i}"))),
            Fun::Const(v) => Ok(v.clone()),
            Fun::Unary(_, a) | Fun::Builtin(_, a) | Fun::Numeric(a) => self.apply(&[a.eval(args)?]),
            Fun::Binary(_, a, b) => self.apply(&[a.eval(args)?, b.eval(args)?]),
            Fun::If(c, a, b) => match c.eval(args)? {
                Val::Bool(true) => a.eval(args),
                Val::Bool(false) => b.eval(args),
                other => Err(OpError::Type(format!(
                    "`if` needs a bool condition, found {} `{other}`",
                    other.kind_name()
                ))),
            },
        }
    }

    /// This node's operation on its direct subexpressions' values (in [`Fun::children`]'s
    /// order), for the nodes that evaluate all of them: unary, binary, builtin and `numeric`.
    pub fn apply(&self, vals: &[Val]) -> Result<Val, tessera_lang::value::OpError> {
        use tessera_lang::value::{self, OpError};
        match (self, vals) {
            (Fun::Unary(UnOp::Neg, _), [a]) => value::neg(a),
            (Fun::Unary(_, _), [a]) => value::not(a),
            (Fun::Binary(op, ..), [a, b]) => value::binop(*op, a, b),
            (Fun::Builtin(name, _), [a]) => value::scalar_builtin(name, a),
            (Fun::Numeric(_), [a]) => value::to_numeric(a),
            _ => Err(OpError::Type(format!(
                "`{}` does not apply to {} values",
                self.render(),
                vals.len()
            ))),
        }
    }
}
