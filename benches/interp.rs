//! Interpreter speed on the RASP anchor programs (../shared/anchors/rasp.md §1.7: the original
//! RASP interpreter takes 3.7 s CPU for `sort` at n = 500). Run with
//! `RAYON_NUM_THREADS=1 cargo bench --bench interp` (the interpreter is single-threaded).

use tessera::Session;

fn main() {
    divan::main();
}

/// Seeded lowercase tokens with many repeats (non-unique sort keys), like the anchor's input.
fn input(n: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut toks = Vec::with_capacity(n);
    for _ in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let c = (b'a' + (state % 26) as u8) as char;
        toks.push(c.to_string());
    }
    toks.join(" ")
}

const SIZES: &[usize] = &[10, 100, 500];

fn bench_entry(bencher: divan::Bencher, entry: &str, n: usize) {
    let session = Session::stdlib();
    let text = input(n);
    bencher.bench_local(|| {
        session
            .run(entry, Some(divan::black_box(&text)), &[])
            .expect("the stdlib program runs")
    });
}

#[divan::bench(args = SIZES)]
fn sort(bencher: divan::Bencher, n: usize) {
    bench_entry(bencher, "std::rasp::sort", n);
}

#[divan::bench(args = SIZES)]
fn hist(bencher: divan::Bencher, n: usize) {
    bench_entry(bencher, "std::rasp::hist", n);
}

#[divan::bench(args = SIZES)]
fn reverse(bencher: divan::Bencher, n: usize) {
    bench_entry(bencher, "std::rasp::reverse", n);
}

#[divan::bench(args = SIZES)]
fn dyck1_ptf(bencher: divan::Bencher, n: usize) {
    bench_entry(bencher, "std::rasp::dyck1_ptf", n);
}

#[divan::bench(args = SIZES)]
fn sort_by_most_freq(bencher: divan::Bencher, n: usize) {
    bench_entry(bencher, "std::rasp::sort_by_most_freq", n);
}
