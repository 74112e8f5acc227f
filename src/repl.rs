//! The REPL: definitions accumulate into a session, every new definition is shown on the
//! running example (as in RASP), selectors print as grids.
//!
//! Input comes through [`LineSource`], so tests drive the REPL with a script and the terminal
//! front end ([`TerminalSource`], rustyline) is a thin layer.

use crate::{Output, Session};
use std::fmt::Write as _;
use tessera_lang::interp::Selector;
use tessera_lang::value::Val;

/// One read from the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Line(String),
    /// Ctrl-C: abandon the current input.
    Interrupted,
    /// Ctrl-D: leave.
    Eof,
}

/// Where input lines come from.
pub trait LineSource {
    fn read(&mut self, prompt: &str) -> Read;
    /// Called with each complete input (for history); `names` are the names defined so far
    /// (for completion).
    fn accepted(&mut self, _input: &str, _names: &[String]) {}
}

/// A scripted source (tests, piped input): the lines, then end of input.
pub struct ScriptSource {
    lines: std::vec::IntoIter<Read>,
}

impl ScriptSource {
    pub fn new(reads: Vec<Read>) -> ScriptSource {
        ScriptSource {
            lines: reads.into_iter(),
        }
    }

    pub fn from_text(text: &str) -> ScriptSource {
        ScriptSource::new(text.lines().map(|l| Read::Line(l.to_string())).collect())
    }
}

impl LineSource for ScriptSource {
    fn read(&mut self, _prompt: &str) -> Read {
        self.lines.next().unwrap_or(Read::Eof)
    }
}

const COMMANDS: &[&str] = &[
    ":example", ":type", ":stats", ":compile", ":draw", ":load", ":reset", ":defs", ":help",
    ":quit",
];

const HELP: &str = "\
Tessera REPL. Type definitions (`fn`, `let`, `use`, ...) or expressions; input continues over
several lines while brackets are open. Every new definition is evaluated on the running example.
  :example a b c    set the running example (`:example` alone shows it)
  :type EXPR        the static type of an expression
  :load FILE        add a file's definitions
  :defs             show the definitions so far
  :reset            forget all definitions and the example
  :stats EXPR       compile EXPR for the example (its tokens, its length): layers, heads, sizes
  :compile EXPR -o DIR      ... and write the model (model.safetensors, graph.json, graph.dot)
  :draw EXPR -o F.svg       picture of EXPR as a transformer on the example
  :help             this text
  :quit             leave (or Ctrl-D); Ctrl-C abandons the current input";

/// The REPL's state: the accumulated definitions and the running example.
pub struct Repl {
    defs: String,
    example: Option<String>,
    counter: usize,
}

impl Default for Repl {
    fn default() -> Repl {
        Repl::new()
    }
}

impl Repl {
    pub fn new() -> Repl {
        Repl {
            defs: String::new(),
            example: None,
            counter: 0,
        }
    }

    /// Run until end of input, writing everything to `out`.
    pub fn run(
        &mut self,
        source: &mut dyn LineSource,
        out: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        writeln!(
            out,
            "Tessera {} REPL. :help for help, :quit or Ctrl-D to leave.",
            env!("CARGO_PKG_VERSION")
        )?;
        let mut buffer = String::new();
        loop {
            let prompt = if buffer.is_empty() {
                "tessera> "
            } else {
                "    ...> "
            };
            match source.read(prompt) {
                Read::Eof => break,
                Read::Interrupted => {
                    if !buffer.is_empty() {
                        writeln!(out, "(input abandoned)")?;
                    }
                    buffer.clear();
                }
                Read::Line(line) => {
                    if !buffer.is_empty() {
                        buffer.push('\n');
                    }
                    buffer.push_str(&line);
                    if open_brackets(&buffer) > 0 {
                        continue;
                    }
                    let input = std::mem::take(&mut buffer);
                    if input.trim().is_empty() {
                        continue;
                    }
                    let names = self.names();
                    source.accepted(&input, &names);
                    match self.eval(&input) {
                        Step::Continue(text) => write!(out, "{text}")?,
                        Step::Quit => break,
                    }
                }
            }
        }
        Ok(())
    }

    /// Names defined so far (for completion).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match Session::from_source("<repl>", &self.defs) {
            Ok(s) => s.item_names(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }

    /// Handle one complete input; the text to print.
    pub fn eval(&mut self, input: &str) -> Step {
        let trimmed = input.trim();
        if let Some(cmd) = trimmed.strip_prefix(':') {
            let (name, arg) = match cmd.split_once(char::is_whitespace) {
                Some((n, a)) => (n, a.trim()),
                None => (cmd, ""),
            };
            return self.command(name, arg);
        }
        Step::Continue(if starts_item(trimmed) {
            self.define(trimmed)
        } else {
            self.expression(trimmed)
        })
    }

    fn command(&mut self, name: &str, arg: &str) -> Step {
        let text = match name {
            "quit" | "q" | "exit" => return Step::Quit,
            "help" | "h" => format!("{HELP}\n"),
            "example" if arg.is_empty() => match &self.example {
                Some(e) => format!("example: {e}\n"),
                None => "no example set: `:example a b c`\n".into(),
            },
            "example" => {
                self.example = Some(arg.to_string());
                format!("example: {arg}\n")
            }
            "type" if arg.is_empty() => "usage: :type EXPR\n".into(),
            "type" => self.type_of(arg),
            "defs" => {
                if self.defs.is_empty() {
                    "(no definitions)\n".into()
                } else {
                    self.defs.clone()
                }
            }
            "load" if arg.is_empty() => "usage: :load FILE\n".into(),
            "load" => match std::fs::read_to_string(arg) {
                Ok(text) => self.define(&text),
                Err(e) => format!("error: cannot read `{arg}`: {e}\n"),
            },
            "reset" => {
                *self = Repl::new();
                "definitions and example cleared\n".into()
            }
            "stats" | "compile" | "draw" => self.model_command(name, arg),
            other => {
                let known: Vec<&str> = COMMANDS.iter().map(|c| &c[1..]).collect();
                match tessera_lang::diag::did_you_mean(other, known) {
                    Some(s) => format!("unknown command `:{other}`; did you mean `:{s}`?\n"),
                    None => format!("unknown command `:{other}` (:help lists them)\n"),
                }
            }
        };
        Step::Continue(text)
    }

    /// `:stats EXPR`, `:compile EXPR -o DIR`, `:draw EXPR -o FILE.svg`: compiled for the
    /// running example (its distinct tokens are the vocabulary, its length the maximum length).
    fn model_command(&mut self, name: &str, arg: &str) -> String {
        let Some(example) = self.example.clone() else {
            return format!(
                ":{name} works on the running example: set one with `:example a b c`\n"
            );
        };
        let (expr, out) = match arg.rsplit_once(" -o ") {
            Some((e, o)) => (e.trim(), Some(o.trim())),
            None => (arg.trim(), None),
        };
        if expr.is_empty() || (name != "stats" && out.is_none()) {
            return match name {
                "stats" => "usage: :stats EXPR\n".into(),
                "compile" => "usage: :compile EXPR -o DIR\n".into(),
                _ => "usage: :draw EXPR -o FILE.svg\n".into(),
            };
        }
        self.counter += 1;
        let fname = format!("__repl_{}", self.counter);
        let source = format!("{}fn {fname}() = {expr}\n", self.defs);
        let session = match Session::from_source("<repl>", &source) {
            Ok(s) => s,
            Err(e) => return e.render(false),
        };
        let mut vocab: Vec<&str> = example.split_whitespace().collect();
        vocab.sort_unstable();
        vocab.dedup();
        let max_len = example.split_whitespace().count().max(1);
        let result = match name {
            "draw" => session.draw(&fname, &example, &[]).and_then(|svg| {
                let path = out.unwrap_or("out.svg");
                std::fs::write(path, svg)
                    .map(|_| format!("wrote {path}\n"))
                    .map_err(|e| crate::Error::usage(format!("cannot write `{path}`: {e}")))
            }),
            _ => session.compile(&fname, &vocab, max_len, &[]).and_then(|m| {
                let s = m.stats();
                let bilinear = if s.bilinear_per_layer.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", bilinear {}",
                        s.bilinear_per_layer.iter().map(usize::to_string).collect::<Vec<_>>().join("/")
                    )
                };
                let summary = format!(
                    "{} layers, heads {}, MLP hidden {}{bilinear}, residual {}, {} params ({} nonzero) for vocab {{{}}}, max_len {max_len}\n",
                    s.layers,
                    s.heads_per_layer.iter().map(usize::to_string).collect::<Vec<_>>().join("/"),
                    s.mlp_hidden_per_layer.iter().map(usize::to_string).collect::<Vec<_>>().join("/"),
                    s.residual_width,
                    s.params,
                    s.nonzero_params,
                    vocab.join(", ")
                );
                match (name, out) {
                    ("compile", Some(dir)) => m
                        .save(&fname, std::path::Path::new(dir))
                        .map(|_| format!("wrote {dir}: {summary}")),
                    _ => Ok(summary),
                }
            }),
        };
        result.unwrap_or_else(|e| e.render(false))
    }

    /// Add definitions; on success show each new one on the example.
    fn define(&mut self, text: &str) -> String {
        let candidate = format!("{}{}\n", self.defs, text);
        let before = Session::from_source("<repl>", &self.defs)
            .map(|s| s.item_names())
            .unwrap_or_default();
        match Session::from_source("<repl>", &candidate) {
            Err(e) => e.render(false),
            Ok(session) => {
                self.defs = candidate;
                let mut out = String::new();
                for name in session.item_names() {
                    if before.contains(&name) {
                        continue;
                    }
                    let _ = writeln!(out, "{}", self.show(&session, &name));
                }
                if out.is_empty() {
                    out.push_str("ok\n");
                }
                out
            }
        }
    }

    /// Evaluate an expression on the example without keeping it.
    fn expression(&mut self, expr: &str) -> String {
        self.counter += 1;
        let name = format!("__repl_{}", self.counter);
        let source = format!("{}fn {name}() = {expr}\n", self.defs);
        match Session::from_source("<repl>", &source) {
            Err(e) => e.render(false),
            Ok(session) => self.value(&session, &name),
        }
    }

    fn type_of(&self, expr: &str) -> String {
        let source = format!("{}fn __repl_type() = {expr}\n", self.defs);
        match Session::from_source("<repl>", &source) {
            Err(e) => e.render(false),
            Ok(session) => match session.type_of("__repl_type") {
                Some(t) => format!("{t}\n"),
                None => "unknown\n".into(),
            },
        }
    }

    /// `name: type = value` for a new definition.
    fn show(&self, session: &Session, name: &str) -> String {
        let ty = session.type_of(name).unwrap_or_else(|| "?".into());
        if !session.entry_reads_only_input(name) {
            return format!("{name}: {ty}");
        }
        let value = self.value(session, name);
        if value.contains('\n') && value.trim_end().lines().count() > 1 {
            format!("{name}: {ty} =\n{}", value.trim_end())
        } else {
            format!("{name}: {ty} = {}", value.trim_end())
        }
    }

    /// The value of an entry on the example (or without input when there is none).
    fn value(&self, session: &Session, name: &str) -> String {
        match session.run(name, self.example.as_deref(), &[]) {
            Ok(Output::Sel(s)) => selector_grid(&s, self.example.as_deref()),
            Ok(o) => format!("{}\n", o.render()),
            Err(e) if e.kinds() == ["MissingInput"] => {
                "(reads the input: set an example with `:example a b c`)\n".into()
            }
            Err(e) => e.render(false),
        }
    }
}

/// What to do after one input.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Continue(String),
    Quit,
}

fn starts_item(s: &str) -> bool {
    [
        "fn ", "let ", "use ", "space ", "symbols ", "circuit ", "gss ",
    ]
    .iter()
    .any(|k| s.starts_with(k))
}

/// Unclosed `( [ {` in `s`, ignoring strings and comments (negative when over-closed).
pub fn open_brackets(s: &str) -> i64 {
    let mut depth = 0i64;
    let mut chars = s.chars();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_str = false,
                '\n' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth
}

/// A selector as a grid: one row per query position, one column per key position, labelled
/// with the example's tokens.
pub fn selector_grid(s: &Selector, example: Option<&str>) -> String {
    let labels: Vec<String> = match example {
        Some(e) => e
            .split_whitespace()
            .map(|t| Val::from_token(t).to_string())
            .collect(),
        None => (0..s.n).map(|i| i.to_string()).collect(),
    };
    let w = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut out = String::new();
    let _ = write!(out, "{:w$}  ", "", w = w);
    for l in &labels {
        let _ = write!(out, " {l:>w$}");
    }
    out.push('\n');
    for (q, l) in labels.iter().enumerate().take(s.n) {
        let _ = write!(out, "{l:>w$} |");
        for k in 0..s.n {
            let _ = write!(out, " {:>w$}", if s.get(q, k) { "1" } else { "." }, w = w);
        }
        out.push('\n');
    }
    out
}

/// The terminal front end: rustyline with history and completion of names and built-ins.
pub struct TerminalSource {
    editor: rustyline::Editor<Completion, rustyline::history::DefaultHistory>,
}

impl TerminalSource {
    pub fn new() -> Result<TerminalSource, String> {
        let mut editor = rustyline::Editor::new().map_err(|e| e.to_string())?;
        editor.set_helper(Some(Completion { names: Vec::new() }));
        Ok(TerminalSource { editor })
    }
}

impl LineSource for TerminalSource {
    fn read(&mut self, prompt: &str) -> Read {
        match self.editor.readline(prompt) {
            Ok(line) => Read::Line(line),
            Err(rustyline::error::ReadlineError::Interrupted) => Read::Interrupted,
            Err(_) => Read::Eof,
        }
    }

    fn accepted(&mut self, input: &str, names: &[String]) {
        let _ = self.editor.add_history_entry(input);
        if let Some(h) = self.editor.helper_mut() {
            h.names = names.to_vec();
        }
    }
}

/// Completion of defined names, built-ins, keywords and REPL commands.
pub struct Completion {
    names: Vec<String>,
}

/// Keywords and option names; built-in names come from `tessera_lang::program`.
const WORDS: &[&str] = &[
    "select",
    "default",
    "fn",
    "let",
    "use",
    "for",
    "in",
    "if",
    "then",
    "else",
    "not",
    "and",
    "or",
    "true",
    "false",
    "none",
    "std::rasp::",
];

impl rustyline::completion::Completer for Completion {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let head = &line[..pos];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let word = &head[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let mut out: Vec<String> = COMMANDS
            .iter()
            .copied()
            .chain(WORDS.iter().copied())
            .chain(tessera_lang::program::RESERVED.iter().copied())
            .chain(tessera_lang::program::BUILTIN_SEQS.iter().copied())
            .map(str::to_string)
            .chain(self.names.iter().cloned())
            .chain(tessera_stdlib::modules().flat_map(|m| {
                tessera_stdlib::functions(m)
                    .into_iter()
                    .map(move |f| format!("{m}::{f}"))
            }))
            .filter(|c| c.starts_with(word) && c != word)
            .collect();
        out.sort();
        out.dedup();
        Ok((start, out))
    }
}

impl rustyline::hint::Hinter for Completion {
    type Hint = String;
}
impl rustyline::highlight::Highlighter for Completion {}
impl rustyline::validate::Validator for Completion {}
impl rustyline::Helper for Completion {}
