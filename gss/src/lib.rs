//! Grounded symbol systems (after NSR, Li et al. 2024): symbols, a syntax schema and
//! meanings, learned jointly from (input, output) pairs and printed as a Tessera `gss` item.
//!
//! - [`data`]: SCAN (exact) and PCFG SET-style datasets with their splits.
//! - [`model`]: the system as data ([`model::Gss`]): an operator-precedence schema with a
//!   juxtaposition operator, a Pratt parser, meanings as list programs, printing.
//! - [`synth`]: enumerative synthesis of meanings with observational-equivalence pruning and a
//!   description-length prior.
//! - [`learn`]: the schema search and deduction–abduction.
//! - [`hint`]: HINT-like arithmetic data; [`arith`]: numeric meanings (`0`, `succ`, `pred`,
//!   calls, bounded recursion) and their synthesis; [`numlearn`]: learning a numeric system.
//! - [`transition`]: a learned transition parser, the second syntax model, trained by
//!   abduction (re-parsing) against the meanings.

pub mod arith;
pub mod data;
pub mod hint;
pub mod learn;
pub mod model;
pub mod numlearn;
pub mod percept;
pub mod synth;
pub mod transition;

use data::{Pair, PcfgSplit, ScanSplit};
use hint::HintSubset;
use learn::{Example, LearnConfig, LearnReport};
use model::{Gss, Interner};

/// A task with its split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Scan(ScanSplit),
    Pcfg(PcfgSplit),
    /// HINT-like arithmetic: one training set; the test set is one subset, or all five.
    Hint(Option<HintSubset>),
    /// Infix operators bound by a cycle, in reverse Polish notation ([`data::cyclic_split`]).
    Cyclic,
}

impl Task {
    /// `scan` / `pcfg` with a split name.
    pub fn from_names(task: &str, split: &str) -> Result<Task, String> {
        match task {
            "scan" | "pcfg" if split.is_empty() => Err(format!(
                "`--split` is needed for {task} (splits: {})",
                if task == "scan" {
                    ScanSplit::ALL.map(|s| s.name()).join(", ")
                } else {
                    PcfgSplit::ALL.map(|s| s.name()).join(", ")
                }
            )),
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
            "hint" if split == "all" || split.is_empty() => Ok(Task::Hint(None)),
            "hint" => HintSubset::from_name(split)
                .map(|s| Task::Hint(Some(s)))
                .ok_or_else(|| {
                    format!("unknown HINT split `{split}` (splits: all, i, ss, ls, sl, ll)")
                }),
            "cyclic" if split.is_empty() => Ok(Task::Cyclic),
            "cyclic" => Err(format!("`cyclic` has one split (got `{split}`)")),
            _ => Err(format!(
                "unknown task `{task}` (tasks: scan, pcfg, hint, cyclic)"
            )),
        }
    }
    pub fn name(self) -> String {
        match self {
            Task::Scan(s) => format!("scan {}", s.name()),
            Task::Pcfg(s) => format!("pcfg {}", s.name()),
            Task::Hint(s) => format!("hint {}", s.map_or("all", HintSubset::name)),
            Task::Cyclic => "cyclic".to_string(),
        }
    }
    /// A name usable as a `gss` item name.
    pub fn item_name(self) -> String {
        match self {
            Task::Scan(s) => format!("scan_{}", s.name()),
            Task::Pcfg(s) => format!("pcfg_{}", s.name()),
            Task::Hint(_) => "hint".to_string(),
            Task::Cyclic => "cyclic".to_string(),
        }
    }
    /// `(train, test)`.
    pub fn data(self, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
        match self {
            Task::Scan(s) => data::scan_split(s, seed),
            Task::Pcfg(s) => data::pcfg_split(s, seed),
            Task::Cyclic => data::cyclic_split(seed),
            Task::Hint(s) => {
                let d = hint::hint(seed);
                let test = match s {
                    Some(s) => d.test(s).to_vec(),
                    None => d.tests.into_iter().flat_map(|(_, p)| p).collect(),
                };
                (d.train, test)
            }
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
    // numbers as outputs: numeric meanings
    let numeric =
        numlearn::numeric_outputs(&names, &train).is_some() && syntax.is_none_or(Gss::is_numeric);
    let learned = if numeric {
        let given = syntax.map(|g| numlearn::schema_of(g, &mut names));
        numlearn::learn_num(
            name,
            &names,
            &train,
            given.as_ref(),
            &numlearn::NumLearnConfig {
                synth: arith::NumSynthConfig {
                    const_cost: cfg.synth.const_cost,
                    tolerance: cfg.tolerance,
                    ..arith::NumSynthConfig::default()
                },
                ..numlearn::NumLearnConfig::default()
            },
            progress,
        )
    } else {
        None
    };
    let (gss, report) = match (learned, syntax) {
        // numeric meanings that explain every pair, or the better of the two kinds
        (Some(l), _) if l.1.train_explained == train.len() => l,
        (Some(l), None) => {
            progress("numeric meanings leave pairs unexplained: trying list meanings");
            let lists = learn::learn(name, &names, &train, cfg, progress);
            if lists.1.train_explained > l.1.train_explained {
                lists
            } else {
                l
            }
        }
        (Some(l), Some(_)) => l,
        (None, None) => learn::learn(name, &names, &train, cfg, progress),
        (None, Some(g)) => {
            let schema = learn::Schema::of(g, &mut names);
            learn::learn_semantics(name, &names, &train, &schema, cfg, progress)
        }
    };
    let seconds = t0.elapsed().as_secs_f64();
    Outcome {
        train: learn::accuracy(&gss, &names, &train),
        test: learn::accuracy(&gss, &names, &test_ex),
        gss,
        report,
        seconds,
    }
}

/// A transition parser trained for a learned system, and how the system does with it as its
/// syntax.
#[derive(Debug, Clone)]
pub struct ParserOutcome {
    pub parser: transition::TransitionParser,
    pub report: transition::TransitionReport,
    /// (correct, total) with the transition parser as the syntax.
    pub train: (usize, usize),
    pub test: (usize, usize),
    /// Wall-clock seconds of training (testing excluded).
    pub seconds: f64,
}

/// Trains a transition parser for `g` by abduction against its meanings on `train` and
/// scores the system with it on both sets.
pub fn train_parser(
    g: &Gss,
    train: &[Pair],
    test: &[Pair],
    cfg: &transition::TransitionConfig,
    progress: &mut dyn FnMut(&str),
) -> ParserOutcome {
    let mut names = g.names.clone();
    let train = examples(&mut names, train);
    let test = examples(&mut names, test);
    let t0 = std::time::Instant::now();
    let (parser, report) = transition::TransitionParser::train(g, &names, &train, cfg, progress);
    let seconds = t0.elapsed().as_secs_f64();
    ParserOutcome {
        train: transition::accuracy(g, &parser, &names, &train, cfg.parse_width),
        test: transition::accuracy(g, &parser, &names, &test, cfg.parse_width),
        parser,
        report,
        seconds,
    }
}
