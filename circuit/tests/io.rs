//! Every format round-trips every small benchmark circuit (proved equivalent, names kept), and
//! malformed files are refused with the line and what was expected.

mod common;

use tessera_circuit::io::{self, Format};
use tessera_circuit::{CircuitError, cec};

#[test]
fn every_format_round_trips() {
    let dir = common::tempdir("io");
    for (name, g) in common::small_circuits(400) {
        for ext in ["aig", "aag", "blif", "bench", "v", "truth"] {
            let path = dir.join(format!("{}.{ext}", name.replace('/', "_")));
            io::write_file(&path, &g).unwrap();
            let back = io::read_file(&path).unwrap_or_else(|e| panic!("{name}.{ext}: {e}"));
            assert!(
                cec::cec(&g, &back).unwrap().is_equivalent(),
                "{name}.{ext} changed the function"
            );
            if matches!(ext, "aig" | "aag") {
                assert_eq!(back.num_ands(), g.num_ands(), "{name}.{ext}");
                for i in 0..g.num_inputs() {
                    assert_eq!(back.input_name(i), g.input_name(i));
                }
            }
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn epfl_inputs_read_as_published() {
    let g = io::read_file(&common::data().join("epfl/ctrl.aig")).unwrap();
    assert_eq!(
        (g.num_inputs(), g.num_outputs(), g.num_ands(), g.levels()),
        (7, 26, 174, 10)
    );
    let g = io::read_file(&common::data().join("epfl/sin.aig")).unwrap();
    assert_eq!(
        (g.num_inputs(), g.num_outputs(), g.num_ands()),
        (24, 25, 5416)
    );
}

fn err(format: Format, text: &str) -> String {
    match io::parse(text.as_bytes(), format, "bad") {
        Ok(g) => panic!("accepted: {text:?} -> {g:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_files_name_the_line() {
    let cases: &[(Format, &str, &str)] = &[
        (Format::Aag, "", "bad:1: the file ends where the header"),
        (
            Format::Aag,
            "aag 1 1 0 1\n2\n2\n",
            "bad:1: expected five numbers",
        ),
        (
            Format::Aag,
            "aag x 1 0 1 0\n",
            "bad:1: expected a number in the header, found `x`",
        ),
        (Format::Aag, "aag 1 1 1 0 0\n2\n2 3\n", "bad:1: 1 latches"),
        (
            Format::Aag,
            "aag 1 1 0 1 0\n3\n2\n",
            "bad:2: input literal 3 must be even",
        ),
        (
            Format::Aag,
            "aag 2 1 0 1 1\n2\n4\n4 2\n",
            "bad:4: expected an AND `lhs rhs0 rhs1`",
        ),
        (
            Format::Aag,
            "aag 2 1 0 1 0\n2\n4\n",
            "bad:3: output literal 4 is never defined",
        ),
        (
            Format::Aag,
            "aag 3 1 0 1 2\n2\n4\n4 6 2\n6 4 2\n",
            "depends on itself",
        ),
        (
            Format::Aag,
            "aag 2 1 0 1 1\n2\n4\n4 2 9\n",
            "bad:4: AND `4 2 9`",
        ),
        (
            Format::Aag,
            "aag 1 1 0 1 0\n2\n2\nx0 a\n",
            "bad:4: expected a symbol",
        ),
        (
            Format::Aag,
            "aag 1 1 0 1 0\n2\n2\ni5 a\n",
            "bad:4: symbol `i5 a` names a position that does not exist",
        ),
        (
            Format::Aig,
            "aig 3 2 0 1 1\n6\n",
            "binary AND section ends early",
        ),
        (
            Format::Aig,
            "aig 4 2 0 1 1\n6\n\x02\x01",
            "bad:1: the header says M = 4 but I + L + A = 3",
        ),
        (
            Format::Aig,
            "aig 1000000 999999 0 0 1\n",
            "more than a file of",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.names a y\n2 1\n.end\n",
            "bad:5: expected 1 characters from `0`, `1`, `-`",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.names a y\n1 1\n0 0\n.end\n",
            "bad:6: a cover mixes",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.names b y\n1 1\n.end\n",
            "signal `b` is used but never defined",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.latch a y\n.end\n",
            "bad:4: `.latch`",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.names y z\n1 1\n.names z y\n1 1\n.end\n",
            "combinational cycle",
        ),
        (
            Format::Blif,
            ".model m\n.inputs a\n.outputs y\n.foo\n",
            "bad:4: expected a BLIF command",
        ),
        (
            Format::Bench,
            "INPUT(a)\nOUTPUT(y)\ny = FOO(a)\n",
            "bad:3: unknown gate `FOO`",
        ),
        (
            Format::Bench,
            "INPUT(a)\nOUTPUT(y)\ny = NOT(a, a)\n",
            "bad:3: `NOT` takes one argument",
        ),
        (
            Format::Bench,
            "INPUT(a)\nOUTPUT(y)\ny AND(a)\n",
            "bad:3: expected `INPUT(name)`",
        ),
        (
            Format::Bench,
            "INPUT(a)\nOUTPUT(y)\ny = AND(a, b)\n",
            "signal `b` is used but never defined",
        ),
        (
            Format::Bench,
            "INPUT(a)\nOUTPUT(y)\ny = AND(a)\ny = OR(a)\n",
            "bad:4: signal `y` is defined twice",
        ),
        (
            Format::Truth,
            "0110\n01\n",
            "bad:2: expected 4 characters like line 1",
        ),
        (Format::Truth, "012\n", "bad:1: expected only `0` and `1`"),
        (Format::Truth, "011\n", "bad:1: expected 2^n characters"),
        (Format::Truth, "\n\n", "expected at least one line"),
        (
            Format::Verilog,
            "module m(a, y); input a; output y; assign y = a & ; endmodule",
            "bad:1: expected a name, found `;`",
        ),
        (
            Format::Verilog,
            "module m(a, y);\ninput a;\noutput y;\nassign y = a + a;\nendmodule\n",
            "bad:4: unexpected character `+`",
        ),
        (
            Format::Verilog,
            "module m(a, y);\ninput a;\noutput y;\nendmodule\n",
            "signal `y` is used but never defined",
        ),
        (
            Format::Verilog,
            "module m(a, y);\ninput a;\noutput y;\nassign y = 2'b10;\nendmodule\n",
            "bad:4: expected a one-bit constant",
        ),
        (
            Format::Verilog,
            "module m(a, y);\ninput a;\noutput y;\nassign y = a;\n",
            "expected a declaration",
        ),
        (
            Format::Verilog,
            "module m(a, y); /* open",
            "bad:1: a `/*` comment is never closed",
        ),
    ];
    for (format, text, want) in cases {
        let got = err(*format, text);
        assert!(
            got.contains(want),
            "{format:?} {text:?}:\n  got  {got}\n  want {want}"
        );
    }
}

#[test]
fn deep_verilog_expressions_are_refused_not_overflowed() {
    let deep = format!(
        "module m(a, y); input a; output y; assign y = {}a{}; endmodule",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(err(Format::Verilog, &deep).contains("nested deeper than"));
    let nots = format!(
        "module m(a, y); input a; output y; assign y = {}a; endmodule",
        "~".repeat(100_000)
    );
    assert!(err(Format::Verilog, &nots).contains("nested deeper than"));
}

#[test]
fn verilog_vectors_gates_and_precedence() {
    let text = "// adder bit\nmodule fa(x, cin, s, cout);\n  input [1:0] x; input cin;\n  output s, cout;\n  wire t;\n  xor g1(t, x[0], x[1]);\n  assign s = t ^ cin, cout = x[0] & x[1] | t & cin;\nendmodule\n";
    let g = io::parse(text.as_bytes(), Format::Verilog, "fa.v").unwrap();
    for m in 0..8usize {
        let i: Vec<bool> = (0..3).map(|k| m >> k & 1 == 1).collect();
        let sum = i.iter().filter(|&&b| b).count();
        assert_eq!(g.eval(&i), vec![sum % 2 == 1, sum >= 2], "{m}");
    }
}

#[test]
fn interface_mismatch_is_an_error() {
    let (a, _) = tessera_circuit::Aig::with_inputs(2);
    let (b, _) = tessera_circuit::Aig::with_inputs(3);
    assert!(matches!(cec::cec(&a, &b), Err(CircuitError::Usage(_))));
}

#[test]
fn unknown_extension_is_refused() {
    let e = io::read_file(std::path::Path::new("x.foo"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown circuit format `.foo`"), "{e}");
}

/// ABC reads what we write and agrees with our proofs (where `berkeley-abc` is installed).
#[test]
fn abc_agrees_where_installed() {
    let Ok(out) = std::process::Command::new("berkeley-abc")
        .arg("-c")
        .arg("quit")
        .output()
    else {
        eprintln!("berkeley-abc not installed: skipped");
        return;
    };
    assert!(out.status.success());
    let dir = common::tempdir("abc");
    for (name, g) in common::small_circuits(300).into_iter().take(12) {
        let opt = tessera_circuit::synth::run(&g, tessera_circuit::synth::Effort::Fast);
        let base = name.replace('/', "_");
        let orig = dir.join(format!("{base}.orig.aig"));
        io::write_file(&orig, &g).unwrap();
        for ext in ["aig", "blif", "bench", "v"] {
            let p = dir.join(format!("{base}.{ext}"));
            io::write_file(&p, &opt).unwrap();
            let run = std::process::Command::new("berkeley-abc")
                .arg("-c")
                .arg(format!("cec -n {} {}", orig.display(), p.display()))
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&run.stdout);
            assert!(
                text.contains("Networks are equivalent"),
                "{name}.{ext}: ABC says {text}"
            );
        }
    }
    std::fs::remove_dir_all(dir).ok();
}
