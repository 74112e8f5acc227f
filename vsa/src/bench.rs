//! The VSA benchmark behind `tessera bench vsa`: kernel throughput, cleanup, resonator accuracy
//! and bundle capacity, each printed as a Markdown table. Timings are wall-clock medians over
//! repetitions on the calling thread (one core); accuracies are exact counts over seeded problems.

use crate::capacity;
use crate::resonator::{self, Outcome, ResonatorOptions};
use crate::rng::Rng;
use crate::{BscVec, Codebook, Hv, MapVec, Model, Result, Space, Vsa, simd};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Which sections to run, and how big.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub ops: bool,
    pub cleanup: bool,
    pub resonator: bool,
    pub capacity: bool,
    /// Smaller problems (a smoke run, seconds instead of minutes).
    pub quick: bool,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> Duration {
    f(); // warm
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// Run the chosen sections and return the report (Markdown).
pub fn run(o: &BenchOptions) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "SIMD level: {:?}\n", simd::level());
    if o.ops {
        out.push_str(&ops(o.quick)?);
    }
    if o.cleanup {
        out.push_str(&cleanup(o.quick)?);
    }
    if o.resonator {
        out.push_str(&resonator_table(o.quick)?);
    }
    if o.capacity {
        out.push_str(&capacity_table(o.quick)?);
    }
    Ok(out)
}

fn ops(quick: bool) -> Result<String> {
    let d = 10_000;
    let n = if quick { 100 } else { 1000 };
    let reps = if quick { 5 } else { 31 };
    let mut rng = Rng::new(1);
    let bsc = crate::Bsc::new(d);
    let map = crate::Map::new(d);
    let fhrr = crate::Fhrr::new(d);
    let hrr = crate::Hrr::new(d);
    let ba: Vec<BscVec> = (0..n).map(|_| bsc.random(&mut rng)).collect();
    let bb: Vec<BscVec> = (0..n).map(|_| bsc.random(&mut rng)).collect();
    let mut bo: Vec<BscVec> = (0..n).map(|_| bsc.zero()).collect();
    let ma: Vec<MapVec> = (0..n).map(|_| map.random(&mut rng)).collect();
    let mb: Vec<MapVec> = (0..n).map(|_| map.random(&mut rng)).collect();
    let mut mo: Vec<MapVec> = (0..n).map(|_| map.zero()).collect();
    let mut sims = vec![0.0; n];
    let mut rows: Vec<(String, String, Duration, usize, &str)> = Vec::new();
    rows.push((
        "BSC".into(),
        "bind (XOR, packed u64)".into(),
        time(reps, || bsc.bind_batch(&ba, &bb, &mut bo)),
        n,
        "1.00e6",
    ));
    rows.push((
        "BSC".into(),
        "similarity (popcount Hamming)".into(),
        time(reps, || bsc.similarity_batch(&ba, &bb, &mut sims)),
        n,
        "2.52e4",
    ));
    let (pa, pb) = (
        crate::bsc::BscBatch::new(&ba),
        crate::bsc::BscBatch::new(&bb),
    );
    let mut po = crate::bsc::BscBatch::zeros(n, d);
    let mut hd = vec![0u32; n];
    rows.push((
        "BSC".into(),
        "bind, contiguous batch (`BscBatch`)".into(),
        time(reps, || crate::bsc::BscBatch::bind_into(&pa, &pb, &mut po)),
        n,
        "1.00e6",
    ));
    // The same kernel on 100 pairs (377 KB of operands and results: resident in this
    // machine's 1 MB L2), the "cache-resident" case of the anchor's target.
    let small = n.min(100);
    let (sa, sb) = (
        crate::bsc::BscBatch::new(&ba[..small]),
        crate::bsc::BscBatch::new(&bb[..small]),
    );
    let mut so = crate::bsc::BscBatch::zeros(small, d);
    rows.push((
        "BSC".into(),
        format!("bind, contiguous batch of {small} (L2-resident)"),
        time(reps * 10, || {
            crate::bsc::BscBatch::bind_into(&sa, &sb, &mut so)
        }),
        small,
        "1.00e6",
    ));
    let mut pc = pa.clone();
    rows.push((
        "BSC".into(),
        "bind in place, contiguous batch (`a ^= b`)".into(),
        time(reps, || crate::bsc::BscBatch::bind_assign(&mut pc, &pb)),
        n,
        "1.00e6",
    ));
    rows.push((
        "BSC".into(),
        "Hamming, contiguous batch".into(),
        time(reps, || {
            crate::bsc::BscBatch::hamming_into(&pa, &pb, &mut hd)
        }),
        n,
        "2.52e4",
    ));
    let tie = bsc.random(&mut rng);
    rows.push((
        "BSC".into(),
        "bundle of 3 (bitwise majority)".into(),
        time(reps, || {
            for i in 0..n {
                let v = [&ba[i], &bb[i], &bo[(i + 1) % n]];
                black_box(bsc.bundle(&v, &tie));
            }
        }),
        n,
        "6.03e3 (2-way)",
    ));
    rows.push((
        "MAP".into(),
        "bind (i8 multiply)".into(),
        time(reps, || map.bind_batch(&ma, &mb, &mut mo)),
        n,
        "4.07e4",
    ));
    rows.push((
        "MAP".into(),
        "similarity (i8 dot)".into(),
        time(reps, || map.similarity_batch(&ma, &mb, &mut sims)),
        n,
        "3.48e4 (f32 ref.)",
    ));
    let mtie = map.random(&mut rng);
    rows.push((
        "MAP".into(),
        "bundle of 2 (i32 sum, sign)".into(),
        time(reps, || {
            for i in 0..n {
                black_box(map.bundle(&[&ma[i], &mb[i]], &mtie));
            }
        }),
        n,
        "4.34e4",
    ));
    let nf = n / 10;
    let fa: Vec<_> = (0..nf).map(|_| fhrr.random(&mut rng)).collect();
    let fb: Vec<_> = (0..nf).map(|_| fhrr.random(&mut rng)).collect();
    let mut fo: Vec<_> = (0..nf).map(|_| fhrr.zero()).collect();
    rows.push((
        "FHRR".into(),
        "bind (complex multiply)".into(),
        time(reps, || fhrr.bind_batch(&fa, &fb, &mut fo)),
        nf,
        "-",
    ));
    let ha: Vec<_> = (0..nf).map(|_| hrr.random(&mut rng)).collect();
    let hb: Vec<_> = (0..nf).map(|_| hrr.random(&mut rng)).collect();
    let mut ho: Vec<_> = (0..nf).map(|_| hrr.zero()).collect();
    rows.push((
        "HRR".into(),
        "bind (FFT circular convolution)".into(),
        time(reps.min(7), || hrr.bind_batch(&ha, &hb, &mut ho)),
        nf,
        "-",
    ));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Kernels, D = {d}, batches of {n} pairs (FHRR/HRR {nf}), one thread\n"
    );
    let _ = writeln!(
        s,
        "| model | operation | median per batch | pairs/s | torchhd pairs/s (anchor) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (m, op, t, k, anchor) in rows {
        let _ = writeln!(
            s,
            "| {m} | {op} | {:.3} ms | {:.3e} | {anchor} |",
            t.as_secs_f64() * 1e3,
            k as f64 / t.as_secs_f64()
        );
    }
    s.push('\n');
    Ok(s)
}

/// Flip a fraction of a binary or bipolar vector's components (exactly `round(frac·d)` of them).
fn flip(v: &Hv, d: usize, frac: f64, rng: &mut Rng) -> Hv {
    let mut idx: Vec<usize> = (0..d).collect();
    let k = (frac * d as f64).round() as usize;
    for i in 0..k {
        let j = i + rng.below((d - i) as u64) as usize;
        idx.swap(i, j);
    }
    match v {
        Hv::Bsc(b) => {
            let mut w = b.words().to_vec();
            for &i in &idx[..k] {
                w[i / 64] ^= 1 << (i % 64);
            }
            BscVec::from_words(d, w).map_or_else(|| v.clone(), Hv::Bsc)
        }
        Hv::Map(m) => {
            let mut x = m.as_slice().to_vec();
            for &i in &idx[..k] {
                x[i] = -x[i];
            }
            MapVec::from_bipolar(x).map_or_else(|| v.clone(), Hv::Map)
        }
        other => other.clone(),
    }
}

fn cleanup(quick: bool) -> Result<String> {
    let d = 10_000;
    let items = if quick { 1_000 } else { 10_000 };
    let nq = if quick { 100 } else { 1_000 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Cleanup: {nq} queries with 30% of components flipped, against {items} items, D = {d}, one thread\n"
    );
    let _ = writeln!(
        s,
        "| model | path | total | per query | queries/s | accuracy | torchhd (anchor) |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for model in [Model::Bsc, Model::Map] {
        let space = Space::new(model, d, 3)?;
        let names: Vec<String> = (0..items).map(|i| i.to_string()).collect();
        let t0 = Instant::now();
        let book = Codebook::new(&space, "Items", &names)?;
        let prep = t0.elapsed();
        let mut rng = Rng::new(17);
        let truth: Vec<usize> = (0..nq).map(|_| rng.below(items as u64) as usize).collect();
        let queries: Vec<Hv> = truth
            .iter()
            .map(|&i| flip(&book.vectors()[i], d, 0.3, &mut rng))
            .collect();
        let t = Instant::now();
        let hits = book.memory().nearest_batch(&queries)?;
        let batch = t.elapsed();
        let ok = hits
            .iter()
            .zip(&truth)
            .filter(|(h, t)| h.is_some_and(|h| h.index == **t))
            .count();
        let t = Instant::now();
        let mut ok1 = 0;
        for (q, &tr) in queries.iter().zip(&truth) {
            ok1 += usize::from(book.memory().nearest(q)?.is_some_and(|h| h.index == tr));
        }
        let single = t.elapsed();
        // Top 10 (the true item must be the first of them).
        let first_is =
            |top: &[crate::cleanup::Hit], t: usize| top.first().is_some_and(|h| h.index == t);
        let t = Instant::now();
        let tops = book.memory().top_k_batch(&queries, 10)?;
        let top_batch = t.elapsed();
        let ok_top = tops
            .iter()
            .zip(&truth)
            .filter(|(h, t)| first_is(h, **t))
            .count();
        let t = Instant::now();
        let mut ok_top1 = 0;
        for (q, &tr) in queries.iter().zip(&truth) {
            ok_top1 += usize::from(first_is(&book.memory().top_k(q, 10)?, tr));
        }
        let top_single = t.elapsed();
        let anchor = if model == Model::Bsc {
            "3.00 s batched GEMM; 1.70 q/s via `cleanup`"
        } else {
            "2.64 s batched GEMM; 3.85 q/s via `cleanup`"
        };
        for (path, t, acc) in [
            ("batch (4 queries per pass)", batch, ok),
            ("single query", single, ok1),
            ("top 10, batch (4 queries per pass)", top_batch, ok_top),
            ("top 10, single query", top_single, ok_top1),
        ] {
            let _ = writeln!(
                s,
                "| {} | {path} | {:.3} s | {:.3} ms | {:.0} | {:.1}% | {anchor} |",
                model.name().to_uppercase(),
                t.as_secs_f64(),
                t.as_secs_f64() * 1e3 / nq as f64,
                nq as f64 / t.as_secs_f64(),
                100.0 * acc as f64 / nq as f64
            );
        }
        let _ = writeln!(
            s,
            "| {} | prepare the codebook once | {:.3} s | | | | |",
            model.name().to_uppercase(),
            prep.as_secs_f64()
        );
    }
    s.push('\n');
    Ok(s)
}

/// One resonator experiment: accuracy over `trials` random 3-factor problems.
pub fn resonator_row(
    model: Model,
    d: usize,
    m: usize,
    trials: usize,
    opts: &ResonatorOptions,
) -> Result<String> {
    let space = Space::new(model, d, 100 + m as u64)?;
    let books: Vec<Codebook> = ["A", "B", "C"]
        .iter()
        .map(|n| {
            let names: Vec<String> = (0..m).map(|i| format!("{n}{i}")).collect();
            Codebook::new(&space, n, &names)
        })
        .collect::<Result<_>>()?;
    let refs: Vec<&Codebook> = books.iter().collect();
    let mut rng = Rng::new(41);
    let mut problems = Vec::new();
    let mut truth = Vec::new();
    for _ in 0..trials {
        let idx: Vec<usize> = (0..3).map(|_| rng.below(m as u64) as usize).collect();
        let mut p = books[0].vectors()[idx[0]].clone();
        for f in 1..3 {
            p = space.bind(&p, &books[f].vectors()[idx[f]])?;
        }
        problems.push(p);
        truth.push(idx);
    }
    let t = Instant::now();
    let out = resonator::factor_batch(&space, &problems, &refs, opts)?;
    let el = t.elapsed();
    let ok = out
        .iter()
        .zip(&truth)
        .filter(|(f, t)| &f.indices == *t)
        .count();
    let conv = out
        .iter()
        .filter(|f| f.outcome == Outcome::Converged)
        .count();
    let mut iters: Vec<usize> = out.iter().map(|f| f.iterations).collect();
    iters.sort_unstable();
    let restarts: usize = out.iter().map(|f| f.restarts).sum();
    let budget = opts
        .max_iters
        .unwrap_or_else(|| resonator::default_budget(m));
    Ok(format!(
        "| {} | {d} | {m} | {trials} | {budget} | **{:.1}%** | {:.1}% | {} / {} | {restarts} | {:.2} s |\n",
        model.name().to_uppercase(),
        100.0 * ok as f64 / trials as f64,
        100.0 * conv as f64 / trials as f64,
        iters[iters.len() / 2],
        iters[(iters.len() * 9) / 10],
        el.as_secs_f64()
    ))
}

fn resonator_table(quick: bool) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Resonator network, 3 factors: sequential updates; restarts on a limit cycle, a spurious fixed point, or after 100 sweeps (default options)\n"
    );
    let _ = writeln!(
        s,
        "| model | D | M per factor | problems | budget (sweeps) | exact recovery | converged | sweeps median / p90 | restarts | time |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|");
    let opts = ResonatorOptions {
        max_iters: Some(1000),
        ..ResonatorOptions::default()
    };
    let cells: &[(Model, usize, usize, usize)] = if quick {
        &[
            (Model::Map, 1000, 20, 50),
            (Model::Bsc, 1000, 20, 50),
            (Model::Fhrr, 500, 20, 20),
        ]
    } else {
        &[
            (Model::Map, 2000, 100, 200),
            (Model::Map, 1500, 79, 200),
            (Model::Map, 1000, 50, 200),
            (Model::Bsc, 2000, 100, 200),
            (Model::Fhrr, 1000, 50, 100),
            (Model::Hrr, 1000, 50, 100),
        ]
    };
    for &(model, d, m, trials) in cells {
        s.push_str(&resonator_row(model, d, m, trials, &opts)?);
    }
    if !quick {
        // Beyond the operational capacity: what restarts buy (anchor: 64% with sequential
        // updates and no restarts at this size).
        for (restarts, patience) in [
            (false, None),
            (true, None),
            (true, Some(100)),
            (true, Some(250)),
        ] {
            let o = ResonatorOptions {
                restarts,
                patience,
                ..opts.clone()
            };
            let row = resonator_row(Model::Map, 1000, 100, 100, &o)?;
            let label = match (restarts, patience) {
                (false, _) => "MAP (no restarts)".to_string(),
                (true, None) => "MAP (restart on cycle)".to_string(),
                (true, Some(p)) => format!("MAP (restart on cycle or after {p} sweeps)"),
            };
            s.push_str(&row.replacen("| MAP |", &format!("| {label} |"), 1));
        }
    }
    s.push('\n');
    Ok(s)
}

fn capacity_table(quick: bool) -> Result<String> {
    let ks: &[usize] = if quick {
        &[10, 50]
    } else {
        &[10, 25, 50, 75, 100, 150, 200]
    };
    let dims: &[usize] = if quick { &[1000] } else { &[1000, 10_000] };
    let trials = if quick { 5 } else { 20 };
    let items = 1000;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Bundle capacity: k random items of a {items}-item codebook bundled, top-k recovered ({trials} bundles per cell)\n"
    );
    let _ = writeln!(
        s,
        "| D | k | rule max k | MAP precision | MAP all | BSC precision | BSC all | HRR precision | HRR all | FHRR precision | FHRR all |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for &d in dims {
        for &k in ks {
            let _ = write!(s, "| {d} | {k} | {} |", capacity::max_items(d, items));
            for model in Model::ALL {
                let r = capacity::measure(model, d, k, items, trials, 5)?;
                let _ = write!(s, " {:.3} | {:.2} |", r.precision, r.all_recovered);
            }
            s.push('\n');
        }
    }
    s.push('\n');
    Ok(s)
}
