//! Parsing: source text to an untyped [`Module`], error-tolerant.
//!
//! Lexical errors are collected by the lexer and skipped; syntax errors are recovered at item
//! and statement boundaries by the grammar's `!` productions. One run therefore reports every
//! error it can, each as a [`Diagnostic`] with its span.

use crate::ast::{Expr, ExprKind, ItemKind, Module, SelOp, Stmt};
use crate::diag::Diagnostic;
use crate::grammar;
use crate::lexer::{self, LexError, Tok, TokenStream};
use crate::span::{FileId, Span};
use lalrpop_util::{ErrorRecovery, ParseError};

/// Parse a whole file. The module holds every item that could be read; `Item::Error` marks
/// the ones that could not.
pub fn parse_module(source: &str, file: FileId) -> (Module, Vec<Diagnostic>) {
    parse_module_with(source, file, MAX_NESTING)
}

/// [`parse_module`] accepting expressions nested up to `max_nesting` deep.
pub fn parse_module_with(
    source: &str,
    file: FileId,
    max_nesting: usize,
) -> (Module, Vec<Diagnostic>) {
    let (tokens, lex_errors) = lexer::lex(source);
    let token_starts: Vec<usize> = tokens.iter().map(|t| t.0).collect();
    let mut diags: Vec<Diagnostic> = lex_errors.iter().map(|e| lex_diag(e, file)).collect();
    let mut recovered = Vec::new();
    let result = grammar::ModuleParser::new().parse(file, &mut recovered, TokenStream::new(tokens));
    // A syntax error at the token right after a skipped character is a consequence of it.
    let after_lex: Vec<usize> = lex_errors
        .iter()
        .filter(|e| e.kind == lexer::LexErrorKind::UnexpectedChar)
        .filter_map(|e| tokens_after(&token_starts, e.end))
        .collect();
    for r in &recovered {
        let d = parse_diag(&r.error, file, source);
        if d.primary_span()
            .is_some_and(|s| after_lex.contains(&(s.start as usize)))
        {
            continue;
        }
        diags.push(d);
    }
    let module = match result {
        Ok(m) => m,
        Err(e) => {
            diags.push(parse_diag(&e, file, source));
            Module::default()
        }
    };
    let module = limit_nesting(module, max_nesting, &mut diags);
    diags.sort_by_key(|d| d.primary_span().map(|s| s.start));
    (module, diags)
}

/// The deepest expression nesting accepted by default (`--max-nesting`). Every later pass walks
/// expressions recursively, so this bounds their stack use; deeper programs get the error
/// `NestingTooDeep`.
pub const MAX_NESTING: usize = crate::limits::NESTING.default;

/// The depth of the deepest expression, and where it is (measured without recursion).
fn deepest(module: &Module) -> Option<(usize, crate::span::Span)> {
    let mut stack: Vec<(&Expr, usize)> = Vec::new();
    for item in &module.items {
        match &item.kind {
            ItemKind::Fn(f) | ItemKind::Circuit(f) => {
                stack.push((&f.body, 1));
                stack.extend(
                    f.params
                        .iter()
                        .filter_map(|p| p.default.as_ref())
                        .map(|d| (d, 1)),
                );
            }
            ItemKind::Let { value, .. } => stack.push((value, 1)),
            ItemKind::Space { args, .. } => stack.extend(args.iter().map(|a| (&a.value, 1))),
            _ => {}
        }
    }
    let mut best: Option<(usize, crate::span::Span)> = None;
    while let Some((e, d)) = stack.pop() {
        if best.is_none_or(|(b, _)| d > b) {
            best = Some((d, e.span));
        }
        for c in children(e) {
            stack.push((c, d + 1));
        }
    }
    best
}

/// The direct subexpressions of an expression (statements' expressions included).
pub fn children(e: &Expr) -> Vec<&Expr> {
    fn stmt_exprs<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a Expr>) {
        for s in stmts {
            match s {
                Stmt::Let { value, .. } => out.push(value),
                Stmt::For { iter, body, .. } => {
                    out.push(iter);
                    stmt_exprs(body, out);
                }
                Stmt::Error(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    match &e.kind {
        ExprKind::Field(b, _) => out.push(b.as_ref()),
        ExprKind::List(items) => out.extend(items),
        ExprKind::Unary(_, a) => out.push(a),
        ExprKind::Binary(_, a, b) => out.extend([a.as_ref(), b.as_ref()]),
        ExprKind::If(c, a, b) => out.extend([c.as_ref(), a.as_ref(), b.as_ref()]),
        ExprKind::Lambda(_, b) => out.push(b),
        ExprKind::Call(f, args) => {
            out.push(f);
            out.extend(args.iter().map(|a| &a.value));
        }
        ExprKind::Select(k, q, op, _) => {
            out.extend([k.as_ref(), q.as_ref()]);
            if let SelOp::Lambda(l) = op {
                out.push(l);
            }
        }
        ExprKind::Index(a, i) => out.extend([a.as_ref(), i.as_ref()]),
        ExprKind::Slice(a, lo, hi) => {
            out.push(a);
            out.extend(lo.iter().map(|b| b.as_ref()));
            out.extend(hi.iter().map(|b| b.as_ref()));
        }
        ExprKind::Block(stmts, r) => {
            stmt_exprs(stmts, &mut out);
            out.push(r);
        }
        _ => {}
    }
    out
}

/// Take an expression tree apart without recursion (dropping a very deep tree recursively
/// would overflow the stack).
fn dismantle(root: Expr) {
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        let push_stmts = |stmts: Vec<Stmt>, stack: &mut Vec<Expr>| {
            let mut todo = stmts;
            while let Some(s) = todo.pop() {
                match s {
                    Stmt::Let { value, .. } => stack.push(value),
                    Stmt::For { iter, body, .. } => {
                        stack.push(iter);
                        todo.extend(body);
                    }
                    Stmt::Error(_) => {}
                }
            }
        };
        match e.kind {
            ExprKind::Field(b, _) | ExprKind::Unary(_, b) | ExprKind::Lambda(_, b) => {
                stack.push(*b)
            }
            ExprKind::List(items) => stack.extend(items),
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                stack.push(*a);
                stack.push(*b);
            }
            ExprKind::If(c, a, b) => stack.extend([*c, *a, *b]),
            ExprKind::Call(f, args) => {
                stack.push(*f);
                stack.extend(args.into_iter().map(|a| a.value));
            }
            ExprKind::Select(k, q, op, _) => {
                stack.push(*k);
                stack.push(*q);
                if let SelOp::Lambda(l) = op {
                    stack.push(*l);
                }
            }
            ExprKind::Slice(a, lo, hi) => {
                stack.push(*a);
                stack.extend(lo.map(|b| *b));
                stack.extend(hi.map(|b| *b));
            }
            ExprKind::Block(stmts, r) => {
                push_stmts(stmts, &mut stack);
                stack.push(*r);
            }
            _ => {}
        }
    }
}

/// Reject a module nested deeper than `max`, freeing it without recursion.
fn limit_nesting(module: Module, max: usize, diags: &mut Vec<Diagnostic>) -> Module {
    match deepest(&module) {
        Some((d, span)) if d > max => {
            diags.push(
                Diagnostic::error(
                    "E0005",
                    "NestingTooDeep",
                    format!(
                        "expressions nest {d} deep; the limit is {max} (`{}`)",
                        crate::limits::NESTING.flag
                    ),
                )
                .with_primary(span, "the deepest point")
                .with_note("help: name intermediate results with `let`"),
            );
            for item in module.items {
                match item.kind {
                    ItemKind::Fn(f) | ItemKind::Circuit(f) => {
                        dismantle(f.body);
                        for p in f.params {
                            if let Some(d) = p.default {
                                dismantle(d);
                            }
                        }
                    }
                    ItemKind::Let { value, .. } => dismantle(value),
                    ItemKind::Space { args, .. } => {
                        args.into_iter().for_each(|a| dismantle(a.value))
                    }
                    _ => {}
                }
            }
            Module::default()
        }
        _ => module,
    }
}

/// Parse a single expression (for the REPL and `--arg` values).
pub fn parse_expr(source: &str, file: FileId) -> Result<Expr, Vec<Diagnostic>> {
    let (tokens, lex_errors) = lexer::lex(source);
    let mut diags: Vec<Diagnostic> = lex_errors.iter().map(|e| lex_diag(e, file)).collect();
    let mut recovered: Vec<ErrorRecovery<usize, Tok, LexError>> = Vec::new();
    let result = grammar::ExprParser::new().parse(file, &mut recovered, TokenStream::new(tokens));
    for r in &recovered {
        diags.push(parse_diag(&r.error, file, source));
    }
    match result {
        Ok(e) if diags.is_empty() => Ok(e),
        Ok(_) => Err(diags),
        Err(e) => {
            diags.push(parse_diag(&e, file, source));
            Err(diags)
        }
    }
}

/// The start of the first token at or after `offset`.
fn tokens_after(starts: &[usize], offset: usize) -> Option<usize> {
    starts.iter().copied().find(|&s| s >= offset)
}

fn lex_diag(e: &LexError, file: FileId) -> Diagnostic {
    Diagnostic::error("E0001", "LexError", e.kind.to_string())
        .with_primary(Span::new(file, e.start, e.end), e.kind.to_string())
}

fn pretty_expected(expected: &[String]) -> String {
    let has = |t: &str| expected.iter().any(|e| e == t);
    if has("IDENT") && has("INT") && has("\"(\"") {
        return if has("\";\"") || has("\"}\"") || has("\")\"") || has("\",\"") {
            "expected an expression or a delimiter".to_string()
        } else {
            "expected an expression".to_string()
        };
    }
    let mut names: Vec<String> = expected
        .iter()
        .map(|e| match e.as_str() {
            "IDENT" => "an identifier".to_string(),
            "INT" => "an integer".to_string(),
            "FLOAT" => "a float".to_string(),
            "STR" => "a string".to_string(),
            other => format!("`{}`", other.trim_matches('"')),
        })
        .collect();
    names.sort();
    names.dedup();
    match names.len() {
        0 => String::new(),
        1 => format!("expected {}", names[0]),
        n if n <= 8 => {
            let last = names.pop().unwrap_or_default();
            format!("expected one of {} or {}", names.join(", "), last)
        }
        _ => format!("expected one of {}, ...", names[..8].join(", ")),
    }
}

fn parse_diag(e: &ParseError<usize, Tok, LexError>, file: FileId, source: &str) -> Diagnostic {
    match e {
        ParseError::UnrecognizedToken {
            token: (l, tok, r),
            expected,
        } => {
            let span = Span::new(file, *l, *r);
            let exp = pretty_expected(expected);
            let d = Diagnostic::error("E0002", "SyntaxError", format!("unexpected {tok}"))
                .with_primary(
                    span,
                    if exp.is_empty() {
                        "unexpected here".into()
                    } else {
                        exp
                    },
                );
            match tok {
                Tok::Gss => d.with_note(
                    "`gss` starts an item: `gss NAME { \"word\": postfix 2 = |x| x ++ x; … }`, and is not a name",
                ),
                Tok::Select => {
                    d.with_note("`select` is a keyword: write `select(keys, queries, OP)`")
                }
                _ => d,
            }
        }
        ParseError::UnrecognizedEof { location, expected } => {
            let end = (*location).min(source.len());
            let span = Span::new(file, end, end);
            Diagnostic::error("E0003", "SyntaxError", "unexpected end of file")
                .with_primary(span, pretty_expected(expected))
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Diagnostic::error("E0002", "SyntaxError", format!("unexpected {tok}"))
                .with_primary(Span::new(file, *l, *r), "extra token")
        }
        ParseError::InvalidToken { location } => {
            Diagnostic::error("E0001", "LexError", "invalid token")
                .with_primary(Span::new(file, *location, *location + 1), "invalid token")
        }
        ParseError::User { error } => lex_diag(error, file),
    }
}
