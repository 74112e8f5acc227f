//! The IR agrees with the interpreter, and its layer analysis with RASP's.

use proptest::prelude::*;
use tessera_compiler::ir::Fun;
use tessera_compiler::{analysis, ast_to_ir, eval};
use tessera_lang::interp::{ArgValue, EntryArgs, Interp};
use tessera_lang::program::{Program, TableLoader};
use tessera_lang::value::Val;

const STD: TableLoader = TableLoader(tessera_stdlib::MODULES);

fn program() -> Program {
    let (p, diags) = Program::load("<t>", "", &STD);
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

fn token() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "x", "(", ")", "{", "}", "+", "1", "2", "9", "0",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// On every stdlib function and random inputs: same output, or both fail.
    #[test]
    fn ir_agrees_with_the_interpreter(f in prop::sample::select(tessera_stdlib::functions("std::rasp")), toks in prop::collection::vec(token(), 0..16)) {
        let p = program();
        let def = p.resolve_str(&format!("std::rasp::{f}")).expect("exists");
        let args = args_for(f);
        let ir = ast_to_ir(&p, def, &args).expect("lowers");
        let input: Vec<Val> = toks.iter().map(|t| Val::from_token(t)).collect();
        let want = Interp::new(&p, Some(&input)).run_entry(def, &args);
        let got = eval(&ir, &input);
        match (want, got) {
            (Ok(w), Ok(g)) => prop_assert_eq!(w, g, "{} on {:?}", f, toks),
            (Err(_), Err(_)) => {}
            (w, g) => prop_assert!(false, "{} on {:?}: interpreter {:?}, IR {:?}", f, toks, w.map(|o| o.render()), g.map(|o| o.render())),
        }
    }
}

/// Layers and heads by RASP's rules (anchors/rasp.md §1.6): Tessera's programs need no more
/// layers than RASP's own versions (reverse 2, hist 1, sort 2, most-freq 3, dyck1 2, dyck2 4).
#[test]
fn layer_analysis_matches_or_beats_rasp() {
    let p = program();
    let mut table = String::new();
    for (f, rasp_layers) in [
        ("reverse", 2),
        ("hist", 1),
        ("sort", 2),
        ("sort_by_most_freq", 3),
        ("dyck1_ptf", 2),
        ("dyck2_ptf", 4),
        ("double_hist", 2),
        ("frac_prevs", 1),
    ] {
        let def = p.resolve_str(&format!("std::rasp::{f}")).expect("exists");
        let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
        let a = analysis::analyse(&ir);
        table.push_str(&format!(
            "{f}: {} (RASP: {rasp_layers} layers)\n",
            a.render()
        ));
        assert!(
            a.layers <= rasp_layers,
            "{f}: {} layers, RASP needs {rasp_layers}",
            a.layers
        );
    }
    println!("{table}");
}

#[test]
fn reverse_ir_snapshot() {
    let p = program();
    let def = p.resolve_str("std::rasp::reverse").expect("exists");
    let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
    assert_eq!(
        ir.render(),
        "%0 = tokens  [cat]\n%1 = select %0 %0 true [sel]\n%2 = width %1 [cat]\n%3 = indices  [cat]\n\
         %4 = map %2 %3 (- $0 $1) [cat]\n%5 = map %4 (- $0 1) [cat]\n%6 = select %3 %5 == [sel]\n\
         %7 = aggregate %6 %0 [cat]\noutput %7\n"
    );
}

/// Random elementwise functions of three arguments, over values of every kind.
fn fun_value() -> impl Strategy<Value = Val> {
    prop::sample::select(vec![
        Val::None,
        Val::Bool(true),
        Val::Bool(false),
        Val::Int(0),
        Val::Int(1),
        Val::Int(-3),
        Val::Int(9),
        Val::Int(i64::MAX),
        Val::Float(0.5),
        Val::Float(-0.0),
        Val::Float(2.0),
        Val::Float(f64::INFINITY),
        Val::from_token("a"),
        Val::from_token("("),
    ])
}

fn fun() -> impl Strategy<Value = Fun> {
    use tessera_lang::ast::{BinOp, UnOp};
    let leaf = prop_oneof![
        (0usize..3).prop_map(Fun::Arg),
        fun_value().prop_map(Fun::Const),
    ];
    leaf.prop_recursive(5, 40, 3, |inner| {
        let binop = prop::sample::select(vec![
            BinOp::Add,
            BinOp::Sub,
            BinOp::Mul,
            BinOp::Div,
            BinOp::FloorDiv,
            BinOp::Rem,
            BinOp::Eq,
            BinOp::Ne,
            BinOp::Lt,
            BinOp::Ge,
            BinOp::And,
            BinOp::Or,
            BinOp::Xor,
        ]);
        let unop = prop::sample::select(vec![UnOp::Neg, UnOp::Not]);
        let builtin = prop::sample::select(vec!["round", "floor", "abs", "int", "float", "str"]);
        prop_oneof![
            (binop, inner.clone(), inner.clone()).prop_map(|(op, a, b)| Fun::Binary(
                op,
                Box::new(a),
                Box::new(b)
            )),
            (unop, inner.clone()).prop_map(|(op, a)| Fun::Unary(op, Box::new(a))),
            (builtin, inner.clone()).prop_map(|(n, a)| Fun::Builtin(n, Box::new(a))),
            inner.clone().prop_map(|a| Fun::Numeric(Box::new(a))),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, a, b)| Fun::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261127),
        ..ProptestConfig::default()
    })]
    /// A function specialised to some of its arguments gives, on arguments that agree, what the
    /// function gives: the same value, or the same error (the compiler's tables evaluate the
    /// specialised function row by row).
    #[test]
    fn specialising_a_function_keeps_its_values_and_errors(
        f in fun(),
        args in prop::collection::vec(fun_value(), 3),
        known_mask in prop::collection::vec(any::<bool>(), 3),
    ) {
        let known: Vec<Option<Val>> = args
            .iter()
            .zip(&known_mask)
            .map(|(v, k)| k.then(|| v.clone()))
            .collect();
        let s = f.specialize(&known);
        prop_assert_eq!(format!("{:?}", s.eval(&args)), format!("{:?}", f.eval(&args)), "{} as {}", f.render(), s.render());
        // with every argument known, nothing that can be evaluated is left
        let all: Vec<Option<Val>> = args.iter().cloned().map(Some).collect();
        if let Ok(v) = f.eval(&args) {
            prop_assert_eq!(format!("{:?}", f.specialize(&all)), format!("{:?}", Fun::Const(v)));
        }
    }
}
