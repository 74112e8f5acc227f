//! Front-end tests: token, parse-tree and diagnostic snapshots (each starting with its source),
//! and the round-trip property `parse(print(ast)) == ast`.

use proptest::prelude::*;
use tessera_lang::ast::Module;
use tessera_lang::check::check_program;
use tessera_lang::diag::render;
use tessera_lang::lexer::lex;
use tessera_lang::parser::parse_module;
use tessera_lang::print::{to_sexpr, to_source};
use tessera_lang::program::{Program, TableLoader};
use tessera_lang::span::{FileId, SourceMap};

const STD: TableLoader = TableLoader(tessera_stdlib::MODULES);

fn tokens_snapshot(src: &str) -> String {
    let (toks, errs) = lex(src);
    let mut out = format!("{src}\n---\n");
    for (l, t, r) in toks {
        out.push_str(&format!("{l}..{r} {t}\n"));
    }
    for e in errs {
        out.push_str(&format!("error {}..{} {}\n", e.start, e.end, e.kind));
    }
    out
}

fn parse_snapshot(src: &str) -> String {
    let (m, diags) = parse_module(src, FileId(0));
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:?}");
    format!("{src}\n---\n{}", to_sexpr(&m, true))
}

/// Parse, load and check `src` as `test.tess`; render every diagnostic without colour.
fn diagnostics(src: &str) -> String {
    let (program, mut diags) = Program::load("test.tess", src, &STD);
    diags.extend(check_program(&program));
    format!("{src}\n---\n{}", render(&diags, &program.sources, false))
}

#[test]
fn tokens_of_every_kind() {
    insta::assert_snapshot!(tokens_snapshot(
        "fn f(xs: cat, k = 1) = select(xs, xs, <=) & !s | t # comment\n\
         let a = [1, 2.5, 1e3, \"q\\\"s\", true, false, none];\n\
         x // 2 % 3 ^ y << 1 >> 2 -> :: .. . != == >= < > - * / + |k, q| k"
    ));
}

#[test]
fn lexical_errors_are_collected_and_skipped() {
    insta::assert_snapshot!(tokens_snapshot(
        "let a = 1 $ 2; let s = \"open\nlet b = 99999999999999999999;"
    ));
}

#[test]
fn parse_reverse() {
    insta::assert_snapshot!(parse_snapshot(
        "# Reverse the input\nfn reverse(xs) {\n    let opp = length - indices - 1;\n    aggregate(select(indices, opp, ==), xs)\n}\n\nfn main() = reverse(tokens)\n"
    ));
}

#[test]
fn parse_precedence() {
    insta::assert_snapshot!(parse_snapshot(
        "fn f() = not a == b and c or -d * e + f // g % h\nfn g() = if a then |x| x + 1 else b\nfn h() = s1 & s2 | !s3 & (s4 | s5)"
    ));
}

#[test]
fn parse_items_of_every_kind() {
    insta::assert_snapshot!(parse_snapshot(
        "use std::rasp::{hist, sort};\nuse std::rasp::*;\nuse \"lib.tess\";\n\
         space S = bsc(dim: 10000, seed: 7);\nsymbols Color in S = [red, green, blue];\n\
         fn fact() = Role.color * Color.red + permute(Shape.square, 2)\n\
         circuit add(a: bits[4], b: bits[4]) -> bits[5] { let s = a + b; s[0..4] }\n\
         fn g(xs: cat, w: hv<S>, k: int = 2) -> cat { for p in [\"(\", \")\"] { let xs = xs; } aggregate(select(xs, k, |k, q| k == q), xs, default: none) }"
    ));
}

#[test]
fn three_independent_syntax_errors() {
    insta::assert_snapshot!(diagnostics(
        "fn a() = 1 +\nfn b() { let x = ; x }\nfn c() = select(tokens, tokens)\nfn d() = tokens\n"
    ));
}

#[test]
fn unknown_names_suggest() {
    insta::assert_snapshot!(diagnostics(
        "use std::rasp::{hist, sorted};\nfn main() {\n    let xs = tokens;\n    aggregate(select(indices, indices, ==), xz)\n}\nfn g() = agregate(select(tokens, tokens, ==), tokens)\n"
    ));
}

#[test]
fn type_errors() {
    insta::assert_snapshot!(diagnostics(
        "fn a() = aggregate(tokens, tokens)\nfn b() = mean(select(indices, indices, <), tokens)\nfn c() = width(select(tokens, tokens, ==)) + select(tokens, tokens, <)\nfn d() = if indices then 1 else 2\nfn e() = \"a\" - 1\n"
    ));
}

#[test]
fn errors_inside_a_call_are_reported_at_the_call() {
    insta::assert_snapshot!(diagnostics(
        "fn f(s, xs) = aggregate(s, xs)\nfn main() = f(tokens, tokens)\n"
    ));
}

#[test]
fn recursion_and_duplicates() {
    insta::assert_snapshot!(diagnostics(
        "fn f(x) = g(x)\nfn g(x) = f(x)\nfn h() = 1\nfn h() = 2\nfn map() = 3\n"
    ));
}

#[test]
fn vsa_space_mismatch() {
    insta::assert_snapshot!(diagnostics(
        "space S = bsc(dim: 1000, seed: 1);\nspace T = map(dim: 1000, seed: 2);\nsymbols A in S = [x, y];\nsymbols B in T = [u, v];\nfn f() = A.x * B.u\nfn g() = cleanup(A.x, B)\nfn h() = A.z\n"
    ));
}

#[test]
fn stdlib_parses_and_checks_cleanly() {
    for (name, src) in tessera_stdlib::MODULES {
        let mut sources = SourceMap::new();
        let file = sources.add(*name, *src);
        let (_, diags) = parse_module(src, file);
        assert!(
            diags.is_empty(),
            "{name}: {}",
            render(&diags, &sources, false)
        );
    }
    let (program, diags) = Program::load(
        "t.tess",
        "use std::rasp::*;\nfn main() = sort(tokens, tokens)\n",
        &STD,
    );
    assert!(diags.is_empty());
    let diags = check_program(&program);
    assert!(
        diags.is_empty(),
        "{}",
        render(&diags, &program.sources, false)
    );
}

// ---------------------------------------------------------------------------------------------
// parse(print(ast)) == ast

fn ident() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "xs", "keys", "q_1", "tokens", "indices", "length", "f", "_p",
    ])
    .prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..1000).prop_map(|i| i.to_string()),
        (0.0f64..1e6).prop_map(|x| format!("{x:?}")),
        "[a-z ]{0,4}".prop_map(|s| format!("{s:?}")),
        Just("true".to_string()),
        Just("none".to_string()),
        ident(),
        Just("std::rasp::sort".to_string()),
    ]
}

/// Random expressions as source text (the printer is then tested on what the parser reads).
fn expr_src() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "and", "or", "&", "|",
            "^", "<<", ">>",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a}) {o} ({b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.clone().prop_map(|a| format!("!({a})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("if {c} then {a} else {b}")),
            (ident(), inner.clone()).prop_map(|(x, b)| format!("|{x}| {b}")),
            (ident(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, a)| format!("{f}({})", a.join(", "))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("aggregate({a}, {b}, default: 0)")),
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec!["==", "<", "true", "|k, q| k == q"])
            )
                .prop_map(|(k, q, o)| format!("select({k}, {q}, {o})")),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("({a})[{i}]")),
            (ident(), inner.clone(), inner.clone())
                .prop_map(|(x, v, r)| format!("{{ let {x} = {v}; {r} }}")),
            (ident(), inner.clone(), inner.clone())
                .prop_map(|(x, l, r)| format!("{{ for {x} in [{l}] {{ let y = {x}; }} {r} }}")),
            inner.clone().prop_map(|a| format!("Color.red * ({a})")),
        ]
    })
}

fn strip(m: &Module) -> String {
    to_sexpr(m, false)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn parse_print_roundtrip(body in expr_src(), def in leaf()) {
        let src = format!("fn f(xs, k: int = {def}) = {body}\nlet g = {body};\n");
        let (m1, d1) = parse_module(&src, FileId(0));
        prop_assert!(d1.is_empty(), "generated source does not parse: {src}\n{d1:?}");
        let printed = to_source(&m1);
        let (m2, d2) = parse_module(&printed, FileId(0));
        prop_assert!(d2.is_empty(), "printed source does not parse: {printed}\n{d2:?}");
        prop_assert_eq!(strip(&m1), strip(&m2), "printed: {}", printed);
    }
}

/// `src` parses, prints, and the printed source parses to the same tree.
fn assert_round_trips(src: &str) {
    let (m1, d1) = parse_module(src, FileId(0));
    assert!(d1.is_empty(), "{d1:?}");
    let printed = to_source(&m1);
    let (m2, d2) = parse_module(&printed, FileId(0));
    assert!(
        d2.is_empty(),
        "printed source does not parse: {printed}\n{d2:?}"
    );
    assert_eq!(strip(&m1), strip(&m2));
}

/// Found by the `parse` fuzz target: a `use` path with control characters was printed with
/// Rust's `\u{..}` escapes, which Tessera's lexer does not read.
#[test]
fn fuzz_regression_use_path_with_control_characters_round_trips() {
    assert_round_trips("use \"does_not_exist.\u{3}\u{16}ss\";\nfn main() = \"a\u{7}\\tb\"\n");
}

/// Found by the `parse` fuzz target: `use foo;` (one name, no module path) printed as
/// `use ::{foo};`, which does not parse.
#[test]
fn fuzz_regression_single_name_use_round_trips() {
    assert_round_trips("use foo;\nuse std::rasp::sort;\nfn main() = 0\n");
}

/// Found by the `check` fuzz target (a 10 s timeout): a chain of item-level `let`s that each
/// read the previous one twice was type-checked 2^n times. The same chain of functions ran 2^n
/// calls in the interpreter. Both are linear now (a `let` type memo in the checker, a call memo
/// in the interpreter); at n = 40 the old behaviour would not finish.
#[test]
fn fuzz_regression_doubling_chains_check_and_run_in_linear_time() {
    use tessera_lang::interp::{EntryArgs, Interp};
    use tessera_lang::value::Val;
    let n = 40;
    let mut lets = String::from("let a0 = tokens;\n");
    let mut fns = String::from("fn f0() = tokens\n");
    for i in 1..=n {
        let p = i - 1;
        lets.push_str(&format!("let a{i} = zipmap(a{p}, a{p}, |x, y| x);\n"));
        fns.push_str(&format!("fn f{i}() = zipmap(f{p}(), f{p}(), |x, y| y)\n"));
    }
    let src = format!("{lets}{fns}fn main() = zipmap(a{n}, f{n}(), |x, y| x == y)\n");
    let (program, mut diags) = Program::load("chain.tess", &src, &STD);
    diags.extend(check_program(&program));
    assert!(
        diags.is_empty(),
        "{}",
        render(&diags, &program.sources, false)
    );
    let input: Vec<Val> = ["a", "b"].iter().map(|t| Val::from_token(t)).collect();
    let def = program.resolve_str("main").expect("main");
    let out = Interp::new(&program, Some(&input))
        .run_entry(def, &EntryArgs::default())
        .expect("runs");
    match out {
        tessera_lang::interp::Output::Seq(s) => {
            assert_eq!(s.vals, vec![Val::Bool(true), Val::Bool(true)])
        }
        other => panic!("{other:?}"),
    }
}
