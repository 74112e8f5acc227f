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
use tessera_gss::model::{Atom, ElemOp, Fixity, Gss, ListOp, Path, Program, Rule};

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
            _ => {}
        }
        let program = match (&rule.body, fixity) {
            (None, Fixity::Separator) => None,
            (Some(b), Fixity::Separator) => {
                diags.push(err(
                    b.span,
                    "a separator has no meaning".into(),
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
                match program(body, &params, &mut g) {
                    Ok(atoms) => Some(Program {
                        arity: arity as u8,
                        atoms,
                    }),
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                }
            }
        };
        match special {
            Some("juxtapose") => {
                if let (Fixity::Infix { prec }, Some(p)) = (fixity, program) {
                    g.juxtapose = Some((prec, p));
                }
            }
            Some(_) => g.default = program,
            None => {
                let s = g.names.intern(&name);
                g.rules.push((s, Rule { fixity, program }));
            }
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
        other => {
            return Err(err(
                word.span,
                format!(
                    "unknown fixity `{other}` (fixities: atom, prefix, prefix2, postfix, infix, separator)"
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
            GssExprKind::Var(_) | GssExprKind::Call(..) => atoms.push(Atom::Seq(path(p, params)?)),
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
                    return Err(err(
                        i.span,
                        format!(
                            "unknown parameter `{}` (parameters: {}); write tokens inside `[…]`",
                            i.name,
                            if params.is_empty() {
                                "none".to_string()
                            } else {
                                params.join(", ")
                            }
                        ),
                        "unknown",
                    ));
                };
                ops.reverse();
                return Ok(Path {
                    var: var as u8,
                    ops,
                });
            }
            GssExprKind::Call(f, arg) => {
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
                    program: Some(program),
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
}
