//! Compile a program to a transformer with exact weights, check it against the interpreter,
//! save it, load it back and run it with candle.
//!
//! `cargo run --example compile_run`

use tessera::{CompiledModel, Session, VerifyOptions};

fn main() -> Result<(), tessera::Error> {
    let session = Session::stdlib();
    let (model, report) = session.verify(
        "std::rasp::sort",
        &["a", "b", "c"],
        6,
        &[],
        VerifyOptions::default(),
    )?;
    println!(
        "sort: {} layers; {} inputs compared, {} disagreements",
        model.stats().layers,
        report.compared,
        report.mismatch_count
    );
    let dir = std::env::temp_dir().join("tessera-example-sort");
    model.save("std::rasp::sort", &dir)?;
    let (loaded, entry) = CompiledModel::load(&dir)?;
    let out = loaded.exec(&["c a b a", "b b a"], false)?;
    for (input, o) in ["c a b a", "b b a"].iter().zip(out) {
        let shown: Vec<String> = o.iter().map(ToString::to_string).collect();
        println!("{entry} {input:?} -> {}", shown.join(" "));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
