//! Every `$ tessera …` command of docs/tutorial.md runs, in a scratch copy of `examples/`, and
//! prints what the tutorial shows (a line ending in `...` matches any line with that prefix).

use std::process::Command;

/// Split a command line into words (double quotes group; no escapes needed here).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

#[test]
fn every_tutorial_command_runs_as_shown() {
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/docs/tutorial.md")).expect("the tutorial");
    let scratch = std::env::temp_dir().join(format!("tessera-tutorial-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("examples")).expect("scratch");
    for e in std::fs::read_dir(format!("{root}/examples")).expect("examples") {
        let p = e.expect("entry").path();
        if let Some(name) = p.file_name() {
            std::fs::copy(&p, scratch.join("examples").join(name)).expect("copy");
        }
    }
    // Commands and their expected output, from ```console blocks.
    let mut cases: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_console = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            cases.push((cmd.to_string(), Vec::new()));
        } else if let Some((_, out)) = cases.last_mut() {
            out.push(line.to_string());
        }
    }
    assert!(
        cases.len() >= 10,
        "the tutorial should have its commands ({} found)",
        cases.len()
    );
    for (cmd, expected) in &cases {
        let w = words(cmd);
        assert_eq!(w[0], "tessera", "{cmd}");
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(&w[1..])
            .current_dir(&scratch)
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "`{cmd}` failed:\n{}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<&str> = stdout.lines().collect();
        assert_eq!(got.len(), expected.len(), "`{cmd}` printed:\n{stdout}");
        for (g, e) in got.iter().zip(expected) {
            match e.strip_suffix("...") {
                Some(prefix) => assert!(
                    g.starts_with(prefix),
                    "`{cmd}`: `{g}` does not start with `{prefix}`"
                ),
                None => assert_eq!(g, e, "`{cmd}`"),
            }
        }
    }
    assert!(
        scratch.join("reverse.svg").exists()
            && scratch.join("reverse-model/model.safetensors").exists()
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
