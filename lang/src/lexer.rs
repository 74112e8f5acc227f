//! The logos lexer, used by the LALRPOP grammar as its external lexer.
//!
//! Every token carries its byte span. A lexical error does not stop the lexer: it is recorded
//! (with its span) and the offending text is skipped, so one run reports every error it can.

use logos::Logos;
use std::fmt;

/// What went wrong while lexing.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LexErrorKind {
    #[default]
    UnexpectedChar,
    UnterminatedString,
    BadEscape,
    IntTooLarge,
    BadFloat,
}

impl fmt::Display for LexErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexErrorKind::UnexpectedChar => write!(f, "unexpected character"),
            LexErrorKind::UnterminatedString => write!(f, "unterminated string literal"),
            LexErrorKind::BadEscape => write!(f, "unknown escape sequence in string literal"),
            LexErrorKind::IntTooLarge => {
                write!(f, "integer literal does not fit in 64 bits")
            }
            LexErrorKind::BadFloat => write!(f, "malformed float literal"),
        }
    }
}

/// A lexical error with its byte range.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub start: usize,
    pub end: usize,
}

fn parse_int(lex: &mut logos::Lexer<'_, Tok>) -> Result<i64, LexErrorKind> {
    lex.slice()
        .parse::<i64>()
        .map_err(|_| LexErrorKind::IntTooLarge)
}

fn parse_float(lex: &mut logos::Lexer<'_, Tok>) -> Result<f64, LexErrorKind> {
    match lex.slice().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(LexErrorKind::BadFloat),
    }
}

fn parse_string(lex: &mut logos::Lexer<'_, Tok>) -> Result<String, LexErrorKind> {
    let s = lex.slice();
    let inner = &s[1..s.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('0') => out.push('\0'),
            _ => return Err(LexErrorKind::BadEscape),
        }
    }
    Ok(out)
}

fn unterminated(_: &mut logos::Lexer<'_, Tok>) -> Result<(), LexErrorKind> {
    Err(LexErrorKind::UnterminatedString)
}

/// Tokens of the Tessera language.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = LexErrorKind)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
pub enum Tok {
    // keywords
    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("use")]
    Use,
    #[token("space")]
    Space,
    #[token("symbols")]
    Symbols,
    #[token("circuit")]
    Circuit,
    #[token("gss")]
    Gss,
    #[token("in")]
    In,
    #[token("for")]
    For,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("else")]
    Else,
    #[token("not")]
    Not,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("none")]
    None,
    #[token("select")]
    Select,

    // literals and names
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    #[regex(r"[0-9]+", parse_int)]
    Int(i64),
    #[regex(r"[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?", parse_float)]
    #[regex(r"[0-9]+[eE][+-]?[0-9]+", parse_float)]
    Float(f64),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, parse_string)]
    Str(String),
    #[regex(r#""([^"\\\n]|\\[^\n])*"#, unterminated)]
    UnterminatedStr,

    // punctuation
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("=")]
    Eq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    Ne,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("++")]
    PlusPlus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("//")]
    SlashSlash,
    #[token("%")]
    Percent,
    #[token("^")]
    Caret,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("!")]
    Bang,
    #[token("->")]
    Arrow,
    #[token("<<")]
    Shl,
    #[token(">>")]
    Shr,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Fn => "fn",
            Tok::Let => "let",
            Tok::Use => "use",
            Tok::Space => "space",
            Tok::Symbols => "symbols",
            Tok::Circuit => "circuit",
            Tok::Gss => "gss",
            Tok::In => "in",
            Tok::For => "for",
            Tok::If => "if",
            Tok::Then => "then",
            Tok::Else => "else",
            Tok::Not => "not",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::True => "true",
            Tok::False => "false",
            Tok::None => "none",
            Tok::Select => "select",
            Tok::Ident(s) => return write!(f, "identifier `{s}`"),
            Tok::Int(i) => return write!(f, "integer `{i}`"),
            Tok::Float(x) => return write!(f, "float `{x}`"),
            Tok::Str(s) => return write!(f, "string {s:?}"),
            Tok::UnterminatedStr => "unterminated string",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Colon => ":",
            Tok::ColonColon => "::",
            Tok::Dot => ".",
            Tok::DotDot => "..",
            Tok::Eq => "=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::PlusPlus => "++",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::SlashSlash => "//",
            Tok::Percent => "%",
            Tok::Caret => "^",
            Tok::Amp => "&",
            Tok::Pipe => "|",
            Tok::Bang => "!",
            Tok::Arrow => "->",
            Tok::Shl => "<<",
            Tok::Shr => ">>",
        };
        write!(f, "`{s}`")
    }
}

/// A spanned token as LALRPOP expects it.
pub type Spanned = (usize, Tok, usize);

/// Lex a whole source: the good tokens, and every lexical error.
///
/// A malformed literal still yields a token of its kind (an unterminated or badly escaped
/// string gives a string, an oversized integer gives `0`), so the parser does not report a
/// second, derived error; an unexpected character is skipped.
pub fn lex(source: &str) -> (Vec<Spanned>, Vec<LexError>) {
    let mut tokens = Vec::new();
    let mut errors = Vec::new();
    let mut lexer = Tok::lexer(source);
    while let Some(item) = lexer.next() {
        let span = lexer.span();
        match item {
            Ok(tok) => tokens.push((span.start, tok, span.end)),
            Err(kind) => {
                let stand_in = match kind {
                    LexErrorKind::UnterminatedString | LexErrorKind::BadEscape => {
                        Some(Tok::Str(String::new()))
                    }
                    LexErrorKind::IntTooLarge => Some(Tok::Int(0)),
                    LexErrorKind::BadFloat => Some(Tok::Float(0.0)),
                    LexErrorKind::UnexpectedChar => None,
                };
                if let Some(t) = stand_in {
                    tokens.push((span.start, t, span.end));
                }
                errors.push(LexError {
                    kind,
                    start: span.start,
                    end: span.end,
                });
            }
        }
    }
    (tokens, errors)
}

/// The iterator handed to the LALRPOP parser (lexical errors are collected separately).
pub struct TokenStream {
    tokens: std::vec::IntoIter<Spanned>,
}

impl TokenStream {
    pub fn new(tokens: Vec<Spanned>) -> TokenStream {
        TokenStream {
            tokens: tokens.into_iter(),
        }
    }
}

impl Iterator for TokenStream {
    type Item = Result<Spanned, LexError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.tokens.next().map(Ok)
    }
}
