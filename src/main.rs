//! The `tessera` command line.

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tessera::{Error, ErrorKind, Session};

// Output that never panics: a closed pipe (`tessera run … | head`) or a full disk ends the
// write quietly instead of aborting with exit code 101.
macro_rules! out_line {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}
macro_rules! out_text {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}
macro_rules! err_line {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($t)*);
    }};
}
macro_rules! err_text {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($t)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Symbolic-neural reasoning engine: RASP and VSA programs"
)]
struct Cli {
    /// Machine-readable output (results and diagnostics as JSON on stdout).
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    limits: LimitFlags,
    #[command(subcommand)]
    command: Command,
}

/// Limits of the front end and the interpreter (defaults and ceilings in
/// `tessera_lang::limits`; docs/reliability.md lists every limit).
#[derive(clap::Args, Default)]
struct LimitFlags {
    /// The largest source file read, in bytes (default 16 MiB).
    #[arg(long, global = true, value_name = "N")]
    max_source_bytes: Option<usize>,
    /// The deepest expression nesting the parser accepts (default 1000).
    #[arg(long, global = true, value_name = "N")]
    max_nesting: Option<usize>,
    /// The deepest evaluation nesting, through expressions and calls (default 4000).
    #[arg(long, global = true, value_name = "N")]
    max_eval_depth: Option<usize>,
    /// The deepest nesting of function and circuit calls (default 64).
    #[arg(long, global = true, value_name = "N")]
    max_call_depth: Option<usize>,
    /// The most tokens (or words) of one input (default 10,000).
    #[arg(long, global = true, value_name = "N")]
    max_input_tokens: Option<usize>,
    /// The largest hypervector dimension a `space` may declare (default 2^20).
    #[arg(long, global = true, value_name = "N")]
    max_dim: Option<usize>,
    /// The largest `--max-len` a compile-time command accepts (default 4096).
    #[arg(long, global = true, value_name = "N")]
    max_len_limit: Option<usize>,
    /// The most tokens a `--vocab` may list (default 4096).
    #[arg(long, global = true, value_name = "N")]
    max_vocab: Option<usize>,
}

/// The limits in force for this process, set once from the flags before any command runs.
struct CliLimits {
    front: tessera_lang::limits::Limits,
    max_len: usize,
    vocab: usize,
}

static LIMITS: std::sync::OnceLock<CliLimits> = std::sync::OnceLock::new();

fn limits() -> &'static CliLimits {
    LIMITS.get_or_init(|| CliLimits {
        front: tessera_lang::limits::Limits::default(),
        max_len: MAX_LEN.default,
        vocab: MAX_VOCAB.default,
    })
}

impl LimitFlags {
    fn resolve(&self) -> Result<CliLimits, Error> {
        use tessera_lang::limits as l;
        let pick = |v: Option<usize>, spec: &l::LimitSpec| -> Result<usize, Error> {
            v.map_or(Ok(spec.default), |n| spec.accept(n).map_err(Error::usage))
        };
        Ok(CliLimits {
            front: l::Limits {
                source_bytes: pick(self.max_source_bytes, &l::SOURCE_BYTES)?,
                nesting: pick(self.max_nesting, &l::NESTING)?,
                eval_depth: pick(self.max_eval_depth, &l::EVAL_DEPTH)?,
                call_depth: pick(self.max_call_depth, &l::CALL_DEPTH)?,
                input_tokens: pick(self.max_input_tokens, &l::INPUT_TOKENS)?,
                vsa_dim: pick(self.max_dim, &l::VSA_DIM)?,
            },
            max_len: pick(self.max_len_limit, &MAX_LEN)?,
            vocab: pick(self.max_vocab, &MAX_VOCAB)?,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a program in the reference interpreter.
    Run {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        /// The function to run (default `main`).
        #[arg(long)]
        entry: Option<String>,
        /// Whitespace-separated input tokens (otherwise read from stdin when it is not a terminal).
        #[arg(long, allow_hyphen_values = true)]
        input: Option<String>,
        /// Set a scalar (or list) parameter of the entry: `--arg k=2`, `--arg 'p=[a, b]'`.
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
    /// Print the compiler's IR of an entry and RASP's layer analysis of it.
    Ir {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        /// The function to lower (default `main`).
        #[arg(long)]
        entry: Option<String>,
        /// Optimise with equality saturation first.
        #[arg(long)]
        opt: bool,
        /// With `--opt`: print why saturation stopped and which rules fired.
        #[arg(long)]
        explain_opt: bool,
        /// Scalar parameters of the entry, as for `run`.
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
    /// Compile a program to a transformer and print its size (layers, heads, widths, params).
    Stats {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Compile a program and check the model against the interpreter (every input up to
    /// `--max-len` when there are at most 10^6, else `--samples` seeded random inputs).
    Verify {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// Random inputs to check when there are too many to enumerate.
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Seed of the random inputs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run the model with hard attention (uniform over the maximal scores).
        #[arg(long)]
        hard: bool,
    },
    /// Compile a program to a transformer, check it against the interpreter, and write it to
    /// DIR (`model.safetensors`, `graph.json`). A model that disagrees is not written.
    Compile {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
        /// The output directory.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Skip the check against the interpreter.
        #[arg(long)]
        no_verify: bool,
        /// Also print the model: `dot` (Graphviz) or `shapes` (blocks, shapes, labels).
        #[arg(long, value_parser = ["dot", "shapes"])]
        emit: Option<String>,
        /// What to compile to: `model` (a transformer; `-o` is a directory) or `circuit` (an
        /// and-inverter graph over the one-hot input; `-o` is a file, format by extension:
        /// .aig .aag .blif .bench .v).
        #[arg(long = "target", value_parser = ["model", "circuit"], default_value = "model")]
        kind: String,
        /// A `gss` item's circuit: the longest value (output or any node's) it computes.
        #[arg(long, value_name = "N")]
        out_len: Option<usize>,
    },
    /// Run a compiled model (candle) on an input.
    Exec {
        /// A directory written by `tessera compile`.
        dir: PathBuf,
        /// Whitespace-separated input tokens (otherwise read from stdin).
        #[arg(long, allow_hyphen_values = true)]
        input: Option<String>,
        /// A file of inputs, one per line (`-`: stdin), run as one batch: one output line per
        /// input (the sparse engine splits a long batch across the machine's cores).
        #[arg(long, value_name = "FILE", conflicts_with = "input")]
        batch: Option<PathBuf>,
        /// Run on the GPU (needs a build with `--features cuda`).
        #[arg(long, conflicts_with = "sparse")]
        cuda: bool,
        /// Run with the sparse CPU engine (only the nonzero weights, f64) instead of candle.
        #[arg(long)]
        sparse: bool,
    },
    /// Draw a program as a transformer on one input (SVG): layers, heads with their selector
    /// on the input, MLPs with their values, the output.
    Draw {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        /// The function to draw (default `main`).
        #[arg(long)]
        entry: Option<String>,
        /// The input tokens.
        #[arg(long, allow_hyphen_values = true)]
        input: String,
        /// Scalar parameters of the entry, as for `run`.
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
        /// The SVG file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// The interactive REPL (reads a script from stdin when it is not a terminal).
    Repl,
    /// Benchmarks that print a table (`tessera bench vsa`: kernels, cleanup, resonator and
    /// bundle capacity, one thread).
    Bench {
        /// What to measure: `vsa`, `circuits`, `generation` or `gss` (learning SCAN's six
        /// splits and PCFG's three; `--filter scan` for one task).
        suite: String,
        /// `circuits`: the benchmark folder with manifest.csv (default circuit/data, a copy of shared/data/circuits).
        #[arg(long)]
        data: Option<PathBuf>,
        /// `circuits`: synthesis effort (fast, default, high).
        #[arg(long, default_value = "default")]
        effort: String,
        /// `circuits`: seconds of restarts per circuit for `--effort high`.
        #[arg(long, default_value_t = 5.0)]
        budget_s: f64,
        /// `circuits`: only circuits whose name contains this; `gss`: only tasks and splits
        /// whose name contains this.
        #[arg(long)]
        filter: Option<String>,
        /// `circuits`: also write each result as `DIR/<name>.aig` (for cross-checks with ABC).
        #[arg(long, value_name = "DIR")]
        write: Option<PathBuf>,
        /// Sections to run (default: all): ops, cleanup, resonator, capacity.
        #[arg(long = "section", value_name = "NAME")]
        sections: Vec<String>,
        /// Small problem sizes: a smoke run in seconds.
        #[arg(long)]
        quick: bool,
    },
    /// Train a pointer network: `tessera train ptrnet --task sort --n 10 --steps 3000 -o w.safetensors`.
    Train {
        /// What to train: `ptrnet`.
        what: String,
        #[command(flatten)]
        ptr: PtrArgs,
        /// Adam steps.
        #[arg(long, default_value_t = 2000)]
        steps: usize,
        /// Examples per batch.
        #[arg(long, default_value_t = 128)]
        batch: usize,
        /// Learning rate.
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        /// LSTM width.
        #[arg(long, default_value_t = 128)]
        hidden: usize,
        /// The encoder: `lstm` (as in the paper) or `transformer`.
        #[arg(long, default_value = "lstm")]
        encoder: String,
        /// Train on lengths n..=n-max (one length per batch).
        #[arg(long)]
        n_max: Option<usize>,
        /// Evaluate every this many steps (0: only at the end).
        #[arg(long, default_value_t = 500)]
        eval_every: usize,
        /// Sort only: learn from the compiled program `std::pointer::sort_pointers` (run with
        /// candle) instead of the hand-written generator; values are `k / 2n` with repeats.
        #[arg(long)]
        distill: bool,
        /// Continue from these weights (same task and width) instead of fresh ones.
        #[arg(long, value_name = "WEIGHTS")]
        resume: Option<PathBuf>,
        /// Where to write the weights (safetensors).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Neural meets symbolic: `tessera ptr compare --n 10` checks that the compiled
    /// `std::pointer::sort_pointers` points exactly where the pointer network's sort targets do.
    Ptr {
        /// What to do: `compare`.
        action: String,
        /// Input length.
        #[arg(long)]
        n: usize,
        /// Random inputs to compare.
        #[arg(long, default_value_t = 1000)]
        samples: usize,
        /// Allow repeated keys (stable order) instead of distinct keys.
        #[arg(long)]
        repeats: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Evaluate a trained pointer network: sequence accuracy (and hull area coverage, Delaunay
    /// triangle coverage, TSP tour length).
    Eval {
        /// What to evaluate: `ptrnet`.
        what: String,
        #[command(flatten)]
        ptr: PtrArgs,
        /// The weights written by `tessera train ptrnet`.
        #[arg(short = 'w', long = "weights")]
        weights: PathBuf,
        /// Test examples.
        #[arg(long, default_value_t = 1000)]
        samples: usize,
        /// Also decode by beam search of this width: TSP reports the most probable and the
        /// shortest tour among the beams; sort, hull and Delaunay the accuracy (and hull area
        /// coverage) of the most probable sequence.
        #[arg(long, default_value_t = 1)]
        beam: usize,
    },
    /// Optimise a circuit (AIGER, BLIF, BENCH, .truth or Verilog; format by extension), prove
    /// the result equivalent to the input, and write it. Prints ANDs and levels before and after.
    Synth {
        /// The input circuit.
        input: PathBuf,
        /// Where to write the result (format by extension: .aig .aag .blif .bench .truth .v).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// How hard to try: fast (resyn2-like), default (compress2rs-like, repeated), high
        /// (default, then randomised restarts within `--budget-s`).
        #[arg(long, default_value = "default")]
        effort: String,
        /// Run this script instead, ABC style: `b; rw; rf; rs -K 8 -N 2; rwz; rfz; fraig`.
        #[arg(long)]
        script: Option<String>,
        /// Seconds of restarts for `--effort high`.
        #[arg(long, default_value_t = 10.0)]
        budget_s: f64,
        /// Skip the equivalence proof (the result is written unchecked).
        #[arg(long)]
        no_verify: bool,
    },
    /// Prove two circuits equivalent output by output (inputs and outputs matched by position),
    /// or print an input on which they differ (exit code 1).
    Cec { a: PathBuf, b: PathBuf },
    /// Grounded symbol systems: learn symbols, syntax and meanings from examples
    /// (`tessera gss train --task scan --split length -o learned.tess`) and score a learned
    /// system (`tessera gss eval learned.tess --task scan --split length`).
    Gss {
        #[command(subcommand)]
        cmd: GssCmd,
    },
    /// Write a dataset's splits in SCAN's text format (`IN: … OUT: …`):
    /// `tessera data scan --split length -o DIR`, `tessera data pcfg --split iid -o DIR`,
    /// `tessera data hint -o DIR` (train and the five test subsets).
    Data {
        /// `scan`, `pcfg`, `hint` or `cyclic`.
        task: String,
        /// The split (HINT: `all`, the default, or one test subset).
        #[arg(long)]
        split: Option<String>,
        /// Seed of the random splits (SCAN simple, every PCFG split).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The directory to write `tasks_train_SPLIT.txt` and `tasks_test_SPLIT.txt` into.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Parse and type-check a program; print diagnostics only. With `--vocab` and
    /// `--max-len`, also infer the value set of the entry's result and of each of its `let`s.
    Check {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        /// The function whose value sets to infer (default `main`).
        #[arg(long)]
        entry: Option<String>,
        /// Comma-separated vocabulary for value-set inference, e.g. `a,b,c`.
        #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
        vocab: Option<Vec<String>>,
        /// Maximum input length for value-set inference.
        #[arg(long)]
        max_len: Option<usize>,
        /// Scalar parameters of the entry, as for `run`.
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
}

/// `tessera gss …`.
#[derive(Subcommand)]
enum GssCmd {
    /// Learn a system (syntax schema and meanings) from a task's training pairs and write it
    /// as a Tessera `gss` item.
    Train {
        /// `scan`, `pcfg`, `hint` or `cyclic` (generated data), or give `--train FILE`.
        #[arg(long, required_unless_present = "train", conflicts_with = "train")]
        task: Option<String>,
        /// SCAN: simple, length, addprim_jump, addprim_turn_left, template_around_right,
        /// template_opposite_right. PCFG: iid, systematicity, productivity. HINT: all (the
        /// default), i, ss, ls, sl, ll (the test subset).
        #[arg(long, requires = "task")]
        split: Option<String>,
        /// Learn from your own pairs: a file in SCAN's format (`IN: … OUT: …` per line).
        #[arg(long, value_name = "FILE")]
        train: Option<PathBuf>,
        /// With `--train`: pairs to score the learned system on.
        #[arg(long, value_name = "FILE", requires = "train")]
        test: Option<PathBuf>,
        /// Learn only the meanings, with the syntax (fixities, precedences, juxtaposition) of
        /// the `gss` item in this file; its meanings are ignored.
        #[arg(long, value_name = "FILE")]
        syntax: Option<PathBuf>,
        /// Seed of the random splits (SCAN simple, every PCFG split).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Description length of a literal token in a meaning (an argument costs 1).
        #[arg(long, default_value_t = 4)]
        const_cost: u32,
        /// Training pairs the schema search starts on.
        #[arg(long, default_value_t = 400)]
        curriculum: usize,
        /// Grounding: every input word arrives as a noisy binary hypervector, and perception
        /// (which percept is which symbol) is learned by clustering and abduction.
        #[arg(long, requires = "task")]
        percepts: bool,
        /// With `--percepts`: the fraction of each percept's bits flipped (0 to 0.45).
        #[arg(long, default_value_t = 0.3, requires = "percepts")]
        noise: f64,
        /// With `--percepts`: bits per percept (64 to 65,536).
        #[arg(long, default_value_t = 1024, requires = "percepts")]
        dim: usize,
        /// Also learn a transition parser (the second syntax model: shift-reduce actions scored
        /// by a perceptron, trained by re-parsing against the learned meanings) and write it
        /// beside the system, as OUTPUT with the extension `.parser`.
        #[arg(long, conflicts_with = "percepts")]
        transition: bool,
        /// Where to write the learned system (`.tess`).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Score a `gss` item on a task's train and test pairs.
    Eval {
        file: PathBuf,
        /// `scan`, `pcfg`, `hint` or `cyclic`, or give `--test FILE`.
        #[arg(long, required_unless_present = "test", conflicts_with = "test")]
        task: Option<String>,
        #[arg(long, requires = "task")]
        split: Option<String>,
        /// Pairs in SCAN's format to score on.
        #[arg(long, value_name = "FILE")]
        test: Option<PathBuf>,
        /// Seed of the random splits (as given to `train`).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The `gss` item (default: the file's only one).
        #[arg(long)]
        entry: Option<String>,
        /// Parse with this transition parser (written by `gss train --transition`) instead of
        /// the item's schema.
        #[arg(long, value_name = "FILE")]
        transition: Option<PathBuf>,
    },
}

/// The pointer-network task.
#[derive(clap::Args)]
struct PtrArgs {
    /// sort, hull, tsp or delaunay.
    #[arg(long)]
    task: String,
    /// Input length.
    #[arg(long)]
    n: usize,
    /// Seed of the data and the initial weights.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl PtrArgs {
    fn task(&self) -> Result<tessera_engine::ptrnet::Task, Error> {
        let t = tessera_engine::ptrnet::Task::parse(&self.task).ok_or_else(|| {
            Error::usage(format!(
                "unknown task `{}` (tasks: sort, hull, tsp, delaunay)",
                self.task
            ))
        })?;
        if !(2..=MAX_PTR_N).contains(&self.n) {
            return Err(Error::usage(format!(
                "`--n` must be between 2 and {MAX_PTR_N}"
            )));
        }
        Ok(t)
    }
}

/// The longest pointer-network input.
const MAX_PTR_N: usize = 200;
/// The most training steps one command runs.
const MAX_PTR_STEPS: usize = 1_000_000;

/// What to compile: entry, vocabulary, maximum length, scalar arguments.
#[derive(clap::Args)]
struct Target {
    /// The function to compile (default `main`).
    #[arg(long)]
    entry: Option<String>,
    /// Comma-separated vocabulary, e.g. `a,b,c`.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    vocab: Vec<String>,
    /// Maximum input length.
    #[arg(long)]
    max_len: Option<usize>,
    /// Scalar parameters of the entry, as for `run`.
    #[arg(long = "arg", value_name = "NAME=VALUE")]
    args: Vec<String>,
    /// Refuse models with more dense parameters than this (checked before allocating).
    #[arg(long, value_name = "N")]
    max_params: Option<usize>,
    /// The most rows of a lookup table (a map, a joint selector feature, the means of `mean`).
    #[arg(long, value_name = "N")]
    max_table: Option<usize>,
    /// The most (query, key) pairs a head's truth table may have.
    #[arg(long, value_name = "N")]
    max_head_table: Option<usize>,
    /// The most weights the hypervector layers may plan.
    #[arg(long, value_name = "N")]
    max_vsa_weights: Option<usize>,
    /// Equality saturation: at most this many iterations.
    #[arg(long, value_name = "N")]
    opt_iterations: Option<usize>,
    /// Equality saturation: at most this many e-nodes.
    #[arg(long, value_name = "N")]
    opt_nodes: Option<usize>,
    /// Equality saturation: at most this many milliseconds.
    #[arg(long, value_name = "MS")]
    opt_time_ms: Option<u64>,
}

impl Target {
    /// The session's limits with this command's flags applied.
    fn limits(&self) -> tessera::Limits {
        let mut l = tessera::Limits::default();
        if let Some(n) = self.max_params {
            l.graph.max_params = n;
        }
        if let Some(n) = self.max_table {
            l.graph.max_table = n;
        }
        if let Some(n) = self.max_head_table {
            l.graph.max_head_table = n;
        }
        if let Some(n) = self.max_vsa_weights {
            l.graph.max_vsa_entries = n;
        }
        if let Some(n) = self.opt_iterations {
            l.opt.iterations = n;
        }
        if let Some(n) = self.opt_nodes {
            l.opt.nodes = n;
        }
        if let Some(ms) = self.opt_time_ms {
            l.opt.time = std::time::Duration::from_millis(ms);
        }
        l
    }

    fn vocab(&self) -> Result<Vec<&str>, Error> {
        let v: Vec<&str> = self
            .vocab
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .collect();
        if v.is_empty() {
            return Err(Error::usage("`--vocab` needs at least one token"));
        }
        check_vocab(v.len())?;
        self.max_len()?;
        Ok(v)
    }

    fn max_len(&self) -> Result<usize, Error> {
        match self.max_len {
            Some(n) => check_max_len(n),
            None => Err(Error::usage("`--max-len` is required")),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    let resolved = cli.limits.resolve().map(|l| LIMITS.set(l));
    match resolved.and_then(|_| run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                out_line!("{}", e.to_json());
            } else {
                err_text!("{}", e.render(std::io::stderr().is_terminal()));
            }
            ExitCode::from(match e.kind {
                ErrorKind::Program => 1,
                ErrorKind::Usage => 2,
            })
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run {
            file,
            entry,
            input,
            args,
        } => {
            let session = load(file.as_ref(), entry.as_deref())?;
            let entry = entry.unwrap_or_else(|| session.default_entry());
            let input = match input {
                Some(i) => Some(i),
                None => read_stdin()?,
            };
            let out = session.run(&entry, input.as_deref(), &parse_args(&args)?)?;
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "output": out.to_json()})
                );
            } else {
                out_line!("{}", out.render());
            }
            Ok(())
        }
        Command::Ir {
            file,
            entry,
            opt,
            explain_opt,
            args,
        } => {
            let session = load(file.as_ref(), entry.as_deref())?;
            let entry = entry.unwrap_or_else(|| "main".to_string());
            let view = session.ir(&entry, &parse_args(&args)?, opt || explain_opt)?;
            let heads: Vec<String> = view.heads.iter().map(usize::to_string).collect();
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "ir": view.listing, "layers": view.layers, "heads": view.heads, "opt": view.report})
                );
            } else {
                out_text!("{}", view.listing);
                out_line!(
                    "# {} layers, heads per layer {}",
                    view.layers,
                    if heads.is_empty() {
                        "-".into()
                    } else {
                        heads.join("/")
                    }
                );
                if explain_opt && let Some(r) = &view.report {
                    out_text!("# optimisation: {r}");
                }
            }
            Ok(())
        }
        Command::Stats { file, target } => {
            let mut session = load(file.as_ref(), target.entry.as_deref())?;
            session.set_limits(target.limits());
            let entry = target.entry.clone().unwrap_or_else(|| "main".to_string());
            let model = session.compile(
                &entry,
                &target.vocab()?,
                target.max_len()?,
                &parse_args(&target.args)?,
            )?;
            let s = model.stats();
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "entry": entry, "max_len": target.max_len()?, "stats": s})
                );
            } else {
                let join =
                    |v: &[usize]| v.iter().map(usize::to_string).collect::<Vec<_>>().join("/");
                out_line!("entry            {entry}");
                out_line!("layers           {}", s.layers);
                out_line!("heads per layer  {}", join(&s.heads_per_layer));
                out_line!("MLP hidden       {}", join(&s.mlp_hidden_per_layer));
                if !s.bilinear_per_layer.is_empty() {
                    out_line!("bilinear units   {}", join(&s.bilinear_per_layer));
                }
                out_line!("residual width   {}", s.residual_width);
                out_line!(
                    "parameters       {} ({} nonzero)",
                    s.params,
                    s.nonzero_params
                );
                let ph = &s.compile_phases_ms;
                out_line!(
                    "compile time     {:.1} ms (lowering {:.1}, optimisation {:.1}, model graph {:.1})",
                    s.compile_ms,
                    ph.lower_ms,
                    ph.optimise_ms,
                    ph.graph_ms
                );
            }
            Ok(())
        }
        Command::Verify {
            file,
            target,
            samples,
            seed,
            hard,
        } => {
            let mut session = load(file.as_ref(), target.entry.as_deref())?;
            session.set_limits(target.limits());
            let entry = target.entry.clone().unwrap_or_else(|| "main".to_string());
            let (model, r) = session.verify(
                &entry,
                &target.vocab()?,
                target.max_len()?,
                &parse_args(&target.args)?,
                tessera::VerifyOptions {
                    samples,
                    seed,
                    exhaustive_limit: tessera::EXHAUSTIVE_LIMIT,
                    hard,
                },
            )?;
            let s = model.stats();
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": r.mismatch_count == 0, "entry": entry, "report": r, "stats": s})
                );
            } else {
                let how = if r.exhaustive {
                    format!("every input of length 0..={}", target.max_len()?)
                } else {
                    format!("{samples} random inputs (seed {seed})")
                };
                out_line!(
                    "{entry}: compiled to {} layers; checked {how}: {} compared, {} agree, {} disagree ({} inputs are program errors)",
                    s.layers,
                    r.compared,
                    r.compared - r.mismatch_count,
                    r.mismatch_count,
                    r.program_errors
                );
                for (input, want, got) in &r.mismatches {
                    out_line!("  input `{input}`: interpreter `{want}`, model `{got}`");
                }
            }
            if r.mismatch_count > 0 {
                return Err(Error::program(format!(
                    "the compiled model disagrees with the interpreter on {} inputs",
                    r.mismatch_count
                )));
            }
            Ok(())
        }
        Command::Compile {
            file,
            target,
            out,
            no_verify,
            emit,
            kind,
            out_len,
        } => {
            let mut session = load(file.as_ref(), target.entry.as_deref())?;
            session.set_limits(target.limits());
            let entry = target
                .entry
                .clone()
                .or_else(|| library_entry(file.as_ref()))
                .unwrap_or_else(|| session.default_entry());
            if session.is_gss(&entry) {
                if kind != "circuit" {
                    return Err(Error::usage(format!(
                        "`{entry}` is a gss item: compile it with `--target circuit --max-len WORDS --out-len TOKENS -o FILE.aig`"
                    )));
                }
                return compile_gss(
                    &session, &entry, &target, out_len, &out, no_verify, cli.json,
                );
            }
            if out_len.is_some() {
                return Err(Error::usage(
                    "`--out-len` is for a gss item's circuit".to_string(),
                ));
            }
            if kind == "circuit" {
                return compile_circuit(&session, &entry, &target, &out, no_verify, cli.json);
            }
            if session.is_circuit(&entry) {
                return Err(Error::usage(format!(
                    "`{entry}` is a circuit item: compile it with `--target circuit -o FILE.aig`"
                )));
            }
            let vocab = target.vocab()?;
            let args = parse_args(&target.args)?;
            let (model, checked) = if no_verify {
                (
                    session.compile(&entry, &vocab, target.max_len()?, &args)?,
                    None,
                )
            } else {
                let (m, r) = session.verify(
                    &entry,
                    &vocab,
                    target.max_len()?,
                    &args,
                    tessera::VerifyOptions {
                        samples: 1000,
                        seed: 1,
                        exhaustive_limit: 20_000,
                        hard: false,
                    },
                )?;
                if r.mismatch_count > 0 {
                    let (i, w, g) = r.mismatches.first().cloned().unwrap_or_default();
                    return Err(Error::program(format!(
                        "not written: the compiled model disagrees with the interpreter on {} inputs, e.g. `{i}`: interpreter `{w}`, model `{g}`",
                        r.mismatch_count
                    )));
                }
                (m, Some(r))
            };
            model.save(&entry, &out)?;
            match emit.as_deref() {
                Some("dot") => out_text!("{}", model.to_dot()),
                Some(_) => out_text!("{}", model.describe()),
                None => {}
            }
            let s = model.stats();
            let how = match &checked {
                Some(r) if r.exhaustive => format!("verified on all {} inputs", r.compared),
                Some(r) => format!("verified on {} sampled inputs", r.compared),
                None => "not verified (--no-verify)".to_string(),
            };
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "out": out.display().to_string(), "stats": s, "verified": checked})
                );
            } else {
                out_line!(
                    "{}: {} layers, {} params ({} nonzero); {how}",
                    out.display(),
                    s.layers,
                    s.params,
                    s.nonzero_params
                );
            }
            Ok(())
        }
        Command::Exec {
            dir,
            input,
            batch,
            cuda,
            sparse,
        } => {
            let (model, _) = tessera::CompiledModel::load(&dir)?;
            // (one input, or a batch: one per line of a file, each checked before any runs)
            let text = match (&batch, input) {
                (None, Some(i)) => i,
                (Some(p), _) if p.as_os_str() != "-" => {
                    std::fs::read_to_string(p).map_err(|e| {
                        Error::usage(format!("cannot read the batch {}: {e}", p.display()))
                    })?
                }
                _ => read_stdin()?.unwrap_or_default(),
            };
            let lines: Vec<&str> = match &batch {
                Some(path) => {
                    let lines: Vec<&str> = text.lines().collect();
                    check_batch(&model, path, &lines)?;
                    lines
                }
                None => vec![text.as_str()],
            };
            let outs = if sparse {
                model.exec_sparse(&lines)?
            } else {
                model.exec(&lines, cuda)?
            };
            let outs: Vec<Vec<String>> = outs
                .iter()
                .map(|o| o.iter().map(ToString::to_string).collect())
                .collect();
            match (cli.json, batch.is_some()) {
                (true, true) => out_line!("{}", serde_json::json!({"ok": true, "outputs": outs})),
                (true, false) => out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "output": outs.first().cloned().unwrap_or_default()})
                ),
                (false, _) => {
                    for o in &outs {
                        out_line!("{}", o.join(" "));
                    }
                }
            }
            Ok(())
        }
        Command::Draw {
            file,
            entry,
            input,
            args,
            out,
        } => {
            let session = load(file.as_ref(), entry.as_deref())?;
            let entry = entry.unwrap_or_else(|| "main".to_string());
            let svg = session.draw(&entry, &input, &parse_args(&args)?)?;
            write_atomic(&out, svg.as_bytes())?;
            if !cli.json {
                err_line!("wrote {}", out.display());
            } else {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "out": out.display().to_string()})
                );
            }
            Ok(())
        }
        Command::Bench {
            suite,
            sections,
            quick,
            data,
            effort,
            budget_s,
            filter,
            write,
        } => {
            if suite == "generation" {
                let dir = data.unwrap_or_else(|| PathBuf::from("circuit/data"));
                let per = if quick { 3 } else { 20 };
                let report = circuit::generate::report(&dir, per, 4)?;
                out_text!("{report}");
                return Ok(());
            }
            if suite == "circuits" {
                return bench_circuits(data, &effort, budget_s, filter.as_deref(), quick, write);
            }
            if suite == "gss" {
                return bench_gss(filter.as_deref(), cli.json);
            }
            if suite != "vsa" {
                return Err(Error::usage(format!(
                    "unknown benchmark suite `{suite}` (available: vsa, circuits, generation, gss)"
                )));
            }
            const SECTIONS: [&str; 4] = ["ops", "cleanup", "resonator", "capacity"];
            if let Some(bad) = sections.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
                return Err(Error::usage(format!(
                    "unknown section `{bad}` (sections: {})",
                    SECTIONS.join(", ")
                )));
            }
            let has = |name: &str| sections.is_empty() || sections.iter().any(|s| s == name);
            let options = tessera_vsa::bench::BenchOptions {
                ops: has("ops"),
                cleanup: has("cleanup"),
                resonator: has("resonator"),
                capacity: has("capacity"),
                quick,
            };
            let report = tessera_vsa::bench::run(&options)
                .map_err(|e| Error::usage(format!("benchmark failed: {e}")))?;
            out_text!("{report}");
            Ok(())
        }
        Command::Train {
            what,
            ptr,
            steps,
            batch,
            lr,
            hidden,
            encoder,
            n_max,
            eval_every,
            distill,
            resume,
            output,
        } => {
            if what != "ptrnet" {
                return Err(Error::usage(format!(
                    "unknown model `{what}` (available: ptrnet)"
                )));
            }
            let task = ptr.task()?;
            let n_max = n_max.unwrap_or(ptr.n);
            if n_max < ptr.n || n_max > MAX_PTR_N {
                return Err(Error::usage(format!(
                    "`--n-max` must be between --n and {MAX_PTR_N}"
                )));
            }
            if steps == 0 || steps > MAX_PTR_STEPS {
                return Err(Error::usage(format!(
                    "`--steps` must be between 1 and {MAX_PTR_STEPS}"
                )));
            }
            let lr_ok = lr > 0.0 && lr < 1.0;
            if !(1..=4096).contains(&batch) || !(1..=1024).contains(&hidden) || !lr_ok {
                return Err(Error::usage(
                    "`--batch` 1..=4096, `--hidden` 1..=1024, `--lr` in (0, 1)",
                ));
            }
            let encoder = tessera_engine::ptrnet::Encoder::parse(&encoder).ok_or_else(|| {
                Error::usage(format!(
                    "unknown encoder `{encoder}` (encoders: lstm, transformer)"
                ))
            })?;
            let cfg = tessera_engine::ptrnet::Config {
                task,
                encoder,
                n_min: ptr.n,
                n_max,
                hidden,
                batch,
                lr,
                clip: 2.0,
                seed: ptr.seed,
                quantize: distill.then_some(2 * ptr.n),
            };
            if distill && (task != tessera_engine::ptrnet::Task::Sort || n_max != ptr.n) {
                return Err(Error::usage(
                    "`--distill` trains sort at one length (no --n-max)",
                ));
            }
            let bar = indicatif::ProgressBar::new(steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let start = std::time::Instant::now();
            let program = if distill {
                Some(tessera::ptr::SortProgram::new(2 * ptr.n, ptr.n)?)
            } else {
                None
            };
            let mut teacher = |batch: &[tessera_engine::ptrnet::Example]| {
                let p = program.as_ref().ok_or("no program")?;
                p.pointers(batch).map_err(|e| e.to_string())
            };
            let progress = |p: &tessera_engine::ptrnet::Progress| {
                bar.set_position(p.step as u64);
                bar.set_message(format!("loss {:.4}", p.loss));
                if let Some(m) = &p.eval {
                    let line = format!(
                        "step {}: loss {:.4}, accuracy {:.1}% at n={}{} ({:.0} s)",
                        p.step,
                        p.loss,
                        100.0 * m.accuracy,
                        ptr.n,
                        m.coverage
                            .map(|c| format!(", area coverage {:.2}%", 100.0 * c))
                            .or_else(|| m
                                .triangles
                                .map(|c| format!(", triangle coverage {:.2}%", 100.0 * c)))
                            .unwrap_or_default(),
                        start.elapsed().as_secs_f64()
                    );
                    if bar.is_hidden() {
                        err_line!("{line}");
                    } else {
                        bar.println(line);
                    }
                }
            };
            let trained = if let Some(w) = &resume {
                let net = tessera_engine::ptrnet::PtrNet::load(w)
                    .map_err(|e| Error::program(format!("cannot load the pointer network: {e}")))?;
                if net.task != task || net.hidden != hidden || net.encoder != encoder {
                    return Err(Error::usage(format!(
                        "`--resume` weights are {} with width {} and a {} encoder, not {} with width {hidden} and a {} encoder",
                        net.task.name(),
                        net.hidden,
                        net.encoder.name(),
                        task.name(),
                        encoder.name()
                    )));
                }
                let mut progress = progress;
                tessera_engine::ptrnet::train_more(&net, &cfg, steps, eval_every, &mut progress)
                    .map(|()| net)
            } else if distill {
                tessera_engine::ptrnet::train_distilled(
                    &cfg,
                    steps,
                    eval_every,
                    &mut teacher,
                    progress,
                )
            } else {
                tessera_engine::ptrnet::train(&cfg, steps, eval_every, progress)
            };
            let net = trained.map_err(|e| Error::program(format!("training failed: {e}")))?;
            bar.finish_and_clear();
            net.save(&output).map_err(|e| Error::usage(e.to_string()))?;
            out_line!(
                "{}: {} weights, {} encoder of width {} (n = {}..={}), {} steps in {:.1} s",
                output.display(),
                task.name(),
                encoder.name(),
                hidden,
                ptr.n,
                n_max,
                steps,
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Eval {
            what,
            ptr,
            weights,
            samples,
            beam,
        } => {
            if what != "ptrnet" {
                return Err(Error::usage(format!(
                    "unknown model `{what}` (available: ptrnet)"
                )));
            }
            let task = ptr.task()?;
            let net = tessera_engine::ptrnet::PtrNet::load(&weights)
                .map_err(|e| Error::program(format!("cannot load the pointer network: {e}")))?;
            if net.task != task {
                return Err(Error::usage(format!(
                    "these weights are for `{}`, not `{}`",
                    net.task.name(),
                    task.name()
                )));
            }
            let samples = samples.clamp(1, 1_000_000);
            let beam = beam.clamp(1, 64);
            let m = tessera_engine::ptrnet::evaluate_beam(
                &net,
                ptr.n,
                samples,
                ptr.seed.wrapping_add(1_000_003),
                beam,
            )
            .map_err(|e| Error::program(format!("evaluation failed: {e}")))?;
            if let Some(t) = &m.tour {
                out_line!(
                    "tsp n={}: mean tour length {:.4} greedy{}, optimal {:.4} (Held–Karp), on {} examples",
                    ptr.n,
                    t.greedy,
                    t.beam.map_or(String::new(), |(w, top, best)| format!(
                        ", beam search (width {w}): {top:.4} for the most probable tour, {best:.4} for the shortest of the beams"
                    )),
                    t.optimal,
                    m.examples
                );
                return Ok(());
            }
            out_line!(
                "{} n={}: sequence accuracy {:.2}% on {} examples{}",
                task.name(),
                ptr.n,
                100.0 * m.accuracy,
                m.examples,
                m.coverage
                    .map(|c| format!(", area coverage {:.2}%", 100.0 * c))
                    .or_else(|| m
                        .triangles
                        .map(|c| format!(", triangle coverage {:.2}%", 100.0 * c)))
                    .unwrap_or_default()
            );
            if let Some((w, acc, cov)) = m.beam {
                out_line!(
                    "{} n={}: beam search (width {w}), most probable sequence: accuracy {:.2}%{}",
                    task.name(),
                    ptr.n,
                    100.0 * acc,
                    cov.map(|c| format!(", area coverage {:.2}%", 100.0 * c))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Ptr {
            action,
            n,
            samples,
            repeats,
            seed,
        } => {
            if action != "compare" {
                return Err(Error::usage(format!(
                    "unknown action `{action}` (available: compare)"
                )));
            }
            if !(2..=64).contains(&n) {
                return Err(Error::usage("`--n` must be between 2 and 64"));
            }
            let c = tessera::ptr::compare(n, samples.clamp(1, 100_000), !repeats, seed)?;
            out_line!(
                "compiled std::pointer::sort_pointers vs pointer-network sort targets, n = {}, {} keys: {}/{} identical pointer rows",
                c.n,
                if c.distinct_keys {
                    "distinct"
                } else {
                    "repeated"
                },
                c.agreed,
                c.compared
            );
            if c.agreed != c.compared {
                return Err(Error::program(
                    "the compiled pointers disagree with the targets",
                ));
            }
            Ok(())
        }
        Command::Synth {
            input,
            output,
            effort,
            script,
            budget_s,
            no_verify,
        } => synth(
            &input,
            &output,
            &effort,
            script.as_deref(),
            budget_s,
            no_verify,
        ),
        Command::Gss { cmd } => match cmd {
            GssCmd::Train {
                task,
                split,
                train,
                test,
                syntax,
                seed,
                const_cost,
                curriculum,
                percepts,
                noise,
                dim,
                transition,
                output,
            } => {
                let syntax_file = syntax.clone();
                let syntax = match &syntax {
                    Some(f) => {
                        let session = load(Some(f), None)?;
                        Some(session.gss_item(&session.default_entry())?)
                    }
                    None => None,
                };
                let mut cfg = tessera_gss::learn::LearnConfig::default();
                cfg.synth.const_cost = const_cost;
                cfg.curriculum = curriculum.max(1);
                let bar = (!cli.json).then(|| {
                    let b = indicatif::ProgressBar::new_spinner();
                    b.set_message("learning");
                    b
                });
                let mut progress = |line: &str| {
                    if let Some(b) = &bar {
                        b.println(format!("  {line}"));
                        b.tick();
                    }
                };
                if percepts {
                    let t = tessera::gss::task(
                        task.as_deref().unwrap_or(""),
                        split.as_deref().unwrap_or(""),
                    )?;
                    let pcfg = tessera::gss::percept_config(noise, dim)?;
                    let (train, test) = t.data(seed);
                    let o = tessera_gss::percept::train_percepts(
                        &t.item_name(),
                        &train,
                        &test,
                        &pcfg,
                        &cfg,
                        seed,
                        &mut progress,
                    );
                    if let Some(b) = bar {
                        b.finish_and_clear();
                    }
                    let (command, _) = tessera::gss::task_origin(t, seed);
                    let command = format!("{command} --percepts --noise {noise} --dim {dim}");
                    write_atomic(
                        &output,
                        tessera::gss::percept_source(&command, &o).as_bytes(),
                    )?;
                    let frac = |a: (usize, usize)| serde_json::json!([a.0, a.1]);
                    if cli.json {
                        out_line!(
                            "{}",
                            serde_json::json!({"ok": true, "task": t.name(), "symbols": o.symbols, "symbol_clustered": frac(o.symbol_clustered), "symbol_train": frac(o.symbol_train), "symbol_test": frac(o.symbol_test), "relabelled": o.relabelled, "train": frac(o.train), "test": frac(o.test), "seconds": o.seconds, "output": output.display().to_string()})
                        );
                    } else {
                        out_line!(
                            "{} from percepts (noise {noise}, {dim} bits): {} symbols in {:.1} s; symbol accuracy: clustering {}, after abduction {}, test percepts {}; answers: train {}, test {}; wrote {}",
                            t.name(),
                            o.symbols,
                            o.seconds,
                            percent(o.symbol_clustered),
                            percent(o.symbol_train),
                            percent(o.symbol_test),
                            percent(o.train),
                            percent(o.test),
                            output.display()
                        );
                    }
                    return Ok(());
                }
                let pairs: (Vec<tessera::gss::data::Pair>, Vec<tessera::gss::data::Pair>);
                let (o, label, command, example) = match (&task, &train) {
                    (Some(task), _) => {
                        let split = split.as_deref().unwrap_or("");
                        let t = tessera::gss::task(task, split)?;
                        let o = tessera::gss::train(t, seed, syntax.as_ref(), &cfg, &mut progress);
                        let (command, example) = tessera::gss::task_origin(t, seed);
                        pairs = t.data(seed);
                        (o, t.name(), command, example.to_string())
                    }
                    (None, Some(file)) => {
                        let o = tessera::gss::train_files(
                            file,
                            test.as_deref(),
                            syntax.as_ref(),
                            &cfg,
                            &mut progress,
                        )?;
                        let tr = tessera::gss::read_pairs(file)?;
                        let te = match &test {
                            Some(t) => tessera::gss::read_pairs(t)?,
                            None => Vec::new(),
                        };
                        let mut command = format!("tessera gss train --train {}", file.display());
                        if let Some(t) = &test {
                            command.push_str(&format!(" --test {}", t.display()));
                        }
                        let example = tr[0].input.clone();
                        pairs = (tr, te);
                        (o, file.display().to_string(), command, example)
                    }
                    (None, None) => {
                        return Err(Error::usage(
                            "give `--task` and `--split`, or `--train FILE`",
                        ));
                    }
                };
                let parsed = transition.then(|| {
                    tessera_gss::train_parser(
                        &o.gss,
                        &pairs.0,
                        &pairs.1,
                        &tessera_gss::transition::TransitionConfig::default(),
                        &mut progress,
                    )
                });
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                let command = match &syntax_file {
                    Some(f) => format!("{command} --syntax {}", f.display()),
                    None => command,
                };
                write_atomic(
                    &output,
                    tessera::gss::learned_source(&command, &example, &o).as_bytes(),
                )?;
                let parser_path = output.with_extension("parser");
                if let Some(p) = &parsed {
                    write_atomic(&parser_path, p.parser.to_text().as_bytes())?;
                }
                if cli.json {
                    let transition = parsed.as_ref().map(|p| {
                        serde_json::json!({"train": [p.train.0, p.train.1], "test": [p.test.0, p.test.1], "seconds": p.seconds, "abduced": p.report.abduced, "updates": p.report.updates, "features": p.report.features, "output": parser_path.display().to_string()})
                    });
                    out_line!(
                        "{}",
                        serde_json::json!({"ok": true, "task": label, "train": [o.train.0, o.train.1], "test": [o.test.0, o.test.1], "seconds": o.seconds, "schemas_scored": o.report.schemas_scored, "output": output.display().to_string(), "transition": transition})
                    );
                } else {
                    let test = test_text(o.test);
                    out_line!(
                        "{}: learned in {:.1} s ({} schemas scored); train {}/{} ({}), {test}; wrote {}",
                        label,
                        o.seconds,
                        o.report.schemas_scored,
                        o.train.0,
                        o.train.1,
                        percent(o.train),
                        output.display()
                    );
                    if let Some(p) = &parsed {
                        let test = test_text(p.test);
                        out_line!(
                            "transition parser: trained in {:.1} s ({} parses repaired by abduction, {} updates, {} features); with it as the syntax: train {}/{} ({}), {test}; wrote {}",
                            p.seconds,
                            p.report.abduced,
                            p.report.updates,
                            p.report.features,
                            p.train.0,
                            p.train.1,
                            percent(p.train),
                            parser_path.display()
                        );
                    }
                }
                Ok(())
            }
            GssCmd::Eval {
                file,
                task,
                split,
                test,
                seed,
                entry,
                transition,
            } => {
                let session = load(Some(&file), None)?;
                let entry = entry.unwrap_or_else(|| session.default_entry());
                let g = session.gss_item(&entry)?;
                let parser = match &transition {
                    Some(path) => Some(tessera::gss::read_parser(path, &g)?),
                    None => None,
                };
                let accuracy = |pairs: &[tessera::gss::data::Pair]| match &parser {
                    Some(p) => tessera::gss::accuracy_with(&g, p, pairs),
                    None => tessera::gss::accuracy(&g, pairs),
                };
                if let Some(path) = test {
                    let pairs = tessera::gss::read_pairs(&path)?;
                    let acc = accuracy(&pairs);
                    if cli.json {
                        out_line!(
                            "{}",
                            serde_json::json!({"ok": true, "test": [acc.0, acc.1]})
                        );
                    } else {
                        out_line!("{}: {}/{} ({})", path.display(), acc.0, acc.1, percent(acc));
                    }
                    return Ok(());
                }
                let task = tessera::gss::task(
                    task.as_deref().unwrap_or(""),
                    split.as_deref().unwrap_or(""),
                )?;
                if task == tessera_gss::Task::Hint(None) {
                    let rows = tessera::gss::hint_subsets(seed, accuracy);
                    let avg = tessera::gss::hint_average(&rows);
                    if cli.json {
                        let subsets: serde_json::Map<String, serde_json::Value> = rows
                            .iter()
                            .map(|(n, a)| (n.to_string(), serde_json::json!([a.0, a.1])))
                            .collect();
                        out_line!(
                            "{}",
                            serde_json::json!({"ok": true, "task": task.name(), "subsets": subsets, "average": avg})
                        );
                    } else {
                        for (n, a) in &rows {
                            out_line!("hint {n}: {}/{} ({})", a.0, a.1, percent(*a));
                        }
                        out_line!(
                            "hint average over the five test subsets: {:.1}%",
                            avg * 100.0
                        );
                    }
                    return Ok(());
                }
                let (train, test) = {
                    let (tr, te) = task.data(seed);
                    (accuracy(&tr), accuracy(&te))
                };
                if cli.json {
                    out_line!(
                        "{}",
                        serde_json::json!({"ok": true, "task": task.name(), "train": [train.0, train.1], "test": [test.0, test.1]})
                    );
                } else {
                    out_line!(
                        "{}: train {}/{} ({}), test {}/{} ({})",
                        task.name(),
                        train.0,
                        train.1,
                        percent(train),
                        test.0,
                        test.1,
                        percent(test)
                    );
                }
                Ok(())
            }
        },
        Command::Data {
            task,
            split,
            seed,
            output,
        } => {
            let t = tessera::gss::task(&task, split.as_deref().unwrap_or(""))?;
            let (train, test) = t.data(seed);
            std::fs::create_dir_all(&output)
                .map_err(|e| Error::usage(format!("cannot create `{}`: {e}", output.display())))?;
            let split_name = t.item_name();
            let split_name = split_name
                .split_once('_')
                .map_or(split_name.as_str(), |(_, s)| s);
            let mut written = Vec::new();
            let mut parts = vec![
                ("train".to_string(), train.clone()),
                ("test".to_string(), test.clone()),
            ];
            if t == tessera_gss::Task::Hint(None) {
                // and each subset on its own
                let d = tessera_gss::hint::hint(seed);
                for (s, pairs) in d.tests {
                    parts.push((format!("test_{}", s.name()), pairs));
                }
            }
            for (part, pairs) in &parts {
                let path = output.join(format!("tasks_{part}_{split_name}.txt"));
                write_atomic(&path, tessera::gss::data::to_scan_text(pairs).as_bytes())?;
                written.push(path.display().to_string());
            }
            if cli.json {
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "train": train.len(), "test": test.len(), "files": written})
                );
            } else {
                out_line!(
                    "{}: {} training and {} test pairs; wrote {}",
                    t.name(),
                    train.len(),
                    test.len(),
                    written.join(", ")
                );
            }
            Ok(())
        }
        Command::Cec { a, b } => {
            let ga = circuit::io::read_file(&a)?;
            let gb = circuit::io::read_file(&b)?;
            match circuit::cec::cec(&ga, &gb)? {
                circuit::cec::Verdict::Equivalent(method) => {
                    out_line!(
                        "equivalent: {} outputs over {} inputs, proved by {method}",
                        ga.num_outputs(),
                        ga.num_inputs()
                    );
                    Ok(())
                }
                circuit::cec::Verdict::Different { output, input } => {
                    Err(not_equivalent(&ga, &gb, output, &input))
                }
            }
        }
        Command::Repl => {
            let mut repl = tessera::repl::Repl::new();
            let mut stdout = std::io::stdout();
            let result = if std::io::stdin().is_terminal() {
                let mut source = tessera::repl::TerminalSource::new().map_err(Error::usage)?;
                repl.run(&mut source, &mut stdout)
            } else {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| Error::usage(format!("cannot read stdin: {e}")))?;
                let mut source = tessera::repl::ScriptSource::from_text(&text);
                repl.run(&mut source, &mut stdout)
            };
            result.map_err(|e| Error::usage(format!("cannot write: {e}")))
        }
        Command::Check {
            file,
            entry,
            vocab,
            max_len,
            args,
        } => {
            let session = load(file.as_ref(), entry.as_deref())?;
            let name = file
                .as_ref()
                .map_or_else(|| "<stdlib>".to_string(), |f| f.display().to_string());
            if let Some(e) = &entry {
                session.check_entry(e)?;
            }
            let (vocab, max_len) = match (vocab, max_len) {
                (None, None) => {
                    if cli.json {
                        out_line!("{}", serde_json::json!({"ok": true, "diagnostics": []}));
                    } else {
                        err_line!("{name}: ok");
                    }
                    return Ok(());
                }
                (Some(v), Some(m)) => (v, m),
                _ => {
                    return Err(Error::usage(
                        "value-set inference needs both `--vocab` and `--max-len`",
                    ));
                }
            };
            check_max_len(max_len)?;
            check_vocab(vocab.len())?;
            let entry = entry.unwrap_or_else(|| "main".to_string());
            let vocab: Vec<&str> = vocab
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .collect();
            let sets = session.value_sets(&entry, &vocab, max_len, &parse_args(&args)?)?;
            if cli.json {
                let lets: Vec<serde_json::Value> = sets
                    .lets
                    .iter()
                    .map(|(n, sp, s)| serde_json::json!({"name": n, "at": session.location(*sp), "values": s.render()}))
                    .collect();
                out_line!(
                    "{}",
                    serde_json::json!({"ok": true, "entry": entry, "result": sets.result.render(), "lets": lets})
                );
            } else {
                out_line!(
                    "value sets of `{entry}` over vocab {{{}}}, max_len {max_len}:",
                    vocab.join(", ")
                );
                for (n, sp, s) in &sets.lets {
                    out_line!("  {n} ({}): {}", session.location(*sp), s.render());
                }
                out_line!("  result: {}", sets.result.render());
            }
            Ok(())
        }
    }
}

/// Write a file completely or not at all (a temporary file renamed into place).
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| Error::usage(format!("cannot write `{}`: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}

/// The largest `--max-len` accepted for value-set inference and compilation (`--max-len-limit`).
const MAX_LEN: tessera_lang::limits::LimitSpec = tessera_lang::limits::LimitSpec {
    flag: "--max-len-limit",
    default: 4096,
    ceiling: 65_536,
};

/// The most tokens a `--vocab` may list (`--max-vocab`).
const MAX_VOCAB: tessera_lang::limits::LimitSpec = tessera_lang::limits::LimitSpec {
    flag: "--max-vocab",
    default: 4096,
    ceiling: 1 << 20,
};

/// `--max-len` checked against the limit in force.
fn check_max_len(n: usize) -> Result<usize, Error> {
    let max = limits().max_len;
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(Error::usage(format!(
            "`--max-len` must be between 1 and {max} (`{}` raises the limit)",
            MAX_LEN.flag
        )))
    }
}

/// A `--vocab` checked against the limit in force.
fn check_vocab(n: usize) -> Result<(), Error> {
    let max = limits().vocab;
    if n > max {
        return Err(Error::usage(format!(
            "`--vocab` lists {n} tokens; the limit is {max} (`{}`)",
            MAX_VOCAB.flag
        )));
    }
    Ok(())
}

/// A library function named in place of the file (`tessera compile std::rasp::reverse …`).
fn library_entry(file: Option<&PathBuf>) -> Option<String> {
    let f = file?;
    let name = f.to_str()?;
    (name.starts_with("std::") && !f.exists()).then(|| name.to_string())
}

fn load(file: Option<&PathBuf>, entry: Option<&str>) -> Result<Session, Error> {
    let front = limits().front;
    if library_entry(file).is_some() {
        return Ok(Session::stdlib_with(front));
    }
    match file {
        Some(f) => {
            let s = Session::from_file_with(f, front)?;
            if !s.warnings().is_empty() {
                err_text!(
                    "{}",
                    tessera_lang::diag::render(
                        s.warnings(),
                        s.sources(),
                        std::io::stderr().is_terminal()
                    )
                );
            }
            Ok(s)
        }
        None => match entry {
            Some(e) if e.contains("::") => Ok(Session::stdlib_with(front)),
            _ => Err(Error::usage(
                "give a program file, or `--entry std::MODULE::NAME`",
            )),
        },
    }
}

fn parse_args(args: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for a in args {
        match a.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                pairs.push((k.trim().to_string(), v.to_string()))
            }
            _ => {
                return Err(Error::usage(format!(
                    "`--arg {a}`: write `--arg name=value`"
                )));
            }
        }
    }
    Ok(pairs)
}

/// Every line of a batch (`exec --batch`) is an input the model takes: each token in its
/// vocabulary, and no more tokens than its `max_len`; else a usage error at `FILE:LINE:COL`.
fn check_batch(model: &tessera::CompiledModel, path: &Path, lines: &[&str]) -> Result<(), Error> {
    let name = if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    for (i, line) in lines.iter().enumerate() {
        let mut n = 0;
        for t in line.split_whitespace() {
            n += 1;
            if !model
                .vocab()
                .contains(&tessera_lang::value::Val::from_token(t))
            {
                // (`t` is a slice of `line`: its column is where it starts)
                let at = t.as_ptr() as usize - line.as_ptr() as usize;
                let col = line[..at].chars().count() + 1;
                let vocab: Vec<String> = model.vocab().iter().map(ToString::to_string).collect();
                return Err(Error::usage(format!(
                    "{name}:{}:{col}: token `{t}` is not in the model's vocabulary ({})",
                    i + 1,
                    vocab.join(", ")
                )));
            }
        }
        if n > model.max_len() {
            return Err(Error::usage(format!(
                "{name}:{}: {n} tokens; the model was compiled for at most {}",
                i + 1,
                model.max_len()
            )));
        }
    }
    Ok(())
}

fn read_stdin() -> Result<Option<String>, Error> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut s = String::new();
    match stdin.lock().read_to_string(&mut s) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(s)),
        Err(e) => Err(Error::usage(format!(
            "cannot read the input from stdin: {e}"
        ))),
    }
}

use tessera_circuit as circuit;

fn budget(seconds: f64) -> Result<std::time::Duration, Error> {
    if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
        return Err(Error::usage("`--budget-s` must be between 0 and 86400"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

fn effort(name: &str) -> Result<circuit::synth::Effort, Error> {
    circuit::synth::Effort::parse(name).ok_or_else(|| {
        Error::usage(format!(
            "unknown effort `{name}` (expected fast, default or high)"
        ))
    })
}

fn not_equivalent(a: &circuit::Aig, b: &circuit::Aig, output: usize, input: &[bool]) -> Error {
    let bits: String = input.iter().map(|&x| if x { '1' } else { '0' }).collect();
    let name = a
        .output_name(output)
        .map_or(String::new(), |n| format!(" (`{n}`)"));
    Error::circuit_mismatch(format!(
        "not equivalent: output {output}{name} is {} in the first circuit and {} in the second on input {bits} (input 0 first)",
        a.eval(input)[output] as u8,
        b.eval(input)[output] as u8
    ))
}

fn synth(
    input: &std::path::Path,
    output: &std::path::Path,
    effort_name: &str,
    script: Option<&str>,
    budget_s: f64,
    no_verify: bool,
) -> Result<(), Error> {
    let effort = effort(effort_name)?;
    let budget = budget(budget_s)?;
    // Check the output format before the work.
    circuit::io::Format::from_path(output)?;
    let g = circuit::io::read_file(input)?;
    let start = std::time::Instant::now();
    let out = match script {
        Some(s) => {
            let steps = circuit::synth::parse_script(s).map_err(Error::usage)?;
            circuit::synth::run_script(&g, &steps)
        }
        None => circuit::synth::run_with_budget(&g, effort, budget),
    };
    let took = start.elapsed();
    let proof = if no_verify {
        "not checked (--no-verify)".to_string()
    } else {
        match circuit::cec::cec(&g, &out)? {
            circuit::cec::Verdict::Equivalent(m) => m.to_string(),
            circuit::cec::Verdict::Different { output, input } => {
                return Err(not_equivalent(&g, &out, output, &input));
            }
        }
    };
    circuit::io::write_file(output, &out)?;
    out_line!(
        "{}: {} inputs, {} outputs, {} ANDs, {} levels",
        input.display(),
        g.num_inputs(),
        g.num_outputs(),
        g.num_ands(),
        g.levels()
    );
    out_line!(
        "{}: {} ANDs, {} levels ({:.2} s)",
        output.display(),
        out.num_ands(),
        out.levels(),
        took.as_secs_f64()
    );
    out_line!("equivalence: {proof}");
    Ok(())
}

fn bench_circuits(
    data: Option<PathBuf>,
    effort_name: &str,
    budget_s: f64,
    filter: Option<&str>,
    quick: bool,
    write: Option<PathBuf>,
) -> Result<(), Error> {
    let effort = effort(effort_name)?;
    let budget = budget(budget_s)?;
    let dir = data.unwrap_or_else(|| PathBuf::from("circuit/data"));
    let entries = circuit::bench::read_manifest(&dir.join("manifest.csv"))?;
    let mut rows = Vec::new();
    for e in entries {
        if filter.is_some_and(|f| !e.name.contains(f)) || (quick && e.ands_in > 500) {
            continue;
        }
        let (row, result) = circuit::bench::run_one(&dir, &e, effort, budget)?;
        if let Some(w) = &write {
            std::fs::create_dir_all(w)
                .map_err(|err| Error::usage(format!("cannot create {}: {err}", w.display())))?;
            circuit::io::write_file(&w.join(format!("{}.aig", e.name)), &result)?;
        }
        rows.push(row);
    }
    out_text!("{}", circuit::bench::table(&rows));
    if rows.iter().any(|r| !r.proved) {
        return Err(Error::circuit_mismatch(
            "some results are not equivalent to their input",
        ));
    }
    Ok(())
}

/// Prints what `compile --target circuit` wrote: sizes, the synthesis proof, the check.
/// A written circuit's JSON report: its file and size, and `extra`'s fields.
fn circuit_json(
    out: &std::path::Path,
    aig: &circuit::Aig,
    raw_ands: usize,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ok": true,
        "out": out.display().to_string(),
        "inputs": aig.num_inputs(),
        "outputs": aig.num_outputs(),
        "ands": aig.num_ands(),
        "ands_before_synthesis": raw_ands,
        "levels": aig.levels(),
    });
    if let (Some(m), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        m.extend(e);
    }
    v
}

fn report_circuit(
    out: &std::path::Path,
    aig: &circuit::Aig,
    raw_ands: usize,
    proof: &str,
    verified: Option<&tessera::CircuitReport>,
    sampled: &str,
    json: bool,
) {
    let how = match verified {
        Some(r) if r.exhaustive => {
            format!("agrees with the interpreter on all {} inputs", r.compared)
        }
        Some(r) => format!(
            "agrees with the interpreter on {} {sampled} inputs",
            r.compared
        ),
        None => "not checked against the interpreter (--no-verify)".to_string(),
    };
    if json {
        out_line!(
            "{}",
            circuit_json(
                out,
                aig,
                raw_ands,
                serde_json::json!({
                    "verified": verified,
                    "synthesis_proof": proof,
                })
            )
        );
    } else {
        out_line!(
            "{}: {} inputs, {} outputs, {} ANDs ({} before synthesis, proved equivalent by {}), {} levels; {how}",
            out.display(),
            aig.num_inputs(),
            aig.num_outputs(),
            aig.num_ands(),
            raw_ands,
            proof,
            aig.levels()
        );
    }
}

fn compile_circuit(
    session: &Session,
    entry: &str,
    target: &Target,
    out: &std::path::Path,
    no_verify: bool,
    json: bool,
) -> Result<(), Error> {
    circuit::io::Format::from_path(out)?;
    if session.is_circuit(entry) {
        let c = session.compile_circuit_item(entry, !no_verify)?;
        circuit::io::write_file(out, &c.aig)?;
        report_circuit(
            out,
            &c.aig,
            c.raw_ands,
            &c.proof,
            c.verified.as_ref(),
            "random",
            json,
        );
        return Ok(());
    }
    let vocab = target.vocab()?;
    let args = parse_args(&target.args)?;
    let c = session.compile_circuit(entry, &vocab, target.max_len()?, &args, !no_verify)?;
    circuit::io::write_file(out, &c.circuit.aig)?;
    report_circuit(
        out,
        &c.circuit.aig,
        c.raw_ands,
        &c.proof,
        c.verified.as_ref(),
        "sampled",
        json,
    );
    Ok(())
}

/// `tessera compile ITEM --target circuit` for a `gss` item.
fn compile_gss(
    session: &Session,
    entry: &str,
    target: &Target,
    out_len: Option<usize>,
    out: &std::path::Path,
    no_verify: bool,
    json: bool,
) -> Result<(), Error> {
    circuit::io::Format::from_path(out)?;
    let max_len = target.max_len.ok_or_else(|| {
        Error::usage("a gss item's circuit needs `--max-len WORDS` (the longest input)")
    })?;
    let out_len = out_len.ok_or_else(|| {
        Error::usage(
            "a gss item's circuit needs `--out-len TOKENS` (the longest value it computes)",
        )
    })?;
    let c = session.compile_gss_circuit(entry, &target.vocab, max_len, out_len, !no_verify)?;
    let aig = &c.circuit.aig;
    circuit::io::write_file(out, aig)?;
    let synth = match &c.proof {
        Some(p) => format!("{} before synthesis, proved equivalent by {p}", c.raw_ands),
        None => format!(
            "as compiled: over {} ANDs, not synthesised here",
            tessera::GSS_SYNTH_MAX_ANDS
        ),
    };
    let how = match &c.verified {
        Some(r) => format!(
            "agrees with the interpreter on {} inputs ({} answered, the rest rejected): every input of at most {} words, {} drawn word by word among parseable continuations, {} uniform",
            r.compared, r.answered, r.exhaustive_words, r.guided, r.uniform
        ),
        None => "not checked against the interpreter (--no-verify)".to_string(),
    };
    if json {
        out_line!(
            "{}",
            circuit_json(
                out,
                aig,
                c.raw_ands,
                serde_json::json!({
                "vocab": c.circuit.vocab,
                "out_vocab": c.circuit.out_vocab,
                "max_len": c.circuit.max_len,
                "out_len": c.circuit.out_len,
                "verified": c.verified.as_ref().map(|r| serde_json::json!({
                    "compared": r.compared,
                    "answered": r.answered,
                    "exhaustive_words": r.exhaustive_words,
                    "guided": r.guided,
                    "uniform": r.uniform,
                })),
                "synthesis_proof": c.proof,
                })
            )
        );
    } else {
        out_line!(
            "{}: {} inputs (w<pos>=<word>, one-hot, {} words over {} symbols), {} outputs (out<pos>=<token>, one-hot, {} positions over {} tokens, then `error`), {} ANDs ({synth}), {} levels; {how}",
            out.display(),
            aig.num_inputs(),
            c.circuit.max_len,
            c.circuit.vocab.len(),
            aig.num_outputs(),
            c.circuit.out_len,
            c.circuit.out_vocab.len(),
            aig.num_ands(),
            aig.levels()
        );
    }
    Ok(())
}

/// `12/20 (60.00%)`'s percentage.
/// `test 3920/3920 (100.00%)`, or `no test pairs`.
fn test_text(acc: (usize, usize)) -> String {
    if acc.1 == 0 {
        "no test pairs".to_string()
    } else {
        format!("test {}/{} ({})", acc.0, acc.1, percent(acc))
    }
}

fn percent((ok, n): (usize, usize)) -> String {
    format!("{:.2}%", 100.0 * ok as f64 / n.max(1) as f64)
}

/// `tessera bench gss`: learns every split and prints a table (one core, wall-clock seconds of
/// learning; data generation and testing excluded).
fn bench_gss(filter: Option<&str>, json: bool) -> Result<(), Error> {
    use tessera_gss::Task;
    use tessera_gss::data::{PcfgSplit, ScanSplit};
    let tasks: Vec<Task> = ScanSplit::ALL
        .into_iter()
        .map(Task::Scan)
        .chain(PcfgSplit::ALL.into_iter().map(Task::Pcfg))
        .chain([Task::Hint(None), Task::Cyclic])
        .filter(|t| filter.is_none_or(|f| t.name().contains(f)))
        .collect();
    let cfg = tessera_gss::learn::LearnConfig::default();
    let mut rows = Vec::new();
    if !json {
        out_line!(
            "| task | split | train pairs | test pairs | train acc | test acc | schemas scored | learn s | test acc, transition parser | parser s |"
        );
        out_line!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for t in tasks {
        let o = tessera::gss::train(t, 1, None, &cfg, &mut |_| {});
        // the second syntax model, trained by re-parsing against the meanings just learned
        let (train_pairs, test_pairs) = t.data(1);
        let p = tessera_gss::train_parser(
            &o.gss,
            &train_pairs,
            &test_pairs,
            &tessera_gss::transition::TransitionConfig::default(),
            &mut |_| {},
        );
        if t == Task::Hint(None) {
            // one training run, scored on each subset
            let subsets = tessera::gss::hint_subsets(1, |pairs| {
                (
                    tessera::gss::accuracy(&o.gss, pairs),
                    tessera::gss::accuracy_with(&o.gss, &p.parser, pairs),
                )
            });
            for (sub, (acc, pacc)) in subsets {
                if json {
                    rows.push(serde_json::json!({"task": "hint", "split": sub, "train": [o.train.0, o.train.1], "test": [acc.0, acc.1], "schemas_scored": o.report.schemas_scored, "seconds": o.seconds, "transition_test": [pacc.0, pacc.1], "transition_seconds": p.seconds}));
                } else {
                    out_line!(
                        "| hint | {sub} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} |",
                        o.train.1,
                        acc.1,
                        percent(o.train),
                        percent(acc),
                        o.report.schemas_scored,
                        o.seconds,
                        percent(pacc),
                        p.seconds
                    );
                }
            }
            continue;
        }
        let name = t.name();
        let (task, split) = name.split_once(' ').unwrap_or((name.as_str(), ""));
        if json {
            rows.push(serde_json::json!({"task": task, "split": split, "train": [o.train.0, o.train.1], "test": [o.test.0, o.test.1], "schemas_scored": o.report.schemas_scored, "seconds": o.seconds, "transition_test": [p.test.0, p.test.1], "transition_seconds": p.seconds}));
        } else {
            out_line!(
                "| {task} | {split} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} |",
                o.train.1,
                o.test.1,
                percent(o.train),
                percent(o.test),
                o.report.schemas_scored,
                o.seconds,
                percent(p.test),
                p.seconds
            );
        }
    }
    // grounding: HINT from noisy percepts
    let noises = [0.3, 0.4, 0.42];
    if filter.is_none_or(|f| "hint percepts".contains(f)) {
        if !json {
            out_line!("");
            out_line!(
                "| percepts | noise | bits | symbols | symbol acc (clustering) | symbol acc (abduced) | symbol acc (test percepts) | train acc | test acc | learn s |"
            );
            out_line!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        }
        let (train, test) = Task::Hint(None).data(1);
        for noise in noises {
            let pcfg = tessera::gss::percept_config(noise, 1024)?;
            let o = tessera_gss::percept::train_percepts(
                "hint",
                &train,
                &test,
                &pcfg,
                &cfg,
                1,
                &mut |_| {},
            );
            if json {
                rows.push(serde_json::json!({"task": "hint percepts", "noise": noise, "bits": pcfg.dim, "symbols": o.symbols, "symbol_clustered": [o.symbol_clustered.0, o.symbol_clustered.1], "symbol_train": [o.symbol_train.0, o.symbol_train.1], "symbol_test": [o.symbol_test.0, o.symbol_test.1], "train": [o.train.0, o.train.1], "test": [o.test.0, o.test.1], "seconds": o.seconds}));
            } else {
                out_line!(
                    "| hint | {noise} | {} | {} | {} | {} | {} | {} | {} | {:.1} |",
                    pcfg.dim,
                    o.symbols,
                    percent(o.symbol_clustered),
                    percent(o.symbol_train),
                    percent(o.symbol_test),
                    percent(o.train),
                    percent(o.test),
                    o.seconds
                );
            }
        }
    }
    if json {
        out_line!("{}", serde_json::json!({"ok": true, "rows": rows}));
    }
    Ok(())
}
