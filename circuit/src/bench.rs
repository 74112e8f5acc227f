//! The circuit benchmark behind `tessera bench circuits`: every circuit of a manifest
//! (`shared/data/circuits/manifest.csv`) synthesised, proved equivalent to its input, and set
//! next to ABC's numbers from the manifest.

use crate::CircuitError;
use crate::aig::Aig;
use crate::cec::{Verdict, cec};
use crate::synth::{Effort, run_with_budget};
use std::path::Path;
use std::time::{Duration, Instant};

/// One manifest row.
#[derive(Clone, Debug)]
pub struct Entry {
    pub suite: String,
    pub name: String,
    pub ands_in: usize,
    pub levels_in: usize,
    pub resyn2: Option<usize>,
    pub dc2: Option<usize>,
    pub compress2rs: Option<usize>,
    pub deepsyn: Option<usize>,
    pub best_known: Option<usize>,
}

pub fn read_manifest(path: &Path) -> Result<Vec<Entry>, CircuitError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CircuitError::Io(format!("cannot read {}: {e}", path.display())))?;
    let file = path.display().to_string();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.splitn(12, ',').collect();
        let bad = |what: &str| CircuitError::Parse {
            file: file.clone(),
            line: i + 1,
            msg: format!("expected {what}"),
        };
        if f.len() < 11 {
            return Err(bad("at least 11 comma-separated columns"));
        }
        let num = |s: &str| s.trim().parse::<usize>().ok();
        out.push(Entry {
            suite: f[0].to_string(),
            name: f[1].to_string(),
            ands_in: num(f[4]).ok_or_else(|| bad("a number in column ands_in"))?,
            levels_in: num(f[5]).ok_or_else(|| bad("a number in column levels_in"))?,
            resyn2: num(f[6]),
            dc2: num(f[7]),
            compress2rs: num(f[8]),
            deepsyn: num(f[9]),
            best_known: num(f[10]),
        });
    }
    Ok(out)
}

/// The measured result for one circuit.
#[derive(Clone, Debug)]
pub struct Row {
    pub entry: Entry,
    pub inputs: usize,
    pub outputs: usize,
    pub ands: usize,
    pub levels: u32,
    pub cpu: Duration,
    pub proof: String,
    pub proved: bool,
}

/// CPU time of this process (user + system), from `/proc/self/stat`; wall time elsewhere.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The input circuit of an entry: `epfl/NAME.aig`, or for IWLS the truth table (the task is
/// truth table → AIG) with `NAME.init.aig` as the independent reference for the proof.
pub fn load(dir: &Path, e: &Entry) -> Result<(Aig, Aig), CircuitError> {
    let base = dir.join(&e.suite);
    let aig = base.join(format!("{}.aig", e.name));
    if aig.exists() {
        let g = crate::io::read_file(&aig)?;
        return Ok((g.clone(), g));
    }
    let truth = base.join(format!("{}.truth", e.name));
    let start = crate::io::read_file(&truth)?;
    let init = base.join(format!("{}.init.aig", e.name));
    let reference = if init.exists() {
        crate::io::read_file(&init)?
    } else {
        start.clone()
    };
    Ok((start, reference))
}

/// Synthesises and proves one entry.
pub fn run_one(
    dir: &Path,
    e: &Entry,
    effort: Effort,
    budget: Duration,
) -> Result<(Row, Aig), CircuitError> {
    let t0 = cpu_time();
    let w0 = Instant::now();
    let (start, reference) = load(dir, e)?;
    let out = run_with_budget(&start, effort, budget);
    let verdict = cec(&reference, &out)?;
    let cpu = match (t0, cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => w0.elapsed(),
    };
    let (proof, proved) = match &verdict {
        Verdict::Equivalent(m) => (m.to_string(), true),
        Verdict::Different { output, .. } => (format!("NOT EQUIVALENT (output {output})"), false),
    };
    let row = Row {
        entry: e.clone(),
        inputs: out.num_inputs(),
        outputs: out.num_outputs(),
        ands: out.num_ands(),
        levels: out.levels(),
        cpu,
        proof,
        proved,
    };
    Ok((row, out))
}

fn opt(x: Option<usize>) -> String {
    x.map_or("-".into(), |v| v.to_string())
}

/// The Markdown table of rows, with per-suite totals against ABC.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let mut s = String::from(
        "| suite | circuit | I/O | ANDs in (lev) | ABC resyn2 | ABC compress2rs | ABC &deepsyn -T 10 | best known | **tessera** (lev) | vs c2rs | CPU s | proof |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let e = &r.entry;
        let ratio = e.compress2rs.map_or("-".into(), |c| {
            format!("{:.3}", r.ands as f64 / c.max(1) as f64)
        });
        let _ = writeln!(
            s,
            "| {} | {} | {}/{} | {} ({}) | {} | {} | {} | {} | **{}** ({}) | {} | {:.2} | {} |",
            e.suite,
            e.name,
            r.inputs,
            r.outputs,
            e.ands_in,
            e.levels_in,
            opt(e.resyn2),
            opt(e.compress2rs),
            opt(e.deepsyn),
            opt(e.best_known),
            r.ands,
            r.levels,
            ratio,
            r.cpu.as_secs_f64(),
            if r.proved {
                r.proof.clone()
            } else {
                format!("**{}**", r.proof)
            }
        );
    }
    let mut suites: Vec<&str> = rows.iter().map(|r| r.entry.suite.as_str()).collect();
    suites.dedup();
    s.push_str("\n| suite | circuits | ANDs in | ABC resyn2 | ABC compress2rs | **tessera** | tessera / compress2rs | proved | CPU s |\n|---|---|---|---|---|---|---|---|---|\n");
    for suite in suites {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.entry.suite == suite).collect();
        let sum =
            |f: &dyn Fn(&Row) -> Option<usize>| -> usize { rs.iter().filter_map(|r| f(r)).sum() };
        let ours = sum(&|r| Some(r.ands));
        let c2 = sum(&|r| r.entry.compress2rs);
        let _ = writeln!(
            s,
            "| {suite} | {} | {} | {} | {c2} | **{ours}** | {:.3} | {}/{} | {:.1} |",
            rs.len(),
            sum(&|r| Some(r.entry.ands_in)),
            sum(&|r| r.entry.resyn2),
            ours as f64 / c2.max(1) as f64,
            rs.iter().filter(|r| r.proved).count(),
            rs.len(),
            rs.iter().map(|r| r.cpu.as_secs_f64()).sum::<f64>()
        );
    }
    s
}
