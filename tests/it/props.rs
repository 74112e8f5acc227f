//! Properties: every stdlib function, run on random inputs, returns a value or a clean error
//! (never a panic); and the interpreter's fast paths agree with the general ones.

use proptest::prelude::*;
use tessera::Session;

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "a", "b", "x", "(", ")", "{", "}", "+", "-", "none", "true"
        ])
        .prop_map(str::to_string),
        (-20i64..20).prop_map(|i| i.to_string()),
        (0u8..10).prop_map(|d| d.to_string()),
        Just("99999999999999999999".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn stdlib_never_panics(f in prop::sample::select(tessera_stdlib::functions("std::rasp")), toks in prop::collection::vec(token(), 0..24)) {
        let session = Session::stdlib();
        let input = toks.join(" ");
        let args: Vec<(String, String)> = if f == "detect_pattern" {
            vec![("pattern".into(), "[a,b]".into())]
        } else {
            vec![]
        };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            session.run(&format!("std::rasp::{f}"), Some(&input), &args).map(|o| o.render())
        }));
        prop_assert!(r.is_ok(), "std::rasp::{} panicked on {:?}", f, input);
        if let Ok(Err(e)) = r {
            // Errors are diagnostics with a kind and a place.
            prop_assert!(!e.kinds().is_empty());
        }
    }

    /// `sort` agrees with a stable sort, on any mix of ints and strings, with duplicates.
    #[test]
    fn sort_is_a_stable_sort(toks in prop::collection::vec(token(), 0..30)) {
        let session = Session::stdlib();
        let input = toks.join(" ");
        let out = session.run("std::rasp::sort", Some(&input), &[]).expect("sort runs").render();
        let mut vals: Vec<tessera_lang::value::Val> = input.split_whitespace().map(tessera_lang::value::Val::from_token).collect();
        vals.sort_by(|a, b| a.total_cmp(b));
        let want = vals.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(out, want);
    }

    /// The integer fast path of `select` equals the general comparison.
    #[test]
    fn select_fast_path_agrees(xs in prop::collection::vec(-5i64..5, 0..16)) {
        let input = xs.iter().map(i64::to_string).collect::<Vec<_>>().join(" ");
        let src = "fn main() = width(select(tokens, tokens, <=) & !select(tokens, tokens, ==))\n\
                   fn general() = width(select(tokens, tokens, |k, q| k <= q and not (k == q)))\n\
                   fn strs() = width(select(map(tokens, |x| float(x)), map(tokens, |x| float(x)), <))";
        let s = Session::from_source("t.tess", src).expect("checks");
        let a = s.run("main", Some(&input), &[]).expect("runs").render();
        let b = s.run("general", Some(&input), &[]).expect("runs").render();
        let c = s.run("strs", Some(&input), &[]).expect("runs").render();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
    }
}

/// Value-set inference is sound: every value the interpreter produces on an input from the
/// vocabulary, of at most `max_len` tokens, is in the inferred set of the result.
#[test]
fn value_sets_contain_every_output() {
    use proptest::test_runner::{Config, TestRunner};
    let session = Session::stdlib();
    let vocab = ["a", "b", "(", ")", "{", "}", "+", "1", "2", "9"];
    let max_len = 6;
    let mut runner = TestRunner::new(Config::with_cases(48));
    for f in tessera_stdlib::functions("std::rasp") {
        let args: Vec<(String, String)> = if f == "detect_pattern" {
            vec![("pattern".into(), "[a,b]".into())]
        } else {
            vec![]
        };
        let entry = format!("std::rasp::{f}");
        let sets = session
            .value_sets(&entry, &vocab, max_len, &args)
            .expect("inference runs");
        let tessera::VSet::Finite(allowed) = &sets.result else {
            panic!("{entry}: the result set should be finite over a finite vocabulary");
        };
        let strategy = prop::collection::vec(prop::sample::select(vocab.to_vec()), 0..=max_len);
        runner
            .run(&strategy, |toks| {
                let input = toks.join(" ");
                if let Ok(tessera::Output::Seq(s)) = session.run(&entry, Some(&input), &args) {
                    for v in &s.vals {
                        prop_assert!(
                            allowed.contains(v),
                            "{}: `{}` on {:?} is not in {}",
                            entry,
                            v,
                            input,
                            sets.result.render()
                        );
                    }
                }
                Ok(())
            })
            .expect("sound");
    }
}

/// Programs of every block kind, with a vocabulary, for the sparse engine property below.
const SPARSE_PROGRAMS: &[(&str, &[&str])] = &[
    ("std::rasp::reverse", &["a", "b", "c", "d"]),
    ("std::rasp::hist", &["a", "b", "c"]),
    ("std::rasp::sort", &["a", "b", "c", "d", "e"]),
    ("std::rasp::sort_by_most_freq", &["a", "b", "c"]),
    ("std::rasp::double_hist", &["a", "b", "c"]),
    ("std::rasp::dyck1_ptf", &["(", ")", "x"]),
    ("std::rasp::shuffle_dyck2", &["(", ")", "{", "}"]),
    ("std::rasp::pair_balance", &["(", ")", "x"]),
    ("std::pointer::dyck2_ptf", &["(", ")", "{", "}"]),
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261127),
        ..ProptestConfig::default()
    })]
    /// The sparse engine's shortcuts (a head attends once per distinct query row; an MLP computes
    /// its output once per distinct input, a head with computed keys its rows once per distinct
    /// input, all kept from call to call) never change a result: random batches, with some
    /// inputs repeated so the caches hit, from token strings, from token ids (a second call) and
    /// as ids out (a third), equal the interpreter.
    #[test]
    fn sparse_engine_batches_equal_the_interpreter(
        pick in 0..SPARSE_PROGRAMS.len(),
        seqs in prop::collection::vec(prop::collection::vec(0usize..8, 0..=10), 1..40),
        repeats in 0usize..20,
    ) {
        let (entry, vocab) = SPARSE_PROGRAMS[pick];
        let session = Session::stdlib();
        let model = session.compile(entry, vocab, 10, &[]).expect("compiles");
        let mut inputs: Vec<String> = seqs
            .iter()
            .map(|s| s.iter().map(|&t| vocab[t % vocab.len()]).collect::<Vec<_>>().join(" "))
            .collect();
        let again: Vec<String> = inputs.iter().take(repeats).cloned().collect();
        inputs.extend(again);
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let got = model.exec_sparse(&refs).expect("runs");
        let engine = model.sparse_engine();
        let ids: Vec<Vec<usize>> = inputs
            .iter()
            .map(|s| {
                s.split_whitespace()
                    .map(|t| {
                        let v = tessera_lang::value::Val::from_token(t);
                        engine.vocab().iter().position(|x| *x == v).expect("in the vocabulary")
                    })
                    .collect()
            })
            .collect();
        let by_ids = engine.forward_ids(&ids).expect("runs");
        prop_assert_eq!(&by_ids, &got);
        // (`pair_balance` gives numbers: no output ids)
        if let Some(values) = engine.output_values() {
            let mut out_ids = Vec::new();
            engine.forward_ids_out(&ids, &mut out_ids).expect("runs");
            let as_values: Vec<&tessera_lang::value::Val> =
                out_ids.iter().map(|&i| &values[i as usize]).collect();
            prop_assert_eq!(as_values, got.iter().flatten().collect::<Vec<_>>());
        }
        for (input, out) in inputs.iter().zip(&got) {
            let want = match session.run(entry, Some(input), &[]) {
                Ok(tessera::Output::Seq(s)) => s.vals,
                other => panic!("{entry} on `{input}`: {other:?}"),
            };
            prop_assert_eq!(out, &want, "{} on `{}`", entry, input);
        }
    }
}
