//! Parsing: source text to an untyped [`Module`], error-tolerant.
//!
//! Lexical errors are collected by the lexer and skipped; syntax errors are recovered at item
//! and statement boundaries by the grammar's `!` productions. One run therefore reports every
//! error it can, each as a [`Diagnostic`] with its span.

use crate::ast::{Expr, Module};
use crate::diag::Diagnostic;
use crate::grammar;
use crate::lexer::{self, LexError, Tok, TokenStream};
use crate::span::{FileId, Span};
use lalrpop_util::{ErrorRecovery, ParseError};

/// Parse a whole file. The module holds every item that could be read; `Item::Error` marks
/// the ones that could not.
pub fn parse_module(source: &str, file: FileId) -> (Module, Vec<Diagnostic>) {
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
    diags.sort_by_key(|d| d.primary_span().map(|s| s.start));
    (module, diags)
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
                    "`gss` items (grounded symbol systems) are reserved and not supported yet",
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
