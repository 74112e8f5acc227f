//! `gss` items: a grounded symbol system written (or printed by `tessera gss train`) in the
//! language, lowered to [`tessera_gss::model::Gss`], whose parser and evaluator are the
//! specification of what the item means.
//!
//! ```tess
//! gss scan {
//!     "walk" = [I_WALK];
//!     "twice": postfix 2 = |x| x ++ x;
//!     "and": infix 1 = |x, y| x ++ y;
//!     juxtapose: infix 4 = |x, y| y ++ x;
//! }
//! ```
//!
//! A rule is `NAME [: FIXITY [PRECEDENCE]] [= MEANING];` with NAME a string or identifier
//! (`juxtapose` and `_` are reserved: the operator between side-by-side operands, and the
//! meaning of tokens without a rule), FIXITY one of `atom` (the default), `prefix`, `prefix2`,
//! `postfix`, `infix`, `separator`, and MEANING a concatenation (`++`) of parameters, `tail(e)`,
//! `init(e)`, `reverse(e)` and lists `[TOKEN, head(e), last(e), self]`.

use crate::ast::{GssDef, GssElem, GssExpr, GssExprKind, GssName};
use crate::diag::Diagnostic;
use crate::span::Span;
use tessera_gss::arith::{NumBody, NumExpr, NumProgram};
use tessera_gss::model::{Atom, ElemOp, Fixity, Gss, ListOp, Meaning, Path, Program, Rule, Sym};

/// Precedence levels run 1..=MAX_PREC.
pub const MAX_PREC: i64 = 64;
/// The most nested `tail`/`init`/`reverse` calls in one path.
const MAX_PATH: usize = 16;

fn err(span: Span, message: String, label: &str) -> Diagnostic {
    Diagnostic::error("E0801", "GssError", message).with_primary(span, label.to_string())
}

/// Lowers a `gss` item; every problem is reported with its place.
pub fn lower(def: &GssDef) -> Result<Gss, Vec<Diagnostic>> {
    let mut g = Gss {
        name: def.name.name.clone(),
        ..Gss::default()
    };
    let mut diags = Vec::new();
    let mut seen: Vec<(String, Span)> = Vec::new();
    // one numeric form anywhere makes every meaning numeric
    let numeric = def
        .rules
        .iter()
        .any(|r| r.body.as_ref().is_some_and(numeric_form));
    let mut calls: Vec<(Sym, usize, Span)> = Vec::new();
    for rule in &def.rules {
        let (name, special) = match &rule.name {
            GssName::Str(s, _) => (s.clone(), None),
            GssName::Ident(i) if i.name == "juxtapose" || i.name == "_" => {
                (i.name.clone(), Some(i.name.as_str()))
            }
            GssName::Ident(i) => (i.name.clone(), None),
        };
        let key = match special {
            Some(s) => format!("\u{0}{s}"),
            None => name.clone(),
        };
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == key) {
            diags.push(
                err(
                    rule.name.span(),
                    format!("`{name}` has two rules"),
                    "second rule",
                )
                .with_secondary(*first, "first rule"),
            );
            continue;
        }
        seen.push((key, rule.name.span()));
        let fixity = match fixity(rule) {
            Ok(f) => f,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let arity = fixity.arity() as usize;
        match special {
            Some("juxtapose") if !matches!(fixity, Fixity::Infix { .. }) => {
                diags.push(err(
                    rule.span,
                    "`juxtapose` must be `infix P`".into(),
                    "not infix",
                ));
                continue;
            }
            Some("_") if fixity != Fixity::Atom => {
                diags.push(err(
                    rule.span,
                    "`_` (tokens without a rule) is an atom and takes no fixity".into(),
                    "fixity given",
                ));
                continue;
            }
            Some(s) if numeric => {
                diags.push(err(
                    rule.name.span(),
                    format!("`{s}` is not supported in a system with numeric meanings"),
                    "numeric system",
                ));
                continue;
            }
            _ => {}
        }
        let program = match (&rule.body, fixity) {
            (None, Fixity::Separator | Fixity::Open | Fixity::Close) => None,
            (Some(b), Fixity::Separator | Fixity::Open | Fixity::Close) => {
                diags.push(err(
                    b.span,
                    format!(
                        "a {} has no meaning",
                        if fixity == Fixity::Separator {
                            "separator"
                        } else {
                            "bracket"
                        }
                    ),
                    "remove it",
                ));
                continue;
            }
            (None, _) => {
                diags.push(err(
                    rule.span,
                    format!("`{name}` needs a meaning: `= …`"),
                    "no meaning",
                ));
                continue;
            }
            (Some(body), _) => {
                if rule.params.len() != arity {
                    let at = rule.params.first().map_or(body.span, |p| p.span);
                    diags.push(err(
                        at,
                        format!(
                            "`{name}` takes {arity} operand{} but its meaning has {} parameter{}",
                            if arity == 1 { "" } else { "s" },
                            rule.params.len(),
                            if rule.params.len() == 1 { "" } else { "s" }
                        ),
                        "parameters",
                    ));
                    continue;
                }
                if let Some((a, b)) = rule.params.iter().enumerate().find_map(|(i, p)| {
                    rule.params[..i]
                        .iter()
                        .find(|q| q.name == p.name)
                        .map(|q| (q.span, p.span))
                }) {
                    diags.push(
                        err(b, "a parameter is named twice".into(), "again")
                            .with_secondary(a, "first"),
                    );
                    continue;
                }
                let params: Vec<&str> = rule.params.iter().map(|p| p.name.as_str()).collect();
                let lowered = if numeric {
                    num_program(body, &params, &mut g, &mut calls).map(Meaning::Num)
                } else {
                    program(body, &params, &mut g).map(|atoms| {
                        Meaning::List(Program {
                            arity: arity as u8,
                            atoms,
                        })
                    })
                };
                match lowered {
                    Ok(m) => Some(m),
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                }
            }
        };
        match special {
            Some("juxtapose") => {
                if let (Fixity::Infix { prec }, Some(Meaning::List(p))) = (fixity, program) {
                    g.juxtapose = Some((prec, p));
                }
            }
            Some(_) => g.default = program.and_then(|m| m.list().cloned()),
            None => {
                let s = g.names.intern(&name);
                g.rules.push((
                    s,
                    Rule {
                        fixity,
                        meaning: program,
                    },
                ));
            }
        }
    }
    for (s, n, span) in calls {
        let arity = g
            .rule(s)
            .and_then(|r| r.meaning.as_ref())
            .and_then(Meaning::num)
            .map(|p| p.arity as usize);
        if arity != Some(n) && diags.is_empty() {
            diags.push(err(
                span,
                match arity {
                    Some(a) => format!(
                        "`{}` takes {a} operand{}, not {n}",
                        g.names.name(s),
                        if a == 1 { "" } else { "s" }
                    ),
                    None => format!("`{}` has no rule with a meaning", g.names.name(s)),
                },
                "called here",
            ));
        }
    }
    if diags.is_empty() { Ok(g) } else { Err(diags) }
}

fn fixity(rule: &crate::ast::GssRule) -> Result<Fixity, Diagnostic> {
    let Some((word, prec)) = &rule.fixity else {
        return Ok(Fixity::Atom);
    };
    let needs_prec = matches!(
        word.name.as_str(),
        "prefix" | "prefix2" | "postfix" | "infix"
    );
    let p = match (prec, needs_prec) {
        (Some((p, span)), true) => {
            if !(1..=MAX_PREC).contains(p) {
                return Err(err(
                    *span,
                    format!("precedence {p} is outside 1..={MAX_PREC}"),
                    "here",
                ));
            }
            *p as u8
        }
        (None, true) => {
            return Err(err(
                word.span,
                format!("`{}` needs a precedence: `{} 2`", word.name, word.name),
                "no precedence",
            ));
        }
        (Some((_, span)), false) => {
            return Err(err(
                *span,
                format!("`{}` takes no precedence", word.name),
                "remove it",
            ));
        }
        (None, false) => 0,
    };
    Ok(match word.name.as_str() {
        "atom" => Fixity::Atom,
        "separator" => Fixity::Separator,
        "prefix" => Fixity::Prefix { arity: 1, prec: p },
        "prefix2" => Fixity::Prefix { arity: 2, prec: p },
        "postfix" => Fixity::Postfix { prec: p },
        "infix" => Fixity::Infix { prec: p },
        "open" => Fixity::Open,
        "close" => Fixity::Close,
        other => {
            return Err(err(
                word.span,
                format!(
                    "unknown fixity `{other}` (fixities: atom, prefix, prefix2, postfix, infix, separator, open, close)"
                ),
                "unknown",
            ));
        }
    })
}

/// The atoms of a meaning (concatenations flattened without recursion).
fn program(e: &GssExpr, params: &[&str], g: &mut Gss) -> Result<Vec<Atom>, Diagnostic> {
    let mut pieces: Vec<&GssExpr> = Vec::new();
    let mut cur = e;
    while let GssExprKind::Concat(a, b) = &cur.kind {
        pieces.push(b);
        cur = a;
    }
    pieces.push(cur);
    pieces.reverse();
    let mut atoms = Vec::new();
    for p in pieces {
        match &p.kind {
            GssExprKind::Concat(..) => {
                atoms.extend(program(p, params, g)?);
            }
            GssExprKind::Var(_)
            | GssExprKind::Call(..)
            | GssExprKind::CallSym(..)
            | GssExprKind::Int(_)
            | GssExprKind::If(..) => atoms.push(Atom::Seq(path(p, params)?)),
            GssExprKind::List(elems) => {
                for el in elems {
                    atoms.push(match el {
                        GssElem::Name(i) if i.name == "self" => Atom::SelfTok,
                        GssElem::Name(i) => Atom::Lit(g.names.intern(&i.name)),
                        GssElem::Str(s, _) => Atom::Lit(g.names.intern(s)),
                        GssElem::Int(n, _) => Atom::Lit(g.names.intern(&n.to_string())),
                        GssElem::Call(f, arg) => {
                            let op = match f.name.as_str() {
                                "head" => ElemOp::Head,
                                "last" => ElemOp::Last,
                                other => {
                                    return Err(err(
                                        f.span,
                                        format!(
                                            "`{other}` is not an element function (inside `[…]`: head, last)"
                                        ),
                                        "unknown",
                                    ));
                                }
                            };
                            Atom::Elem(op, path(arg, params)?)
                        }
                    });
                }
            }
        }
    }
    Ok(atoms)
}

/// A parameter after list functions: `reverse(tail(x))`.
fn path(e: &GssExpr, params: &[&str]) -> Result<Path, Diagnostic> {
    let mut ops = Vec::new();
    let mut cur = e;
    loop {
        match &cur.kind {
            GssExprKind::Var(i) => {
                let Some(var) = params.iter().position(|p| *p == i.name) else {
                    return Err(unknown_param(i, params, "; write tokens inside `[…]`"));
                };
                ops.reverse();
                return Ok(Path {
                    var: var as u8,
                    ops,
                });
            }
            GssExprKind::Call(f, args) => {
                let [arg] = &args[..] else {
                    return Err(err(
                        cur.span,
                        format!("`{}` takes one argument", f.name),
                        "arguments",
                    ));
                };
                let Some(op) = ListOp::from_name(&f.name) else {
                    let hint = if f.name == "head" || f.name == "last" {
                        format!(" (`{}` gives one element: write `[{}(…)]`)", f.name, f.name)
                    } else {
                        String::new()
                    };
                    return Err(err(
                        f.span,
                        format!(
                            "unknown list function `{}` (list functions: tail, init, reverse){hint}",
                            f.name
                        ),
                        "unknown",
                    ));
                };
                if ops.len() >= MAX_PATH {
                    return Err(err(
                        cur.span,
                        format!("more than {MAX_PATH} nested list functions"),
                        "too deep",
                    ));
                }
                ops.push(op);
                cur = arg;
            }
            _ => {
                return Err(err(
                    cur.span,
                    "expected a parameter or `tail`/`init`/`reverse` of one".into(),
                    "not a list expression",
                ));
            }
        }
    }
}

fn unknown_param(i: &crate::ast::Ident, params: &[&str], hint: &str) -> Diagnostic {
    let known = if params.is_empty() {
        "none".to_string()
    } else {
        params.join(", ")
    };
    err(
        i.span,
        format!("unknown parameter `{}` (parameters: {known}){hint}", i.name),
        "unknown",
    )
}

/// Whether a meaning uses a numeric form: a number, `if`, `succ`/`pred`/`rec`, or a call of
/// another symbol (walked without recursion).
fn numeric_form(e: &GssExpr) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            GssExprKind::Int(_) | GssExprKind::If(..) | GssExprKind::CallSym(..) => return true,
            GssExprKind::Call(f, args) => {
                if matches!(f.name.as_str(), "succ" | "pred" | "rec") {
                    return true;
                }
                stack.extend(args);
            }
            GssExprKind::Concat(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            GssExprKind::Var(_) | GssExprKind::List(_) => {}
        }
    }
    false
}

/// The deepest nesting of a numeric meaning.
const MAX_NUM_DEPTH: usize = 256;

type Calls = Vec<(Sym, usize, Span)>;

/// A numeric meaning: `if P == 0 then … else …` at the top (with at most one `rec(…)` in the
/// `else` branch), otherwise an expression.
fn num_program(
    e: &GssExpr,
    params: &[&str],
    g: &mut Gss,
    calls: &mut Calls,
) -> Result<NumProgram, Diagnostic> {
    let arity = params.len() as u8;
    let body = match &e.kind {
        GssExprKind::If(c, (z, zspan), a, b) => {
            let NumExpr::Var(test) = num_expr(c, params, g, calls, 0)? else {
                return Err(err(
                    c.span,
                    "`if` tests a parameter: `if x == 0 then … else …`".into(),
                    "not a parameter",
                ));
            };
            if *z != 0 {
                return Err(err(*zspan, "`if` compares with 0 only".into(), "not 0"));
            }
            NumBody::Rec {
                test,
                base: num_expr(a, params, g, calls, 0)?,
                step: num_expr(b, params, g, calls, 0)?,
            }
        }
        _ => NumBody::Expr(num_expr(e, params, g, calls, 0)?),
    };
    let p = NumProgram { arity, body };
    p.validate().map_err(|m| err(e.span, m, "here"))?;
    Ok(p)
}

fn num_expr(
    e: &GssExpr,
    params: &[&str],
    g: &mut Gss,
    calls: &mut Calls,
    depth: usize,
) -> Result<NumExpr, Diagnostic> {
    if depth > MAX_NUM_DEPTH {
        return Err(err(
            e.span,
            format!("a numeric meaning nested deeper than {MAX_NUM_DEPTH}"),
            "too deep",
        ));
    }
    let args_of = |xs: &[GssExpr], g: &mut Gss, calls: &mut Calls| {
        xs.iter()
            .map(|x| num_expr(x, params, g, calls, depth + 1))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match &e.kind {
        GssExprKind::Var(i) => match params.iter().position(|p| *p == i.name) {
            Some(v) => NumExpr::Var(v as u8),
            None => return Err(unknown_param(i, params, "")),
        },
        GssExprKind::Int(n) => NumExpr::Lit(
            u64::try_from(*n)
                .map_err(|_| err(e.span, "numbers are natural (≥ 0)".into(), "negative"))?,
        ),
        GssExprKind::Call(f, args) => match f.name.as_str() {
            "succ" | "pred" => {
                let [a] = &args[..] else {
                    return Err(err(
                        e.span,
                        format!("`{}` takes one argument", f.name),
                        "arguments",
                    ));
                };
                let a = Box::new(num_expr(a, params, g, calls, depth + 1)?);
                if f.name == "succ" {
                    NumExpr::Succ(a)
                } else {
                    NumExpr::Pred(a)
                }
            }
            "rec" => NumExpr::Rec(args_of(args, g, calls)?),
            other => {
                return Err(err(
                    f.span,
                    format!(
                        "unknown numeric function `{other}` (succ, pred, rec, or another symbol's meaning written as a string: \"+\"(x, y))"
                    ),
                    "unknown",
                ));
            }
        },
        GssExprKind::CallSym(name, span, args) => {
            let s = g.names.intern(name);
            calls.push((s, args.len(), *span));
            NumExpr::Call(s, args_of(args, g, calls)?)
        }
        GssExprKind::If(..) => {
            return Err(err(
                e.span,
                "`if` is allowed only as the whole meaning".into(),
                "nested `if`",
            ));
        }
        GssExprKind::List(_) | GssExprKind::Concat(..) => {
            return Err(err(
                e.span,
                "a list meaning in a system whose meanings are numeric".into(),
                "list",
            ));
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ast::ItemKind;
    use crate::span::FileId;
    use tessera_gss::model::Interner;

    fn lower_source(src: &str) -> Gss {
        let (module, diags) = crate::parser::parse_module(src, FileId(0));
        assert!(diags.is_empty(), "{diags:?}\n{src}");
        let ItemKind::Gss(def) = &module.items[0].kind else {
            panic!("not a gss item")
        };
        lower(def).unwrap_or_else(|d| panic!("{d:?}\n{src}"))
    }

    #[test]
    fn printed_systems_read_back_with_awkward_tokens() {
        // symbol names and output tokens that are keywords, punctuation, quotes, numbers
        let words = [
            "and",
            ",",
            "\"",
            "\\",
            "|",
            "[",
            "++",
            "fn",
            "self",
            "_",
            "juxtapose",
            "12",
            "-5",
            "007",
            "a b",
        ];
        let mut names = Interner::default();
        let mut rules = Vec::new();
        for (i, w) in words.iter().enumerate() {
            let s = names.intern(w);
            let out = names.intern(&format!("{w}!"));
            let fixity = if i % 2 == 0 {
                Fixity::Atom
            } else {
                Fixity::Postfix {
                    prec: 1 + (i % 3) as u8,
                }
            };
            let program = Program {
                arity: fixity.arity(),
                atoms: if fixity == Fixity::Atom {
                    vec![Atom::Lit(out), Atom::Lit(s)]
                } else {
                    vec![Atom::Seq(Path::var(0)), Atom::Lit(out), Atom::SelfTok]
                },
            };
            rules.push((
                s,
                Rule {
                    fixity,
                    meaning: Some(Meaning::List(program)),
                },
            ));
        }
        let g = Gss {
            name: "odd".into(),
            names,
            rules,
            juxtapose: Some((
                4,
                Program {
                    arity: 2,
                    atoms: vec![Atom::Seq(Path::var(1)), Atom::Seq(Path::var(0))],
                },
            )),
            default: None,
        };
        let src = g.to_source();
        let back = lower_source(&src);
        assert_eq!(back.to_source(), src);
        for input in ["and", "and \" 12", "self fn , |"] {
            assert_eq!(back.run(input), g.run(input), "{input}");
        }
    }

    #[test]
    fn lowering_errors_name_the_rule() {
        let (module, _) =
            crate::parser::parse_module("gss g { \"a\": infix = |x, y| x; }", FileId(0));
        let ItemKind::Gss(def) = &module.items[0].kind else {
            panic!()
        };
        let e = lower(def).unwrap_err();
        assert!(e[0].message.contains("needs a precedence"), "{e:?}");
    }

    const ARITH: &str = r#"gss arith {
    "0" = 0;
    "1" = 1;
    "2" = 2;
    "+": infix 1 = |x, y| if y == 0 then x else succ(rec(x, pred(y)));
    "-": infix 1 = |x, y| if y == 0 then x else pred(rec(x, pred(y)));
    "*": infix 2 = |x, y| if y == 0 then 0 else "+"(rec(x, pred(y)), x);
    "/": infix 2 = |x, y| if x == 0 then 0 else succ(rec("-"(x, y), y));
    "max0": prefix 3 = |x| if x == 0 then 7 else x;
    "(": open;
    ")": close;
}
"#;

    #[test]
    fn numeric_systems_run_and_print_back() {
        let g = lower_source(ARITH);
        assert!(g.is_numeric());
        let run = |s: &str| g.run(s).map(|(w, _)| w.join(" "));
        assert_eq!(run("2 + 1 * 2").unwrap(), "4");
        assert_eq!(run("( 2 + 1 ) * 2").unwrap(), "6");
        assert_eq!(run("1 - 2 + 2").unwrap(), "2");
        assert_eq!(run("2 * 2 * 2 * 2 / ( 2 + 1 )").unwrap(), "6");
        assert_eq!(run("max0 0").unwrap(), "7");
        assert_eq!(run("max0 2 + 1").unwrap(), "3");
        let (_, tree) = g.run("( 2 + 1 ) * 2").unwrap();
        assert_eq!(tree, "(* (+ 2 1) 2)");
        assert!(
            run("( 2 + 1")
                .unwrap_err()
                .to_string()
                .contains("not closed")
        );
        assert!(run("2 / 0").is_err()); // division by zero never reaches x == 0
        assert!(
            run("2 / ( 1 - 2 )")
                .unwrap_err()
                .to_string()
                .contains("unchanged arguments")
        );
        // the printed system is the written one, and reads back
        let src = g.to_source();
        assert_eq!(src, ARITH);
        assert_eq!(lower_source(&src).to_source(), src);
        // the AST printer's form parses too
        let (module, _) = crate::parser::parse_module(ARITH, FileId(0));
        let ItemKind::Gss(def) = &module.items[0].kind else {
            panic!()
        };
        let printed = crate::print::gss_source(def);
        assert_eq!(lower_source(&printed).to_source(), src);
    }

    #[test]
    fn numeric_lowering_errors() {
        for (src, want) in [
            ("gss g { a = 1; b = [x]; }", "list meaning in a system"),
            (
                "gss g { a = 1; b: infix 1 = |x, y| \"c\"(x, y); }",
                "`c` has no rule",
            ),
            (
                "gss g { a = 1; b: infix 1 = |x, y| \"a\"(x, y); }",
                "takes 0 operands, not 2",
            ),
            (
                "gss g { a: prefix 1 = |x| rec(x); }",
                "only in the `else` branch",
            ),
            (
                "gss g { a: prefix 1 = |x| if x == 1 then 0 else x; }",
                "compares with 0 only",
            ),
            (
                "gss g { a: prefix 1 = |x| if succ(x) == 0 then 0 else x; }",
                "tests a parameter",
            ),
            (
                "gss g { a: prefix 1 = |x| if x == 0 then 0 else succ(rec(x)) ++ rec(x); }",
                "list meaning",
            ),
            (
                "gss g { a: infix 1 = |x, y| if x == 0 then 0 else \"a\"(rec(x, y), rec(x, y)); }",
                "once",
            ),
            (
                "gss g { a: prefix 1 = |x| if x == 0 then 0 else rec(x, x); }",
                "`rec` takes 1",
            ),
            (
                "gss g { a: prefix 1 = |x| succ(z); }",
                "unknown parameter `z`",
            ),
            (
                "gss g { a: prefix 1 = |x| succ(twice(x)); }",
                "unknown numeric function `twice`",
            ),
            (
                "gss g { a = 1; juxtapose: infix 2 = |x, y| x; }",
                "not supported",
            ),
            (
                "gss g { a = 1; \"(\": open = 0; }",
                "a bracket has no meaning",
            ),
            ("gss g { a = 1; \"(\": open 2; }", "takes no precedence"),
        ] {
            let (module, d) = crate::parser::parse_module(src, FileId(0));
            assert!(d.is_empty(), "{src}: {d:?}");
            let ItemKind::Gss(def) = &module.items[0].kind else {
                panic!()
            };
            let e = lower(def).unwrap_err();
            assert!(e[0].message.contains(want), "{src}: {e:?}");
        }
        let deep = format!(
            "gss g {{ a: prefix 1 = |x| {}x{}; }}",
            "succ(".repeat(300),
            ")".repeat(300)
        );
        let (module, _) = crate::parser::parse_module(&deep, FileId(0));
        let ItemKind::Gss(def) = &module.items[0].kind else {
            panic!()
        };
        assert!(lower(def).unwrap_err()[0].message.contains("deeper than"));
    }
}
