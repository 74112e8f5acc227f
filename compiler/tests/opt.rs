//! Equality saturation: it never changes a result, never adds layers, and its output for the
//! standard library is pinned by snapshots (optimised IR with the rules that fired).

use proptest::prelude::*;
use tessera_compiler::opt::{OptLimits, optimize};
use tessera_compiler::{analysis, ast_to_ir, eval};
use tessera_lang::interp::{ArgValue, EntryArgs};
use tessera_lang::program::{Program, TableLoader};
use tessera_lang::value::Val;

const STD: TableLoader = TableLoader(tessera_stdlib::MODULES);

fn program(src: &str) -> Program {
    let (p, diags) = Program::load("<t>", src, &STD);
    assert!(diags.is_empty(), "{diags:?}");
    p
}

fn args_for(f: &str) -> EntryArgs {
    let mut a = EntryArgs::default();
    if f == "detect_pattern" {
        a.values.insert(
            "pattern".into(),
            ArgValue::List(vec![Val::from_token("a"), Val::from_token("b")]),
        );
    }
    a
}

fn lowered(p: &Program, entry: &str, args: &EntryArgs) -> tessera_compiler::Ir {
    let def = p.resolve_str(entry).expect("exists");
    ast_to_ir(p, def, args).expect("lowers")
}

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "x", "(", ")", "{", "}", "+", "1", "2", "9", "0",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn optimisation_preserves_meaning(f in prop::sample::select(tessera_stdlib::functions("std::rasp")), toks in prop::collection::vec(token(), 0..14)) {
        let p = program("");
        let args = args_for(f);
        let ir = lowered(&p, &format!("std::rasp::{f}"), &args);
        let (opt, _) = optimize(&ir, &OptLimits::default());
        let input: Vec<Val> = toks.iter().map(|t| Val::from_token(t)).collect();
        match (eval(&ir, &input), eval(&opt, &input)) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{} on {:?}\n{}", f, toks, opt.render()),
            (Err(_), Err(_)) => {}
            (a, b) => prop_assert!(false, "{} on {:?}: before {:?}, after {:?}\n{}", f, toks, a.map(|o| o.render()), b.map(|o| o.render()), opt.render()),
        }
    }
}

#[test]
fn optimisation_never_adds_layers_or_heads() {
    let p = program("");
    for f in tessera_stdlib::functions("std::rasp") {
        let ir = lowered(&p, &format!("std::rasp::{f}"), &args_for(f));
        let (opt, report) = optimize(&ir, &OptLimits::default());
        let (a, b) = (analysis::analyse(&ir), analysis::analyse(&opt));
        assert!(
            b.layers <= a.layers,
            "{f}: {} -> {}",
            a.render(),
            b.render()
        );
        assert!(
            report.nodes_after <= report.nodes_before,
            "{f}: {}",
            report.render()
        );
    }
}

#[test]
fn reverse_optimised() {
    let p = program("");
    let ir = lowered(&p, "std::rasp::reverse", &EntryArgs::default());
    let (opt, report) = optimize(&ir, &OptLimits::default());
    insta::assert_snapshot!(format!(
        "fn reverse(xs) {{ let opp = length(xs) - indices - 1; aggregate(select(indices, opp, ==), xs) }}\n---\nbefore:\n{}\nafter:\n{}\n{}",
        ir.render(),
        opt.render(),
        report.render()
    ));
}

#[test]
fn algebra_and_folding() {
    let src = "fn main() {\n\
        let s = !!select(tokens, tokens, <) & select(indices, indices, true);\n\
        let t = !select(indices, indices, ==);\n\
        let m = map(map(tokens, |x| x == \"a\"), |b| if b then 1 else 0);\n\
        let k = aggregate(select(indices, indices, ==), m + (2 * 3));\n\
        width(s | t) + k\n\
    }";
    let p = program(src);
    let ir = lowered(&p, "main", &EntryArgs::default());
    let (opt, report) = optimize(&ir, &OptLimits::default());
    for toks in [vec![], vec!["a"], vec!["b", "a", "c", "a"]] {
        let input: Vec<Val> = toks.iter().map(|t| Val::from_token(t)).collect();
        assert_eq!(eval(&ir, &input), eval(&opt, &input));
    }
    insta::assert_snapshot!(format!(
        "{src}\n---\nbefore:\n{}\nafter:\n{}\n{}",
        ir.render(),
        opt.render(),
        report.render()
    ));
}

#[test]
fn limits_stop_saturation_and_say_so() {
    let p = program("");
    let ir = lowered(&p, "std::rasp::dyck2_ptf", &EntryArgs::default());
    let limits = OptLimits {
        iterations: 1,
        ..OptLimits::default()
    };
    let (opt, report) = optimize(&ir, &limits);
    assert_eq!(report.stop_reason, "iteration limit (1)");
    let input: Vec<Val> = ["(", "{", "}", ")"]
        .iter()
        .map(|t| Val::from_token(t))
        .collect();
    assert_eq!(eval(&ir, &input), eval(&opt, &input));
}
