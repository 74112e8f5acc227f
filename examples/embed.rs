//! Embedding Tessera as a library: load a program with the standard library, run it, read
//! values and errors as data.
//!
//! `cargo run --example embed`

use tessera::{Output, Session};

fn main() -> Result<(), tessera::Error> {
    let session = Session::from_source(
        "frac.tess",
        "use std::rasp::{hist, sort};\n\
         fn main() = sort(tokens, hist(tokens))   # tokens, rarest first (stable)\n",
    )?;
    let out = session.run("main", Some("b a c a b a"), &[])?;
    println!("sorted by frequency: {}", out.render());
    if let Output::Seq(s) = &out {
        println!("as data: {} values, numeric: {}", s.vals.len(), s.numeric);
    }
    // Errors are diagnostics with a stable kind and a place.
    match Session::stdlib().run("std::rasp::sort_unique", Some("1 1"), &[]) {
        Ok(o) => println!("unexpected: {}", o.render()),
        Err(e) => println!("error kinds: {:?}\n{}", e.kinds(), e.render(false)),
    }
    Ok(())
}
