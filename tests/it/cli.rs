//! The `tessera` binary: outputs, exit codes (0 ok, 1 program error, 2 usage error, never a
//! panic's 101) and JSON.

use std::io::Write;
use std::process::{Command, Stdio};

fn tessera(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the tessera binary runs");
    if let Some(s) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(s.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("tessera finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_reverse_example() {
    let (code, out, err) = tessera(
        &["run", "examples/reverse.tess", "--input", "a b c d"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "d c b a\n"), "{err}");
}

#[test]
fn run_stdlib_entry_by_name() {
    let (code, out, err) = tessera(
        &["run", "--entry", "std::rasp::sort", "--input", "3 1 2 1"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "1 1 2 3\n"), "{err}");
}

#[test]
fn input_from_stdin() {
    let (code, out, _) = tessera(&["run", "--entry", "std::rasp::reverse"], Some("x y z\n"));
    assert_eq!((code, out.as_str()), (0, "z y x\n"));
}

#[test]
fn scalar_args_and_list_args() {
    let (code, out, err) = tessera(
        &[
            "run",
            "--entry",
            "std::rasp::shift_by",
            "--input",
            "a b c",
            "--arg",
            "k=2",
            "--arg",
            "filler=_",
        ],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "_ _ a\n"), "{err}");
    let (code, out, err) = tessera(
        &[
            "run",
            "--entry",
            "std::rasp::detect_pattern",
            "--input",
            "a b a b",
            "--arg",
            "pattern=[a,b]",
        ],
        None,
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "false true false true\n"),
        "{err}"
    );
}

#[test]
fn check_reports_three_independent_errors() {
    let (code, _, err) = tessera(&["check", "tests/cases/errors/three_errors.tess"], None);
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.matches("error[").count(), 3, "{err}");
    assert!(err.contains("three_errors.tess:4:"), "{err}");
}

#[test]
fn check_json_gives_the_same_diagnostics_as_data() {
    let (code, out, _) = tessera(
        &["check", "--json", "tests/cases/errors/three_errors.tess"],
        None,
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let diags = v["diagnostics"].as_array().expect("a diagnostics array");
    assert_eq!(diags.len(), 3);
    assert!(
        diags
            .iter()
            .all(|d| d["line"].is_number() && d["col"].is_number() && d["kind"].is_string())
    );
}

#[test]
fn run_json_output() {
    let (code, out, _) = tessera(
        &[
            "run",
            "--json",
            "--entry",
            "std::rasp::hist",
            "--input",
            "a b a",
        ],
        None,
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["output"]["value"], serde_json::json!([2, 1, 2]));
    assert_eq!(v["output"]["type"], "cat");
}

#[test]
fn exit_codes() {
    // Program error: a runtime error in the program.
    let (code, _, err) = tessera(
        &["run", "--entry", "std::rasp::sort_unique", "--input", "1 1"],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("EmptySelection at query position 1"), "{err}");
    // Usage errors: missing file, unknown entry, bad flag, bad --arg.
    for args in [
        vec!["run", "no/such/file.tess", "--input", "a"],
        vec!["run", "--entry", "std::rasp::nope", "--input", "a"],
        vec!["run", "--bogus"],
        vec![
            "run",
            "--entry",
            "std::rasp::sort",
            "--input",
            "a",
            "--arg",
            "novalue",
        ],
        vec!["frobnicate"],
    ] {
        let (code, _, err) = tessera(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
}

#[test]
fn a_program_that_reads_no_input_runs_without_one() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("const.tess");
    std::fs::write(&f, "fn main() = 6 * 7\n").expect("write");
    let (code, out, _) = tessera(&["run", f.to_str().expect("utf-8 path")], None);
    assert_eq!((code, out.as_str()), (0, "42\n"));
    let g = dir.join("reads.tess");
    std::fs::write(&g, "fn main() = tokens\n").expect("write");
    let (code, _, err) = tessera(&["run", g.to_str().expect("utf-8 path")], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no input was given"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_utf8_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tessera-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("bad.tess");
    std::fs::write(&f, b"fn main() = \xff\xfe tokens\n").expect("write");
    let (code, _, err) = tessera(&["check", f.to_str().expect("utf-8 path")], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not valid UTF-8"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_compiles_and_agrees_with_the_interpreter() {
    let (code, out, err) = tessera(
        &[
            "verify",
            "--entry",
            "std::rasp::sort",
            "--vocab",
            "a,b,c",
            "--max-len",
            "5",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("every input of length 0..=5: 364 compared, 364 agree, 0 disagree"),
        "{out}"
    );
}

#[test]
fn stats_json() {
    let (code, out, err) = tessera(
        &[
            "stats",
            "--json",
            "examples/reverse.tess",
            "--vocab",
            "a,b,c,d",
            "--max-len",
            "10",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    // `length`, then the reversed index computed in the MLP that decodes it, then the lookup:
    // RASP's own count.
    assert_eq!(v["stats"]["layers"], 2);
    assert!(v["stats"]["nonzero_params"].as_u64().is_some_and(|n| n > 0));
    // the compile time by phase adds up to no more than the whole
    let total = v["stats"]["compile_ms"].as_f64().expect("compile_ms");
    let phases = &v["stats"]["compile_phases_ms"];
    let sum: f64 = ["lower_ms", "optimise_ms", "graph_ms"]
        .iter()
        .map(|k| phases[*k].as_f64().expect("a phase"))
        .sum();
    assert!(sum > 0.0 && sum <= total * 1.0001, "{phases} vs {total}");
}

#[test]
fn compiling_what_the_lowering_lacks_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-lacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("halves.tess");
    std::fs::write(
        &f,
        "fn main() = mean(select(indices, indices, <=), numeric(map(tokens, |t| float(t) / 2)))\n",
    )
    .expect("write");
    let (code, _, err) = tessera(
        &[
            "stats",
            f.to_str().expect("utf-8"),
            "--vocab",
            "1,2,3",
            "--max-len",
            "4",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not compiled yet"), "{err}");
    // And a failed compile writes nothing.
    let out = dir.join("model");
    let (code, _, err) = tessera(
        &[
            "compile",
            f.to_str().expect("utf-8"),
            "--vocab",
            "1,2,3",
            "--max-len",
            "4",
            "-o",
            out.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(!out.exists(), "a failed compile left a model behind");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compile_then_exec_with_candle() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-model-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8 path");
    let (code, out, err) = tessera(
        &[
            "compile",
            "examples/reverse.tess",
            "--vocab",
            "a,b,c,d",
            "--max-len",
            "8",
            "-o",
            d,
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verified on"), "{out}");
    let (code, out, err) = tessera(&["exec", d, "--input", "a b c d"], None);
    assert_eq!((code, out.as_str()), (0, "d c b a\n"), "{err}");
    // A batch: one output line per input line (an empty line is an empty input), the same
    // from both engines; 300 inputs are enough for the sparse engine to split them.
    let (code, out, err) = tessera(&["exec", d, "--batch", "-"], Some("a b c d\n\nb a\n"));
    assert_eq!((code, out.as_str()), (0, "d c b a\n\na b\n"), "{err}");
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    let lines: Vec<String> = (0..300)
        .map(|i| {
            let n = i % 9;
            (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    ["a", "b", "c", "d"][(s % 4) as usize]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let batch = dir.with_extension("batch.txt");
    std::fs::write(&batch, lines.join("\n")).expect("write");
    let b = batch.to_str().expect("utf-8 path");
    let (code, candle, err) = tessera(&["exec", d, "--batch", b], None);
    assert_eq!(code, 0, "{err}");
    let (code, sparse, err) = tessera(&["exec", d, "--batch", b, "--sparse"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sparse, candle);
    let want: Vec<String> = lines
        .iter()
        .map(|l| l.split(' ').rev().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(sparse.lines().collect::<Vec<_>>(), want);
    let (code, json, err) = tessera(&["exec", d, "--batch", b, "--sparse", "--json"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        json.starts_with("{\"ok\":true,\"outputs\":[[],[\"d\"],"),
        "{json}"
    );
    // A bad token or a long line: a usage error at its line (and column), nothing printed.
    std::fs::write(&batch, "a b\nb  q a\n").expect("write");
    let (code, out, err) = tessera(&["exec", d, "--batch", b, "--sparse"], None);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(err.contains("batch.txt:2:4: token `q`"), "{err}");
    std::fs::write(&batch, "a\nb\na a a a a a a a a\n").expect("write");
    let (code, _, err) = tessera(&["exec", d, "--batch", b], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("batch.txt:3: 9 tokens"), "{err}");
    let (code, _, err) = tessera(&["exec", d, "--batch", "/nonexistent/x.txt"], None);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read the batch /nonexistent/x.txt"),
        "{err}"
    );
    let _ = std::fs::remove_file(&batch);
    // A token outside the vocabulary, an input too long: usage errors, not panics.
    let (code, _, err) = tessera(&["exec", d, "--input", "a q"], None);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = tessera(&["exec", d, "--input", "a a a a a a a a a"], None);
    assert_eq!(code, 2, "{err}");
    // A corrupted weight file is refused with a clear error.
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).expect("read");
    std::fs::write(&weights, &bytes[..bytes.len() / 3]).expect("write");
    let (code, _, err) = tessera(&["exec", d, "--input", "a b"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot load the model"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn draw_writes_an_svg_with_one_band_per_layer() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-draw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("reverse.svg");
    let (code, _, err) = tessera(
        &[
            "draw",
            "examples/reverse.tess",
            "--input",
            "a b c d",
            "-o",
            f.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(&f).expect("written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains(">layer 1<") && svg.contains(">layer 2<") && !svg.contains(">layer 3<"));
    // The aggregate head's 4x4 selector: 16 cells, 4 of them selected (the anti-diagonal).
    assert_eq!(svg.matches("fill=\"#3b6fb6\"").count(), 4, "{svg}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `tessera … | head -c 1`: the reader goes away before the output is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "run",
            "--json",
            "--entry",
            "std::rasp::sort",
            "--input",
            &"b a ".repeat(300),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let status = child.wait().expect("finishes");
    assert_ne!(status.code(), Some(101), "panicked on a closed stdout");
}

/// Every file of the bad-input corpus, through the binary: exit 1 or 2 with a diagnostic,
/// never 101 (a panic).
#[test]
fn the_error_corpus_exits_cleanly_through_the_binary() {
    let dir = format!("{}/tests/cases/errors", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tess"))
        .collect();
    files.sort();
    assert!(files.len() >= 100, "the corpus has {} files", files.len());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let path = f.to_str().expect("utf-8 path");
        if text.contains("# check-error:") {
            let (code, _, err) = tessera(&["check", path], None);
            assert_eq!(code, 1, "{path}: {err}");
            assert!(err.contains("error["), "{path}: no diagnostic: {err}");
        }
        for line in text.lines() {
            if let Some(input) = line.strip_prefix("# input:") {
                let (code, _, err) = tessera(&["run", path, "--input", input.trim()], None);
                assert!(
                    matches!(code, 0..=2),
                    "{path} on {input:?}: exit {code}: {err}"
                );
            }
        }
    }
}

#[test]
fn vsa_examples_run_compile_and_warn() {
    let (code, out, err) = tessera(&["run", "examples/vsa_record.tess"], None);
    assert_eq!(
        (code, out.as_str()),
        (0, "[ada, blue, star, large]\n"),
        "{err}"
    );
    let (code, out, err) = tessera(
        &["run", "examples/vsa_sequence.tess", "--input", "c a b b"],
        None,
    );
    assert_eq!((code, out.as_str()), (0, "c a b b\n"), "{err}");
    // A VSA program through the whole pipeline: compile (verified), exec with candle.
    let dir = std::env::temp_dir().join(format!("tessera-cli-vsa-{}", std::process::id()));
    let d = dir.to_string_lossy().into_owned();
    let (code, _, err) = tessera(
        &[
            "compile",
            "examples/vsa_sequence.tess",
            "--vocab",
            "a,b,c,d",
            "--max-len",
            "3",
            "-o",
            &d,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = tessera(&["exec", &d, "--input", "d a c"], None);
    assert_eq!((code, out.as_str()), (0, "d a c\n"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    // The capacity warning goes to stderr; the program still runs.
    let src = dir.with_extension("tess");
    std::fs::write(
        &src,
        "space S = map(dim: 100, seed: 1);\nsymbols T in S = [a, b, c, d, e];\n\
         fn main() = cleanup(T.a + T.b + T.c + T.d + T.e, T)\n",
    )
    .expect("write");
    let (code, _, err) = tessera(&["run", &src.to_string_lossy()], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("W0601") && err.contains("raise `dim`"),
        "{err}"
    );
    let _ = std::fs::remove_file(&src);
}

#[test]
fn bench_vsa_quick_prints_tables_and_refuses_unknown_suites() {
    let (code, out, err) = tessera(&["bench", "vsa", "--quick", "--section", "resonator"], None);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("| MAP | 1000 | 20 | 50 |") && out.contains("100.0%"),
        "{out}"
    );
    let (code, _, err) = tessera(&["bench", "nope"], None);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = tessera(&["bench", "vsa", "--section", "nope"], None);
    assert_eq!(code, 2, "{err}");
}

/// Killing `tessera compile` while it works leaves the output directory absent or complete
/// (written under a temporary name and renamed into place), never half-written.
#[test]
fn interrupted_compile_leaves_no_partial_output() {
    let base = std::env::temp_dir().join(format!("tessera-interrupt-{}", std::process::id()));
    for delay_ms in [50u64, 150, 400, 1200] {
        let out = base.join(format!("m{delay_ms}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "compile",
                "--entry",
                "std::rasp::sort",
                "--vocab",
                "a,b,c,d,e,f",
                "--max-len",
                "24",
                "--no-verify",
                "-o",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        if out.exists() {
            // Complete: both files, and the model loads.
            assert!(out.join("graph.json").exists() && out.join("model.safetensors").exists());
            let (code, _, err) = tessera(&["exec", &out.to_string_lossy(), "--input", "b a"], None);
            assert_eq!(code, 0, "{err}");
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_fused_map_too_large_for_its_table_is_split_and_still_exact() {
    // Map fusion leaves `dyck2_ptf` maps over three counts (`failed`, and `depth` as the
    // difference of two widths): 7^3 rows at max_len 6, over the limit 150 given here. The
    // lowering splits off the parts that read fewer inputs (`w > 0`, `a - b == 0`), and the
    // model still agrees with the interpreter on every input.
    let (code, out, err) = tessera(
        &[
            "verify",
            "--entry",
            "std::rasp::dyck2_ptf",
            "--vocab",
            "(,),{,}",
            "--max-len",
            "6",
            "--max-table",
            "150",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("5461 compared, 5461 agree, 0 disagree"),
        "{out}"
    );
    // Regression: a split-off map read as a number (a numeric shadow) has no IR node; looking
    // one up panicked on `long_addition` at 256.
    let (code, out, err) = tessera(
        &[
            "stats",
            "--entry",
            "std::rasp::long_addition",
            "--vocab",
            "0,1,2,3,4,5,6,7,8,9,+",
            "--max-len",
            "256",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("layers"), "{out}");
}

#[test]
fn compile_limits_have_flags_and_name_themselves() {
    let base = [
        "stats",
        "--entry",
        "std::rasp::sort",
        "--vocab",
        "a,b,c",
        "--max-len",
        "8",
    ];
    let (code, _, err) = tessera(&[&base[..], &["--max-params", "1000"]].concat(), None);
    assert_eq!(code, 1);
    assert!(err.contains("--max-params"), "{err}");
    let (code, _, err) = tessera(&[&base[..], &["--max-table", "3"]].concat(), None);
    assert_eq!(code, 1);
    assert!(err.contains("--max-table"), "{err}");
    let (code, out, err) = tessera(&[&base[..], &["--opt-iterations", "0"]].concat(), None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("layers"), "{out}");
    let (code, _, err) = tessera(
        &[
            "stats",
            "examples/vsa_sequence.tess",
            "--vocab",
            "a,b",
            "--max-len",
            "3",
            "--max-vsa-weights",
            "100",
        ],
        None,
    );
    assert_eq!(code, 1);
    assert!(err.contains("--max-vsa-weights"), "{err}");
}

#[test]
fn front_end_limits_have_flags_and_name_themselves() {
    // Each flag: a value that makes a small, valid command fail with an error naming the flag
    // (exit 1 for a program error, 2 for a usage error); out-of-range values are usage errors.
    let sort = ["run", "--entry", "std::rasp::sort", "--input", "c b a"];
    let cases: [(&[&str], &str, i32); 5] = [
        (&["--max-input-tokens", "2"], "--max-input-tokens", 2),
        (&["--max-source-bytes", "10"], "--max-source-bytes", 1),
        (&["--max-nesting", "1"], "--max-nesting", 1),
        (&["--max-call-depth", "1"], "--max-call-depth", 1),
        (&["--max-dim", "64"], "--max-dim", 1),
    ];
    for (flags, name, want) in cases {
        let args: Vec<&str> = if name == "--max-input-tokens" {
            [&sort[..], flags].concat()
        } else if name == "--max-dim" {
            [&["run", "examples/vsa_record.tess"][..], flags].concat()
        } else if name == "--max-call-depth" {
            // `main` calls `reverse`, which calls `length`: two calls deep.
            [
                &["run", "examples/reverse_twice.tess", "--input", "a b"][..],
                flags,
            ]
            .concat()
        } else {
            [
                &["run", "examples/reverse.tess", "--input", "a b"][..],
                flags,
            ]
            .concat()
        };
        let (code, _, err) = tessera(&args, None);
        assert_eq!(code, want, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
    }
    for flag in [
        "--max-input-tokens",
        "--max-source-bytes",
        "--max-nesting",
        "--max-eval-depth",
        "--max-call-depth",
        "--max-dim",
        "--max-len-limit",
        "--max-vocab",
    ] {
        let (code, _, err) = tessera(&[&sort[..], &[flag, "0"]].concat(), None);
        assert_eq!(code, 2, "{flag}: {err}");
        assert!(err.contains(flag), "{flag}: {err}");
    }
    let (code, _, err) = tessera(
        &[
            "stats",
            "--entry",
            "std::rasp::sort",
            "--vocab",
            "a,b,c",
            "--max-len",
            "8",
            "--max-vocab",
            "2",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-vocab"), "{err}");
    let (code, out, err) = tessera(
        &[
            "stats",
            "--entry",
            "std::rasp::hist",
            "--vocab",
            "a,b",
            "--max-len",
            "5000",
            "--max-len-limit",
            "8192",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("layers"), "{out}");
}
