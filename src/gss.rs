//! Grounded symbol systems at the facade: training a system on a task and printing it as a
//! Tessera `gss` item, scoring a `gss` item on a task, and writing the datasets.

use crate::Error;
use tessera_gss::learn::{self, LearnConfig};
use tessera_gss::model::{Gss, Interner};
use tessera_gss::{Outcome, Task};

pub use tessera_gss::data;

/// `--task` and `--split` as a task.
pub fn task(task: &str, split: &str) -> Result<Task, Error> {
    Task::from_names(task, split).map_err(Error::usage)
}

/// Learns a system for `task`; `progress` hears one line per step.
pub fn train(task: Task, seed: u64, cfg: &LearnConfig, progress: &mut dyn FnMut(&str)) -> Outcome {
    tessera_gss::train_task(task, seed, cfg, progress)
}

/// The learned system as a Tessera source file, with a header saying where it came from.
pub fn learned_source(task: Task, seed: u64, o: &Outcome) -> String {
    let (task_name, split) = task.name().split_once(' ').map_or_else(
        || (task.name(), String::new()),
        |(a, b)| (a.to_string(), b.to_string()),
    );
    let example = match task {
        Task::Scan(_) => "jump twice after walk around left",
        Task::Pcfg(_) => "append reverse A1 B2 , echo C3",
    };
    format!(
        "# Learned by `tessera gss train --task {task_name} --split {split} --seed {seed}`:\n\
         # {} of {} training pairs explained; {} of {} test pairs; {} schemas scored in {:.1} s.\n\
         # Run it: tessera run FILE --input \"{example}\"\n\n{}",
        o.train.0,
        o.train.1,
        o.test.0,
        o.test.1,
        o.report.schemas_scored,
        o.seconds,
        o.gss.to_source()
    )
}

/// Accuracy of a system on a task's (train, test) pairs: ((correct, total), (correct, total)).
pub fn evaluate(g: &Gss, task: Task, seed: u64) -> ((usize, usize), (usize, usize)) {
    let (train, test) = task.data(seed);
    let mut names: Interner = g.names.clone();
    let train = tessera_gss::examples(&mut names, &train);
    let test = tessera_gss::examples(&mut names, &test);
    (learn::accuracy(g, &train), learn::accuracy(g, &test))
}
