//! Grounded symbol systems through the CLI: learn, write the system as Tessera source, run and
//! score that file, and write the datasets.

use crate::tessera;

#[test]
fn learned_scan_system_is_a_tessera_program() {
    let dir = std::env::temp_dir().join(format!("tessera-gss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("learned.tess");
    let f = file.to_str().unwrap();
    let (code, out, err) = tessera(&[
        "gss",
        "train",
        "--task",
        "scan",
        "--split",
        "addprim_jump",
        "-o",
        f,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("test 7706/7706 (100.00%)"), "{out}");
    let src = std::fs::read_to_string(&file).unwrap();
    assert!(src.contains("gss scan_addprim_jump {"), "{src}");
    // `jump` was only ever seen alone; composed, it behaves like every other primitive
    let (code, out, err) = tessera(&["run", f, "--input", "jump around left twice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "I_TURN_LEFT I_JUMP ".repeat(8).trim_end());
    let (code, _, err) = tessera(&["check", f]);
    assert_eq!(code, 0, "{err}");
    // and it compiles to a circuit for SCAN's bounds (9 words, 48 actions), checked against
    // the interpreter
    let aig = dir.join("learned.aig");
    let (code, out, err) = tessera(&[
        "compile",
        f,
        "--target",
        "circuit",
        "--max-len",
        "9",
        "--out-len",
        "48",
        "-o",
        aig.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["verified"]["answered"].as_u64().unwrap() > 10_000,
        "{out}"
    );
    let (code, out, err) = tessera(&[
        "gss", "eval", f, "--task", "scan", "--split", "length", "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["test"], serde_json::json!([3920, 3920]), "{out}");
    // an input outside the language: exit 1 and the word named
    let (code, _, err) = tessera(&["run", f, "--input", "jump fly"]);
    assert_eq!(code, 1);
    assert!(err.contains("word 2: `fly`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn data_writes_scan_format() {
    let dir = std::env::temp_dir().join(format!("tessera-data-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let (code, out, err) = tessera(&["data", "scan", "--split", "length", "-o", d]);
    assert_eq!(code, 0, "{out}{err}");
    let train = std::fs::read_to_string(dir.join("tasks_train_length.txt")).unwrap();
    assert_eq!(train.lines().count(), 16_990);
    assert!(
        train
            .lines()
            .all(|l| l.starts_with("IN: ") && l.contains(" OUT: "))
    );
    let (code, _, err) = tessera(&["data", "pcfg", "--split", "productivity", "-o", d]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("tasks_test_productivity.txt").exists());
    let (code, _, err) = tessera(&["data", "scan", "--split", "nope", "-o", d]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown SCAN split `nope`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn learns_from_your_own_pairs() {
    // a toy language: a, b, c name actions; `dup` repeats; `then` sequences in reverse order
    let atoms = [("a", "A"), ("b", "B"), ("c", "C")];
    let mut s: Vec<(String, String, usize)> = Vec::new();
    for (w, o) in atoms {
        s.push((w.into(), o.into(), 0));
        s.push((format!("{w} dup"), format!("{o} {o}"), 1));
    }
    let (mut train, mut test) = (String::new(), String::new());
    for (i1, o1, d1) in &s {
        for (i2, o2, d2) in &s {
            let line = format!("IN: {i1} then {i2} OUT: {o2} {o1}\n");
            if d1 + d2 < 2 {
                train.push_str(&line)
            } else {
                test.push_str(&line)
            }
        }
        train.push_str(&format!("IN: {i1} OUT: {o1}\n"));
    }
    let dir = std::env::temp_dir().join(format!("tessera-gss-own-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (tr, te, out) = (
        dir.join("toy.txt"),
        dir.join("toy_test.txt"),
        dir.join("toy.tess"),
    );
    std::fs::write(&tr, train).unwrap();
    std::fs::write(&te, test).unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (code, o, err) = tessera(&[
        "gss",
        "train",
        "--train",
        &p(&tr),
        "--test",
        &p(&te),
        "-o",
        &p(&out),
    ]);
    assert_eq!(code, 0, "{o}{err}");
    assert!(o.contains("test 9/9 (100.00%)"), "{o}");
    let src = std::fs::read_to_string(&out).unwrap();
    assert!(src.contains("gss toy {"), "{src}");
    let (code, o, err) = tessera(&["gss", "eval", &p(&out), "--test", &p(&te)]);
    assert_eq!(code, 0, "{err}");
    assert!(o.contains("9/9 (100.00%)"), "{o}");
    // a malformed line is named
    std::fs::write(&te, "IN: a OUT: A\nnot a pair\n").unwrap();
    let (code, _, err) = tessera(&["gss", "eval", &p(&out), "--test", &p(&te)]);
    assert_eq!(code, 2);
    assert!(err.contains("toy_test.txt:line 2"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn meanings_alone_for_a_given_syntax() {
    let out = std::env::temp_dir().join(format!("tessera-gss-syn-{}.tess", std::process::id()));
    let o = out.to_str().unwrap();
    let (code, stdout, err) = tessera(&[
        "gss",
        "train",
        "--task",
        "scan",
        "--split",
        "template_around_right",
        "--syntax",
        "tests/cases/lang/gss_scan.tess",
        "-o",
        o,
    ]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("test 4476/4476 (100.00%)"), "{stdout}");
    let src = std::fs::read_to_string(&out).unwrap();
    // the given syntax, with meanings learned (`run` was not in the syntax file: an atom)
    assert!(
        src.contains("\"around\": infix 2 = |x, y| y ++ x ++ y ++ x"),
        "{src}"
    );
    assert!(src.contains("\"run\" = [I_RUN];"), "{src}");
    std::fs::remove_file(&out).unwrap();
}

#[test]
fn one_pair_is_enough_for_an_atom() {
    let dir = std::env::temp_dir().join(format!("tessera-gss-one-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (tr, out) = (dir.join("one.txt"), dir.join("one.tess"));
    std::fs::write(&tr, "IN: a OUT: A\n").unwrap();
    let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
    let (code, o, err) = tessera(&["gss", "train", "--train", &p(&tr), "-o", &p(&out)]);
    assert_eq!(code, 0, "{o}{err}");
    assert!(o.contains("train 1/1 (100.00%), no test pairs"), "{o}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hint_arithmetic_is_learned_with_its_syntax_and_runs() {
    let dir = std::env::temp_dir().join(format!("tessera-hint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hint.tess");
    let f = file.to_str().unwrap();
    let (code, out, err) = tessera(&["gss", "train", "--task", "hint", "-o", f]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("test 4800/4800 (100.00%)"), "{out}");
    let src = std::fs::read_to_string(&file).unwrap();
    assert!(
        src.contains("\"(\": open;") && src.contains("\")\": close;"),
        "{src}"
    );
    assert!(
        src.contains("\"*\": infix 2") && src.contains("\"+\": infix 1"),
        "{src}"
    );
    // values far beyond the training range (≤ 100)
    let (code, out, err) = tessera(&["run", f, "--input", "9 * 9 * 9 * 9 * ( 8 + 1 ) / 3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "19683");
    let (code, out, err) = tessera(&["gss", "eval", f, "--task", "hint", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["average"], serde_json::json!(1.0), "{out}");
    assert_eq!(v["subsets"]["ll"], serde_json::json!([1000, 1000]), "{out}");
    // division by zero: an error that names the operator, exit 1
    let (code, _, err) = tessera(&["run", f, "--input", "3 / ( 2 - 2 )"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("word 2: the meaning of `/` has no value"),
        "{err}"
    );
    // meanings alone for a given numeric syntax
    let (code, out, err) = tessera(&[
        "gss",
        "train",
        "--task",
        "hint",
        "--syntax",
        "tests/cases/lang/gss_hint.tess",
        "-o",
        f,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("test 4800/4800"), "{out}");
    // percepts: perception learned, symbols named in the header
    let (code, out, err) = tessera(&[
        "gss",
        "train",
        "--task",
        "hint",
        "--percepts",
        "--noise",
        "0.25",
        "--json",
        "-o",
        f,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["symbols"], 16, "{out}");
    assert_eq!(v["symbol_test"][0], v["symbol_test"][1], "{out}");
    let src = std::fs::read_to_string(&file).unwrap();
    assert!(
        src.contains("by the hidden truth") && src.contains("\"p0\""),
        "{src}"
    );
    let (code, _, err) = tessera(&[
        "gss",
        "train",
        "--task",
        "hint",
        "--percepts",
        "--noise",
        "0.6",
        "-o",
        f,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--noise 0.6 is outside"), "{err}");
    // the data as files: train and each subset
    let (code, _, err) = tessera(&["data", "hint", "-o", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let ll = std::fs::read_to_string(dir.join("tasks_test_ll_hint.txt")).unwrap();
    assert_eq!(ll.lines().count(), 1000);
    let (code, _, err) = tessera(&["gss", "train", "--task", "hint", "--split", "xl", "-o", f]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown HINT split `xl`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_transition_parser_is_learned_saved_and_used_instead_of_the_schema() {
    let dir = std::env::temp_dir().join(format!("tessera-gss-tp-{}", std::process::id()));
    let d = dir.to_str().unwrap();
    let (code, _, err) = tessera(&["data", "scan", "--split", "length", "-o", d]);
    assert_eq!(code, 0, "{err}");
    let train = dir.join("tasks_train_length.txt");
    let test = dir.join("tasks_test_length.txt");
    let learned = dir.join("learned.tess");
    let parser = dir.join("learned.parser");
    let (code, out, err) = tessera(&[
        "gss",
        "train",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--syntax",
        "tests/cases/lang/gss_scan.tess",
        "--transition",
        "-o",
        learned.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // the parser is taught only by what the meanings make of its parses, and the longer test
    // inputs come out right with it as the syntax
    let line = out
        .lines()
        .find(|l| l.starts_with("transition parser:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("test 3920/3920 (100.00%)"), "{line}");
    let text = std::fs::read_to_string(&parser).unwrap();
    assert!(text.starts_with("tessera-transition-parser 1\nsystem tasks_train_length\n"));
    let eval = |p: &std::path::Path| {
        tessera(&[
            "gss",
            "eval",
            learned.to_str().unwrap(),
            "--test",
            test.to_str().unwrap(),
            "--transition",
            p.to_str().unwrap(),
            "--json",
        ])
    };
    let (code, out, err) = eval(&parser);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["test"], serde_json::json!([3920, 3920]), "{out}");
    // a damaged file is refused with its line; a parser for another system is refused
    let bad = dir.join("bad.parser");
    let mut lines: Vec<&str> = text.lines().collect();
    let third = format!("{} inf 0 0", lines[2].split(' ').next().unwrap());
    lines[2] = &third;
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let (code, out, err) = eval(&bad);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("bad.parser:line 3: weight `inf` is not finite"),
        "{out}"
    );
    std::fs::write(
        &bad,
        text.replace("system tasks_train_length", "system other"),
    )
    .unwrap();
    let (code, out, err) = eval(&bad);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("a parser for the system `other`"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

use tessera::gss::circuit::CircuitAnswer;

fn gss_item(src: &str, entry: &str) -> tessera_gss::model::Gss {
    tessera::Session::from_source("item.tess", src)
        .unwrap()
        .gss_item(entry)
        .unwrap()
}

#[test]
fn a_gss_item_compiles_to_a_circuit_that_answers_every_scan_command() {
    // the system `gss train --task scan` learns (the corpus case, with SCAN's fourth action)
    let src = std::fs::read_to_string("tests/cases/lang/gss_scan.tess")
        .unwrap()
        .replace(
            "\"jump\" = [I_JUMP];",
            "\"jump\" = [I_JUMP];\n    \"run\" = [I_RUN];",
        );
    let g = gss_item(&src, "scan");
    // SCAN's commands have at most 9 words and 48 actions
    let t0 = std::time::Instant::now();
    let c = tessera::gss::circuit::compile(&g, &[], 9, 48).unwrap();
    eprintln!(
        "SIZE {} ands {} levels {:?}",
        c.aig.num_ands(),
        c.aig.levels(),
        t0.elapsed()
    );
    let pairs = tessera_gss::data::scan_all();
    assert_eq!(pairs.len(), 20_910);
    let inputs: Vec<Vec<&str>> = pairs
        .iter()
        .map(|p| p.input.split_whitespace().collect())
        .collect();
    let got = c.run_many(&inputs);
    for (p, got) in pairs.iter().zip(got) {
        let want: Vec<String> = p.output.split_whitespace().map(String::from).collect();
        assert_eq!(got, Some(CircuitAnswer::Output(want)), "{}", p.input);
    }
    // outside the language, and past the circuit's range
    assert_eq!(c.run(&["walk", "and"]), Some(CircuitAnswer::Error));
    assert_eq!(c.run(&["twice"]), Some(CircuitAnswer::Error));
    assert_eq!(
        c.run(&["walk", "around", "left", "around", "left", "around", "left"]),
        Some(CircuitAnswer::Error)
    );
    assert_eq!(c.run(&["fly"]), None);
    let r = tessera::gss::circuit::check(&g, &c, 20_000, 3_000, 1_000, 1).unwrap();
    assert_eq!(r.exhaustive_words, 3);
    assert!(r.answered > 2_000, "{r:?}");
}

#[test]
fn every_schema_and_meaning_form_compiles_exactly() {
    // prefix with one and two operands, a separator, brackets, postfix, infix, juxtaposition,
    // `_`, and meanings with tail, init, reverse, head, last and self
    let src = r#"
gss odd {
    "a" = [A];
    "b" = [B, self];
    "e" = [];
    "r": prefix 3 = |x| reverse(tail(x)) ++ [head(x)];
    "pair": prefix2 3 = |x, y| [last(y)] ++ init(x) ++ reverse(y);
    ",": separator;
    "(": open;
    ")": close;
    "dup": postfix 2 = |x| x ++ reverse(init(x));
    "cat": infix 1 = |x, y| tail(y) ++ x ++ [self];
    juxtapose: infix 4 = |x, y| y ++ [self] ++ x;
    _ = [self];
}
"#;
    let g = gss_item(src, "odd");
    let c = tessera::gss::circuit::compile(&g, &["c".to_string()], 6, 10).unwrap();
    let r = tessera::gss::circuit::check(&g, &c, 300_000, 20_000, 5_000, 7).unwrap();
    assert_eq!(r.exhaustive_words, 5, "{r:?}");
    assert!(r.answered > 5_000, "{r:?}");
}

#[test]
fn compile_writes_a_gss_item_as_a_checked_circuit() {
    let dir = std::env::temp_dir().join(format!("tessera-gss-aig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let aig = dir.join("scan.aag");
    let a = aig.to_str().unwrap();
    let f = "tests/cases/lang/gss_scan.tess";
    let (code, out, err) = tessera(&[
        "compile",
        f,
        "--target",
        "circuit",
        "--max-len",
        "2",
        "--out-len",
        "4",
        "-o",
        a,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["inputs"], 2 * 12, "{out}");
    assert_eq!(v["outputs"], 4 * 5 + 1, "{out}");
    assert_eq!(v["verified"]["exhaustive_words"], 2, "{out}");
    assert!(v["synthesis_proof"].is_string(), "{out}");
    let text = std::fs::read_to_string(&aig).unwrap();
    assert!(text.contains("i0 w0=walk"), "{text}");
    assert!(text.contains("error"), "{text}");
    // a gss item is not a transformer, and its circuit needs both bounds
    let (code, _, err) = tessera(&["compile", f, "--max-len", "2", "-o", a]);
    assert_eq!(code, 2);
    assert!(err.contains("is a gss item"), "{err}");
    let (code, _, err) = tessera(&[
        "compile",
        f,
        "--target",
        "circuit",
        "--max-len",
        "2",
        "-o",
        a,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--out-len"), "{err}");
    // bounds whose graph would be too large are refused before anything is built or written
    let big = dir.join("big.aig");
    let (code, _, err) = tessera(&[
        "compile",
        f,
        "--target",
        "circuit",
        "--max-len",
        "24",
        "--out-len",
        "4096",
        "-o",
        big.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("more than the limit"), "{err}");
    assert!(!big.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
