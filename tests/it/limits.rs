//! Hostile shapes never crash: deep nesting is an error, deep evaluation stops with
//! `RecursionLimit`, all within the 2 MiB stack a test thread (or a library caller's thread) has.

use tessera::Session;

/// Run `f` on a thread with a 2 MiB stack (a crash here aborts the test binary).
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic")
}

fn nested_neg(depth: usize) -> String {
    format!("{}tokens{}", "-(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_at_the_limit_runs() {
    let out = small_stack(|| {
        let src = format!("fn main() = {}\n", nested_neg(990));
        let s = Session::from_source("deep.tess", &src).map_err(|e| e.render(false))?;
        s.run("main", Some("1 2"), &[])
            .map(|o| o.render())
            .map_err(|e| e.render(false))
    });
    assert_eq!(out.as_deref(), Ok("1 2"));
}

#[test]
fn nesting_past_the_limit_is_an_error() {
    let kinds = small_stack(|| {
        let src = format!(
            "fn main() = {}\nfn sum() = {}\n",
            nested_neg(5000),
            vec!["1"; 5000].join(" + ")
        );
        match Session::from_source("deep.tess", &src) {
            Ok(_) => vec![],
            Err(e) => e.kinds().iter().map(|k| k.to_string()).collect(),
        }
    });
    assert_eq!(kinds, vec!["NestingTooDeep"]);
}

#[test]
fn self_application_stops_with_recursion_limit() {
    let kinds = small_stack(|| {
        let s =
            Session::from_source("g.tess", "fn g(f) = f(f)\nfn main() = g(g)\n").expect("checks");
        match s.run("main", None, &[]) {
            Ok(o) => vec![o.render()],
            Err(e) => e.kinds().iter().map(|k| k.to_string()).collect(),
        }
    });
    assert_eq!(kinds, vec!["RecursionLimit"]);
}

#[test]
fn deep_call_chains_with_deep_bodies_stop_cleanly() {
    let r = small_stack(|| {
        let mut src = format!("fn f0(x) = {}\n", nested_neg(150).replace("tokens", "x"));
        for i in 1..60 {
            src.push_str(&format!(
                "fn f{i}(x) = {}\n",
                nested_neg(150).replace("tokens", &format!("f{}(x)", i - 1))
            ));
        }
        src.push_str("fn main() = f59(tokens)\n");
        let s = Session::from_source("chain.tess", &src).map_err(|e| e.render(false))?;
        match s.run("main", Some("1"), &[]) {
            Ok(o) => Ok(o.render()),
            Err(e) => Ok(e.kinds().join(",")),
        }
    });
    assert_eq!(r, Ok::<String, String>("RecursionLimit".to_string()));
}

fn raised(f: impl FnOnce(&mut tessera_lang::limits::Limits)) -> tessera_lang::limits::Limits {
    let mut l = tessera_lang::limits::Limits::default();
    f(&mut l);
    l
}

fn kinds_or_output(s: &Session, entry: &str, input: Option<&str>) -> String {
    match s.run(entry, input, &[]) {
        Ok(o) => o.render(),
        Err(e) => e.kinds().join(","),
    }
}

#[test]
fn raised_nesting_and_evaluation_limits_run_what_the_defaults_refuse() {
    let r = small_stack(|| {
        // 3,000 deep: past the default nesting (1,000) and, counted through evaluation, past
        // the default evaluation depth (4,000); at the ceiling of `--max-nesting` (10,000) the
        // tree is still built, checked, run and dropped on this 2 MiB thread.
        let mut out = Vec::new();
        for depth in [3000, tessera_lang::limits::NESTING.ceiling] {
            let src = format!("fn main() = {}\n", nested_neg(depth));
            let refused = match Session::from_source("deep.tess", &src) {
                Ok(_) => "checks".to_string(),
                Err(e) => e.kinds().join(","),
            };
            let limits = raised(|l| {
                l.nesting = depth + 1;
                l.eval_depth = 4 * depth;
            });
            let s = Session::from_source_with("deep.tess", &src, limits)
                .map_err(|e| e.render(false))?;
            out.push(format!(
                "{refused} / {}",
                kinds_or_output(&s, "main", Some("1 2"))
            ));
        }
        Ok::<_, String>(out)
    });
    // An even number of negations is the identity.
    assert_eq!(
        r,
        Ok(vec![
            "NestingTooDeep / 1 2".to_string(),
            "NestingTooDeep / 1 2".to_string()
        ])
    );
}

#[test]
fn the_call_depth_limit_is_a_setting() {
    let mut src = "fn f0(x) = x + 1\n".to_string();
    for i in 1..100 {
        src.push_str(&format!("fn f{i}(x) = f{}(x) + 1\n", i - 1));
    }
    src.push_str("fn main() = f99(tokens)\n");
    let default = Session::from_source("chain.tess", &src).expect("checks");
    assert_eq!(
        kinds_or_output(&default, "main", Some("0")),
        "RecursionLimit"
    );
    let s = Session::from_source_with("chain.tess", &src, raised(|l| l.call_depth = 100))
        .expect("checks");
    assert_eq!(kinds_or_output(&s, "main", Some("0")), "100");
    let s = Session::from_source_with("chain.tess", &src, raised(|l| l.call_depth = 99))
        .expect("checks");
    assert_eq!(kinds_or_output(&s, "main", Some("0")), "RecursionLimit");
}

#[test]
fn inputs_longer_than_the_token_limit_are_refused_before_running() {
    let s = Session::stdlib_with(raised(|l| l.input_tokens = 3));
    assert_eq!(
        kinds_or_output(&s, "std::rasp::sort", Some("c b a")),
        "a b c"
    );
    assert_eq!(
        kinds_or_output(&s, "std::rasp::sort", Some("d c b a")),
        "InputTooLong"
    );
    let e = s
        .run("std::rasp::sort", Some("d c b a"), &[])
        .expect_err("refused");
    assert!(
        e.render(false).contains("--max-input-tokens"),
        "{}",
        e.render(false)
    );
    assert_eq!(e.kind, tessera::ErrorKind::Usage);
}

#[test]
fn sources_larger_than_the_limit_are_refused_without_parsing() {
    let src = format!("fn main() = tokens\n{}", "# padding\n".repeat(20));
    let l = raised(|l| l.source_bytes = 64);
    let e = Session::from_source_with("big.tess", &src, l)
        .err()
        .expect("refused");
    assert_eq!(e.kinds(), vec!["SourceTooLarge"]);
    assert!(e.render(false).contains("--max-source-bytes"));
    let dir = std::env::temp_dir().join(format!("tessera-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.tess");
    std::fs::write(&path, &src).expect("write");
    let e = Session::from_file_with(&path, l).err().expect("refused");
    assert_eq!(e.kinds(), vec!["SourceTooLarge"]);
    assert!(Session::from_file(&path).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_vsa_dimension_limit_is_a_setting() {
    let src = "space S = map(dim: 5000, seed: 1);\nsymbols C in S = [a, b];\nfn main() = cleanup(C.a * C.b / C.b, C)\n";
    let tight =
        Session::from_source_with("d.tess", src, raised(|l| l.vsa_dim = 4096)).expect("checks");
    let e = tight.run("main", None, &[]).expect_err("refused");
    assert_eq!(e.kinds(), vec!["LimitExceeded"]);
    assert!(e.render(false).contains("--max-dim"), "{}", e.render(false));
    let s = Session::from_source("d.tess", src).expect("checks");
    assert_eq!(kinds_or_output(&s, "main", None), "a");
}

/// A chain of circuits whose bodies are each nested near the limit, each calling the next:
/// elaboration grows its stack as it goes (this took a SIGSEGV from the `interp` fuzz target's
/// neighbourhood before every circuit expression got `with_stack`).
#[test]
fn deep_circuit_bodies_through_call_chains_elaborate() {
    let out = small_stack(|| {
        let n = 30;
        let body = |callee: String| format!("{}{callee}{}", "(x ^ ".repeat(900), ")".repeat(900));
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!(
                "circuit c{i}(x: bits[8]) -> bits[8] {{ {} }}\n",
                body(format!("c{}(x)", i + 1))
            ));
        }
        src.push_str(&format!("circuit c{n}(x: bits[8]) -> bits[8] {{ x }}\n"));
        let s = Session::from_source("chain.tess", &src).map_err(|e| e.render(false))?;
        s.run("c0", Some("5"), &[])
            .map(|o| o.render())
            .map_err(|e| e.render(false))
    });
    // 900 XORs with x per circuit, 30 circuits: an even count, so x ^ ... ^ x = x.
    assert_eq!(out.as_deref(), Ok("8'b00000101 (5)"));
}

/// A `let` that reads itself, read by a circuit, is an error (the fuzz target's SIGSEGV: the
/// circuit elaborator followed `let p = p ^ 1` forever), and so is a chain of lets deeper than
/// the call depth.
#[test]
fn circuits_reading_recursive_or_deep_lets_are_errors() {
    let kinds = small_stack(|| {
        let mut out = Vec::new();
        let deep: String = (0..200)
            .map(|i| format!("let a{i} = a{} + 1;\n", i + 1))
            .collect::<String>()
            + "let a200 = 1;\ncircuit main(x: bits[8]) -> bits[8] { a0 ^ x }\n";
        for src in [
            "let p = p ^ 1;\ncircuit c(x: bits[8]) -> bits[8] { p % x }\n".to_string(),
            deep,
        ] {
            match Session::from_source("lets.tess", &src) {
                Ok(_) => out.push(vec!["ok".to_string()]),
                Err(e) => out.push(e.kinds().iter().map(|k| k.to_string()).collect()),
            }
        }
        out
    });
    assert!(kinds[0].contains(&"Recursion".to_string()), "{kinds:?}");
    assert!(
        kinds[0].contains(&"RecursionLimit".to_string()),
        "{kinds:?}"
    );
    assert_eq!(kinds[1], vec!["RecursionLimit".to_string()]);
}
