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
