//! Learning end to end: syntax schema and meanings from SCAN's training pairs alone.

use tessera_gss::data::{PCFG_BINARY, PCFG_UNARY, PcfgSplit, ScanSplit};
use tessera_gss::learn::{Fixity, LearnConfig, Schema, accuracy, build, fit};
use tessera_gss::model::Interner;
use tessera_gss::{Task, examples, train_task};

#[test]
fn scan_opposite_right_generalises_under_the_copying_prior() {
    // `opposite` is only seen with `left` in training; a meaning that copies the direction
    // (cheaper than naming I_TURN_LEFT) is what makes `opposite right` right at test time.
    let o = train_task(
        Task::Scan(ScanSplit::TemplateOppositeRight),
        1,
        None,
        &LearnConfig::default(),
        &mut |_| {},
    );
    assert_eq!(o.train.0, o.train.1, "{}", o.gss.to_source());
    assert_eq!(o.test, (4476, 4476), "{}", o.gss.to_source());
    // arities were learned, not given: the binary operators ended up binary
    let and = o.gss.names.get("and").unwrap();
    assert_eq!(o.gss.rule(and).unwrap().fixity.arity(), 2);
}

#[test]
fn pcfg_meanings_are_found_for_the_right_schema() {
    // the semantics half on its own: with the schema fixed, deduction and abduction find all
    // ten string functions from the training pairs, and they generalise
    let (train, test) = Task::Pcfg(PcfgSplit::Systematicity).data(1);
    let mut names = Interner::default();
    let train = examples(&mut names, &train);
    let test = examples(&mut names, &test);
    let mut schema = Schema {
        jux: Some(4),
        ..Schema::default()
    };
    for f in PCFG_UNARY {
        schema
            .fix
            .insert(names.get(f).unwrap(), Fixity::Prefix { arity: 1, prec: 1 });
    }
    for f in PCFG_BINARY {
        schema
            .fix
            .insert(names.get(f).unwrap(), Fixity::Prefix { arity: 2, prec: 1 });
    }
    schema
        .fix
        .insert(names.get(",").unwrap(), Fixity::Separator);
    let f = fit(&schema, &train, &LearnConfig::default());
    let g = build("pcfg", &names, &schema, &f, &train);
    for &i in f.unexplained.iter().take(3) {
        eprintln!(
            "miss: {} -> {}",
            names.render(&train[i].input),
            names.render(&train[i].output)
        );
    }
    assert_eq!(f.explained, train.len(), "{}", g.to_source());
    let g = build("pcfg", &names, &schema, &f, &train);
    assert_eq!(
        accuracy(&g, &names, &test),
        (test.len(), test.len()),
        "{}",
        g.to_source()
    );
}
