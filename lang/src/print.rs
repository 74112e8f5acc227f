//! Printing syntax trees: back to source (fully parenthesised, so `parse(print(ast))` gives
//! the same tree) and as compact S-expressions with spans (for snapshots and debugging).

use crate::ast::*;
use std::fmt::Write as _;

/// Source text for a module. Every compound subexpression is parenthesised.
pub fn to_source(m: &Module) -> String {
    let mut out = String::new();
    for item in &m.items {
        item_source(item, &mut out);
        out.push('\n');
    }
    out
}

fn type_source(t: &TypeExpr) -> String {
    match &t.arg {
        None => t.name.name.clone(),
        Some(TypeArg::Name(n)) => format!("{}<{}>", t.name.name, n.name),
        Some(TypeArg::Size(n)) => format!("{}[{n}]", t.name.name),
    }
}

fn params_source(ps: &[Param]) -> String {
    ps.iter()
        .map(|p| {
            let mut s = p.name.name.clone();
            if let Some(t) = &p.ty {
                let _ = write!(s, ": {}", type_source(t));
            }
            if let Some(d) = &p.default {
                let _ = write!(s, " = {}", expr_source(d));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn args_source(args: &[Arg]) -> String {
    args.iter()
        .map(|a| match &a.name {
            Some(n) => format!("{}: {}", n.name, expr_source(&a.value)),
            None => expr_source(&a.value),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn item_source(item: &Item, out: &mut String) {
    match &item.kind {
        ItemKind::Fn(f) | ItemKind::Circuit(f) => {
            let kw = if matches!(item.kind, ItemKind::Fn(_)) {
                "fn"
            } else {
                "circuit"
            };
            let _ = write!(out, "{kw} {}({})", f.name.name, params_source(&f.params));
            if let Some(r) = &f.ret {
                let _ = write!(out, " -> {}", type_source(r));
            }
            match &f.body.kind {
                ExprKind::Block(..) => {
                    let _ = write!(out, " {}", expr_source(&f.body));
                }
                _ => {
                    let _ = write!(out, " = {};", expr_source(&f.body));
                }
            }
        }
        ItemKind::Let { name, ty, value } => {
            let t = ty
                .as_ref()
                .map(|t| format!(": {}", type_source(t)))
                .unwrap_or_default();
            let _ = write!(out, "let {}{t} = {};", name.name, expr_source(value));
        }
        ItemKind::Use(UseDecl::File { path, .. }) => {
            let _ = write!(out, "use {};", string_source(path));
        }
        ItemKind::Use(UseDecl::Module { path, items }) => {
            let p = path
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join("::");
            match items {
                UseItems::All => {
                    let _ = write!(out, "use {p}::*;");
                }
                // `use foo;` (no module path): the grammar keeps the one name as an item.
                UseItems::Some(v) if path.is_empty() && v.len() == 1 => {
                    let _ = write!(out, "use {};", v[0].name);
                }
                UseItems::Some(v) => {
                    let names = v
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let _ = write!(out, "use {p}::{{{names}}};");
                }
            }
        }
        ItemKind::Gss(g) => out.push_str(&gss_source(g)),
        ItemKind::Space { name, model, args } => {
            let _ = write!(
                out,
                "space {} = {}({});",
                name.name,
                model.name,
                args_source(args)
            );
        }
        ItemKind::Symbols {
            name,
            space,
            symbols,
        } => {
            let syms = symbols
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(out, "symbols {} in {} = [{syms}];", name.name, space.name);
        }
        ItemKind::Error => out.push_str("# <error>"),
    }
}

fn stmts_source(stmts: &[Stmt]) -> String {
    let mut out = String::new();
    for s in stmts {
        match s {
            Stmt::Let {
                name, ty, value, ..
            } => {
                let t = ty
                    .as_ref()
                    .map(|t| format!(": {}", type_source(t)))
                    .unwrap_or_default();
                let _ = write!(out, "let {}{t} = {}; ", name.name, expr_source(value));
            }
            Stmt::For {
                var, iter, body, ..
            } => {
                let _ = write!(
                    out,
                    "for {} in {} {{ {}}} ",
                    var.name,
                    expr_source(iter),
                    stmts_source(body)
                );
            }
            Stmt::Error(_) => {}
        }
    }
    out
}

fn float_source(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// A string literal the lexer reads back as `s` (only its own escapes: `\" \\ \n \t \0`).
pub fn string_source(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\0' => o.push_str("\\0"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Source text for one expression.
pub fn expr_source(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(x) => float_source(*x),
        ExprKind::Str(s) => string_source(s),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::None => "none".into(),
        ExprKind::Name(p) => p
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("::"),
        ExprKind::Field(b, f) => format!("{}.{}", atom(b), f.name),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(expr_source).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Unary(op, a) => match op {
            UnOp::Neg => format!("-{}", atom(a)),
            UnOp::Bang => format!("!{}", atom(a)),
            UnOp::Not => format!("not {}", atom(a)),
        },
        ExprKind::Binary(op, a, b) => format!("{} {} {}", atom(a), op.symbol(), atom(b)),
        ExprKind::If(c, a, b) => format!(
            "if {} then {} else {}",
            expr_source(c),
            expr_source(a),
            expr_source(b)
        ),
        ExprKind::Lambda(ps, body) => format!(
            "|{}| {}",
            ps.iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            expr_source(body)
        ),
        ExprKind::Call(f, args) => format!("{}({})", atom(f), args_source(args)),
        ExprKind::Select(k, q, op, _) => {
            let op = match op {
                SelOp::Cmp(c) => c.symbol().to_string(),
                SelOp::True => "true".into(),
                SelOp::False => "false".into(),
                SelOp::Lambda(l) => expr_source(l),
            };
            format!("select({}, {}, {op})", expr_source(k), expr_source(q))
        }
        ExprKind::Index(a, i) => format!("{}[{}]", atom(a), expr_source(i)),
        ExprKind::Slice(a, lo, hi) => format!(
            "{}[{}..{}]",
            atom(a),
            lo.as_ref().map(|x| expr_source(x)).unwrap_or_default(),
            hi.as_ref().map(|x| expr_source(x)).unwrap_or_default()
        ),
        ExprKind::Block(stmts, r) => format!("{{ {}{} }}", stmts_source(stmts), expr_source(r)),
        ExprKind::Error => "<error>".into(),
    }
}

/// An expression that can stand as an operand: parenthesised unless atomic.
fn atom(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Name(_)
        | ExprKind::List(_)
        | ExprKind::Call(..)
        | ExprKind::Select(..)
        | ExprKind::Index(..)
        | ExprKind::Field(..)
        | ExprKind::Block(..) => expr_source(e),
        ExprKind::Float(x) if *x >= 0.0 => expr_source(e),
        _ => format!("({})", expr_source(e)),
    }
}

/// A compact S-expression of a module; `spans` adds `@start..end` to every node.
pub fn to_sexpr(m: &Module, spans: bool) -> String {
    let p = SPrinter { spans };
    m.items
        .iter()
        .map(|i| p.item(i))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A compact S-expression of one expression.
pub fn expr_sexpr(e: &Expr, spans: bool) -> String {
    SPrinter { spans }.expr(e)
}

struct SPrinter {
    spans: bool,
}

impl SPrinter {
    fn at(&self, s: crate::span::Span) -> String {
        if self.spans {
            format!("@{}..{}", s.start, s.end)
        } else {
            String::new()
        }
    }

    fn ident(&self, i: &Ident) -> String {
        format!("{}{}", i.name, self.at(i.span))
    }

    fn ty(&self, t: &Option<TypeExpr>) -> String {
        t.as_ref()
            .map(|t| format!(" :{}", type_source(t)))
            .unwrap_or_default()
    }

    fn item(&self, item: &Item) -> String {
        let at = self.at(item.span);
        match &item.kind {
            ItemKind::Fn(f) | ItemKind::Circuit(f) => {
                let kw = if matches!(item.kind, ItemKind::Fn(_)) {
                    "fn"
                } else {
                    "circuit"
                };
                let params = f
                    .params
                    .iter()
                    .map(|p| {
                        let d = p
                            .default
                            .as_ref()
                            .map(|d| format!(" ={}", self.expr(d)))
                            .unwrap_or_default();
                        format!("({}{}{d})", self.ident(&p.name), self.ty(&p.ty))
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                format!(
                    "({kw}{at} {} ({params}){} {})",
                    self.ident(&f.name),
                    self.ty(&f.ret),
                    self.expr(&f.body)
                )
            }
            ItemKind::Let { name, ty, value } => {
                format!(
                    "(let{at} {}{} {})",
                    self.ident(name),
                    self.ty(ty),
                    self.expr(value)
                )
            }
            ItemKind::Use(u) => {
                let mut o = String::new();
                item_source(
                    &Item {
                        kind: ItemKind::Use(u.clone()),
                        span: item.span,
                    },
                    &mut o,
                );
                format!("(use{at} {o:?})")
            }
            ItemKind::Space { name, model, args } => format!(
                "(space{at} {} {} {})",
                self.ident(name),
                self.ident(model),
                self.args(args)
            ),
            ItemKind::Symbols {
                name,
                space,
                symbols,
            } => format!(
                "(symbols{at} {} {} ({}))",
                self.ident(name),
                self.ident(space),
                symbols
                    .iter()
                    .map(|s| self.ident(s))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ItemKind::Gss(g) => format!("(gss{at} {} {:?})", self.ident(&g.name), gss_source(g)),
            ItemKind::Error => format!("(error{at})"),
        }
    }

    fn args(&self, args: &[Arg]) -> String {
        args.iter()
            .map(|a| match &a.name {
                Some(n) => format!("({}: {})", n.name, self.expr(&a.value)),
                None => self.expr(&a.value),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn stmts(&self, stmts: &[Stmt]) -> String {
        stmts
            .iter()
            .map(|s| match s {
                Stmt::Let {
                    name,
                    ty,
                    value,
                    span,
                } => {
                    format!(
                        "(let{} {}{} {})",
                        self.at(*span),
                        self.ident(name),
                        self.ty(ty),
                        self.expr(value)
                    )
                }
                Stmt::For {
                    var,
                    iter,
                    body,
                    span,
                } => format!(
                    "(for{} {} {} ({}))",
                    self.at(*span),
                    self.ident(var),
                    self.expr(iter),
                    self.stmts(body)
                ),
                Stmt::Error(span) => format!("(error{})", self.at(*span)),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn expr(&self, e: &Expr) -> String {
        let at = self.at(e.span);
        match &e.kind {
            ExprKind::Int(i) => format!("{i}{at}"),
            ExprKind::Float(x) => format!("{}{at}", float_source(*x)),
            ExprKind::Str(s) => format!("{s:?}{at}"),
            ExprKind::Bool(b) => format!("{b}{at}"),
            ExprKind::None => format!("none{at}"),
            ExprKind::Name(p) => format!(
                "{}{at}",
                p.iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join("::")
            ),
            ExprKind::Field(b, f) => format!("(. {} {}){at}", self.expr(b), f.name),
            ExprKind::List(items) => format!(
                "(list{at} {})",
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ExprKind::Unary(op, a) => {
                let o = match op {
                    UnOp::Neg => "neg",
                    UnOp::Not => "not",
                    UnOp::Bang => "!",
                };
                format!("({o}{at} {})", self.expr(a))
            }
            ExprKind::Binary(op, a, b) => {
                format!("({}{at} {} {})", op.symbol(), self.expr(a), self.expr(b))
            }
            ExprKind::If(c, a, b) => format!(
                "(if{at} {} {} {})",
                self.expr(c),
                self.expr(a),
                self.expr(b)
            ),
            ExprKind::Lambda(ps, body) => format!(
                "(lambda{at} ({}) {})",
                ps.iter()
                    .map(|p| self.ident(p))
                    .collect::<Vec<_>>()
                    .join(" "),
                self.expr(body)
            ),
            ExprKind::Call(f, args) => format!("(call{at} {} {})", self.expr(f), self.args(args)),
            ExprKind::Select(k, q, op, ospan) => {
                let o = match op {
                    SelOp::Cmp(c) => c.symbol().to_string(),
                    SelOp::True => "true".into(),
                    SelOp::False => "false".into(),
                    SelOp::Lambda(l) => self.expr(l),
                };
                format!(
                    "(select{at} {} {} {o}{})",
                    self.expr(k),
                    self.expr(q),
                    self.at(*ospan)
                )
            }
            ExprKind::Index(a, i) => format!("(index{at} {} {})", self.expr(a), self.expr(i)),
            ExprKind::Slice(a, lo, hi) => format!(
                "(slice{at} {} {} {})",
                self.expr(a),
                lo.as_ref().map_or("_".into(), |x| self.expr(x)),
                hi.as_ref().map_or("_".into(), |x| self.expr(x))
            ),
            ExprKind::Block(stmts, r) => {
                format!("(block{at} ({}) {})", self.stmts(stmts), self.expr(r))
            }
            ExprKind::Error => format!("(error{at})"),
        }
    }
}

fn quoted(s: &str) -> String {
    tessera_gss::model::quote_string(s)
}

/// A `gss` item as source, one rule per line.
pub fn gss_source(g: &crate::ast::GssDef) -> String {
    use crate::ast::{GssElem, GssExpr, GssExprKind, GssName};
    fn args(a: &[GssExpr], out: &mut String) {
        out.push('(');
        for (k, e) in a.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            expr(e, out);
        }
        out.push(')');
    }
    fn expr(e: &GssExpr, out: &mut String) {
        match &e.kind {
            GssExprKind::Var(i) => out.push_str(&i.name),
            GssExprKind::Call(f, a) => {
                out.push_str(&f.name);
                args(a, out);
            }
            GssExprKind::CallSym(f, _, a) => {
                out.push_str(&quoted(f));
                args(a, out);
            }
            GssExprKind::Int(n) => out.push_str(&n.to_string()),
            GssExprKind::If(c, (z, _), a, b) => {
                // an `if` inside an expression is not in the grammar: parenthesise nothing, the
                // grammar only has it at the top or as a branch
                out.push_str("if ");
                expr(c, out);
                let _ = write!(out, " == {z} then ");
                expr(a, out);
                out.push_str(" else ");
                expr(b, out);
            }
            GssExprKind::Concat(a, b) => {
                expr(a, out);
                out.push_str(" ++ ");
                expr(b, out);
            }
            GssExprKind::List(es) => {
                out.push('[');
                for (k, el) in es.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    match el {
                        GssElem::Name(i) => out.push_str(&i.name),
                        GssElem::Str(s, _) => out.push_str(&quoted(s)),
                        GssElem::Int(n, _) => out.push_str(&n.to_string()),
                        GssElem::Call(f, a) => {
                            out.push_str(&f.name);
                            out.push('(');
                            expr(a, out);
                            out.push(')');
                        }
                    }
                }
                out.push(']');
            }
        }
    }
    let mut out = format!("gss {} {{\n", g.name.name);
    for r in &g.rules {
        out.push_str("    ");
        match &r.name {
            GssName::Str(s, _) => out.push_str(&quoted(s)),
            GssName::Ident(i) => out.push_str(&i.name),
        }
        if let Some((w, p)) = &r.fixity {
            let _ = write!(out, ": {}", w.name);
            if let Some((p, _)) = p {
                let _ = write!(out, " {p}");
            }
        }
        if let Some(b) = &r.body {
            out.push_str(" = ");
            if !r.params.is_empty() {
                let ps: Vec<&str> = r.params.iter().map(|p| p.name.as_str()).collect();
                let _ = write!(out, "|{}| ", ps.join(", "));
            }
            crate::with_stack(|| expr(b, &mut out));
        }
        out.push_str(";\n");
    }
    out.push('}');
    out
}
