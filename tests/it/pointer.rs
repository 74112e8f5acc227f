//! `std::pointer`: pointers (`best`, `gather`) as a primitive, against plain Rust and against
//! `std::rasp`, in the interpreter and compiled.

use crate::tessera;
use proptest::prelude::*;
use tessera::{Session, VerifyOptions};
use tessera_lang::value::Val;

fn run(s: &Session, f: &str, input: &str) -> String {
    s.run(f, Some(input), &[])
        .unwrap_or_else(|e| panic!("{f} on {input:?}: {e}"))
        .render()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Pointer sort is a stable sort and equals std::rasp::sort; min, max and dedup equal Rust's.
    #[test]
    fn pointer_functions_agree_with_rust(xs in prop::collection::vec(prop::sample::select(vec!["1", "2", "3", "10", "a", "b"]), 1..14)) {
        let s = Session::stdlib();
        let input = xs.join(" ");
        let vals: Vec<Val> = xs.iter().map(|t| Val::from_token(t)).collect();
        let mut sorted = vals.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let show = |v: &[Val]| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(run(&s, "std::pointer::sort", &input), show(&sorted));
        prop_assert_eq!(run(&s, "std::pointer::sort", &input), run(&s, "std::rasp::sort", &input));
        let max = vals.iter().fold(&vals[0], |m, v| if v.total_cmp(m).is_gt() { v } else { m });
        let min = vals.iter().fold(&vals[0], |m, v| if v.total_cmp(m).is_lt() { v } else { m });
        prop_assert_eq!(run(&s, "std::pointer::max", &input), vec![max.to_string(); vals.len()].join(" "));
        prop_assert_eq!(run(&s, "std::pointer::min", &input), vec![min.to_string(); vals.len()].join(" "));
        let argmax = vals.iter().position(|v| v.total_cmp(max).is_eq()).unwrap();
        prop_assert_eq!(run(&s, "std::pointer::argmax", &input), vec![argmax.to_string(); vals.len()].join(" "));
        let mut seen: Vec<&Val> = Vec::new();
        for v in &vals {
            if !seen.iter().any(|w| w.eq_val(v)) {
                seen.push(v);
            }
        }
        let mut want: Vec<String> = seen.iter().map(ToString::to_string).collect();
        want.resize(vals.len(), "none".into());
        prop_assert_eq!(run(&s, "std::pointer::dedup", &input), want.join(" "));
        prop_assert_eq!(run(&s, "std::pointer::first_occurrence", &input), run(&s, "std::rasp::first_occurrence", &input));
    }

    /// Dyck-2 with a pointer head equals std::rasp::dyck2_ptf.
    #[test]
    fn pointer_dyck2_equals_rasp(xs in prop::collection::vec(prop::sample::select(vec!["(", ")", "{", "}", "x"]), 0..16)) {
        let s = Session::stdlib();
        let input = xs.join(" ");
        prop_assert_eq!(run(&s, "std::pointer::dyck2_ptf", &input), run(&s, "std::rasp::dyck2_ptf", &input));
    }
}

/// Every std::pointer function compiles to a transformer that agrees with the interpreter on
/// every input up to the length given.
#[test]
fn pointer_functions_compile_exactly() {
    let s = Session::stdlib();
    for (f, vocab, len) in [
        ("argmax", &["1", "2", "3"][..], 4),
        ("argmin", &["1", "2", "3"][..], 4),
        ("max", &["1", "2", "3"][..], 4),
        ("min", &["a", "b", "c"][..], 4),
        ("first_index", &["a", "b"][..], 5),
        ("sort", &["1", "2", "3"][..], 4),
        ("dedup", &["a", "b", "c"][..], 4),
        ("dyck2_ptf", &["(", ")", "{", "}"][..], 5),
    ] {
        let entry = format!("std::pointer::{f}");
        let (model, report) = s
            .verify(&entry, vocab, len, &[], VerifyOptions::default())
            .unwrap_or_else(|e| panic!("{entry}: {e}"));
        assert!(report.exhaustive && report.compared > 0, "{entry}");
        assert_eq!(report.mismatch_count, 0, "{entry}: {:?}", report.mismatches);
        if f == "dyck2_ptf" {
            let (rasp, _) = s
                .verify(
                    "std::rasp::dyck2_ptf",
                    vocab,
                    len,
                    &[],
                    VerifyOptions::default(),
                )
                .expect("rasp dyck2 compiles");
            // One pointer head replaces two counting heads and an aggregate.
            let heads =
                |m: &tessera::CompiledModel| m.stats().heads_per_layer.iter().sum::<usize>();
            assert!(
                heads(&model) < heads(&rasp),
                "{} vs {}",
                heads(&model),
                heads(&rasp)
            );
            // RASP's "3 layers and 1 head" with a `best`: a mean, the pointer (reading its
            // selector's three comparisons as a sum, no joint key feature, and the gather in
            // the same head), and one width; still so at max_len 32.
            assert_eq!(model.stats().heads_per_layer, vec![1, 1, 1]);
            let long = s
                .compile(&entry, vocab, 32, &[])
                .unwrap_or_else(|e| panic!("{entry} at 32: {e}"));
            assert_eq!(long.stats().heads_per_layer, vec![1, 1, 1]);
            assert!(long.stats().params < 10_000_000, "{}", long.stats().params);
        }
    }
}

/// The CI smoke test of the issue: a short seeded sort training beats chance by far, the
/// weights round-trip, and a damaged file is refused. Plus `ptr compare`.
#[test]
fn ptrnet_train_eval_compare_on_the_command_line() {
    let dir = std::env::temp_dir().join(format!("tessera-ptr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let w = dir.join("sort5.safetensors");
    let ws = w.to_str().expect("utf-8");
    let (code, out, err) = tessera(&[
        "train",
        "ptrnet",
        "--task",
        "sort",
        "--n",
        "5",
        "--steps",
        "150",
        "--batch",
        "64",
        "--hidden",
        "32",
        "--lr",
        "0.003",
        "--eval-every",
        "0",
        "--seed",
        "3",
        "-o",
        ws,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("150 steps"), "{out}");
    let (code, out, err) = tessera(&[
        "eval",
        "ptrnet",
        "--task",
        "sort",
        "--n",
        "5",
        "-w",
        ws,
        "--samples",
        "500",
    ]);
    assert_eq!(code, 0, "{err}");
    let acc: f64 = out
        .split("accuracy ")
        .nth(1)
        .and_then(|r| r.split('%').next())
        .and_then(|x| x.parse().ok())
        .expect("an accuracy");
    // Chance is 1/120 (0.8%).
    assert!(acc > 20.0, "{out}");
    // Same weights, same predictions: evaluating twice prints the same line.
    let (_, again, _) = tessera(&[
        "eval",
        "ptrnet",
        "--task",
        "sort",
        "--n",
        "5",
        "-w",
        ws,
        "--samples",
        "500",
    ]);
    assert_eq!(out, again);
    let (code, _, err) = tessera(&["eval", "ptrnet", "--task", "hull", "--n", "5", "-w", ws]);
    assert_eq!(code, 2, "{err}");
    let bad = dir.join("bad.safetensors");
    let mut bytes = std::fs::read(&w).expect("weights");
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    std::fs::write(&bad, bytes).expect("write");
    let (code, _, err) = tessera(&[
        "eval",
        "ptrnet",
        "--task",
        "sort",
        "--n",
        "5",
        "-w",
        bad.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot load the pointer network"), "{err}");
    // Distillation: the compiled program labels the batches.
    let d = dir.join("distilled.safetensors");
    let (code, out, err) = tessera(&[
        "train",
        "ptrnet",
        "--task",
        "sort",
        "--n",
        "5",
        "--distill",
        "--steps",
        "60",
        "--batch",
        "32",
        "--hidden",
        "16",
        "--eval-every",
        "0",
        "-o",
        d.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("60 steps"), "{out}");
    let (code, out, err) = tessera(&["ptr", "compare", "--n", "8", "--samples", "300"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("300/300 identical"), "{out}");
    std::fs::remove_dir_all(dir).ok();
}
