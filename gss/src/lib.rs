//! Grounded symbol systems (after NSR, Li et al. 2024): symbols, a syntax schema and
//! meanings, learned jointly from (input, output) pairs and printed as a Tessera `gss` item.
//!
//! - [`data`]: SCAN (exact) and PCFG SET-style datasets with their splits.
//! - [`model`]: the system as data ([`model::Gss`]): an operator-precedence schema with a
//!   juxtaposition operator, a Pratt parser, meanings as list programs, printing.
//! - [`synth`]: enumerative synthesis of meanings with observational-equivalence pruning and a
//!   description-length prior.
//! - [`learn`]: the schema search and deduction–abduction.

pub mod data;
pub mod learn;
pub mod model;
pub mod synth;

use data::{Pair, PcfgSplit, ScanSplit};
use learn::{Example, LearnConfig, LearnReport};
use model::{Gss, Interner};

/// A task with its split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Scan(ScanSplit),
    Pcfg(PcfgSplit),
}

impl Task {
    /// `scan` / `pcfg` with a split name.
    pub fn from_names(task: &str, split: &str) -> Result<Task, String> {
        match task {
            "scan" => ScanSplit::from_name(split).map(Task::Scan).ok_or_else(|| {
                let names: Vec<&str> = ScanSplit::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown SCAN split `{split}` (splits: {})",
                    names.join(", ")
                )
            }),
            "pcfg" => PcfgSplit::from_name(split).map(Task::Pcfg).ok_or_else(|| {
                let names: Vec<&str> = PcfgSplit::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown PCFG split `{split}` (splits: {})",
                    names.join(", ")
                )
            }),
            _ => Err(format!("unknown task `{task}` (tasks: scan, pcfg)")),
        }
    }
    pub fn name(self) -> String {
        match self {
            Task::Scan(s) => format!("scan {}", s.name()),
            Task::Pcfg(s) => format!("pcfg {}", s.name()),
        }
    }
    /// A name usable as a `gss` item name.
    pub fn item_name(self) -> String {
        match self {
            Task::Scan(s) => format!("scan_{}", s.name()),
            Task::Pcfg(s) => format!("pcfg_{}", s.name()),
        }
    }
    /// `(train, test)`.
    pub fn data(self, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
        match self {
            Task::Scan(s) => data::scan_split(s, seed),
            Task::Pcfg(s) => data::pcfg_split(s, seed),
        }
    }
}

/// Interns pairs.
pub fn examples(names: &mut Interner, pairs: &[Pair]) -> Vec<Example> {
    pairs
        .iter()
        .map(|p| Example {
            input: names.words(&p.input),
            output: names.words(&p.output),
        })
        .collect()
}

/// A trained system and how it did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub gss: Gss,
    pub report: LearnReport,
    /// (correct, total)
    pub train: (usize, usize),
    pub test: (usize, usize),
    /// Wall-clock seconds of learning (data generation and testing excluded).
    pub seconds: f64,
}

/// Generates the task's data, learns a system from the training pairs and scores it on both.
pub fn train_task(
    task: Task,
    seed: u64,
    syntax: Option<&Gss>,
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> Outcome {
    let (train, test) = task.data(seed);
    train_pairs(&task.item_name(), &train, &test, syntax, cfg, progress)
}

/// Learns a system named `name` from `train` and scores it on both sets; with `syntax`, only
/// the meanings are learned, for that system's schema.
pub fn train_pairs(
    name: &str,
    train: &[Pair],
    test: &[Pair],
    syntax: Option<&Gss>,
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> Outcome {
    let mut names = Interner::default();
    let train = examples(&mut names, train);
    let test_ex = examples(&mut names, test);
    let t0 = std::time::Instant::now();
    let (gss, report) = match syntax {
        None => learn::learn(name, &names, &train, cfg, progress),
        Some(g) => {
            let schema = learn::Schema::of(g, &mut names);
            learn::learn_semantics(name, &names, &train, &schema, cfg, progress)
        }
    };
    let seconds = t0.elapsed().as_secs_f64();
    Outcome {
        train: learn::accuracy(&gss, &train),
        test: learn::accuracy(&gss, &test_ex),
        gss,
        report,
        seconds,
    }
}
