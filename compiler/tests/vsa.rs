//! Vector-symbolic programs through the compiler: the IR (before and after optimisation) computes
//! what the interpreter computes in every model, the VSA rewrite rules fire where they are exact
//! (and only there), and map/bsc programs compile to models that agree with the interpreter on
//! every short input, in soft and hard attention.

use std::collections::BTreeSet;
use tessera_compiler::ast_to_ir;
use tessera_compiler::eval::eval;
use tessera_compiler::graph::Attention;
use tessera_compiler::ir_to_graph::ir_to_graph;
use tessera_compiler::opt::{OptLimits, optimize};
use tessera_lang::interp::{EntryArgs, Interp, Output};
use tessera_lang::program::{Program, TableLoader};
use tessera_lang::value::Val;

const STD: TableLoader = TableLoader(tessera_stdlib::MODULES);

/// The same programs in a space of each model (`{M}` is the model, `{D}` the dimension).
const TEMPLATE: &str = r#"
space S = {M}(dim: {D}, seed: 5);
symbols T in S = [a, b, c];
symbols R in S = [r, s];
fn unbind() = cleanup(embed(tokens, T) * R.r / R.r, T)
fn bundled() = cleanup(embed(tokens, T) + T.a + T.b, T, min: 0.2)
fn similar() = sim(embed(tokens, T), T.a)
fn sequence() {
    let whole = sum(select(indices, indices, true), permute(embed(tokens, T), indices));
    cleanup(permute(whole, 0 - indices), T)
}
fn prefix() = cleanup(sum(select(indices, indices, <=), embed(tokens, T) * R.s) / R.s, T)
fn algebra() = cleanup(permute(permute(embed(tokens, T), 3), -3) * R.r * R.r, T)
fn record() = cleanup((R.r * embed(tokens, T) + R.s * T.c + T.b) / R.r, T, min: 0.1)
fn plain_record() = cleanup((R.r * embed(tokens, T) + R.s * T.c + T.b) / R.r, T)
fn shifted() = cleanup(permute(permute(embed(tokens, T), indices) * R.s, 0 - indices) / R.s, T)
fn by_constant() = cleanup(embed(tokens, T) * (T.a + T.b) / (T.a + T.b), T)
fn summed_sim() = sim(sum(select(indices, indices, <=), embed(tokens, T)), T.a)
"#;

const ENTRIES: [&str; 11] = [
    "unbind",
    "bundled",
    "similar",
    "sequence",
    "prefix",
    "algebra",
    "record",
    "plain_record",
    "shifted",
    "by_constant",
    "summed_sim",
];

fn program(model: &str, dim: usize) -> Program {
    let src = TEMPLATE
        .replace("{M}", model)
        .replace("{D}", &dim.to_string());
    let (p, diags) = Program::load("<vsa>", &src, &STD);
    assert!(diags.is_empty(), "{diags:?}");
    let check = tessera_lang::check::check_program(&p);
    assert!(
        check
            .iter()
            .all(|d| d.severity != tessera_lang::diag::Severity::Error),
        "{check:?}"
    );
    p
}

fn inputs(max_len: usize) -> Vec<Vec<Val>> {
    let vocab = ["a", "b", "c"];
    let mut out = vec![vec![]];
    let mut layer: Vec<Vec<Val>> = vec![vec![]];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for s in &layer {
            for v in vocab {
                let mut t = s.clone();
                t.push(Val::from_token(v));
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out
}

fn same(
    a: &Result<Output, impl std::fmt::Debug>,
    b: &Result<Output, impl std::fmt::Debug>,
) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

#[test]
fn ir_equals_interpreter_in_every_model() {
    for model in ["map", "bsc", "hrr", "fhrr"] {
        let p = program(model, 128);
        for entry in ENTRIES {
            let def = p.resolve_str(entry).expect("entry");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            let (opt, _) = optimize(&ir, &OptLimits::default());
            for input in inputs(3) {
                let want = Interp::new(&p, Some(&input)).run_entry(def, &EntryArgs::default());
                let got = eval(&ir, &input);
                assert!(
                    same(&want, &got),
                    "{model} {entry} on {input:?}: {want:?} vs {got:?}"
                );
                let got = eval(&opt, &input);
                assert!(
                    same(&want, &got),
                    "{model} {entry} optimised on {input:?}: {want:?} vs {got:?}"
                );
            }
        }
    }
}

#[test]
fn vsa_rules_fire_only_where_exact() {
    let fired = |model: &str, entry: &str| {
        let p = program(model, 64);
        let def = p.resolve_str(entry).expect("entry");
        let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
        optimize(&ir, &OptLimits::default()).1.rules_fired
    };
    let map = fired("map", "algebra");
    for rule in ["permute-compose", "bind-cancel", "bind-comm"] {
        assert!(
            map.get(rule).is_some_and(|&n| n > 0),
            "map: {rule} in {map:?}"
        );
    }
    let hrr = fired("hrr", "algebra");
    assert!(
        hrr.get("permute-compose").is_some_and(|&n| n > 0),
        "{hrr:?}"
    );
    assert!(
        !hrr.contains_key("bind-cancel"),
        "hrr has no exact self-inverse: {hrr:?}"
    );
    let unbind = fired("bsc", "unbind");
    assert!(
        unbind.get("unbind-is-bind").is_some_and(|&n| n > 0),
        "{unbind:?}"
    );
    // After optimisation, `x * r * r` is `x`: no bind is left.
    let p = program("map", 64);
    let def = p.resolve_str("algebra").expect("entry");
    let (opt, _) = optimize(
        &ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers"),
        &OptLimits::default(),
    );
    let text = opt.render();
    assert!(
        !text.contains("bind") && !text.contains("permute"),
        "{text}"
    );
}

#[test]
fn map_and_bsc_programs_compile_exactly() {
    for (model, dim) in [("map", 32), ("bsc", 40)] {
        let p = program(model, dim);
        for entry in ENTRIES {
            let def = p.resolve_str(entry).expect("entry");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            for optimise in [false, true] {
                let ir = if optimise {
                    optimize(&ir, &OptLimits::default()).0
                } else {
                    ir.clone()
                };
                let vocab: Vec<Val> = ["a", "b", "c"].iter().map(|t| Val::from_token(t)).collect();
                let m = ir_to_graph(&ir, &vocab, 3)
                    .unwrap_or_else(|e| panic!("{model} {entry}: {}", e.message));
                let mut checked = 0;
                for input in inputs(3) {
                    let Ok(Output::Seq(want)) =
                        Interp::new(&p, Some(&input)).run_entry(def, &EntryArgs::default())
                    else {
                        continue;
                    };
                    let soft = m.forward(&input).expect("runs");
                    assert_eq!(
                        soft, want.vals,
                        "{model} {entry} opt={optimise} on {input:?}"
                    );
                    let hard = m.forward_with(&input, Attention::Hard).expect("runs");
                    assert_eq!(
                        hard, want.vals,
                        "{model} {entry} opt={optimise} (hard) on {input:?}"
                    );
                    checked += 1;
                }
                assert!(checked >= 39, "{model} {entry}: {checked}");
            }
        }
    }
}

/// HRR and FHRR binding, unbinding, permutations (constant and per position), HRR bundles that
/// only reach cleanup, and HRR unbinding by a constant that is not unitary compile to bilinear
/// sublayers (HRR `sum`: an averaging head), and the models give the interpreter's result on
/// every input up to length 3, in soft and hard attention, with and without optimisation.
/// (`prefix` on `a b` cleans up `a + b`: a tie in exact arithmetic, which both sides give to
/// the first item whatever their rounding, by `REAL_TIE`.)
#[test]
fn hrr_and_fhrr_models_agree_with_the_interpreter_after_cleanup() {
    for (model, entries) in [
        (
            "hrr",
            &[
                "unbind",
                "plain_record",
                "shifted",
                "by_constant",
                "sequence",
                "prefix",
            ][..],
        ),
        ("fhrr", &["unbind", "shifted", "by_constant"][..]),
    ] {
        let p = program(model, 64);
        let vocab: Vec<Val> = ["a", "b", "c"].iter().map(|t| Val::from_token(t)).collect();
        for &entry in entries {
            let def = p.resolve_str(entry).expect("entry");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            for optimise in [false, true] {
                let ir = if optimise {
                    optimize(&ir, &OptLimits::default()).0
                } else {
                    ir.clone()
                };
                let m = ir_to_graph(&ir, &vocab, 3)
                    .unwrap_or_else(|e| panic!("{model} {entry}: {}", e.message));
                assert!(
                    m.layers.iter().any(|l| l.bilinear.is_some()),
                    "{model} {entry}: no bilinear sublayer"
                );
                let mut outputs = BTreeSet::new();
                for input in inputs(3) {
                    let want =
                        match Interp::new(&p, Some(&input)).run_entry(def, &EntryArgs::default()) {
                            Ok(Output::Seq(s)) => s.vals,
                            other => panic!("{model} {entry} on {input:?}: {other:?}"),
                        };
                    let got = m.forward(&input).expect("runs");
                    assert_eq!(got, want, "{model} {entry} opt={optimise} on {input:?}");
                    let hard = m.forward_with(&input, Attention::Hard).expect("runs");
                    assert_eq!(hard, want, "{model} {entry} opt={optimise} (hard)");
                    outputs.extend(want);
                }
                // Every symbol comes back somewhere: the models do not answer a constant.
                assert_eq!(outputs.len(), 3, "{model} {entry}: {outputs:?}");
            }
        }
    }
}

/// What needs a length or a division in HRR and FHRR is refused before anything is built,
/// with the reason and the place.
#[test]
fn hrr_and_fhrr_refusals_name_the_reason() {
    let cases: [(&str, &str, &str); 8] = [
        ("hrr", "similar", "`sim` over a `hrr` space"),
        ("fhrr", "similar", "`sim` over a `fhrr` space"),
        ("fhrr", "sequence", "`sum` over an `fhrr` space"),
        ("fhrr", "prefix", "`sum` over an `fhrr` space"),
        ("hrr", "summed_sim", "this `hrr` sum does not compile"),
        // its bundle reaches a cleanup with a threshold, which needs the length
        ("hrr", "record", "this `hrr` bundle does not compile"),
        ("hrr", "bundled", "this `hrr` bundle does not compile"),
        ("fhrr", "plain_record", "a bundle over an `fhrr` space"),
    ];
    for (model, entry, want) in cases {
        let p = program(model, 32);
        let def = p.resolve_str(entry).expect("entry");
        let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
        let e = ir_to_graph(&ir, &[Val::from_token("a")], 3).expect_err("refused");
        assert!(e.message.contains(want), "{model} {entry}: {}", e.message);
        assert!(e.span.end > e.span.start, "{model} {entry}: no place");
    }
}

#[test]
fn constant_vsa_programs_fold_to_their_value() {
    let src = "space S = bsc(dim: 2000, seed: 7);\n\
               symbols C in S = [red, green];\n\
               symbols R in S = [color];\n\
               fn main() = cleanup(R.color * C.green / R.color, C)\n";
    let (p, diags) = Program::load("<c>", src, &STD);
    assert!(diags.is_empty());
    let def = p.resolve_str("main").expect("main");
    let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
    assert_eq!(
        eval(&ir, &[]).expect("runs"),
        Output::Scalar(Val::Str("green".into()))
    );
}

/// Random VSA expressions over the input (bind, unbind, bundles, constant and per-position
/// permutations, prefix sums) read out by cleanup: the IR, the optimised IR and the compiled
/// model all give the interpreter's result on every input up to length 3 (map and bsc always
/// compile; hrr and fhrr compile or refuse with the reason).
mod random_programs {
    use super::*;
    use proptest::prelude::*;

    fn hv_expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("embed(tokens, T)".to_string()),
            Just("R.r".to_string()),
            Just("R.s".to_string()),
            Just("T.a".to_string()),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} / {b})")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(a, b, c)| format!("({a} + {b} + {c})")),
                (inner.clone(), -5i64..5).prop_map(|(a, k)| format!("permute({a}, {k})")),
                inner.clone().prop_map(|a| format!("permute({a}, indices)")),
                inner.prop_map(|a| format!("sum(select(indices, indices, <=), {a})")),
            ]
        })
    }

    /// Expressions HRR and FHRR compile: binding, unbinding by an atom, shifts.
    fn real_expr() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("embed(tokens, T)".to_string()),
            Just("R.r".to_string()),
            Just("R.s".to_string()),
            Just("T.a".to_string()),
        ];
        let atom = prop_oneof![Just("R.r"), Just("R.s"), Just("T.b")];
        leaf.prop_recursive(3, 10, 2, move |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
                (inner.clone(), atom.clone()).prop_map(|(a, b)| format!("({a} / {b})")),
                (inner.clone(), -5i64..5).prop_map(|(a, k)| format!("permute({a}, {k})")),
                inner.prop_map(|a| format!("permute({a}, indices)")),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            rng_seed: proptest::test_runner::RngSeed::Fixed(20261128),
            ..ProptestConfig::default()
        })]
        /// HRR and FHRR programs built from what they compile (and, in HRR, bundles that reach
        /// cleanup through an unbinding) always compile, to models that agree with the
        /// interpreter on every input up to length 3.
        #[test]
        fn random_hrr_and_fhrr_programs_compile_and_agree(
            a in real_expr(), b in real_expr(), fhrr in any::<bool>(), bundle in any::<bool>()
        ) {
            let (model, body) = if fhrr || !bundle {
                (if fhrr { "fhrr" } else { "hrr" }, a)
            } else {
                ("hrr", format!("(R.r * {a} + {b} + T.c) / R.r"))
            };
            let src = format!(
                "space S = {model}(dim: 32, seed: 4);\nsymbols T in S = [a, b, c];\nsymbols R in S = [r, s];\nfn main() = cleanup({body}, T)\n"
            );
            let (p, diags) = Program::load("<vsa>", &src, &STD);
            prop_assert!(diags.is_empty(), "{diags:?}");
            let def = p.resolve_str("main").expect("main");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            let (opt, _) = optimize(&ir, &OptLimits::default());
            let vocab: Vec<Val> = ["a", "b", "c"].iter().map(|t| Val::from_token(t)).collect();
            if !matches!(opt.output, Some(tessera_compiler::ir::IrOutput::Seq(_))) {
                return Ok(());
            }
            let m = ir_to_graph(&opt, &vocab, 3);
            prop_assert!(m.is_ok(), "{src}: {:?}", m.as_ref().err());
            let m = m.expect("compiled");
            for input in inputs(3) {
                let want = Interp::new(&p, Some(&input)).run_entry(def, &EntryArgs::default());
                if let Ok(Output::Seq(w)) = &want {
                    prop_assert_eq!(&m.forward(&input).expect("runs"), &w.vals, "model: {} on {:?}", src, input);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 96,
            rng_seed: proptest::test_runner::RngSeed::Fixed(20261129),
            ..ProptestConfig::default()
        })]
        #[test]
        fn random_vsa_programs_agree_everywhere(e in hv_expr(), which in 0usize..4, thr in any::<bool>()) {
            let model = ["map", "bsc", "hrr", "fhrr"][which];
            let real = which >= 2;
            let min = if thr { ", min: 0.55" } else { "" };
            let src = format!(
                "space S = {model}(dim: 24, seed: 2);\nsymbols T in S = [a, b, c];\nsymbols R in S = [r, s];\nfn main() = cleanup({e}, T{min})\n"
            );
            let (p, diags) = Program::load("<vsa>", &src, &STD);
            prop_assert!(diags.is_empty(), "{diags:?}");
            let def = p.resolve_str("main").expect("main");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            let (opt, _) = optimize(&ir, &OptLimits::default());
            let vocab: Vec<Val> = ["a", "b", "c"].iter().map(|t| Val::from_token(t)).collect();
            let m = ir_to_graph(&opt, &vocab, 3);
            if matches!(opt.output, Some(tessera_compiler::ir::IrOutput::Seq(_))) {
                match &m {
                    // HRR and FHRR refuse what needs a length or a division, and say so.
                    Err(e) if real => prop_assert!(e.message.contains("does not compile"), "{src}: {}", e.message),
                    _ => prop_assert!(m.is_ok(), "{src}: {:?}", m.as_ref().err()),
                }
            }
            for input in inputs(3) {
                let want = Interp::new(&p, Some(&input)).run_entry(def, &EntryArgs::default());
                prop_assert!(same(&want, &eval(&ir, &input)), "IR: {src} on {input:?}");
                prop_assert!(same(&want, &eval(&opt, &input)), "opt IR: {src} on {input:?}");
                if let (Ok(Output::Seq(w)), Ok(m)) = (&want, &m) {
                    prop_assert_eq!(&m.forward(&input).expect("runs"), &w.vals, "model: {} on {:?}", src, input);
                }
            }
        }
    }
}
