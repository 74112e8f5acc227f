//! The untyped syntax tree the parser produces. Every node carries its [`Span`].

use crate::span::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ItemKind {
    Fn(FnDef),
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    Use(UseDecl),
    /// `space S = bsc(dim: 10000, seed: 7);`
    Space {
        name: Ident,
        model: Ident,
        args: Vec<Arg>,
    },
    /// `symbols Color in S = [red, green];`
    Symbols {
        name: Ident,
        space: Ident,
        symbols: Vec<Ident>,
    },
    /// `circuit add(a: bits[4], b: bits[4]) -> bits[5] { a + b }`
    Circuit(FnDef),
    /// `gss scan { "twice": postfix 2 = |x| x ++ x; … }`
    Gss(GssDef),
    /// An item the parser could not read (its errors were reported).
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
    pub span: Span,
}

/// A written type: `cat`, `num`, `sel`, `hv<S>`, `int`, `bits[8]`, ...
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub name: Ident,
    pub arg: Option<TypeArg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeArg {
    Name(Ident),
    Size(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum UseDecl {
    /// `use std::rasp::{a, b};`, `use std::rasp::a;`, `use std::rasp::*;`
    Module { path: Vec<Ident>, items: UseItems },
    /// `use "file.tess";`
    File { path: String, span: Span },
}

#[derive(Debug, Clone, PartialEq)]
pub enum UseItems {
    All,
    Some(Vec<Ident>),
}

/// A call argument, optionally named (`default: 0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    /// `not` (low precedence)
    Not,
    /// `!` (high precedence)
    Bang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// `&`
    Amp,
    /// `|`
    Pipe,
    Xor,
    Shl,
    Shr,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Amp => "&",
            BinOp::Pipe => "|",
            BinOp::Xor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// The predicate of a `select`.
#[derive(Debug, Clone, PartialEq)]
pub enum SelOp {
    /// `== != < <= > >=`, comparing `key OP query`
    Cmp(BinOp),
    True,
    False,
    /// `|k, q| e`
    Lambda(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
    /// `x` or `std::rasp::sort`
    Name(Vec<Ident>),
    /// `Color.red`
    Field(Box<Expr>, Ident),
    List(Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Lambda(Vec<Ident>, Box<Expr>),
    Call(Box<Expr>, Vec<Arg>),
    Select(Box<Expr>, Box<Expr>, SelOp, Span),
    Index(Box<Expr>, Box<Expr>),
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    Block(Vec<Stmt>, Box<Expr>),
    /// An expression the parser could not read (its error was reported).
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
        span: Span,
    },
    /// `for x in [..] { stmts }`: unrolled at compile time; bindings made in the body stay
    /// visible after the loop (RASP semantics), the loop variable does not.
    For {
        var: Ident,
        iter: Expr,
        body: Vec<Stmt>,
        span: Span,
    },
    Error(Span),
}

/// A left-associated `+` chain `a + b + c`: its first operand, then each further operand with
/// the span of the `+` node that adds it (in evaluation order). Every pass that treats a chain
/// of hypervector `+` as one bundle walks it with this.
pub fn add_chain(e: &Expr) -> (&Expr, Vec<(&Expr, Span)>) {
    let mut rhs = Vec::new();
    let mut cur = e;
    while let ExprKind::Binary(BinOp::Add, l, r) = &cur.kind {
        rhs.push((r.as_ref(), cur.span));
        cur = l;
    }
    rhs.reverse();
    (cur, rhs)
}

/// A grounded symbol system: one rule per symbol (see `tessera_gss::model`).
#[derive(Debug, Clone, PartialEq)]
pub struct GssDef {
    pub name: Ident,
    pub rules: Vec<GssRule>,
}

/// `"twice": postfix 2 = |x| x ++ x;`, `",": separator;`, `juxtapose: infix 4 = …;`,
/// `_ = [self];`
#[derive(Debug, Clone, PartialEq)]
pub struct GssRule {
    pub name: GssName,
    /// The fixity word and its precedence (`postfix 2`); none for an atom.
    pub fixity: Option<(Ident, Option<(i64, Span)>)>,
    pub params: Vec<Ident>,
    pub body: Option<GssExpr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GssName {
    /// A symbol written as a string: `"and"`.
    Str(String, Span),
    /// A symbol written bare, or the reserved `juxtapose` and `_`.
    Ident(Ident),
}

impl GssName {
    pub fn span(&self) -> Span {
        match self {
            GssName::Str(_, s) => *s,
            GssName::Ident(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GssExpr {
    pub kind: GssExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GssExprKind {
    Var(Ident),
    /// `tail(x)`, `init(x)`, `reverse(x)`; numeric: `succ(x)`, `pred(x)`, `rec(x, y)`
    Call(Ident, Vec<GssExpr>),
    /// Another symbol's (numeric) meaning: `"+"(x, y)`
    CallSym(String, Span, Vec<GssExpr>),
    /// A number (numeric meanings)
    Int(i64),
    /// `if x == 0 then a else b` (numeric meanings, as the whole meaning)
    If(Box<GssExpr>, (i64, Span), Box<GssExpr>, Box<GssExpr>),
    /// `[I_WALK, head(x), self]`
    List(Vec<GssElem>),
    Concat(Box<GssExpr>, Box<GssExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum GssElem {
    /// A token written bare, or `self`.
    Name(Ident),
    Str(String, Span),
    Int(i64, Span),
    /// `head(x)`, `last(x)`
    Call(Ident, Box<GssExpr>),
}
