//! Runs the circuit benchmark: `cargo run --release -p tessera-circuit --example suite -- DIR [fast|default|high] [budget_s] [filter]`.
use std::path::Path;
use std::time::Duration;
use tessera_circuit::bench;
use tessera_circuit::synth::Effort;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .map_or("../shared/data/circuits", |s| s.as_str()),
    );
    let effort = args
        .get(2)
        .and_then(|s| Effort::parse(s))
        .unwrap_or(Effort::Default);
    let budget = Duration::from_secs_f64(args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5.0));
    let filter = args.get(4).cloned().unwrap_or_default();
    let mut rows = Vec::new();
    for e in bench::read_manifest(&dir.join("manifest.csv"))? {
        if !e.name.contains(&filter) {
            continue;
        }
        let (r, _) = bench::run_one(dir, &e, effort, budget)?;
        eprintln!(
            "{} {} {} -> {} (c2rs {:?}) {:.2}s {}",
            e.suite,
            e.name,
            e.ands_in,
            r.ands,
            e.compress2rs,
            r.cpu.as_secs_f64(),
            r.proof
        );
        rows.push(r);
    }
    println!("{}", bench::table(&rows));
    Ok(())
}
