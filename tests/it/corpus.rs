//! The corpus runner. Each `tests/cases/**/*.tess` file starts with a comment header:
//!
//! ```text
//! # entry: std::rasp::sort          (optional; default `main`)
//! # args: k=2 filler=_              (optional; NAME=VALUE pairs for scalar parameters)
//! # check-error: UnknownName, TypeMismatch   (the file must fail to check with these kinds)
//! # input: 3 1 2 1                  (one case: the input tokens; `# no-input` runs without)
//! # output: 1 1 2 3                 (... and its expected printed output)
//! # error: EmptySelection           (... or the expected runtime error kind)
//! ```

use tessera::Session;

#[derive(Debug)]
struct Case {
    input: Option<String>,
    expect: Result<String, String>,
    line: usize,
}

pub fn run_case(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut entry = "main".to_string();
    let mut args: Vec<(String, String)> = Vec::new();
    let mut check_error: Option<Vec<String>> = None;
    let mut cases: Vec<Case> = Vec::new();
    let mut pending: Option<(Option<String>, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let rest = rest.trim_start();
        let (key, value) = match rest.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (rest.trim(), ""),
        };
        match key {
            "entry" => entry = value.to_string(),
            "args" => {
                for kv in value.split_whitespace() {
                    let (k, v) = kv
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{path}:{}: bad arg `{kv}`", i + 1));
                    args.push((k.to_string(), v.to_string()));
                }
            }
            "check-error" => {
                check_error = Some(
                    value
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect(),
                )
            }
            "input" => pending = Some((Some(value.to_string()), i + 1)),
            "no-input" => pending = Some((None, i + 1)),
            "output" | "error" => {
                let (input, line) = pending
                    .take()
                    .unwrap_or_else(|| panic!("{path}:{}: `# {key}:` without `# input:`", i + 1));
                let expect = if key == "output" {
                    Ok(value.to_string())
                } else {
                    Err(value.to_string())
                };
                cases.push(Case {
                    input,
                    expect,
                    line,
                });
            }
            _ => {}
        }
    }
    assert!(
        pending.is_none(),
        "{path}: an `# input:` has no `# output:` or `# error:`"
    );

    let session = match (Session::from_source(path, &text), &check_error) {
        (Ok(_), Some(kinds)) => {
            panic!("{path}: expected check errors {kinds:?}, but the program checked")
        }
        (Err(e), Some(kinds)) => {
            let got: Vec<String> = e.kinds().iter().map(|k| k.to_string()).collect();
            assert_eq!(
                &got,
                kinds,
                "{path}: check errors differ:\n{}",
                e.render(false)
            );
            return;
        }
        (Err(e), None) => panic!("{path}: does not check:\n{}", e.render(false)),
        (Ok(s), None) => s,
    };
    assert!(!cases.is_empty(), "{path}: no cases");
    for c in &cases {
        let got = session.run(&entry, c.input.as_deref(), &args);
        let at = format!("{path}:{} (input {:?})", c.line, c.input);
        match (&c.expect, got) {
            (Ok(want), Ok(out)) => assert_eq!(out.render(), *want, "{at}"),
            (Ok(want), Err(e)) => panic!(
                "{at}: expected `{want}`, got an error:\n{}",
                e.render(false)
            ),
            (Err(kind), Ok(out)) => panic!("{at}: expected error {kind}, got `{}`", out.render()),
            (Err(kind), Err(e)) => {
                assert_eq!(e.kinds(), vec![kind.as_str()], "{at}:\n{}", e.render(false))
            }
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/corpus_cases.rs"));
