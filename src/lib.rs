//! Tessera: a symbolic–neural reasoning engine.
//!
//! Write RASP-style sequence programs (and, as they land, vector-symbolic ones), check them,
//! and run them in the reference interpreter, which is the specification every later stage
//! (optimiser, compiler, model execution) is checked against.
//!
//! ```
//! use tessera::Session;
//!
//! let session = Session::from_source(
//!     "reverse.tess",
//!     "fn main() = aggregate(select(indices, length - indices - 1, ==), tokens)",
//! )?;
//! let out = session.run("main", Some("a b c d"), &[])?;
//! assert_eq!(out.render(), "d c b a");
//!
//! // The standard library is always there:
//! let out = Session::stdlib().run("std::rasp::sort", Some("3 1 2 1"), &[])?;
//! assert_eq!(out.render(), "1 1 2 3");
//! # Ok::<(), tessera::Error>(())
//! ```

pub mod draw;
pub mod gss;
pub mod ptr;
pub mod repl;

use std::fmt;
use std::path::Path;
use tessera_lang::check;
use tessera_lang::diag::{self, Diagnostic};
use tessera_lang::interp::{ArgValue, EntryArgs, Interp};
use tessera_lang::program::{DefId, DefKind, Program as LoadedProgram, TableLoader};
use tessera_lang::span::SourceMap;
use tessera_lang::value::Val;
use tessera_lang::values::{self, Domain};

pub use tessera_lang::interp::Output;
/// The vector-symbolic kernels (spaces, hypervectors, item memories, resonator networks), for
/// use without the language: `tessera::vsa::Space::new(tessera::vsa::Model::Bsc, 10_000, 7)`.
pub use tessera_vsa as vsa;

/// A program's result: a sequence, a selector, a scalar or a list (printed as LANGUAGE.md says
/// with [`Output::render`], as JSON with [`Output::to_json`]).
pub type Value = Output;

/// One entry of a session, ready to evaluate on inputs.
///
/// ```
/// let session = tessera::Session::stdlib();
/// let hist = session.program("std::rasp::hist")?;
/// assert_eq!(hist.eval("a b a")?.render(), "2 1 2");
/// assert_eq!(hist.eval("x")?.render(), "1");
/// # Ok::<(), tessera::Error>(())
/// ```
pub struct Program<'s> {
    session: &'s Session,
    entry: String,
    args: Vec<(String, String)>,
}

impl Program<'_> {
    /// Evaluate on whitespace-separated tokens (the reference interpreter).
    pub fn eval(&self, input: &str) -> Result<Value, Error> {
        self.session.run(&self.entry, Some(input), &self.args)
    }

    /// Set a scalar parameter (`--arg name=value`).
    pub fn with_arg(mut self, name: &str, value: &str) -> Self {
        self.args.push((name.to_string(), value.to_string()));
        self
    }
}
pub use tessera_lang::values::{VSet, ValueSets};

/// The standard library as a module loader.
pub const STD_LOADER: TableLoader = TableLoader(tessera_stdlib::MODULES);

/// What kind of failure: the program's fault (exit 1) or the invocation's (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Program,
    Usage,
}

/// Every error Tessera reports: diagnostics plus the sources they point into.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
}

impl Error {
    /// A program error with its code and kind, without a place in the source.
    pub fn program_kind(
        code: &'static str,
        kind: &'static str,
        message: String,
        sources: &SourceMap,
    ) -> Error {
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![Diagnostic::error(code, kind, message)],
            sources: sources.clone(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Usage,
            diagnostics: vec![Diagnostic::error("E0900", "Usage", message)],
            sources: SourceMap::new(),
        }
    }

    /// A program error without a source location.
    pub fn program(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![Diagnostic::error("E0601", "ModelError", message)],
            sources: SourceMap::new(),
        }
    }

    /// Two circuits that should be equivalent are not.
    pub fn circuit_mismatch(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![Diagnostic::error("E0703", "NotEquivalent", message)],
            sources: SourceMap::new(),
        }
    }

    /// Render as rustc-style text.
    pub fn render(&self, color: bool) -> String {
        diag::render(&self.diagnostics, &self.sources, color)
    }

    /// The stable kind names of the diagnostics (`EmptySelection`, `UnknownName`, ...).
    pub fn kinds(&self) -> Vec<&'static str> {
        self.diagnostics.iter().map(|d| d.kind).collect()
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": false,
            "diagnostics": self
                .diagnostics
                .iter()
                .map(|d| d.to_json(&self.sources))
                .collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.render(false))
    }
}

impl std::error::Error for Error {}

impl From<tessera_circuit::CircuitError> for Error {
    fn from(e: tessera_circuit::CircuitError) -> Error {
        use tessera_circuit::CircuitError as C;
        let (kind, code, name) = match &e {
            C::Parse { .. } => (ErrorKind::Program, "E0701", "CircuitParse"),
            C::Io(_) => (ErrorKind::Program, "E0702", "CircuitIo"),
            C::Usage(_) => (ErrorKind::Usage, "E0900", "Usage"),
        };
        Error {
            kind,
            diagnostics: vec![Diagnostic::error(code, name, e.to_string())],
            sources: SourceMap::new(),
        }
    }
}

/// A loaded, checked program with the standard library.
pub struct Session {
    program: LoadedProgram,
    warnings: Vec<Diagnostic>,
    limits: Limits,
}

/// The limits of compilation: model size (before anything is allocated) and equality
/// saturation. Defaults as documented in docs/reliability.md; the CLI flags `--max-params`,
/// `--max-table`, `--max-head-table`, `--max-vsa-weights`, `--opt-iterations`, `--opt-nodes`
/// and `--opt-time-ms` change them.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub graph: tessera_compiler::ir_to_graph::GraphLimits,
    pub opt: tessera_compiler::opt::OptLimits,
}

impl Session {
    /// Load source text (named `name` in diagnostics) and check it.
    pub fn from_source(name: &str, text: &str) -> Result<Session, Error> {
        Session::from_source_with(name, text, tessera_lang::limits::Limits::default())
    }

    /// [`Session::from_source`] under other front-end limits (source size, nesting, evaluation
    /// and call depth, input tokens, VSA dimension: `tessera_lang::limits`).
    pub fn from_source_with(
        name: &str,
        text: &str,
        front: tessera_lang::limits::Limits,
    ) -> Result<Session, Error> {
        let (program, mut diags) = LoadedProgram::load_with(name, text, &STD_LOADER, front);
        diags.extend(check::check_program(&program));
        let (errors, warnings): (Vec<_>, Vec<_>) = diags
            .into_iter()
            .partition(|d| d.severity == diag::Severity::Error);
        if errors.is_empty() {
            Ok(Session {
                program,
                warnings,
                limits: Limits::default(),
            })
        } else {
            Err(Error {
                kind: ErrorKind::Program,
                diagnostics: errors,
                sources: program.sources.clone(),
            })
        }
    }

    /// Load and check a file.
    pub fn from_file(path: &Path) -> Result<Session, Error> {
        Session::from_file_with(path, tessera_lang::limits::Limits::default())
    }

    /// [`Session::from_file`] under other front-end limits.
    pub fn from_file_with(
        path: &Path,
        front: tessera_lang::limits::Limits,
    ) -> Result<Session, Error> {
        let text = read_source(path, front.source_bytes)?;
        Session::from_source_with(&path.display().to_string(), &text, front)
    }

    /// Only the standard library (run `std::rasp::*` entries by name).
    pub fn stdlib() -> Session {
        Session::stdlib_with(tessera_lang::limits::Limits::default())
    }

    /// [`Session::stdlib`] under other front-end limits.
    pub fn stdlib_with(front: tessera_lang::limits::Limits) -> Session {
        let (program, _) = LoadedProgram::load_with("<none>", "", &STD_LOADER, front);
        Session {
            program,
            limits: Limits::default(),
            warnings: Vec::new(),
        }
    }

    /// The names of the root module's own items, in definition order.
    pub fn item_names(&self) -> Vec<String> {
        self.program
            .modules
            .first()
            .map(|m| m.own.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The static type of an item's value, as text (`cat<int>`, `sel`, ...).
    pub fn type_of(&self, name: &str) -> Option<String> {
        let def = self.program.resolve_str(name).ok()?;
        Some(tessera_lang::check::result_type(&self.program, def).to_string())
    }

    /// Whether running `name` needs nothing but the input (all its parameters are sequences
    /// or have defaults): then the REPL can show its value on the example.
    pub fn entry_reads_only_input(&self, name: &str) -> bool {
        let Ok(def) = self.program.resolve_str(name) else {
            return false;
        };
        match &self.program.def(def).kind {
            DefKind::Fn(f) => f.params.iter().all(|p| {
                p.default.is_some()
                    || !p
                        .ty
                        .as_ref()
                        .is_some_and(|t| tessera_lang::interp::is_scalar_type(&t.name.name))
            }),
            DefKind::Let(..) => true,
            _ => false,
        }
    }

    /// Lower `entry` to the compiler's IR (errors point at what cannot be lowered).
    fn lower(
        &self,
        entry: &str,
        args: &[(String, String)],
        what: &str,
    ) -> Result<tessera_compiler::Ir, Error> {
        let def = self.resolve_entry(entry)?;
        let entry_args = self.entry_args(def, args)?;
        tessera_compiler::ast_to_ir(&self.program, def, &entry_args).map_err(|e| Error {
            kind: ErrorKind::Program,
            diagnostics: vec![
                Diagnostic::error("E0600", "CompileError", e.message.clone())
                    .with_primary(e.span, what.to_string()),
            ],
            sources: self.program.sources.clone(),
        })
    }

    /// The entry `entry` as a [`Program`] to evaluate on inputs.
    pub fn program(&self, entry: &str) -> Result<Program<'_>, Error> {
        self.resolve_entry(entry)?;
        Ok(Program {
            session: self,
            entry: entry.to_string(),
            args: Vec::new(),
        })
    }

    /// Whether `entry` names a function or `let` of the program (or of the standard library).
    pub fn check_entry(&self, entry: &str) -> Result<(), Error> {
        self.resolve_entry(entry).map(|_| ())
    }

    fn resolve_entry(&self, entry: &str) -> Result<DefId, Error> {
        self.program.resolve_str(entry).map_err(|d| {
            let mut d =
                Diagnostic::error(d.code, d.kind, format!("no entry `{entry}`: {}", d.message));
            d.notes
                .push("help: name a function of the file, or `std::MODULE::NAME`".into());
            Error {
                kind: ErrorKind::Usage,
                diagnostics: vec![d],
                sources: self.program.sources.clone(),
            }
        })
    }

    /// Check `--arg` pairs against the entry's parameters and their written types.
    fn entry_args(&self, def: DefId, args: &[(String, String)]) -> Result<EntryArgs, Error> {
        let params: Vec<&tessera_lang::ast::Param> = match &self.program.def(def).kind {
            DefKind::Fn(f) => f.params.iter().collect(),
            _ => Vec::new(),
        };
        let mut out = EntryArgs::default();
        for (k, v) in args {
            let Some(p) = params.iter().find(|p| p.name.name == *k) else {
                let names: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
                return Err(Error::usage(format!(
                    "`--arg {k}=...`: the entry has no parameter `{k}` (its parameters: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            };
            let value = parse_arg_value(v);
            let want = p.ty.as_ref().map(|t| t.name.name.as_str());
            let ok = match (&value, want) {
                (ArgValue::Scalar(Val::Int(_)), Some("int" | "float")) => true,
                (ArgValue::Scalar(Val::Float(_)), Some("float")) => true,
                (ArgValue::Scalar(Val::Bool(_)), Some("bool")) => true,
                (ArgValue::Scalar(Val::Str(_)), Some("str")) => true,
                (ArgValue::Scalar(Val::None), Some("int" | "float" | "bool" | "str")) => false,
                (ArgValue::Scalar(_), Some("int" | "float" | "bool" | "str")) => false,
                (ArgValue::List(_), Some(t)) => t == "list",
                _ => true,
            };
            if !ok {
                return Err(Error::usage(format!(
                    "`--arg {k}={v}`: `{k}` is declared `{}`",
                    want.unwrap_or("?")
                )));
            }
            out.values.insert(k.clone(), value);
        }
        Ok(out)
    }

    /// The compilation limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Change the compilation limits (model size, equality saturation).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    pub fn sources(&self) -> &SourceMap {
        &self.program.sources
    }

    /// Run `entry` (`main`, `reverse`, `std::rasp::sort`) on whitespace-separated tokens
    /// (`None`: no input; the program must not read it). `args` sets scalar parameters.
    pub fn run(
        &self,
        entry: &str,
        input: Option<&str>,
        args: &[(String, String)],
    ) -> Result<Output, Error> {
        let def = self.resolve_entry(entry)?;
        if let DefKind::Gss(g) = &self.program.def(def).kind {
            let g = self.lower_gss(g)?;
            let text = input.unwrap_or("");
            let max = self.program.limits.input_tokens;
            let n = text.split_whitespace().count();
            if n > max {
                return Err(Error::usage(format!(
                    "the input has {n} words; the limit is {max} (`{}`)",
                    tessera_lang::limits::INPUT_TOKENS.flag
                )));
            }
            let words = g.run(text).map_err(|e| {
                Error::program_kind(
                    "E0802",
                    "GssInput",
                    format!("`{}` cannot read the input: {e}", g.name),
                    &self.program.sources,
                )
            })?;
            return Ok(Output::Seq(tessera_lang::interp::Seq {
                // the words exactly as the system produced them (`007` stays `007`)
                vals: words
                    .0
                    .iter()
                    .map(|w| Val::Str(w.as_str().into()))
                    .collect(),
                numeric: false,
            }));
        }
        if matches!(self.program.def(def).kind, DefKind::Circuit(_)) {
            let bits = self.circuit_run(def, input)?;
            return Ok(Output::Scalar(Val::Str(
                tessera_lang::circuit::render_bits(&bits).into(),
            )));
        }
        let tokens: Option<Vec<Val>> =
            input.map(|s| s.split_whitespace().map(Val::from_token).collect());
        let entry_args = self.entry_args(def, args)?;
        let interp = Interp::new(&self.program, tokens.as_deref());
        interp.run_entry(def, &entry_args).map_err(|e| Error {
            kind: if matches!(e.kind, "MissingInput" | "InputTooLong") {
                ErrorKind::Usage
            } else {
                ErrorKind::Program
            },
            diagnostics: vec![e.to_diagnostic()],
            sources: self.program.sources.clone(),
        })
    }
}

impl Session {
    /// A `CompileError` (E0600) at `span`; size limits concern the whole model and have no
    /// place in the source (the default span).
    fn compile_error(&self, message: String, span: tessera_lang::span::Span, label: &str) -> Error {
        let d = Diagnostic::error("E0600", "CompileError", message);
        let d = if span == tessera_lang::span::Span::default() {
            d
        } else {
            d.with_primary(span, label.to_string())
        };
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![d],
            sources: self.program.sources.clone(),
        }
    }

    fn circuit_error(&self, e: tessera_lang::circuit::CircuitError) -> Error {
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![e.to_diagnostic()],
            sources: self.program.sources.clone(),
        }
    }

    /// Runs circuit `def` on whitespace-separated arguments, one per parameter (decimal,
    /// `0b…`, `0x…` or `8'hff`).
    fn circuit_run(&self, def: DefId, input: Option<&str>) -> Result<Vec<bool>, Error> {
        use tessera_lang::circuit;
        let sig = circuit::signature(&self.program, def).map_err(|e| self.circuit_error(e))?;
        let words: Vec<&str> = input
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default();
        if words.len() != sig.params.len() {
            let names: Vec<String> = sig
                .params
                .iter()
                .map(|(n, w)| format!("{n}: bits[{w}]"))
                .collect();
            return Err(Error::usage(format!(
                "circuit `{}` takes {} arguments ({}), the input has {}",
                self.program.def(def).name,
                sig.params.len(),
                names.join(", "),
                words.len()
            )));
        }
        let mut args = Vec::new();
        for ((name, w), word) in sig.params.iter().zip(&words) {
            args.push(
                circuit::parse_bits(word, *w)
                    .map_err(|m| Error::usage(format!("argument `{name}`: {m}")))?,
            );
        }
        circuit::run(&self.program, def, &args, &circuit::DiskTables)
            .map_err(|e| self.circuit_error(e))
    }

    fn lower_gss(&self, g: &tessera_lang::ast::GssDef) -> Result<tessera_gss::model::Gss, Error> {
        tessera_lang::gss::lower(g).map_err(|diagnostics| Error {
            kind: ErrorKind::Program,
            diagnostics,
            sources: self.program.sources.clone(),
        })
    }

    /// The `gss` item `entry`, lowered.
    pub fn gss_item(&self, entry: &str) -> Result<tessera_gss::model::Gss, Error> {
        let def = self.resolve_entry(entry)?;
        match &self.program.def(def).kind {
            DefKind::Gss(g) => self.lower_gss(g),
            _ => Err(Error::usage(format!("`{entry}` is not a `gss` item"))),
        }
    }

    /// The entry used when none is named: `main`, or else the file's only `gss` item.
    pub fn default_entry(&self) -> String {
        if self.resolve_entry("main").is_ok() {
            return "main".into();
        }
        let gss: Vec<&str> = self
            .program
            .defs
            .iter()
            .filter(|d| d.module == 0 && matches!(d.kind, DefKind::Gss(_)))
            .map(|d| d.name.as_str())
            .collect();
        match gss[..] {
            [one] => one.to_string(),
            _ => "main".into(),
        }
    }

    /// Whether `entry` is a `gss` item.
    pub fn is_gss(&self, entry: &str) -> bool {
        self.resolve_entry(entry)
            .is_ok_and(|d| matches!(self.program.def(d).kind, DefKind::Gss(_)))
    }

    /// Compile a `gss` item (list meanings) to an and-inverter graph for inputs of at most
    /// `max_len` words (its symbols and `extra`, words its `_` rule reads) and values of at most
    /// `out_len` tokens ([`crate::gss::circuit`] says how, and the interface), synthesise it
    /// (proved equivalent) when it has at most [`GSS_SYNTH_MAX_ANDS`] ANDs, and with `verify`
    /// check it against the interpreter: every input of up to as many words as make 200,000
    /// inputs, 20,000 inputs drawn word by word among the words that keep them
    /// parseable, and 5,000 uniform ones (seeded).
    pub fn compile_gss_circuit(
        &self,
        entry: &str,
        extra: &[String],
        max_len: usize,
        out_len: usize,
        verify: bool,
    ) -> Result<CompiledGss, Error> {
        let g = self.gss_item(entry)?;
        let raw = crate::gss::circuit::compile(&g, extra, max_len, out_len)
            .map_err(|m| Error::usage(format!("`{entry}` cannot be compiled to a circuit: {m}")))?;
        let raw_ands = raw.aig.num_ands();
        let (circuit, proof) = if raw_ands <= GSS_SYNTH_MAX_ANDS {
            let (aig, proof) = synthesize_proved(&raw.aig)?;
            (crate::gss::circuit::GssCircuit { aig, ..raw }, Some(proof))
        } else {
            (raw, None)
        };
        let verified = if verify {
            Some(
                crate::gss::circuit::check(&g, &circuit, 200_000, 20_000, 5_000, 1)
                    .map_err(Error::circuit_mismatch)?,
            )
        } else {
            None
        };
        Ok(CompiledGss {
            circuit,
            raw_ands,
            proof,
            verified,
        })
    }

    /// Whether `entry` is a `circuit` item.
    pub fn is_circuit(&self, entry: &str) -> bool {
        self.resolve_entry(entry)
            .is_ok_and(|d| matches!(self.program.def(d).kind, DefKind::Circuit(_)))
    }

    /// Compile a `circuit` item to an and-inverter graph (inputs `a[0]`…, outputs `out[0]`…),
    /// synthesise it (proved equivalent), and with `verify` check it against the interpreter:
    /// on every input when the parameters have at most 20 bits in all, otherwise on 10,000
    /// seeded random inputs.
    ///
    /// ```
    /// let s = tessera::Session::from_source(
    ///     "add.tess",
    ///     "circuit add(a: bits[4], b: bits[4]) -> bits[5] { a + b }",
    /// )?;
    /// let c = s.compile_circuit_item("add", true)?;
    /// assert_eq!(c.verified.unwrap().compared, 256);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn compile_circuit_item(&self, entry: &str, verify: bool) -> Result<CompiledItem, Error> {
        use tessera_lang::circuit;
        let def = self.resolve_entry(entry)?;
        let sig = circuit::signature(&self.program, def).map_err(|e| self.circuit_error(e))?;
        let raw =
            tessera_compiler::to_circuit::circuit_item(&self.program, def, &circuit::DiskTables)
                .map_err(|e| self.circuit_error(e))?;
        let raw_ands = raw.num_ands();
        let (aig, proof) = synthesize_proved(&raw)?;
        let verified = if verify {
            // The interpreter's elaborator over 64-bit words runs 64 inputs at a time; the
            // circuit is simulated on the same words.
            let total: usize = sig.params.iter().map(|(_, w)| *w).sum();
            let exhaustive = total <= 20;
            let count: usize = if exhaustive { 1 << total } else { 10_000 };
            let mut rng = tessera_circuit::sim::Patterns::new(7);
            let mut done = 0;
            while done < count {
                let lanes = (count - done).min(64);
                let words: Vec<u64> = (0..total)
                    .map(|i| {
                        if exhaustive {
                            (0..lanes).fold(0u64, |w, j| w | (((done + j) >> i & 1) as u64) << j)
                        } else {
                            rng.next_word()
                        }
                    })
                    .collect();
                let mut args = Vec::new();
                let mut at = 0;
                for (_, w) in &sig.params {
                    args.push(words[at..at + w].to_vec());
                    at += w;
                }
                let want = circuit::elaborate(
                    &self.program,
                    def,
                    &mut circuit::Words,
                    args,
                    &circuit::DiskTables,
                )
                .map_err(|e| self.circuit_error(e))?;
                let vals = tessera_circuit::sim::simulate_nodes(&aig, 1, |i, _| words[i]);
                let mask = if lanes == 64 { !0 } else { (1u64 << lanes) - 1 };
                for (k, &o) in aig.outputs().iter().enumerate() {
                    let got = tessera_circuit::sim::lit_words(&vals, 1, o)
                        .next()
                        .unwrap_or(0);
                    let bad = (got ^ want[k]) & mask;
                    if bad != 0 {
                        let j = bad.trailing_zeros();
                        let lane = |w: &u64| w >> j & 1 == 1;
                        let show: Vec<String> = sig
                            .params
                            .iter()
                            .scan(0, |at, (n, w)| {
                                let bits: Vec<bool> =
                                    words[*at..*at + w].iter().map(lane).collect();
                                *at += w;
                                Some(format!("{n} = {}", circuit::render_bits(&bits)))
                            })
                            .collect();
                        return Err(Error::circuit_mismatch(format!(
                            "the circuit disagrees with the interpreter on output bit {k} for {}",
                            show.join(", ")
                        )));
                    }
                }
                done += lanes;
            }
            Some(CircuitReport {
                exhaustive,
                compared: count,
                program_errors: 0,
            })
        } else {
            None
        };
        Ok(CompiledItem {
            aig,
            raw_ands,
            proof,
            verified,
        })
    }

    /// Value-set inference: the values the entry's result and each of its `let`s can take over
    /// every input of at most `max_len` tokens from `vocab`.
    pub fn value_sets(
        &self,
        entry: &str,
        vocab: &[&str],
        max_len: usize,
        args: &[(String, String)],
    ) -> Result<ValueSets, Error> {
        let def = self.resolve_entry(entry)?;
        let domain = Domain {
            vocab: vocab.iter().map(|t| Val::from_token(t)).collect(),
            max_len,
        };
        let entry_args = self.entry_args(def, args)?;
        values::infer(&self.program, def, &domain, &entry_args).map_err(|e| Error {
            kind: ErrorKind::Program,
            diagnostics: vec![
                Diagnostic::error("E0510", "InferenceError", e.message.clone())
                    .with_primary(e.span, "value sets cannot be inferred here"),
            ],
            sources: self.program.sources.clone(),
        })
    }

    /// A `file:line:col` for a span, for printing value sets.
    pub fn location(&self, span: tessera_lang::span::Span) -> String {
        self.program.sources.location(span)
    }
}

/// The IR of an entry, optionally optimised, with its layer analysis.
#[derive(Debug, Clone)]
pub struct IrView {
    /// The IR listing (`%3 = aggregate %1 %2 [cat]`, ...).
    pub listing: String,
    /// RASP's layer analysis of it (`2 layers, heads 1/1`).
    pub layers: usize,
    pub heads: Vec<usize>,
    /// With optimisation: what saturation did (stop reason, rules fired).
    pub report: Option<String>,
}

impl Session {
    /// Lower `entry` to the compiler's IR (and optimise it with `optimize`).
    pub fn ir(
        &self,
        entry: &str,
        args: &[(String, String)],
        optimize: bool,
    ) -> Result<IrView, Error> {
        let ir = self.lower(entry, args, "cannot be lowered to the IR")?;
        let (ir, report) = if optimize {
            let (opt, report) = tessera_compiler::opt::optimize(&ir, &self.limits.opt);
            (opt, Some(report.render()))
        } else {
            (ir, None)
        };
        let a = tessera_compiler::analysis::analyse(&ir);
        Ok(IrView {
            listing: ir.render(),
            layers: a.layers,
            heads: a.heads,
            report,
        })
    }
}

/// A program compiled to a transformer with exact weights.
///
/// ```
/// use tessera::{Session, VerifyOptions};
///
/// let session = Session::stdlib();
/// let (model, report) =
///     session.verify("std::rasp::reverse", &["a", "b"], 5, &[], VerifyOptions::default())?;
/// assert_eq!(report.mismatch_count, 0); // every input of length 0..=5 agrees
/// assert_eq!(model.stats().layers, 2); // `length`, then the lookup (RASP counts 2)
/// let out = model.exec(&["a b b"], false)?; // candle, on the CPU
/// assert_eq!(out[0].iter().map(ToString::to_string).collect::<Vec<_>>(), ["b", "b", "a"]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub struct CompiledModel {
    model: tessera_compiler::graph::Model,
    /// Lowering, optimisation and weight construction.
    pub compile_time: std::time::Duration,
    /// How `compile_time` splits between its phases (zero for a loaded model).
    pub phases: CompilePhases,
    /// The candle engine on the CPU, built on first use and kept.
    cpu_engine: std::cell::OnceCell<tessera_engine::Engine>,
    /// The sparse CPU engine, built on first use and kept.
    sparse_engine: std::cell::OnceCell<tessera_engine::SparseEngine>,
}

/// Whitespace-separated inputs as token sequences.
fn token_batch(inputs: &[&str]) -> Vec<Vec<Val>> {
    inputs
        .iter()
        .map(|s| s.split_whitespace().map(Val::from_token).collect())
        .collect()
}

fn engine_error(e: tessera_engine::EngineError) -> Error {
    match e {
        tessera_engine::EngineError::Input(m) => Error::usage(m),
        other => Error::program(other.to_string()),
    }
}

/// Where a compile's time went: lowering the entry to IR, equality saturation and extraction,
/// and lowering the IR to the model graph (both lowerings when the optimised IR's tables were
/// too large and the unoptimised IR was lowered too).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CompilePhases {
    pub lower_ms: f64,
    pub optimise_ms: f64,
    pub graph_ms: f64,
}

impl CompiledModel {
    fn new(
        model: tessera_compiler::graph::Model,
        compile_time: std::time::Duration,
        phases: CompilePhases,
    ) -> CompiledModel {
        CompiledModel {
            model,
            compile_time,
            phases,
            cpu_engine: std::cell::OnceCell::new(),
            sparse_engine: std::cell::OnceCell::new(),
        }
    }
}

impl Clone for CompiledModel {
    fn clone(&self) -> CompiledModel {
        CompiledModel::new(self.model.clone(), self.compile_time, self.phases)
    }
}

impl fmt::Debug for CompiledModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledModel")
            .field("layers", &self.model.layers.len())
            .field("residual", &self.model.residual.len())
            .field("compile_time", &self.compile_time)
            .finish()
    }
}

/// The size of a compiled model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelStats {
    pub layers: usize,
    pub heads_per_layer: Vec<usize>,
    pub mlp_hidden_per_layer: Vec<usize>,
    /// Product units of each layer's bilinear sublayer (empty when no layer has one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bilinear_per_layer: Vec<usize>,
    pub residual_width: usize,
    pub params: usize,
    pub nonzero_params: usize,
    pub compile_ms: f64,
    /// `compile_ms` by phase.
    pub compile_phases_ms: CompilePhases,
}

impl CompiledModel {
    pub fn stats(&self) -> ModelStats {
        let (params, nonzero) = self.model.params();
        ModelStats {
            layers: self.model.layers.len(),
            heads_per_layer: self.model.layers.iter().map(|l| l.heads.len()).collect(),
            mlp_hidden_per_layer: self
                .model
                .layers
                .iter()
                .map(|l| l.mlp.as_ref().map_or(0, |m| m.b1.len()))
                .collect(),
            bilinear_per_layer: if self.model.layers.iter().any(|l| l.bilinear.is_some()) {
                self.model
                    .layers
                    .iter()
                    .map(|l| l.bilinear.as_ref().map_or(0, |b| b.bu.len()))
                    .collect()
            } else {
                Vec::new()
            },
            residual_width: self.model.residual.len(),
            params,
            nonzero_params: nonzero,
            compile_ms: self.compile_time.as_secs_f64() * 1e3,
            compile_phases_ms: self.phases,
        }
    }

    /// Run the model (f64 reference execution) on whitespace-separated tokens.
    pub fn run(&self, input: &str) -> Result<Vec<Val>, Error> {
        let tokens: Vec<Val> = input.split_whitespace().map(Val::from_token).collect();
        self.model
            .forward(&tokens)
            .map_err(|e| Error::usage(e.to_string()))
    }

    /// The tokens an input may hold (as `Val::from_token` reads them).
    pub fn vocab(&self) -> &[Val] {
        &self.model.vocab
    }

    /// The longest input the model was compiled for.
    pub fn max_len(&self) -> usize {
        self.model.max_len
    }

    /// Write the model to `dir` (`model.safetensors`, `graph.json`), atomically.
    pub fn save(&self, entry: &str, dir: &Path) -> Result<(), Error> {
        tessera_engine::save(&self.model, entry, dir).map_err(|e| Error::usage(e.to_string()))
    }

    /// Read a model written by [`CompiledModel::save`]; returns it and the entry it computes.
    pub fn load(dir: &Path) -> Result<(CompiledModel, String), Error> {
        let (model, entry) =
            tessera_engine::load(dir).map_err(|e| Error::program(e.to_string()))?;
        Ok((
            CompiledModel::new(model, std::time::Duration::ZERO, CompilePhases::default()),
            entry,
        ))
    }

    /// Run a batch of inputs with candle (`cuda`: on the GPU, when built with the feature).
    pub fn exec(&self, inputs: &[&str], cuda: bool) -> Result<Vec<Vec<Val>>, Error> {
        let device = tessera_engine::device(cuda).map_err(|e| Error::usage(e.to_string()))?;
        let gpu_engine;
        let engine = if cuda {
            gpu_engine = tessera_engine::Engine::new(&self.model, &device)
                .map_err(|e| Error::program(e.to_string()))?;
            &gpu_engine
        } else {
            match self.cpu_engine.get() {
                Some(e) => e,
                None => {
                    let e = tessera_engine::Engine::new(&self.model, &device)
                        .map_err(|e| Error::program(e.to_string()))?;
                    self.cpu_engine.get_or_init(|| e)
                }
            }
        };
        let batch = token_batch(inputs);
        engine.forward_batch(&batch).map_err(engine_error)
    }

    /// Run a batch of inputs with the sparse CPU engine (only the nonzero weights, f64; the
    /// same results as [`CompiledModel::run`]).
    pub fn exec_sparse(&self, inputs: &[&str]) -> Result<Vec<Vec<Val>>, Error> {
        let engine = self
            .sparse_engine
            .get_or_init(|| tessera_engine::SparseEngine::new(&self.model));
        let batch = token_batch(inputs);
        engine.forward_batch(&batch).map_err(engine_error)
    }

    /// The sparse CPU engine of [`CompiledModel::exec_sparse`], built on first use: for callers
    /// that encode their inputs once as token ids ([`tessera_engine::SparseEngine::vocab`],
    /// [`tessera_engine::SparseEngine::forward_ids`]).
    pub fn sparse_engine(&self) -> &tessera_engine::SparseEngine {
        self.sparse_engine
            .get_or_init(|| tessera_engine::SparseEngine::new(&self.model))
    }

    /// Graphviz DOT of the model's blocks.
    pub fn to_dot(&self) -> String {
        self.model.to_dot()
    }

    /// Shapes and labels of every block (no raw weights).
    pub fn describe(&self) -> String {
        self.model.describe()
    }

    /// The residual stream's dimension labels.
    pub fn residual(&self) -> &[String] {
        &self.model.residual
    }
}

/// What `verify` checked and found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// Every input of length 0..=max_len (`true`), or a seeded random sample.
    pub exhaustive: bool,
    /// Inputs on which the interpreter produced a sequence and the model was compared.
    pub compared: usize,
    /// Inputs on which the interpreter reports an error (the model is not asked).
    pub program_errors: usize,
    /// The first disagreements: input, interpreter, model.
    pub mismatches: Vec<(String, String, String)>,
    pub mismatch_count: usize,
}

/// Inputs beyond which `verify` samples instead of enumerating, by default.
pub const EXHAUSTIVE_LIMIT: usize = 1_000_000;

/// How `verify` chooses its inputs.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Random inputs to check when there are more than `exhaustive_limit` inputs.
    pub samples: usize,
    /// Seed of the random inputs.
    pub seed: u64,
    /// Enumerate every input when there are at most this many.
    pub exhaustive_limit: usize,
    /// Run the model with hard attention (uniform over the keys of maximal score).
    pub hard: bool,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            samples: 10_000,
            seed: 1,
            exhaustive_limit: EXHAUSTIVE_LIMIT,
            hard: false,
        }
    }
}

impl Session {
    /// Compile `entry` for a vocabulary and a maximum length (optimised with egg first).
    pub fn compile(
        &self,
        entry: &str,
        vocab: &[&str],
        max_len: usize,
        args: &[(String, String)],
    ) -> Result<CompiledModel, Error> {
        let start = std::time::Instant::now();
        let compile_err = |message: String, span: tessera_lang::span::Span| {
            self.compile_error(message, span, "cannot be compiled")
        };
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let ir = self.lower(entry, args, "cannot be compiled")?;
        let lowered = std::time::Instant::now();
        let (opt, _) = tessera_compiler::opt::optimize(&ir, &self.limits.opt);
        let optimised = std::time::Instant::now();
        let vocab: Vec<Val> = vocab.iter().map(|t| Val::from_token(t)).collect();
        // Fusion trades layers for table size; when a fused table is too large, the unfused IR
        // (more MLP sublayers, smaller tables) may still compile.
        let limits = &self.limits.graph;
        let model =
            match tessera_compiler::ir_to_graph::ir_to_graph_with(&opt, &vocab, max_len, limits) {
                Ok(m) => m,
                Err(first) => {
                    tessera_compiler::ir_to_graph::ir_to_graph_with(&ir, &vocab, max_len, limits)
                        .map_err(|_| compile_err(first.message, first.span))?
                }
            };
        let phases = CompilePhases {
            lower_ms: ms(lowered - start),
            optimise_ms: ms(optimised - lowered),
            graph_ms: ms(optimised.elapsed()),
        };
        Ok(CompiledModel::new(model, start.elapsed(), phases))
    }

    /// Compile `entry` and check the model against the interpreter: on every input when there
    /// are at most `options.exhaustive_limit`, otherwise on `options.samples` seeded random
    /// inputs.
    pub fn verify(
        &self,
        entry: &str,
        vocab: &[&str],
        max_len: usize,
        args: &[(String, String)],
        options: VerifyOptions,
    ) -> Result<(CompiledModel, VerifyReport), Error> {
        let VerifyOptions {
            samples,
            seed,
            exhaustive_limit,
            hard,
        } = options;
        let attention = if hard {
            tessera_compiler::graph::Attention::Hard
        } else {
            tessera_compiler::graph::Attention::Soft
        };
        let model = self.compile(entry, vocab, max_len, args)?;
        let def = self.resolve_entry(entry)?;
        let entry_args = self.entry_args(def, args)?;
        let mut vals: Vec<Val> = vocab.iter().map(|t| Val::from_token(t)).collect();
        vals.sort();
        vals.dedup();
        let mut report = VerifyReport {
            exhaustive: false,
            compared: 0,
            program_errors: 0,
            mismatches: Vec::new(),
            mismatch_count: 0,
        };
        let mut check = |input: &[Val]| {
            let interp = Interp::new(&self.program, Some(input));
            match interp.run_entry(def, &entry_args) {
                Ok(Output::Seq(want)) => {
                    report.compared += 1;
                    let got = model.model.forward_with(input, attention);
                    if got.as_ref().ok() != Some(&want.vals) {
                        report.mismatch_count += 1;
                        if report.mismatches.len() < 5 {
                            let show = |v: &[Val]| {
                                v.iter().map(Val::to_string).collect::<Vec<_>>().join(" ")
                            };
                            report.mismatches.push((
                                show(input),
                                show(&want.vals),
                                got.map_or_else(|e| e.to_string(), |g| show(&g)),
                            ));
                        }
                    }
                }
                _ => report.program_errors += 1,
            }
        };
        let exhaustive = for_each_input(&vals, max_len, exhaustive_limit, samples, seed, |input| {
            check(input);
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap_or_else(|never| match never {});
        report.exhaustive = exhaustive;
        Ok((model, report))
    }
}

/// A program bit-blasted into a circuit, synthesised, and checked.
#[derive(Debug, Clone)]
pub struct CompiledCircuit {
    /// The synthesised circuit (inputs `in{pos}={token}`, outputs `out{pos}={value}` and `error`).
    pub circuit: tessera_compiler::to_circuit::CircuitModel,
    /// ANDs straight from bit-blasting, before synthesis.
    pub raw_ands: usize,
    /// How the synthesised circuit was proved equal to the bit-blasted one.
    pub proof: String,
    /// The check against the interpreter (`None` when skipped).
    pub verified: Option<CircuitReport>,
}

/// The largest gss circuit `compile_gss_circuit` synthesises (on SCAN's 624,000 ANDs,
/// synthesis with its equivalence proof did not finish in 10 minutes here).
pub const GSS_SYNTH_MAX_ANDS: usize = 20_000;

/// A `gss` item compiled to a circuit, synthesised when small, and checked.
#[derive(Debug, Clone)]
pub struct CompiledGss {
    pub circuit: crate::gss::circuit::GssCircuit,
    /// ANDs as compiled, before synthesis.
    pub raw_ands: usize,
    /// How the synthesised circuit was proved equal to the compiled one (`None`: too large to
    /// synthesise here, written as compiled).
    pub proof: Option<String>,
    /// The check against the interpreter (`None` when skipped).
    pub verified: Option<crate::gss::circuit::Checked>,
}

/// A `circuit` item compiled, synthesised and checked.
#[derive(Debug, Clone)]
pub struct CompiledItem {
    pub aig: tessera_circuit::Aig,
    pub raw_ands: usize,
    pub proof: String,
    pub verified: Option<CircuitReport>,
}

/// How a circuit was checked against the interpreter.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CircuitReport {
    pub exhaustive: bool,
    pub compared: usize,
    /// Inputs on which the interpreter stops with an error (the circuit's `error` output
    /// must be set there, and is checked).
    pub program_errors: usize,
}

/// Synthesises `raw` (default effort, names kept) and proves the result equivalent to it.
fn synthesize_proved(raw: &tessera_circuit::Aig) -> Result<(tessera_circuit::Aig, String), Error> {
    let mut aig = tessera_circuit::synth::run(raw, tessera_circuit::synth::Effort::Default);
    aig.copy_names(raw);
    match tessera_circuit::cec::cec(raw, &aig)? {
        tessera_circuit::cec::Verdict::Equivalent(m) => Ok((aig, m.to_string())),
        tessera_circuit::cec::Verdict::Different { output, .. } => Err(Error::circuit_mismatch(
            format!("internal error: synthesis changed output {output}"),
        )),
    }
}

/// Calls `f` on every token sequence of at most `max_len` tokens from `vals` when there are at
/// most `exhaustive_limit` of them (returning true), otherwise on `samples` seeded random ones
/// (returning false). The first error stops it.
fn for_each_input<E>(
    vals: &[Val],
    max_len: usize,
    exhaustive_limit: usize,
    samples: usize,
    seed: u64,
    mut f: impl FnMut(&[Val]) -> Result<(), E>,
) -> Result<bool, E> {
    let mut total: usize = 0;
    let mut power: usize = 1;
    for _ in 0..=max_len {
        total = total.saturating_add(power);
        power = power.saturating_mul(vals.len().max(1));
    }
    if total <= exhaustive_limit {
        let mut current: Vec<Vec<Val>> = vec![Vec::new()];
        f(&[])?;
        for _ in 0..max_len {
            let mut next = Vec::with_capacity(current.len() * vals.len());
            for s in &current {
                for v in vals {
                    let mut t = s.clone();
                    t.push(v.clone());
                    f(&t)?;
                    next.push(t);
                }
            }
            current = next;
        }
        return Ok(true);
    }
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..samples {
        let len = (next() % (max_len as u64 + 1)) as usize;
        let input: Vec<Val> = (0..len)
            .map(|_| vals[(next() % vals.len().max(1) as u64) as usize].clone())
            .collect();
        f(&input)?;
    }
    Ok(false)
}

/// Sequence programs bit-blasted into circuits are checked on this many random inputs when
/// there are too many to try all.
const CIRCUIT_SAMPLES: usize = 20_000;

/// Inputs with more than this many sequences are checked on a sample.
const CIRCUIT_EXHAUSTIVE_LIMIT: usize = 200_000;

impl Session {
    /// Bit-blast `entry` into one and-inverter graph over the one-hot encoded input (see
    /// `tessera_compiler::to_circuit`), synthesise it (proved equivalent), and with `verify`
    /// check it against the interpreter on every input of at most `max_len` tokens (a seeded
    /// sample of 20,000 when there are more than 200,000). A disagreement is an error naming
    /// the input.
    ///
    /// ```
    /// let s = tessera::Session::stdlib();
    /// let c = s.compile_circuit("std::rasp::reverse", &["a", "b", "c"], 3, &[], true)?;
    /// assert_eq!(c.verified.unwrap().compared, 1 + 3 + 9 + 27);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn compile_circuit(
        &self,
        entry: &str,
        vocab: &[&str],
        max_len: usize,
        args: &[(String, String)],
        verify: bool,
    ) -> Result<CompiledCircuit, Error> {
        let compile_err = |e: tessera_compiler::ir_to_graph::CompileError| {
            self.compile_error(e.message, e.span, "cannot be compiled to a circuit")
        };
        let ir = self.lower(entry, args, "cannot be compiled")?;
        let (opt, _) = tessera_compiler::opt::optimize(&ir, &self.limits.opt);
        let vals: Vec<Val> = vocab.iter().map(|t| Val::from_token(t)).collect();
        let raw = match tessera_compiler::to_circuit::ir_to_circuit(&opt, &vals, max_len) {
            Ok(c) => c,
            Err(first) => tessera_compiler::to_circuit::ir_to_circuit(&ir, &vals, max_len)
                .map_err(|_| compile_err(first))?,
        };
        let raw_ands = raw.aig.num_ands();
        let (aig, proof) = synthesize_proved(&raw.aig)?;
        let circuit = tessera_compiler::to_circuit::CircuitModel { aig, ..raw };
        let verified = if verify {
            Some(self.check_circuit(entry, args, &circuit)?)
        } else {
            None
        };
        Ok(CompiledCircuit {
            circuit,
            raw_ands,
            proof,
            verified,
        })
    }

    fn check_circuit(
        &self,
        entry: &str,
        args: &[(String, String)],
        c: &tessera_compiler::to_circuit::CircuitModel,
    ) -> Result<CircuitReport, Error> {
        let def = self.resolve_entry(entry)?;
        let entry_args = self.entry_args(def, args)?;
        let vals = c.vocab.clone();
        let mut report = CircuitReport {
            exhaustive: false,
            compared: 0,
            program_errors: 0,
        };
        let show = |v: &[Val]| v.iter().map(Val::to_string).collect::<Vec<_>>().join(" ");
        let mut check = |input: &[Val]| -> Result<(), Error> {
            let interp = Interp::new(&self.program, Some(input));
            let want = interp.run_entry(def, &entry_args);
            let got = c.run(input);
            report.compared += 1;
            let ok = match (&want, &got) {
                (Ok(Output::Seq(w)), Some(Ok(Some(g)))) => {
                    w.vals.len() == g.len() && w.vals.iter().zip(g).all(|(a, b)| a.eq_val(b))
                }
                (Err(_), Some(Err(()))) => {
                    report.program_errors += 1;
                    true
                }
                _ => false,
            };
            if ok {
                return Ok(());
            }
            let want = match want {
                Ok(Output::Seq(w)) => show(&w.vals),
                Ok(other) => format!("{other:?}"),
                Err(e) => format!("error {}", e.kind),
            };
            let got = match got {
                Some(Ok(Some(g))) => show(&g),
                Some(Ok(None)) => "an output group that is not one-hot".into(),
                Some(Err(())) => "the error output".into(),
                None => "no encoding".into(),
            };
            Err(Error::circuit_mismatch(format!(
                "the circuit disagrees with the interpreter on `{}`: interpreter {want}, circuit {got}",
                show(input)
            )))
        };
        report.exhaustive = for_each_input(
            &vals,
            c.max_len,
            CIRCUIT_EXHAUSTIVE_LIMIT,
            CIRCUIT_SAMPLES,
            1,
            &mut check,
        )?;
        Ok(report)
    }
}

impl Session {
    /// An SVG picture of `entry` as a transformer on `input` (see [`draw`]).
    ///
    /// ```
    /// let svg = tessera::Session::stdlib().draw("std::rasp::sort", "3 1 2", &[])?;
    /// assert!(svg.starts_with("<svg") && svg.contains("layer 2"));
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn draw(
        &self,
        entry: &str,
        input: &str,
        args: &[(String, String)],
    ) -> Result<String, Error> {
        let ir = self.lower(entry, args, "cannot be drawn")?;
        let (ir, _) = tessera_compiler::opt::optimize(&ir, &self.limits.opt);
        let tokens: Vec<Val> = input.split_whitespace().map(Val::from_token).collect();
        draw::draw(&ir, &tokens, &format!("{entry} on \"{input}\"")).map_err(Error::program)
    }
}

/// An `--arg` value: `true`, `false`, `none`, a number, a quoted string, a bare token, or a
/// list of those in brackets (`[a, b, "c d"]`).
pub fn parse_arg_value(s: &str) -> ArgValue {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let mut items = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for c in inner.chars() {
            match c {
                '"' => {
                    quoted = !quoted;
                    cur.push(c);
                }
                ',' if !quoted => items.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        items.push(cur);
        let items = items
            .iter()
            .map(|x| x.trim())
            .filter(|x| !x.is_empty())
            .map(parse_scalar_arg)
            .collect();
        return ArgValue::List(items);
    }
    ArgValue::Scalar(parse_scalar_arg(t))
}

fn parse_scalar_arg(t: &str) -> Val {
    match t {
        "true" => return Val::Bool(true),
        "false" => return Val::Bool(false),
        "none" => return Val::None,
        _ => {}
    }
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        return Val::Str(t[1..t.len() - 1].into());
    }
    if let v @ Val::Int(_) = Val::from_token(t) {
        return v;
    }
    if t.contains(['.', 'e', 'E'])
        && let Ok(x) = t.parse::<f64>()
        && x.is_finite()
    {
        return Val::Float(x);
    }
    Val::from_token(t)
}

fn read_source(path: &Path, max_bytes: usize) -> Result<String, Error> {
    let cannot = |e: std::io::Error| Error::usage(format!("cannot read `{}`: {e}", path.display()));
    // Read at most one byte past the limit: a huge (or endless) file is refused without
    // reading it into memory.
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(cannot)?;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, (max_bytes as u64).saturating_add(1)),
        &mut bytes,
    )
    .map_err(cannot)?;
    if bytes.len() > max_bytes {
        return Err(Error::program_kind(
            "E0006",
            "SourceTooLarge",
            format!(
                "`{}` is larger than {max_bytes} bytes, the source size limit (`{}`)",
                path.display(),
                tessera_lang::limits::SOURCE_BYTES.flag
            ),
            &SourceMap::new(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let mut sources = SourceMap::new();
        let name = path.display().to_string();
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let file = sources.add(name.clone(), text);
        Error {
            kind: ErrorKind::Program,
            diagnostics: vec![
                Diagnostic::error(
                    "E0004",
                    "InvalidUtf8",
                    format!("`{name}` is not valid UTF-8"),
                )
                .with_primary(
                    tessera_lang::span::Span::new(file, valid, valid + 1),
                    format!("invalid byte at offset {valid}"),
                ),
            ],
            sources,
        }
    })
}
