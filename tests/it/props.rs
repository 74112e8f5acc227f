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
