//! A grounded symbol system as data: a syntax schema (each symbol's fixity and precedence, and an
//! optional juxtaposition operator) and each symbol's meaning as a list program.
//!
//! The schema is an operator-precedence grammar read by one Pratt parser: an `atom` is a leaf;
//! `prefix k p` takes `k` operands to its right (two operands may be separated by a
//! `separator` symbol, as in `append a b , c`); `postfix p` takes the expression to its left;
//! `infix p` one operand on each side (left-associative). Two operands side by side with no
//! operator between them are joined by the *juxtaposition* operator when the schema has one
//! (as function application is written in ML): `jump left` is `juxtapose(jump, left)`. Higher
//! precedence binds tighter.
//!
//! Meanings are concatenations of atoms (`x ++ [head(y)] ++ [I_WALK]`): whole arguments after
//! `tail`/`init`/`reverse`, single elements (`head`, `last`), literal tokens, and `self` (the
//! token that was read). Values are flat token lists.

use crate::arith::{Fuel, NumProgram, RUN_STEPS};
use std::collections::HashMap;
use std::fmt::Write as _;

/// An interned token.
pub type Sym = u32;

/// Token names and their ids; ids are dense and stable in insertion order.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    names: Vec<String>,
    ids: HashMap<String, Sym>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as Sym;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }
    pub fn name(&self, s: Sym) -> &str {
        self.names.get(s as usize).map_or("?", |s| s.as_str())
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Intern every whitespace-separated word of `s`.
    pub fn words(&mut self, s: &str) -> Vec<Sym> {
        s.split_whitespace().map(|w| self.intern(w)).collect()
    }
    pub fn render(&self, v: &[Sym]) -> String {
        let words: Vec<&str> = v.iter().map(|&s| self.name(s)).collect();
        words.join(" ")
    }
}

/// A whole-list function applied to an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ListOp {
    Tail,
    Init,
    Reverse,
}

impl ListOp {
    pub const ALL: [ListOp; 3] = [ListOp::Tail, ListOp::Init, ListOp::Reverse];
    pub fn name(self) -> &'static str {
        match self {
            ListOp::Tail => "tail",
            ListOp::Init => "init",
            ListOp::Reverse => "reverse",
        }
    }
    pub fn from_name(s: &str) -> Option<ListOp> {
        Some(match s {
            "tail" => ListOp::Tail,
            "init" => ListOp::Init,
            "reverse" => ListOp::Reverse,
            _ => return None,
        })
    }
    fn apply(self, v: &mut Vec<Sym>) {
        match self {
            ListOp::Tail => {
                if !v.is_empty() {
                    v.remove(0);
                }
            }
            ListOp::Init => {
                v.pop();
            }
            ListOp::Reverse => v.reverse(),
        }
    }
}

/// Argument `var` after `ops` (applied first to last): `reverse(tail(x))` is
/// `Path { var: 0, ops: [Tail, Reverse] }`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Path {
    pub var: u8,
    pub ops: Vec<ListOp>,
}

impl Path {
    pub fn var(var: u8) -> Path {
        Path {
            var,
            ops: Vec::new(),
        }
    }
    fn eval(&self, args: &[&[Sym]]) -> Option<Vec<Sym>> {
        let mut v = args.get(self.var as usize)?.to_vec();
        for op in &self.ops {
            op.apply(&mut v);
        }
        Some(v)
    }
    fn write(&self, out: &mut String, params: &[&str]) {
        for op in self.ops.iter().rev() {
            out.push_str(op.name());
            out.push('(');
        }
        out.push_str(params.get(self.var as usize).copied().unwrap_or("?"));
        for _ in &self.ops {
            out.push(')');
        }
    }
}

/// One element of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElemOp {
    Head,
    Last,
}

impl ElemOp {
    pub fn name(self) -> &'static str {
        match self {
            ElemOp::Head => "head",
            ElemOp::Last => "last",
        }
    }
}

/// A piece of a concatenation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// A whole (transformed) argument.
    Seq(Path),
    /// `[head(p)]` or `[last(p)]`; fails on an empty list.
    Elem(ElemOp, Path),
    /// `[TOKEN]`.
    Lit(Sym),
    /// `[self]`: the token this symbol was read from.
    SelfTok,
}

impl Atom {
    /// Description length, with literals charged `const_cost` (copying from the input is
    /// cheaper than naming a constant: the prior that decides SCAN's opposite-right split).
    pub fn cost(&self, const_cost: u32) -> u32 {
        match self {
            Atom::Seq(p) => 1 + p.ops.len() as u32,
            Atom::Elem(_, p) => 2 + p.ops.len() as u32,
            Atom::Lit(_) => const_cost,
            Atom::SelfTok => 1,
        }
    }

    /// Appends the atom's value; `false` when it is undefined (`head` of an empty list).
    pub fn eval_into(&self, args: &[&[Sym]], tok: Sym, out: &mut Vec<Sym>) -> bool {
        match self {
            Atom::Seq(p) => match p.eval(args) {
                Some(v) => {
                    out.extend_from_slice(&v);
                    true
                }
                None => false,
            },
            Atom::Elem(e, p) => {
                let Some(v) = p.eval(args) else { return false };
                let x = match e {
                    ElemOp::Head => v.first(),
                    ElemOp::Last => v.last(),
                };
                match x {
                    Some(&x) => {
                        out.push(x);
                        true
                    }
                    None => false,
                }
            }
            Atom::Lit(s) => {
                out.push(*s);
                true
            }
            Atom::SelfTok => {
                out.push(tok);
                true
            }
        }
    }
}

/// A meaning: `|params| atom ++ atom ++ …` (the empty concatenation is `[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Program {
    pub arity: u8,
    pub atoms: Vec<Atom>,
}

impl Program {
    pub fn constant(value: &[Sym]) -> Program {
        Program {
            arity: 0,
            atoms: value.iter().map(|&s| Atom::Lit(s)).collect(),
        }
    }
    pub fn self_token() -> Program {
        Program {
            arity: 0,
            atoms: vec![Atom::SelfTok],
        }
    }
    pub fn cost(&self, const_cost: u32) -> u32 {
        self.atoms
            .iter()
            .map(|a| a.cost(const_cost))
            .sum::<u32>()
            .max(1)
    }
    pub fn eval(&self, args: &[&[Sym]], tok: Sym) -> Option<Vec<Sym>> {
        let mut out = Vec::new();
        for a in &self.atoms {
            if !a.eval_into(args, tok, &mut out) {
                return None;
            }
        }
        Some(out)
    }

    /// Tessera source: `|x, y| y ++ [head(x)] ++ x`.
    pub fn to_source(&self, names: &Interner) -> String {
        let params: &[&str] = match self.arity {
            0 => &[],
            1 => &["x"],
            _ => &["x", "y"],
        };
        let mut out = String::new();
        if !params.is_empty() {
            let _ = write!(out, "|{}| ", params.join(", "));
        }
        if self.atoms.is_empty() {
            out.push_str("[]");
            return out;
        }
        let mut first = true;
        let mut i = 0;
        while i < self.atoms.len() {
            if !first {
                out.push_str(" ++ ");
            }
            first = false;
            match &self.atoms[i] {
                Atom::Seq(p) => {
                    p.write(&mut out, params);
                    i += 1;
                }
                _ => {
                    // consecutive elements share one bracket: [I_TURN_LEFT, head(x)]
                    out.push('[');
                    let mut k = 0;
                    while let Some(a) = self.atoms.get(i) {
                        let piece = match a {
                            Atom::Seq(_) => break,
                            Atom::Elem(e, p) => {
                                let mut s = format!("{}(", e.name());
                                p.write(&mut s, params);
                                s.push(')');
                                s
                            }
                            Atom::Lit(s) => quote_token(names.name(*s)),
                            Atom::SelfTok => "self".to_string(),
                        };
                        if k > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(&piece);
                        k += 1;
                        i += 1;
                    }
                    out.push(']');
                }
            }
        }
        out
    }
}

/// A token as Tessera source: bare when it is an identifier that is not a keyword or `self`,
/// otherwise a string literal.
pub fn quote_token(s: &str) -> String {
    let ident = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    // an integer reads back as itself only without leading zeros
    let int = !s.is_empty()
        && s.len() < 18
        && s.chars().all(|c| c.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if (ident && !KEYWORDS.contains(&s) && s != "self" && s != "_") || int {
        s.to_string()
    } else {
        quote_string(s)
    }
}

/// A Tessera string literal for `s`.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words the Tessera lexer reserves.
pub const KEYWORDS: &[&str] = &[
    "fn", "let", "use", "space", "symbols", "circuit", "gss", "in", "for", "if", "then", "else",
    "not", "and", "or", "true", "false", "none", "select",
];

/// How a symbol combines with its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fixity {
    Atom,
    Prefix {
        arity: u8,
        prec: u8,
    },
    Postfix {
        prec: u8,
    },
    Infix {
        prec: u8,
    },
    Separator,
    /// An opening bracket: reads one expression, then expects a closing bracket; the pair
    /// groups and adds no node to the tree.
    Open,
    /// A closing bracket.
    Close,
}

impl Fixity {
    pub fn arity(self) -> u8 {
        match self {
            Fixity::Atom | Fixity::Separator | Fixity::Open | Fixity::Close => 0,
            Fixity::Prefix { arity, .. } => arity,
            Fixity::Postfix { .. } => 1,
            Fixity::Infix { .. } => 2,
        }
    }
    /// Source form after the symbol's name: `: postfix 2`, or nothing for an atom.
    pub fn to_source(self) -> String {
        match self {
            Fixity::Atom => String::new(),
            Fixity::Prefix { arity: 1, prec } => format!(": prefix {prec}"),
            Fixity::Prefix { arity, prec } => format!(": prefix{arity} {prec}"),
            Fixity::Postfix { prec } => format!(": postfix {prec}"),
            Fixity::Infix { prec } => format!(": infix {prec}"),
            Fixity::Separator => ": separator".to_string(),
            Fixity::Open => ": open".to_string(),
            Fixity::Close => ": close".to_string(),
        }
    }
}

/// What a tree node applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Head {
    Tok(Sym),
    Juxtapose,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub head: Head,
    /// The token position (for juxtaposition, the position of the right operand's first token).
    pub pos: usize,
    pub children: Vec<usize>,
}

/// A parse: nodes in bottom-up order (children before parents); the root is the last node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn root(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }
    /// S-expression: `(twice (juxtapose jump left))`.
    pub fn to_sexpr(&self, names: &Interner, toks: &[Sym]) -> String {
        fn go(t: &Tree, n: usize, names: &Interner, toks: &[Sym], out: &mut String) {
            let node = &t.nodes[n];
            let name = match node.head {
                Head::Tok(_) => names.name(toks[node.pos]).to_string(),
                Head::Juxtapose => "juxtapose".to_string(),
            };
            if node.children.is_empty() {
                out.push_str(&name);
                return;
            }
            out.push('(');
            out.push_str(&name);
            for &c in &node.children {
                out.push(' ');
                go(t, c, names, toks, out);
            }
            out.push(')');
        }
        let mut out = String::new();
        if !self.nodes.is_empty() {
            go(self, self.root(), names, toks, &mut out);
        }
        out
    }
}

/// Where and why an input does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Token position (0-based); the input length for "ended too early".
    pub pos: usize,
    pub message: String,
}

/// The longest input the parser reads (its recursion is bounded by the input length).
pub const MAX_INPUT_TOKENS: usize = 4096;

/// The longest value a list meaning may build while running (checked before it is built).
pub const MAX_OUTPUT_TOKENS: usize = 1 << 20;

/// Parses `toks` under a schema given as a fixity lookup and the juxtaposition precedence.
pub fn parse(
    toks: &[Sym],
    fixity: &dyn Fn(Sym) -> Option<Fixity>,
    jux: Option<u8>,
) -> Result<Tree, ParseError> {
    if toks.len() > MAX_INPUT_TOKENS {
        return Err(ParseError {
            pos: MAX_INPUT_TOKENS,
            message: format!(
                "the input has {} tokens, more than the limit of {MAX_INPUT_TOKENS}",
                toks.len()
            ),
        });
    }
    if toks.is_empty() {
        return Err(ParseError {
            pos: 0,
            message: "the input is empty".into(),
        });
    }
    let mut p = Pratt {
        toks,
        fixity,
        jux,
        i: 0,
        tree: Tree::default(),
    };
    p.expr(0)?;
    if p.i < toks.len() {
        return Err(ParseError {
            pos: p.i,
            message: "unexpected token: no rule of the schema combines it with what precedes it"
                .into(),
        });
    }
    Ok(p.tree)
}

struct Pratt<'a> {
    toks: &'a [Sym],
    fixity: &'a dyn Fn(Sym) -> Option<Fixity>,
    jux: Option<u8>,
    i: usize,
    tree: Tree,
}

impl Pratt<'_> {
    fn fix(&self, pos: usize) -> Result<Fixity, ParseError> {
        (self.fixity)(self.toks[pos]).ok_or_else(|| ParseError {
            pos,
            message: "unknown symbol (the system has no rule for it and no `_` rule)".into(),
        })
    }
    fn push(&mut self, head: Head, pos: usize, children: Vec<usize>) -> usize {
        self.tree.nodes.push(Node {
            head,
            pos,
            children,
        });
        self.tree.nodes.len() - 1
    }
    fn expr(&mut self, min: u8) -> Result<usize, ParseError> {
        let pos = self.i;
        if pos >= self.toks.len() {
            return Err(ParseError {
                pos,
                message: "the input ends where an operand is expected".into(),
            });
        }
        let t = self.toks[pos];
        let mut lhs = match self.fix(pos)? {
            Fixity::Atom => {
                self.i += 1;
                self.push(Head::Tok(t), pos, Vec::new())
            }
            Fixity::Prefix { arity, prec } => {
                self.i += 1;
                let mut kids = vec![self.expr(prec)?];
                for _ in 1..arity {
                    if self.i < self.toks.len() && self.fix(self.i)? == Fixity::Separator {
                        self.i += 1;
                    }
                    kids.push(self.expr(prec)?);
                }
                self.push(Head::Tok(t), pos, kids)
            }
            Fixity::Postfix { .. } | Fixity::Infix { .. } => {
                return Err(ParseError {
                    pos,
                    message: "an operator where an operand is expected".into(),
                });
            }
            Fixity::Separator => {
                return Err(ParseError {
                    pos,
                    message: "a separator where an operand is expected".into(),
                });
            }
            Fixity::Close => {
                return Err(ParseError {
                    pos,
                    message: "a closing bracket where an operand is expected".into(),
                });
            }
            Fixity::Open => {
                self.i += 1;
                let inner = self.expr(0)?;
                if self.i >= self.toks.len() || self.fix(self.i)? != Fixity::Close {
                    return Err(ParseError {
                        pos: self.i,
                        message: format!(
                            "the bracket opened at word {} is not closed here",
                            pos + 1
                        ),
                    });
                }
                self.i += 1;
                inner
            }
        };
        while self.i < self.toks.len() {
            let pos = self.i;
            let t = self.toks[pos];
            match self.fix(pos)? {
                Fixity::Postfix { prec } => {
                    if prec <= min {
                        break;
                    }
                    self.i += 1;
                    lhs = self.push(Head::Tok(t), pos, vec![lhs]);
                }
                Fixity::Infix { prec } => {
                    if prec <= min {
                        break;
                    }
                    self.i += 1;
                    let rhs = self.expr(prec)?;
                    lhs = self.push(Head::Tok(t), pos, vec![lhs, rhs]);
                }
                Fixity::Atom | Fixity::Prefix { .. } | Fixity::Open => match self.jux {
                    Some(p) if p > min => {
                        let rhs = self.expr(p)?;
                        lhs = self.push(Head::Juxtapose, pos, vec![lhs, rhs]);
                    }
                    _ => break,
                },
                Fixity::Separator | Fixity::Close => break,
            }
        }
        Ok(lhs)
    }
}

/// What a symbol means: a list program, or a numeric one (a system's meanings are all of one
/// kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    List(Program),
    Num(NumProgram),
}

impl Meaning {
    pub fn list(&self) -> Option<&Program> {
        match self {
            Meaning::List(p) => Some(p),
            Meaning::Num(_) => None,
        }
    }
    pub fn num(&self) -> Option<&NumProgram> {
        match self {
            Meaning::Num(p) => Some(p),
            Meaning::List(_) => None,
        }
    }
    pub fn to_source(&self, names: &Interner) -> String {
        match self {
            Meaning::List(p) => p.to_source(names),
            Meaning::Num(p) => p.to_source(names),
        }
    }
}

/// One symbol's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub fixity: Fixity,
    /// `None` only for separators and brackets.
    pub meaning: Option<Meaning>,
}

/// A learned (or written) grounded symbol system.
#[derive(Debug, Clone, Default)]
pub struct Gss {
    pub name: String,
    pub names: Interner,
    /// Rules in the order they are printed.
    pub rules: Vec<(Sym, Rule)>,
    pub juxtapose: Option<(u8, Program)>,
    /// The meaning of tokens without a rule (they are atoms); `None`: such tokens are errors.
    pub default: Option<Program>,
}

/// Why an input cannot be interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    Parse(ParseError),
    /// A meaning is undefined on its arguments (`head` of an empty list) at this token.
    Undefined {
        pos: usize,
        symbol: String,
    },
    /// A numeric meaning has no value here (`why` says what stopped it).
    Numeric {
        pos: usize,
        symbol: String,
        why: String,
    },
    /// A list meaning would build a value longer than [`MAX_OUTPUT_TOKENS`], or the values of
    /// one input together more than four times that (a meaning that doubles its argument,
    /// applied at every word, grows as 2^words).
    TooLong {
        pos: usize,
        symbol: String,
        len: usize,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Parse(e) => write!(f, "word {}: {}", e.pos + 1, e.message),
            RunError::Undefined { pos, symbol } => write!(
                f,
                "word {}: the meaning of `{symbol}` is undefined on its arguments (head or last of an empty list)",
                pos + 1
            ),
            RunError::Numeric { pos, symbol, why } => write!(
                f,
                "word {}: the meaning of `{symbol}` has no value: {why}",
                pos + 1
            ),
            RunError::TooLong { pos, symbol, len } => write!(
                f,
                "word {}: the meaning of `{symbol}` would build {len} tokens, more than the limit of {MAX_OUTPUT_TOKENS}",
                pos + 1
            ),
        }
    }
}

/// A [`Gss`] with its rules indexed: parses and evaluates inputs.
pub struct Reader<'a> {
    g: &'a Gss,
    index: HashMap<Sym, &'a Rule>,
}

impl Reader<'_> {
    /// A token's fixity: its rule's, an atom for tokens without a rule when the system has a
    /// `_` rule, `None` otherwise.
    pub fn fixity(&self, s: Sym) -> Option<Fixity> {
        match self.index.get(&s) {
            Some(r) => Some(r.fixity),
            None => self.g.default.is_some().then_some(Fixity::Atom),
        }
    }

    /// Parses interned tokens (ids beyond the system's names are tokens without a rule).
    pub fn parse(&self, toks: &[Sym]) -> Result<Tree, ParseError> {
        parse(
            toks,
            &|s: Sym| self.fixity(s),
            self.g.juxtapose.as_ref().map(|j| j.0),
        )
    }

    /// Evaluates a parse bottom-up.
    pub fn eval(&self, tree: &Tree, toks: &[Sym]) -> Result<Vec<Sym>, RunError> {
        let mut vals = self.eval_values(tree, toks)?;
        vals.pop().ok_or(RunError::Parse(ParseError {
            pos: 0,
            message: "the input is empty".into(),
        }))
    }

    /// Evaluates a parse bottom-up and returns every node's value (in the tree's node order;
    /// the root's is the last).
    pub fn eval_values(&self, tree: &Tree, toks: &[Sym]) -> Result<Vec<Vec<Sym>>, RunError> {
        let g = self.g;
        let mut vals: Vec<Vec<Sym>> = Vec::with_capacity(tree.nodes.len());
        let mut held = 0usize;
        for node in &tree.nodes {
            let args: Vec<&[Sym]> = node.children.iter().map(|&c| vals[c].as_slice()).collect();
            let (prog, tok) = match node.head {
                Head::Tok(s) => (
                    match self.index.get(&s) {
                        Some(r) => r.meaning.as_ref().and_then(Meaning::list),
                        None => g.default.as_ref(),
                    },
                    s,
                ),
                Head::Juxtapose => (g.juxtapose.as_ref().map(|j| &j.1), toks[node.pos]),
            };
            let undefined = || RunError::Undefined {
                pos: node.pos,
                symbol: match node.head {
                    Head::Tok(s) => g.names.name(s).to_string(),
                    Head::Juxtapose => "juxtapose".into(),
                },
            };
            if let Some(p) = prog {
                // Paths never grow their argument: this bounds the value before it is built.
                let bound: usize = p
                    .atoms
                    .iter()
                    .map(|a| match a {
                        Atom::Seq(path) => args.get(path.var as usize).map_or(0, |x| x.len()),
                        _ => 1,
                    })
                    .fold(0usize, usize::saturating_add);
                // Every node's value is kept until the end: bound their total as well.
                if bound > MAX_OUTPUT_TOKENS || bound.saturating_add(held) > 4 * MAX_OUTPUT_TOKENS {
                    return Err(RunError::TooLong {
                        pos: node.pos,
                        symbol: match node.head {
                            Head::Tok(s) => g.names.name(s).to_string(),
                            Head::Juxtapose => "juxtapose".into(),
                        },
                        len: bound,
                    });
                }
            }
            let v = prog
                .and_then(|p| p.eval(&args, tok))
                .ok_or_else(undefined)?;
            held += v.len();
            vals.push(v);
        }
        Ok(vals)
    }

    /// Evaluates a parse of a numeric system bottom-up, with one step budget for the input.
    pub fn eval_num(&self, tree: &Tree, fuel: &mut Fuel) -> Result<u64, RunError> {
        let g = self.g;
        let lib = |s: Sym| {
            self.index
                .get(&s)
                .and_then(|r| r.meaning.as_ref())
                .and_then(Meaning::num)
        };
        let mut vals: Vec<u64> = Vec::with_capacity(tree.nodes.len());
        for node in &tree.nodes {
            let args: Vec<u64> = node.children.iter().map(|&c| vals[c]).collect();
            let name = || match node.head {
                Head::Tok(s) => g.names.name(s).to_string(),
                Head::Juxtapose => "juxtapose".into(),
            };
            let prog = match node.head {
                Head::Tok(s) => lib(s),
                Head::Juxtapose => None,
            };
            let Some(prog) = prog.filter(|p| p.arity as usize == args.len()) else {
                return Err(RunError::Numeric {
                    pos: node.pos,
                    symbol: name(),
                    why: "no numeric meaning with that many operands".into(),
                });
            };
            let v = prog
                .eval(&args, &lib, fuel)
                .map_err(|e| RunError::Numeric {
                    pos: node.pos,
                    symbol: name(),
                    why: e.describe(&g.names),
                })?;
            vals.push(v);
        }
        vals.pop().ok_or(RunError::Parse(ParseError {
            pos: 0,
            message: "the input is empty".into(),
        }))
    }

    /// Parses and evaluates interned tokens to output tokens, interning numbers into `names`.
    pub fn interpret(&self, toks: &[Sym], names: &mut Interner) -> Result<Vec<Sym>, RunError> {
        let tree = self.parse(toks).map_err(RunError::Parse)?;
        if self.g.is_numeric() {
            let n = self.eval_num(&tree, &mut Fuel::new(RUN_STEPS))?;
            Ok(vec![names.intern(&n.to_string())])
        } else {
            self.eval(&tree, toks)
        }
    }
}

impl Gss {
    /// Whether the meanings are numeric (outputs are one number).
    pub fn is_numeric(&self) -> bool {
        self.rules
            .iter()
            .any(|(_, r)| matches!(r.meaning, Some(Meaning::Num(_))))
    }

    pub fn rule(&self, s: Sym) -> Option<&Rule> {
        self.rules.iter().find(|(t, _)| *t == s).map(|(_, r)| r)
    }

    /// The system ready to read inputs (its rules indexed once, for many inputs).
    pub fn reader(&self) -> Reader<'_> {
        Reader {
            g: self,
            index: self.rules.iter().map(|(s, r)| (*s, r)).collect(),
        }
    }

    /// Runs the system on whitespace-separated words; returns the output words and the parse as
    /// an S-expression.
    pub fn run(&self, input: &str) -> Result<(Vec<String>, String), RunError> {
        let mut names = self.names.clone();
        let toks = names.words(input);
        let reader = self.reader();
        let tree = reader.parse(&toks).map_err(|mut e| {
            match toks.get(e.pos) {
                Some(&t) => e.message = format!("`{}`: {}", names.name(t), e.message),
                None => e.message = format!("(after the last word) {}", e.message),
            }
            RunError::Parse(e)
        })?;
        let out = if self.is_numeric() {
            let n = reader.eval_num(&tree, &mut Fuel::new(RUN_STEPS))?;
            vec![names.intern(&n.to_string())]
        } else {
            reader.eval(&tree, &toks)?
        };
        let words = out.iter().map(|&s| names.name(s).to_string()).collect();
        Ok((words, tree.to_sexpr(&names, &toks)))
    }

    /// The system as a Tessera `gss` item.
    pub fn to_source(&self) -> String {
        let mut out = format!("gss {} {{\n", self.name);
        for (s, r) in &self.rules {
            let name = quote_string(self.names.name(*s));
            let _ = write!(out, "    {name}{}", r.fixity.to_source());
            if let Some(p) = &r.meaning {
                let _ = write!(out, " = {}", p.to_source(&self.names));
            }
            out.push_str(";\n");
        }
        if let Some((prec, p)) = &self.juxtapose {
            let _ = writeln!(
                out,
                "    juxtapose: infix {prec} = {};",
                p.to_source(&self.names)
            );
        }
        if let Some(p) = &self.default {
            let _ = writeln!(out, "    _ = {};", p.to_source(&self.names));
        }
        out.push_str("}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_like() -> Gss {
        let mut names = Interner::default();
        let walk = names.intern("walk");
        let left = names.intern("left");
        let twice = names.intern("twice");
        let and = names.intern("and");
        let iw = names.intern("I_WALK");
        let il = names.intern("I_TURN_LEFT");
        let x = || Atom::Seq(Path::var(0));
        let y = || Atom::Seq(Path::var(1));
        Gss {
            name: "t".into(),
            names,
            rules: vec![
                (
                    walk,
                    Rule {
                        fixity: Fixity::Atom,
                        meaning: Some(Meaning::List(Program::constant(&[iw]))),
                    },
                ),
                (
                    left,
                    Rule {
                        fixity: Fixity::Atom,
                        meaning: Some(Meaning::List(Program::constant(&[il]))),
                    },
                ),
                (
                    twice,
                    Rule {
                        fixity: Fixity::Postfix { prec: 2 },
                        meaning: Some(Meaning::List(Program {
                            arity: 1,
                            atoms: vec![x(), x()],
                        })),
                    },
                ),
                (
                    and,
                    Rule {
                        fixity: Fixity::Infix { prec: 1 },
                        meaning: Some(Meaning::List(Program {
                            arity: 2,
                            atoms: vec![x(), y()],
                        })),
                    },
                ),
            ],
            juxtapose: Some((
                4,
                Program {
                    arity: 2,
                    atoms: vec![y(), x()],
                },
            )),
            default: None,
        }
    }

    #[test]
    fn parses_with_precedence_and_juxtaposition() {
        let g = scan_like();
        let (out, tree) = g.run("walk left twice and walk").unwrap();
        assert_eq!(tree, "(and (twice (juxtapose walk left)) walk)");
        assert_eq!(
            out.join(" "),
            "I_TURN_LEFT I_WALK I_TURN_LEFT I_WALK I_WALK"
        );
        let e = g.run("walk and").unwrap_err();
        assert!(
            matches!(e, RunError::Parse(ParseError { pos: 2, .. })),
            "{e:?}"
        );
        let e = g.run("twice walk").unwrap_err();
        assert!(
            matches!(e, RunError::Parse(ParseError { pos: 0, .. })),
            "{e:?}"
        );
        let e = g.run("walk jump").unwrap_err();
        assert!(
            matches!(e, RunError::Parse(ParseError { pos: 1, .. })),
            "{e:?}"
        );
    }

    #[test]
    fn prints_programs() {
        let mut names = Interner::default();
        let t = names.intern("I_TURN_LEFT");
        let p = Program {
            arity: 2,
            atoms: vec![
                Atom::Lit(t),
                Atom::Elem(
                    ElemOp::Head,
                    Path {
                        var: 1,
                        ops: vec![ListOp::Tail, ListOp::Reverse],
                    },
                ),
                Atom::Seq(Path::var(0)),
            ],
        };
        assert_eq!(
            p.to_source(&names),
            "|x, y| [I_TURN_LEFT, head(reverse(tail(y)))] ++ x"
        );
        assert_eq!(Program::default().to_source(&names), "[]");
        assert_eq!(quote_token("and"), "\"and\"");
        assert_eq!(quote_token("A1"), "A1");
        assert_eq!(quote_token(","), "\",\"");
    }
}
