//! `cargo run -p tessera-gss --release --example learn -- scan length`
use tessera_gss::{Task, learn::LearnConfig, train_task};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let task = Task::from_names(
        args.get(1).map_or("scan", |s| s.as_str()),
        args.get(2).map_or("length", |s| s.as_str()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = train_task(task, 1, &LearnConfig::default(), &mut |l| {
        eprintln!("  {l}")
    });
    println!("{}", o.gss.to_source());
    println!(
        "{}: train {}/{}, test {}/{} ({:.2}%), {:.1} s, {} schemas scored",
        task.name(),
        o.train.0,
        o.train.1,
        o.test.0,
        o.test.1,
        100.0 * o.test.0 as f64 / o.test.1.max(1) as f64,
        o.seconds,
        o.report.schemas_scored
    );
}
