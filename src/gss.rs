//! Grounded symbol systems at the facade: training a system on a task and printing it as a
//! Tessera `gss` item, scoring a `gss` item on a task, and writing the datasets.

pub mod circuit;

use crate::Error;
use tessera_gss::learn::{self, LearnConfig};
use tessera_gss::model::{Gss, Interner};
use tessera_gss::{Outcome, Task};

pub use tessera_gss::data;

/// `--task` and `--split` as a task.
pub fn task(task: &str, split: &str) -> Result<Task, Error> {
    Task::from_names(task, split).map_err(Error::usage)
}

/// Learns a system for a task (only its meanings when `syntax` gives the schema).
pub use tessera_gss::train_task as train;

/// The learned system as a Tessera source file, with a header saying how it was made
/// (`command`) and an input to try.
pub fn learned_source(command: &str, example: &str, o: &Outcome) -> String {
    let test = if o.test.1 == 0 {
        "no test pairs".to_string()
    } else {
        format!("{} of {} test pairs", o.test.0, o.test.1)
    };
    format!(
        "# Learned by `{command}`:\n\
         # {} of {} training pairs explained; {test}; {} schemas scored in {:.1} s.\n\
         # Run it: tessera run FILE --input \"{example}\"\n\n{}",
        o.train.0,
        o.train.1,
        o.report.schemas_scored,
        o.seconds,
        o.gss.to_source()
    )
}

/// Percept settings, checked: noise in 0..=0.45, 64..=65,536 bits.
pub fn percept_config(
    noise: f64,
    dim: usize,
) -> Result<tessera_gss::percept::PerceptConfig, Error> {
    if !(0.0..=0.45).contains(&noise) {
        return Err(Error::usage(format!(
            "--noise {noise} is outside 0..=0.45 (at 0.5 a percept carries no information)"
        )));
    }
    if !(64..=65_536).contains(&dim) {
        return Err(Error::usage(format!("--dim {dim} is outside 64..=65536")));
    }
    Ok(tessera_gss::percept::PerceptConfig {
        noise,
        dim,
        ..Default::default()
    })
}

/// A system learned from percepts as Tessera source: its symbols are the clusters perception
/// found (`p0`, `p1`, …); the header names each by the hidden truth, for the reader.
pub fn percept_source(command: &str, o: &tessera_gss::percept::PerceptOutcome) -> String {
    let frac = |a: (usize, usize)| format!("{}/{}", a.0, a.1);
    let names: Vec<String> = o
        .cluster_names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("p{i} = {}", tessera_gss::model::quote_string(n)))
        .collect();
    format!(
        "# Learned from noisy percepts by `{command}`:\n\
         # perception found {} symbols; by the hidden truth (never shown to the learner):\n\
         #   {}\n\
         # symbol accuracy: {} after clustering, {} after abduction, {} on the test percepts;\n\
         # answers: {} training pairs, {} test pairs; {:.1} s.\n\n{}",
        o.symbols,
        names.join(", "),
        frac(o.symbol_clustered),
        frac(o.symbol_train),
        frac(o.symbol_test),
        frac(o.train),
        frac(o.test),
        o.seconds,
        o.gss.to_source()
    )
}

/// The command line that trains on a task, and an input to try.
pub fn task_origin(task: Task, seed: u64) -> (String, &'static str) {
    let name = task.name();
    let (t, split) = name.split_once(' ').unwrap_or((name.as_str(), ""));
    let example = match task {
        Task::Scan(_) => "jump twice after walk around left",
        Task::Pcfg(_) => "append reverse A1 B2 , echo C3",
        Task::Hint(_) => "( 3 + 4 ) * 9 / 2 - 8",
        Task::Cyclic => "a p b q c r d",
    };
    let split = if split.is_empty() {
        String::new()
    } else {
        format!(" --split {split}")
    };
    (
        format!("tessera gss train --task {t}{split} --seed {seed}"),
        example,
    )
}

/// Pairs from a file in SCAN's format (`IN: … OUT: …` per line); errors name the file and line.
pub fn read_pairs(path: &std::path::Path) -> Result<Vec<data::Pair>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", path.display())))?;
    let pairs = data::parse_scan_text(&text)
        .map_err(|e| Error::usage(format!("{}:{e}", path.display())))?;
    if pairs.is_empty() {
        return Err(Error::usage(format!("`{}` has no pairs", path.display())));
    }
    Ok(pairs)
}

/// Learns from pairs read from files (the item is named after the training file).
pub fn train_files(
    train: &std::path::Path,
    test: Option<&std::path::Path>,
    syntax: Option<&Gss>,
    cfg: &LearnConfig,
    progress: &mut dyn FnMut(&str),
) -> Result<Outcome, Error> {
    let tr = read_pairs(train)?;
    let te = match test {
        Some(t) => read_pairs(t)?,
        None => Vec::new(),
    };
    let stem = train
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("learned");
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || tessera_gss::model::KEYWORDS.contains(&name.as_str())
    {
        name.insert_str(0, "gss_");
    }
    Ok(tessera_gss::train_pairs(
        &name, &tr, &te, syntax, cfg, progress,
    ))
}

/// Accuracy of a system on pairs.
pub fn accuracy(g: &Gss, pairs: &[data::Pair]) -> (usize, usize) {
    let mut names: Interner = g.names.clone();
    let exs = tessera_gss::examples(&mut names, pairs);
    learn::accuracy(g, &names, &exs)
}

/// `score` of each of HINT's five test subsets (an accuracy, or several), by subset name.
pub fn hint_subsets<T>(seed: u64, score: impl Fn(&[data::Pair]) -> T) -> Vec<(&'static str, T)> {
    tessera_gss::hint::hint(seed)
        .tests
        .iter()
        .map(|(s, pairs)| (s.name(), score(pairs)))
        .collect()
}

/// The mean of the subsets' accuracies (HINT's "average"), in 0..=1.
pub fn hint_average(rows: &[(&str, (usize, usize))]) -> f64 {
    let accs: Vec<f64> = rows
        .iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(_, (k, n))| *k as f64 / *n as f64)
        .collect();
    if accs.is_empty() {
        0.0
    } else {
        accs.iter().sum::<f64>() / accs.len() as f64
    }
}

/// Reads a transition parser written by `gss train --transition`; errors name the file and
/// line, and a parser trained for another system is refused.
pub fn read_parser(
    path: &std::path::Path,
    g: &Gss,
) -> Result<tessera_gss::transition::TransitionParser, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read `{}`: {e}", path.display())))?;
    let p = tessera_gss::transition::TransitionParser::from_text(&text)
        .map_err(|e| Error::usage(format!("{}:{e}", path.display())))?;
    if p.system != g.name {
        return Err(Error::usage(format!(
            "`{}` is a parser for the system `{}`, not `{}`",
            path.display(),
            p.system,
            g.name
        )));
    }
    Ok(p)
}

/// Accuracy of a system on pairs, with a transition parser as its syntax.
pub fn accuracy_with(
    g: &Gss,
    parser: &tessera_gss::transition::TransitionParser,
    pairs: &[data::Pair],
) -> (usize, usize) {
    let mut names: Interner = g.names.clone();
    let exs = tessera_gss::examples(&mut names, pairs);
    tessera_gss::transition::accuracy(
        g,
        parser,
        &names,
        &exs,
        tessera_gss::transition::TransitionConfig::default().parse_width,
    )
}
