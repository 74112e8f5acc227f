//! `cargo run --release -p tessera-vsa --example vsa_bench -- [ops|cleanup|resonator|capacity] [--quick]`
//! (the same report as `tessera bench vsa`).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = !args.iter().any(|a| !a.starts_with("--"));
    let has = |s: &str| all || args.iter().any(|a| a == s);
    let o = tessera_vsa::bench::BenchOptions {
        ops: has("ops"),
        cleanup: has("cleanup"),
        resonator: has("resonator"),
        capacity: has("capacity"),
        quick: args.iter().any(|a| a == "--quick"),
    };
    match tessera_vsa::bench::run(&o) {
        Ok(r) => print!("{r}"),
        Err(e) => eprintln!("error: {e}"),
    }
}
