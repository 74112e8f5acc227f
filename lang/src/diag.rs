//! Diagnostics: errors as data, rendered like rustc at the edge (text with a caret under the
//! span, or JSON). Every phase returns `Diagnostic`s; nothing below the CLI prints.

use crate::span::{SourceMap, Span};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    #[serde(skip)]
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One problem found in a program, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable code, e.g. `E0100`.
    pub code: &'static str,
    /// Stable kind name, e.g. `UnknownName` (what tests and `--json` match on).
    pub kind: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, kind: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            kind,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn warning(
        code: &'static str,
        kind: &'static str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, kind, message)
        }
    }

    /// The primary label: the span the caret goes under.
    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }
}

/// A diagnostic as JSON data: the same content as the text form.
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub kind: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub col: Option<usize>,
    pub end_line: Option<usize>,
    pub end_col: Option<usize>,
    pub labels: Vec<JsonLabel>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JsonLabel {
    pub message: String,
    pub primary: bool,
    pub file: Option<String>,
    pub line: usize,
    pub col: usize,
}

impl Diagnostic {
    pub fn to_json(&self, sources: &SourceMap) -> JsonDiagnostic {
        let primary = self.primary_span();
        let at = |offset: u32, span: Span| {
            sources
                .get(span.file)
                .map(|f| (f.name.clone(), f.line_col(offset as usize)))
        };
        let start = primary.and_then(|s| at(s.start, s));
        let end = primary.and_then(|s| at(s.end, s));
        JsonDiagnostic {
            code: self.code,
            kind: self.kind,
            severity: self.severity,
            message: self.message.clone(),
            file: start.as_ref().map(|s| s.0.clone()),
            line: start.as_ref().map(|s| s.1.0),
            col: start.as_ref().map(|s| s.1.1),
            end_line: end.as_ref().map(|s| s.1.0),
            end_col: end.as_ref().map(|s| s.1.1),
            labels: self
                .labels
                .iter()
                .filter_map(|l| {
                    let (file, (line, col)) = at(l.span.start, l.span)?;
                    Some(JsonLabel {
                        message: l.message.clone(),
                        primary: l.primary,
                        file: Some(file),
                        line,
                        col,
                    })
                })
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

/// Render diagnostics as rustc-style text. `color` only for terminals.
/// The most diagnostics [`render`] prints in full; the rest are counted in one closing line
/// (each rendering quotes its source line, so thousands of them on one long line would print
/// hundreds of megabytes).
pub const MAX_RENDERED: usize = 200;

pub fn render(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut files = SimpleFiles::new();
    for f in sources.files() {
        files.add(f.name.clone(), f.text.clone());
    }
    let config = term::Config::default();
    let mut out: Vec<u8> = Vec::new();
    for d in diags.iter().take(MAX_RENDERED) {
        let cs = to_codespan(d);
        let result = if color {
            let mut w = termcolor::Ansi::new(&mut out);
            term::emit_to_write_style(&mut w, &config, &files, &cs)
        } else {
            let mut w = termcolor::NoColor::new(&mut out);
            term::emit_to_write_style(&mut w, &config, &files, &cs)
        };
        if result.is_err() {
            // A span that does not fit its file: fall back to the plain message.
            out.extend_from_slice(format!("error[{}]: {}\n", d.code, d.message).as_bytes());
        }
    }
    if diags.len() > MAX_RENDERED {
        let more = diags.len() - MAX_RENDERED;
        out.extend_from_slice(
            format!("... and {more} more diagnostics (the first {MAX_RENDERED} are shown)\n")
                .as_bytes(),
        );
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn to_codespan(d: &Diagnostic) -> CsDiagnostic<usize> {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
    };
    base.with_code(d.code)
        .with_message(d.message.clone())
        .with_labels(
            d.labels
                .iter()
                .map(|l| {
                    let f = l.span.file.0 as usize;
                    if l.primary {
                        CsLabel::primary(f, l.span.range()).with_message(l.message.clone())
                    } else {
                        CsLabel::secondary(f, l.span.range()).with_message(l.message.clone())
                    }
                })
                .collect(),
        )
        .with_notes(d.notes.clone())
}

/// "did you mean" for an unknown name, from candidates close in edit distance.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score = strsim::jaro_winkler(name, c);
        let close = strsim::levenshtein(name, c) <= (name.len().max(2) / 3).max(1) || score > 0.88;
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}
