//! The IR: a program unrolled into a DAG of RASP operations.
//!
//! Functions, lambdas, lists and `for` loops are gone: every node is one sequence operation on
//! earlier nodes (nodes are stored in topological order, inputs first). Elementwise work is an
//! [`Op::Elementwise`] node whose [`Fun`] is an expression over its input nodes, so a map of a
//! map can become one lookup by substituting one `Fun` into another. Identical operations are
//! shared (hash-consing when built).

use std::collections::HashMap;
use std::fmt::Write as _;
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
                _ => String::new(),
            };
            let enc = if n.numeric {
                "num"
            } else if n.op.is_selector() {
                "sel"
            } else {
                "cat"
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
    /// Evaluate on one position's argument values.
    pub fn eval(&self, args: &[Val]) -> Result<Val, tessera_lang::value::OpError> {
        use tessera_lang::value::{self, OpError};
        match self {
            Fun::Arg(i) => args
                .get(*i)
                .cloned()
                .ok_or_else(|| OpError::Type(format!("missing argument ${i}"))),
            Fun::Const(v) => Ok(v.clone()),
            Fun::Unary(UnOp::Neg, a) => value::neg(&a.eval(args)?),
            Fun::Unary(_, a) => value::not(&a.eval(args)?),
            Fun::Binary(op, a, b) => value::binop(*op, &a.eval(args)?, &b.eval(args)?),
            Fun::If(c, a, b) => match c.eval(args)? {
                Val::Bool(true) => a.eval(args),
                Val::Bool(false) => b.eval(args),
                other => Err(OpError::Type(format!(
                    "`if` needs a bool condition, found {} `{other}`",
                    other.kind_name()
                ))),
            },
            Fun::Builtin(name, a) => value::scalar_builtin(name, &a.eval(args)?),
            Fun::Numeric(a) => value::to_numeric(&a.eval(args)?),
        }
    }
}
