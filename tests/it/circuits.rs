//! Circuits from the command line and the library: `tessera compile --target circuit`,
//! `tessera synth`, `tessera cec`; every bad input an error with exit code 1 or 2.

use crate::tessera;
use std::path::PathBuf;
use std::process::Command;
use tessera::Session;
use tessera_circuit::io;
use tessera_lang::value::Val;

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-it-circuits-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

/// All sequences of at most `max_len` tokens from `vocab`.
fn all_inputs(vocab: &[&str], max_len: usize) -> Vec<Vec<&'static str>> {
    let vocab: Vec<&'static str> = vocab.iter().map(|s| &*s.to_string().leak()).collect();
    let mut out = vec![vec![]];
    let mut layer = vec![vec![]];
    for _ in 0..max_len {
        let mut next = Vec::new();
        for s in &layer {
            for v in &vocab {
                let mut t: Vec<&str> = s.clone();
                t.push(v);
                next.push(t);
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out
}

/// The must-show: the written AIG, read back and decoded independently of the
/// compiler, agrees with the interpreter on every input of length ≤ 4.
#[test]
fn compiled_reverse_circuit_agrees_with_the_interpreter_everywhere() {
    let path = temp("reverse.aig");
    let p = path.to_str().expect("utf-8 path");
    let (code, out, err) = tessera(&[
        "compile",
        "std::rasp::reverse",
        "--target",
        "circuit",
        "--vocab",
        "a,b,c",
        "--max-len",
        "4",
        "-o",
        p,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("agrees with the interpreter on all 121 inputs"),
        "{out}"
    );
    let g = io::read_file(&path).expect("the written AIG reads back");
    assert_eq!(g.num_inputs(), 12);
    let session = Session::stdlib();
    for input in all_inputs(&["a", "b", "c"], 4) {
        let mut bits = vec![false; 12];
        for (pos, t) in input.iter().enumerate() {
            bits[pos * 3 + ["a", "b", "c"].iter().position(|x| x == t).expect("vocab")] = true;
        }
        let outs = g.eval(&bits);
        // Output names say which position and value each bit is.
        let mut got = vec![String::new(); input.len()];
        for (k, &on) in outs.iter().enumerate() {
            let name = g.output_name(k).expect("named outputs");
            if name == "error" {
                assert!(!on, "error output set on {input:?}");
                continue;
            }
            let (pos, val) = name
                .trim_start_matches("out")
                .split_once('=')
                .expect("outP=V");
            let pos: usize = pos.parse().expect("position");
            if on {
                assert!(pos < input.len(), "{input:?}: bit {name} past the end");
                assert!(got[pos].is_empty(), "{input:?}: two values at {pos}");
                got[pos] = val.to_string();
            }
        }
        let text = input.join(" ");
        let want = session
            .run("std::rasp::reverse", Some(&text), &[])
            .expect("interpreter runs");
        let want: Vec<String> = match want {
            tessera::Output::Seq(s) => s.vals.iter().map(Val::to_string).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(got, want, "{input:?}");
    }
    // ABC reads it, where installed.
    if let Ok(abc) = Command::new("berkeley-abc")
        .arg("-c")
        .arg(format!("read {p}; print_stats"))
        .output()
    {
        let text = String::from_utf8_lossy(&abc.stdout);
        assert!(text.contains("i/o =   12/   13"), "ABC: {text}");
    }
}

#[test]
fn stdlib_functions_bit_blast_and_agree() {
    let s = Session::stdlib();
    for (entry, vocab, len) in [
        ("std::rasp::sort", &["1", "2", "3"][..], 4),
        ("std::rasp::hist", &["a", "b"][..], 5),
        ("std::rasp::dyck1_ptf", &["(", ")"][..], 6),
        ("std::rasp::frac_prevs", &["x", "y"][..], 4),
        ("std::rasp::min", &["1", "2", "3"][..], 4),
        ("std::rasp::sort_by_most_freq", &["a", "b", "c"][..], 4),
        ("std::rasp::shift_by", &["a", "b"][..], 5),
    ] {
        let c = s
            .compile_circuit(entry, vocab, len, &[], true)
            .unwrap_or_else(|e| panic!("{entry}: {e}"));
        let r = c.verified.expect("verified");
        assert!(r.exhaustive && r.compared > 0, "{entry}");
        assert!(c.circuit.aig.num_ands() <= c.raw_ands, "{entry}");
    }
}

#[test]
fn vsa_programs_are_refused_for_circuits() {
    let s = Session::from_source(
        "v.tess",
        "space S = map(dim: 64, seed: 1);\nsymbols T in S = [a, b];\nfn main(xs) = cleanup(embed(xs, T), T)\n",
    )
    .expect("loads");
    let e = s
        .compile_circuit("main", &["a", "b"], 3, &[], true)
        .unwrap_err();
    assert!(e.to_string().contains("do not compile to circuits"), "{e}");
}

#[test]
fn synth_then_cec_on_the_command_line() {
    let out = temp("ctrl.blif");
    let o = out.to_str().expect("utf-8");
    let (code, text, err) = tessera(&[
        "synth",
        "circuit/data/epfl/ctrl.aig",
        "-o",
        o,
        "--effort",
        "fast",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("174 ANDs") && text.contains("equivalence: exhaustive simulation"),
        "{text}"
    );
    let (code, text, err) = tessera(&["cec", "circuit/data/epfl/ctrl.aig", o]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with("equivalent: 26 outputs over 7 inputs"),
        "{text}"
    );
    let (code, text, _) = tessera(&[
        "synth",
        "circuit/data/iwls2023/ex12.truth",
        "-o",
        o,
        "--script",
        "b; rw; rs -K 6 -N 2; rf",
    ]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn cec_reports_a_counterexample_with_exit_code_1() {
    let a = temp("and.bench");
    let b = temp("or.bench");
    std::fs::write(&a, "INPUT(x)\nINPUT(y)\nOUTPUT(z)\nz = AND(x, y)\n").expect("write");
    std::fs::write(&b, "INPUT(x)\nINPUT(y)\nOUTPUT(z)\nz = OR(x, y)\n").expect("write");
    let (code, _, err) = tessera(&[
        "cec",
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("E0703")
            && err.contains("output 0 (`z`) is 0 in the first circuit and 1 in the second"),
        "{err}"
    );
}

#[test]
fn bad_circuit_inputs_exit_1_or_2_never_101() {
    let bad = temp("bad.aag");
    std::fs::write(&bad, "aag 1 1 0 1 0\n3\n2\n").expect("write");
    let b = bad.to_str().expect("utf-8");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["synth", b, "-o", "x.aig"],
            1,
            "bad.aag:2: input literal 3 must be even",
        ),
        (vec!["cec", b, "circuit/data/epfl/ctrl.aig"], 1, "E0701"),
        (
            vec!["synth", "circuit/data/epfl/ctrl.aig", "-o", "x.xyz"],
            2,
            "unknown circuit format `.xyz`",
        ),
        (
            vec!["synth", "nope.aig", "-o", "x.aig"],
            1,
            "cannot read nope.aig",
        ),
        (
            vec![
                "synth",
                "circuit/data/epfl/ctrl.aig",
                "-o",
                "x.aig",
                "--effort",
                "max",
            ],
            2,
            "unknown effort `max`",
        ),
        (
            vec![
                "synth",
                "circuit/data/epfl/ctrl.aig",
                "-o",
                "x.aig",
                "--script",
                "b; zz",
            ],
            2,
            "unknown step `zz`",
        ),
        (
            vec![
                "cec",
                "circuit/data/epfl/ctrl.aig",
                "circuit/data/epfl/dec.aig",
            ],
            2,
            "different interfaces",
        ),
        (
            vec![
                "compile",
                "std::rasp::reverse",
                "--target",
                "circuit",
                "--vocab",
                "a",
                "--max-len",
                "2",
                "-o",
                "x.txt",
            ],
            2,
            "unknown circuit format",
        ),
    ];
    for (args, want_code, want) in cases {
        let (code, _, err) = tessera(&args);
        assert_eq!(code, want_code, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(
        !std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("x.aig")
            .exists()
    );
}

#[test]
fn circuit_items_compile_and_agree_with_the_interpreter() {
    let out = temp("alu.aig");
    let o = out.to_str().expect("utf-8");
    let (code, text, err) = tessera(&[
        "compile",
        "tests/cases/lang/circuit_ops.tess",
        "--entry",
        "alu",
        "--target",
        "circuit",
        "-o",
        o,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("19 inputs, 8 outputs")
            && text.contains("agrees with the interpreter on all 524288 inputs"),
        "{text}"
    );
    let g = io::read_file(&out).expect("reads back");
    assert_eq!(g.input_name(0), Some("op[0]"));
    // A wide circuit is checked on a sample.
    let s = Session::from_source(
        "m.tess",
        "circuit mul(a: bits[12], b: bits[12]) -> bits[24] { a * b }",
    )
    .expect("loads");
    let c = s.compile_circuit_item("mul", true).expect("compiles");
    let r = c.verified.expect("verified");
    assert!(!r.exhaustive && r.compared == 10_000);
    let x: Vec<bool> = (0..24).map(|i| i % 3 == 0).collect();
    let (a, b) = (
        x[..12]
            .iter()
            .rev()
            .fold(0u64, |acc, &b| acc << 1 | b as u64),
        x[12..]
            .iter()
            .rev()
            .fold(0u64, |acc, &b| acc << 1 | b as u64),
    );
    let got = c
        .aig
        .eval(&x)
        .iter()
        .rev()
        .fold(0u64, |acc, &b| acc << 1 | b as u64);
    assert_eq!(got, a * b);
    // A circuit is not a transformer.
    let (code, _, err) = tessera(&[
        "compile",
        "tests/cases/lang/circuit_ops.tess",
        "--entry",
        "alu",
        "-o",
        o,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("compile it with `--target circuit"), "{err}");
    let (code, _, err) = tessera(&[
        "run",
        "tests/cases/lang/circuit_ops.tess",
        "--entry",
        "alu",
        "--input",
        "1 2",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("takes 3 arguments (op: bits[3], x: bits[8], y: bits[8]), the input has 2"),
        "{err}"
    );
    let (code, _, err) = tessera(&[
        "run",
        "tests/cases/lang/circuit_ops.tess",
        "--entry",
        "alu",
        "--input",
        "9 2 2",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`9` does not fit in bits[3]"), "{err}");
}
