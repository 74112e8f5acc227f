//! Generation on 8-input/2-output windows: `cargo run --release -p tessera-circuit --example windows -- DIR PER_CIRCUIT SAMPLES`.
use std::path::Path;
use tessera_circuit::{bench, generate};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map_or("circuit/data", |s| s.as_str()));
    let per: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let samples: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(8);
    let mut wins = Vec::new();
    for e in bench::read_manifest(&dir.join("manifest.csv"))? {
        let (g, _) = bench::load(dir, &e)?;
        wins.extend(generate::windows(&g, 8, per));
    }
    // With a fourth argument, write every window and its Teacher result (for ABC).
    if let Some(out) = args.get(4) {
        std::fs::create_dir_all(out)?;
        for (i, w) in wins.iter().enumerate() {
            tessera_circuit::io::write_file(&Path::new(out).join(format!("w{i:03}.aig")), w)?;
            let t = generate::Target::from_aig(w);
            let g = generate::generate(&t, generate::Policy::Teacher, samples, 200, i as u64);
            tessera_circuit::io::write_file(
                &Path::new(out).join(format!("w{i:03}.gen.aig")),
                &g.graph,
            )?;
        }
    }
    for policy in [
        generate::Policy::Greedy,
        generate::Policy::Teacher,
        generate::Policy::Random,
    ] {
        let t = std::time::Instant::now();
        let s = generate::bench_windows(
            &wins,
            policy,
            if policy == generate::Policy::Random {
                1
            } else {
                samples
            },
            200,
        );
        println!("{policy:?}: {s:?} in {:.1}s", t.elapsed().as_secs_f64());
    }
    Ok(())
}
