//! Compiled-model speed: compile time and a batch of 64 inputs through the candle engine and
//! the sparse CPU engine, for
//! the programs Tracr's anchor times (`../shared/anchors/tracr-study.md` §6.2). Run with
//! `RAYON_NUM_THREADS=1 cargo bench --bench engine`.

use tessera::Session;

fn main() {
    divan::main();
}

const SIZES: &[usize] = &[5, 10, 20];

/// Distinct batches the sparse engine's benches cycle through: the engine keeps its caches
/// (MLP outputs and head rows by input) from call to call, so timing one batch over and over
/// would time a cache that already holds every position of it. Each iteration runs the next
/// batch; the caches see a stream of new sequences, as a long-running user's would.
const BATCHES: u64 = 32;

fn batch(vocab: &[&str], n: usize) -> Vec<String> {
    seeded_batch(vocab, n, 0)
}

fn seeded_batch(vocab: &[&str], n: usize, seed: u64) -> Vec<String> {
    let mut s: u64 = 0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..64)
        .map(|_| {
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    vocab[(s % vocab.len() as u64) as usize]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn bench_forward(bencher: divan::Bencher, entry: &str, vocab: &[&str], n: usize) {
    let session = Session::stdlib();
    let model = session.compile(entry, vocab, n, &[]).expect("compiles");
    let inputs = batch(vocab, n);
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    bencher.bench_local(|| model.exec(divan::black_box(&refs), false).expect("runs"));
}

fn bench_forward_sparse(bencher: divan::Bencher, entry: &str, vocab: &[&str], n: usize) {
    let session = Session::stdlib();
    let model = session.compile(entry, vocab, n, &[]).expect("compiles");
    let inputs: Vec<Vec<String>> = (0..BATCHES).map(|s| seeded_batch(vocab, n, s)).collect();
    let refs: Vec<Vec<&str>> = inputs
        .iter()
        .map(|b| b.iter().map(String::as_str).collect())
        .collect();
    let mut next = in_turn(&refs);
    bencher.bench_local(|| model.exec_sparse(divan::black_box(next())).expect("runs"));
}

/// [`BATCHES`] seeded batches for `engine`, encoded once as token ids.
fn id_batches(
    engine: &tessera_engine::SparseEngine,
    vocab: &[&str],
    n: usize,
) -> Vec<Vec<Vec<usize>>> {
    let id = |t: &str| {
        let v = tessera_lang::value::Val::from_token(t);
        engine
            .vocab()
            .iter()
            .position(|x| *x == v)
            .expect("in vocab")
    };
    (0..BATCHES)
        .map(|s| {
            seeded_batch(vocab, n, s)
                .iter()
                .map(|s| s.split_whitespace().map(id).collect())
                .collect()
        })
        .collect()
}

/// The next of `batches` at each call, in turn.
fn in_turn<'a, T>(batches: &'a [T]) -> impl FnMut() -> &'a T {
    let mut next = 0;
    move || {
        let b = &batches[next];
        next = (next + 1) % batches.len();
        b
    }
}

/// The sparse engine on inputs encoded once as token ids (as Tracr's forward pass takes them:
/// `scripts/tracr_same_run.py` times a jitted forward on integer arrays), outputs decoded;
/// each iteration the next of [`BATCHES`] batches.
fn bench_forward_ids(bencher: divan::Bencher, entry: &str, vocab: &[&str], n: usize) {
    let session = Session::stdlib();
    let model = session.compile(entry, vocab, n, &[]).expect("compiles");
    let engine = model.sparse_engine();
    let batches = id_batches(engine, vocab, n);
    let mut next = in_turn(&batches);
    bencher.bench_local(|| engine.forward_ids(divan::black_box(next())).expect("runs"));
}

/// [`bench_forward_ids`] with outputs as ids too ([`tessera_engine::SparseEngine::forward_ids_out`]):
/// Tracr's jitted forward pass likewise takes and gives arrays.
fn bench_forward_ids_out(bencher: divan::Bencher, entry: &str, vocab: &[&str], n: usize) {
    let session = Session::stdlib();
    let model = session.compile(entry, vocab, n, &[]).expect("compiles");
    let engine = model.sparse_engine();
    let batches = id_batches(engine, vocab, n);
    let mut next = in_turn(&batches);
    let mut out = Vec::new();
    bencher.bench_local(|| {
        out.clear();
        engine
            .forward_ids_out(divan::black_box(next()), &mut out)
            .expect("runs");
        out.len()
    });
}

#[divan::bench(args = SIZES)]
fn reverse_forward_b64_ids_out(bencher: divan::Bencher, n: usize) {
    bench_forward_ids_out(bencher, "std::rasp::reverse", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn sort_forward_b64_ids_out(bencher: divan::Bencher, n: usize) {
    bench_forward_ids_out(bencher, "std::rasp::sort", &["a", "b", "c", "d", "e"], n);
}

#[divan::bench(args = SIZES)]
fn hist_forward_b64_ids_out(bencher: divan::Bencher, n: usize) {
    bench_forward_ids_out(bencher, "std::rasp::hist", &["a", "b", "c", "d"], n);
}

/// The rest of the programs Tracr's `lib` has (`scripts/tracr_same_run.py` times the same ones):
/// token ids in, output ids out (a numeric output's as the index of its nearest possible
/// value, see `SparseEngine::forward_ids_out`), each iteration
/// the next of [`BATCHES`] batches. `sort_unique`'s inputs are permutations of `1..=N`, its
/// vocabulary (distinct keys, as Tracr's anchor runs it).
fn bench_more(bencher: divan::Bencher, program: &str, n: usize) {
    let numbers: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let vocab: Vec<&str> = match program {
        "sort_unique" => numbers.iter().map(String::as_str).collect(),
        "frac_prevs" => vec!["x", "y", "z", "w"],
        "pair_balance" | "shuffle_dyck" => vec!["(", ")"],
        "shuffle_dyck2" => vec!["(", ")", "{", "}"],
        _ => vec!["a", "b", "c", "d"],
    };
    let session = Session::stdlib();
    let entry = format!("std::rasp::{program}");
    let model = session.compile(&entry, &vocab, n, &[]).expect("compiles");
    let engine = model.sparse_engine();
    let batches: Vec<Vec<Vec<usize>>> = if program == "sort_unique" {
        (0..BATCHES).map(|s| permutations(n, s)).collect()
    } else {
        id_batches(engine, &vocab, n)
    };
    let mut next = in_turn(&batches);
    if engine.output_values().is_none() {
        bencher.bench_local(|| engine.forward_ids(divan::black_box(next())).expect("runs"));
        return;
    }
    let mut out = Vec::new();
    bencher.bench_local(|| {
        out.clear();
        engine
            .forward_ids_out(divan::black_box(next()), &mut out)
            .expect("runs");
        out.len()
    });
}

/// 64 seeded permutations of the token ids `0..n`.
fn permutations(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut s: u64 = 0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..64)
        .map(|_| {
            let mut p: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                p.swap(i, (s % (i as u64 + 1)) as usize);
            }
            p
        })
        .collect()
}

#[divan::bench(args = SIZES)]
fn more_length(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "length", n);
}

#[divan::bench(args = SIZES)]
fn more_sort_unique(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "sort_unique", n);
}

#[divan::bench(args = SIZES)]
fn more_sort_by_most_freq(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "sort_by_most_freq", n);
}

#[divan::bench(args = SIZES)]
fn more_frac_prevs(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "frac_prevs", n);
}

#[divan::bench(args = SIZES)]
fn more_pair_balance(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "pair_balance", n);
}

#[divan::bench(args = SIZES)]
fn more_shuffle_dyck(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "shuffle_dyck", n);
}

#[divan::bench(args = SIZES)]
fn more_shuffle_dyck2(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "shuffle_dyck2", n);
}

#[divan::bench(args = SIZES)]
fn more_count_less_freq(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "count_less_freq", n);
}

#[divan::bench(args = SIZES)]
fn more_shift_by(bencher: divan::Bencher, n: usize) {
    bench_more(bencher, "shift_by", n);
}

#[divan::bench(args = SIZES)]
fn reverse_forward_b64_ids(bencher: divan::Bencher, n: usize) {
    bench_forward_ids(bencher, "std::rasp::reverse", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn sort_forward_b64_ids(bencher: divan::Bencher, n: usize) {
    bench_forward_ids(bencher, "std::rasp::sort", &["a", "b", "c", "d", "e"], n);
}

#[divan::bench(args = SIZES)]
fn hist_forward_b64_ids(bencher: divan::Bencher, n: usize) {
    bench_forward_ids(bencher, "std::rasp::hist", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn reverse_forward_b64_sparse(bencher: divan::Bencher, n: usize) {
    bench_forward_sparse(bencher, "std::rasp::reverse", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn sort_forward_b64_sparse(bencher: divan::Bencher, n: usize) {
    bench_forward_sparse(bencher, "std::rasp::sort", &["a", "b", "c", "d", "e"], n);
}

#[divan::bench(args = SIZES)]
fn hist_forward_b64_sparse(bencher: divan::Bencher, n: usize) {
    bench_forward_sparse(bencher, "std::rasp::hist", &["a", "b", "c", "d"], n);
}

fn bench_compile(bencher: divan::Bencher, entry: &str, vocab: &[&str], n: usize) {
    let session = Session::stdlib();
    bencher.bench_local(|| session.compile(entry, vocab, n, &[]).expect("compiles"));
}

#[divan::bench(args = SIZES)]
fn reverse_forward_b64(bencher: divan::Bencher, n: usize) {
    bench_forward(bencher, "std::rasp::reverse", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn sort_forward_b64(bencher: divan::Bencher, n: usize) {
    bench_forward(bencher, "std::rasp::sort", &["a", "b", "c", "d", "e"], n);
}

#[divan::bench(args = SIZES)]
fn hist_forward_b64(bencher: divan::Bencher, n: usize) {
    bench_forward(bencher, "std::rasp::hist", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn reverse_compile(bencher: divan::Bencher, n: usize) {
    bench_compile(bencher, "std::rasp::reverse", &["a", "b", "c", "d"], n);
}

#[divan::bench(args = SIZES)]
fn sort_compile(bencher: divan::Bencher, n: usize) {
    bench_compile(bencher, "std::rasp::sort", &["a", "b", "c", "d", "e"], n);
}

/// The slowest stdlib program to compile (`scripts/compile-times.sh`), at the max_len values of
/// the compile-time goals (≤ 10 ms at 20, ≤ 100 ms at 256).
#[divan::bench(args = [20, 256])]
fn dyck2_ptf_pointer_compile(bencher: divan::Bencher, n: usize) {
    bench_compile(bencher, "std::pointer::dyck2_ptf", &["(", ")", "{", "}"], n);
}
