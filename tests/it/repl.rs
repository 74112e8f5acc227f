//! The REPL driven by a script: input lines in, transcript out (snapshot).

use tessera::repl::{Read, Repl, ScriptSource};

fn transcript(reads: Vec<Read>) -> String {
    let shown: Vec<String> = reads
        .iter()
        .map(|r| match r {
            Read::Line(l) => format!("> {l}"),
            Read::Interrupted => "> ^C".into(),
            Read::Eof => "> ^D".into(),
        })
        .collect();
    let mut source = ScriptSource::new(reads);
    let mut out = Vec::new();
    Repl::new()
        .run(&mut source, &mut out)
        .expect("writes to memory");
    format!(
        "{}\n---\n{}",
        shown.join("\n"),
        String::from_utf8_lossy(&out)
    )
}

fn lines(text: &str) -> Vec<Read> {
    text.lines().map(|l| Read::Line(l.to_string())).collect()
}

#[test]
fn a_session_with_examples_grids_types_and_errors() {
    let mut reads = lines(
        ":example a b c b\n\
         fn rev(xs) {\n\
         \x20   let opp = length - indices - 1;\n\
         \x20   aggregate(select(indices, opp, ==), xs)\n\
         }\n\
         rev(tokens)\n\
         let h = width(select(tokens, tokens, ==));\n\
         select(tokens, tokens, ==)\n\
         :type h\n\
         :type select(tokens, tokens, <) & !select(indices, indices, ==)\n\
         mean(select(indices, indices, <=), tokens)\n\
         hist(tokens)\n\
         use std::rasp::{hist, sort};\n\
         sort(tokens, tokens)\n\
         let broken = (1 +",
    );
    reads.push(Read::Interrupted);
    reads.extend(lines(
        "h\n:stats h\n:exmple\n:defs\n:reset\ntokens\n6 * 7\n:quit\nnever read",
    ));
    insta::assert_snapshot!(transcript(reads));
}

#[test]
fn end_of_input_leaves_quietly() {
    let out = transcript(vec![Read::Line(":example x".into()), Read::Eof]);
    assert!(out.ends_with("example: x\n"), "{out}");
}
