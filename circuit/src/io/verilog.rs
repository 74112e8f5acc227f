//! Structural Verilog: one module of `input`/`output`/`wire` declarations (scalars and
//! `[msb:lsb]` vectors), `assign` statements over `~ ! & | ^ ~^` and parentheses, and the gate
//! primitives `and or nand nor xor xnor not buf`.

use super::netlist::{Expr, Netlist};
use super::{Loc, fail, names};
use crate::CircuitError;
use crate::aig::{Aig, Node};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Id(String),
    Num(String),
    Sym(&'static str),
}

fn lex(text: &str, file: &str) -> Result<Vec<(Tok, usize)>, CircuitError> {
    let b = text.as_bytes();
    let (mut i, mut line) = (0, 1);
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let start = line;
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                line += (b[i] == b'\n') as usize;
                i += 1;
            }
            if i >= b.len() {
                return Err(fail(
                    Loc { file, line: start },
                    "a `/*` comment is never closed",
                ));
            }
            i += 2;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            out.push((Tok::Id(text[s..i].to_string()), line));
        } else if c == b'\\' {
            let s = i + 1;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push((Tok::Id(text[s..i].to_string()), line));
        } else if c.is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'\'') {
                i += 1;
            }
            out.push((Tok::Num(text[s..i].to_string()), line));
        } else {
            let sym = [
                "~^", "^~", "(", ")", "[", "]", ",", ";", "=", "~", "!", "&", "|", "^", ":",
            ]
            .into_iter()
            .find(|s| b[i..].starts_with(s.as_bytes()));
            let Some(sym) = sym else {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(fail(
                    Loc { file, line },
                    &format!("unexpected character `{ch}`"),
                ));
            };
            i += sym.len();
            out.push((Tok::Sym(sym), line));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    file: &'a str,
    depth: usize,
    declared: usize,
}

const MAX_DEPTH: usize = 500;
/// The most signals (vector bits count one each) a module may declare.
const MAX_SIGNALS: usize = 1 << 22;

impl<'a> Parser<'a> {
    fn loc(&self) -> Loc<'a> {
        let line = self
            .toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(1, |t| t.1);
        Loc {
            file: self.file,
            line,
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn found(&self) -> String {
        match self.peek() {
            Some(Tok::Id(s)) | Some(Tok::Num(s)) => format!("`{s}`"),
            Some(Tok::Sym(s)) => format!("`{s}`"),
            None => "the end of the file".into(),
        }
    }
    fn eat(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, s: &str) -> Result<(), CircuitError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(fail(
                self.loc(),
                &format!("expected `{s}`, found {}", self.found()),
            ))
        }
    }
    fn id(&mut self) -> Result<String, CircuitError> {
        match self.peek() {
            Some(Tok::Id(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(fail(
                self.loc(),
                &format!("expected a name, found {}", self.found()),
            )),
        }
    }
    fn number(&mut self) -> Result<usize, CircuitError> {
        match self.peek() {
            Some(Tok::Num(s)) => {
                let v = s
                    .parse()
                    .map_err(|_| fail(self.loc(), &format!("expected a bit index, found `{s}`")))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(fail(
                self.loc(),
                &format!("expected a bit index, found {}", self.found()),
            )),
        }
    }
    /// A name with an optional bit select: `x` or `x[3]`.
    fn signal(&mut self) -> Result<String, CircuitError> {
        let n = self.id()?;
        if self.eat("[") {
            let k = self.number()?;
            self.expect("]")?;
            return Ok(format!("{n}[{k}]"));
        }
        Ok(n)
    }
    /// Declared names, expanding `[msb:lsb]` ranges.
    fn decl(&mut self) -> Result<Vec<String>, CircuitError> {
        let range = if self.eat("[") {
            let a = self.number()?;
            self.expect(":")?;
            let b = self.number()?;
            self.expect("]")?;
            if a.abs_diff(b) > 1 << 16 {
                return Err(fail(self.loc(), "a vector wider than 65536 bits"));
            }
            Some((a.min(b), a.max(b)))
        } else {
            None
        };
        let mut out = Vec::new();
        loop {
            let n = self.id()?;
            self.declared += range.map_or(1, |(lo, hi)| hi - lo + 1);
            if self.declared > MAX_SIGNALS {
                return Err(fail(
                    self.loc(),
                    &format!("more than {MAX_SIGNALS} declared signals"),
                ));
            }
            match range {
                Some((lo, hi)) => out.extend((lo..=hi).map(|k| format!("{n}[{k}]"))),
                None => out.push(n),
            }
            if !self.eat(",") {
                break;
            }
        }
        self.expect(";")?;
        Ok(out)
    }
    fn expr(&mut self) -> Result<Expr, CircuitError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(fail(
                self.loc(),
                &format!("expression nested deeper than {MAX_DEPTH}"),
            ));
        }
        let r = self.binary(0);
        self.depth -= 1;
        r
    }
    // Precedence: | < ^ ~^ < &
    fn binary(&mut self, level: u8) -> Result<Expr, CircuitError> {
        if level == 3 {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        loop {
            let op = match (level, self.peek()) {
                (0, Some(Tok::Sym("|"))) => "|",
                (1, Some(Tok::Sym("^"))) => "^",
                (1, Some(Tok::Sym("~^" | "^~"))) => "~^",
                (2, Some(Tok::Sym("&"))) => "&",
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = match op {
                "|" => Expr::Or(vec![lhs, rhs]),
                "^" => Expr::Xor(vec![lhs, rhs]),
                "&" => Expr::And(vec![lhs, rhs]),
                _ => Expr::Not(Box::new(Expr::Xor(vec![lhs, rhs]))),
            };
        }
    }
    fn unary(&mut self) -> Result<Expr, CircuitError> {
        if self.eat("~") || self.eat("!") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(fail(
                    self.loc(),
                    &format!("expression nested deeper than {MAX_DEPTH}"),
                ));
            }
            let e = self.unary();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e?)));
        }
        if self.eat("(") {
            let e = self.expr()?;
            self.expect(")")?;
            return Ok(e);
        }
        if let Some(Tok::Num(s)) = self.peek() {
            let v = match s.as_str() {
                "0" | "1'b0" | "1'h0" | "1'd0" => false,
                "1" | "1'b1" | "1'h1" | "1'd1" => true,
                _ => {
                    return Err(fail(
                        self.loc(),
                        &format!("expected a one-bit constant (`1'b0`, `1'b1`), found `{s}`"),
                    ));
                }
            };
            self.pos += 1;
            return Ok(Expr::Const(v));
        }
        Ok(Expr::Name(self.signal()?))
    }
}

pub fn read(text: &str, file: &str) -> Result<Aig, CircuitError> {
    let mut p = Parser {
        toks: lex(text, file)?,
        pos: 0,
        file,
        depth: 0,
        declared: 0,
    };
    if p.id()? != "module" {
        p.pos -= 1;
        return Err(fail(
            p.loc(),
            &format!("expected `module`, found {}", p.found()),
        ));
    }
    p.id()?;
    if p.eat("(") && !p.eat(")") {
        loop {
            p.signal()?;
            if p.eat(")") {
                break;
            }
            p.expect(",")?;
        }
    }
    p.expect(";")?;
    let mut net = Netlist::default();
    loop {
        let loc = p.loc();
        let kw = p.id().map_err(|_| {
            fail(
                loc,
                &format!(
                    "expected a declaration, `assign`, a gate or `endmodule`, found {}",
                    p.found()
                ),
            )
        })?;
        match kw.as_str() {
            "endmodule" => break,
            "input" => net
                .inputs
                .extend(p.decl()?.into_iter().map(|n| (n, loc.line))),
            "output" => net
                .outputs
                .extend(p.decl()?.into_iter().map(|n| (n, loc.line))),
            "wire" => {
                p.decl()?;
            }
            "assign" => loop {
                let lhs = p.signal()?;
                p.expect("=")?;
                let e = p.expr()?;
                net.define(lhs, e, loc)?;
                if p.eat(";") {
                    break;
                }
                p.expect(",")?;
            },
            "and" | "or" | "nand" | "nor" | "xor" | "xnor" | "not" | "buf" => {
                if matches!(p.peek(), Some(Tok::Id(_))) {
                    p.id()?;
                }
                p.expect("(")?;
                let mut args = vec![p.signal()?];
                while p.eat(",") {
                    args.push(p.signal()?);
                }
                p.expect(")")?;
                p.expect(";")?;
                if args.len() < 2 {
                    return Err(fail(
                        loc,
                        &format!("`{kw}` needs an output and at least one input"),
                    ));
                }
                let out = args.remove(0);
                let xs: Vec<Expr> = args.into_iter().map(Expr::Name).collect();
                let not = |e| Expr::Not(Box::new(e));
                let e = match kw.as_str() {
                    "and" => Expr::And(xs),
                    "or" => Expr::Or(xs),
                    "nand" => not(Expr::And(xs)),
                    "nor" => not(Expr::Or(xs)),
                    "xor" => Expr::Xor(xs),
                    "xnor" => not(Expr::Xor(xs)),
                    "not" if xs.len() == 1 => not(Expr::Xor(xs)),
                    "buf" if xs.len() == 1 => Expr::Xor(xs),
                    _ => return Err(fail(loc, &format!("`{kw}` takes one input"))),
                };
                net.define(out, e, loc)?;
            }
            other => {
                return Err(fail(
                    loc,
                    &format!(
                        "expected a declaration, `assign`, a gate or `endmodule`, found `{other}`"
                    ),
                ));
            }
        }
    }
    net.into_aig(file)
}

fn id_ok(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '$')
        && !matches!(
            n,
            "module"
                | "endmodule"
                | "input"
                | "output"
                | "wire"
                | "assign"
                | "and"
                | "or"
                | "nand"
                | "nor"
                | "xor"
                | "xnor"
                | "not"
                | "buf"
        )
}

pub fn write(g: &Aig) -> String {
    use std::fmt::Write;
    let nm = names(g, id_ok);
    let node = |v: usize| -> String {
        match g.node(v as u32) {
            Node::Input(i) => nm.inputs[i as usize].clone(),
            Node::Const => "1'b0".into(),
            _ => format!("_n{v}"),
        }
    };
    let lit =
        |l: crate::aig::Lit| format!("{}{}", if l.is_compl() { "~" } else { "" }, node(l.index()));
    let mut s = String::from("// written by tessera\nmodule top (");
    let ports: Vec<&String> = nm.inputs.iter().chain(&nm.outputs).collect();
    s.push_str(
        &ports
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str(");\n");
    for n in &nm.inputs {
        let _ = writeln!(s, "  input {n};");
    }
    for n in &nm.outputs {
        let _ = writeln!(s, "  output {n};");
    }
    for (v, n) in g.nodes().iter().enumerate() {
        if let Node::And(..) = n {
            let _ = writeln!(s, "  wire _n{v};");
        }
    }
    for (v, n) in g.nodes().iter().enumerate() {
        if let Node::And(a, b) = *n {
            let _ = writeln!(s, "  assign _n{v} = {} & {};", lit(a), lit(b));
        }
    }
    for (k, &o) in g.outputs().iter().enumerate() {
        let _ = writeln!(s, "  assign {} = {};", nm.outputs[k], lit(o));
    }
    s.push_str("endmodule\n");
    s
}
