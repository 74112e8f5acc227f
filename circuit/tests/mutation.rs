//! Single-gate mutations of every small benchmark circuit (and of its optimised form): the
//! checker must call a mutant different exactly when its truth tables differ (computed
//! independently here), with a counterexample that separates the two; both proof engines
//! (exhaustive simulation and SAT sweeping) are held to this.

mod common;

use tessera_circuit::cec::{self, Engine, Verdict};
use tessera_circuit::mutate::{self, Mutation};
use tessera_circuit::{Aig, sim};

fn check(name: &str, g: &Aig, engine: Engine, stride: usize) -> (usize, usize) {
    let tables = sim::output_tables(g);
    let (mut caught, mut total) = (0, 0);
    for (k, v) in mutate::observable_nodes(g).into_iter().enumerate() {
        if k % stride != 0 {
            continue;
        }
        for m in [
            Mutation::FlipFanin {
                node: v,
                which: (k / stride) % 2,
            },
            Mutation::FlipNode { node: v },
            Mutation::AndToOr { node: v },
        ] {
            let bad = mutate::apply(g, m).unwrap();
            let differs = sim::output_tables(&bad) != tables;
            let verdict = cec::cec_with(g, &bad, engine).unwrap();
            match (&verdict, differs) {
                (Verdict::Different { output, input }, true) => {
                    assert_ne!(
                        g.eval(input)[*output],
                        bad.eval(input)[*output],
                        "{name} {m:?}: bad witness"
                    );
                    caught += 1;
                }
                (Verdict::Equivalent(_), false) => {}
                _ => panic!(
                    "{name} {m:?} ({engine:?}): verdict {verdict:?}, truth tables differ: {differs}"
                ),
            }
            total += differs as usize;
        }
    }
    (caught, total)
}

#[test]
fn every_functional_mutant_is_caught_exhaustively() {
    let (mut caught, mut total) = (0, 0);
    for (name, g) in common::small_circuits(2000) {
        if g.num_inputs() > 16 {
            continue;
        }
        let opt = tessera_circuit::synth::run(&g, tessera_circuit::synth::Effort::Fast);
        for (tag, c) in [("input", &g), ("optimised", &opt)] {
            let (a, b) = check(&format!("{name} {tag}"), c, Engine::Auto, 1);
            caught += a;
            total += b;
        }
    }
    eprintln!("exhaustive engine: {caught} of {total} functional mutants caught");
    assert_eq!(caught, total);
    assert!(total > 5000, "only {total} functional mutants");
}

#[test]
fn every_functional_mutant_is_caught_by_sat_sweeping() {
    let (mut caught, mut total) = (0, 0);
    for (name, g) in common::small_circuits(400) {
        let (a, b) = check(&name, &g, Engine::SatSweep, 3);
        caught += a;
        total += b;
    }
    eprintln!("SAT engine: {caught} of {total} functional mutants caught");
    assert_eq!(caught, total);
    assert!(total > 500, "only {total} functional mutants");
}

/// The large EPFL circuits (more than 16 inputs, or more than 2,000 ANDs): mutants sampled
/// across each graph. Where random simulation already shows a difference, the checker must
/// report one too, with a witness that separates the circuits; no mutant may be called
/// different without such a witness.
#[test]
fn sampled_mutants_of_the_large_circuits_are_caught() {
    let entries =
        tessera_circuit::bench::read_manifest(&common::data().join("manifest.csv")).unwrap();
    let mut caught = 0;
    for e in entries.iter().filter(|e| e.suite == "epfl") {
        let (g, _) = tessera_circuit::bench::load(&common::data(), e).unwrap();
        if g.num_inputs() <= 16 && g.num_ands() <= 2000 {
            continue;
        }
        let nodes = mutate::observable_nodes(&g);
        let per = if g.num_inputs() > 20 && g.num_inputs() <= 26 {
            2
        } else {
            6
        };
        for k in 0..per {
            let v = nodes[(k * 7919 + 13) % nodes.len()];
            let m = match k % 3 {
                0 => Mutation::FlipFanin {
                    node: v,
                    which: k % 2,
                },
                1 => Mutation::FlipNode { node: v },
                _ => Mutation::AndToOr { node: v },
            };
            let bad = mutate::apply(&g, m).unwrap();
            let words = 64;
            let pats = sim::random_inputs(g.num_inputs(), words, 17 + k as u64);
            let ga = sim::simulate_nodes(&g, words, |i, w| pats[i * words + w]);
            let gb = sim::simulate_nodes(&bad, words, |i, w| pats[i * words + w]);
            let differs = g.outputs().iter().zip(bad.outputs()).any(|(&a, &b)| {
                sim::lit_words(&ga, words, a)
                    .zip(sim::lit_words(&gb, words, b))
                    .any(|(x, y)| x != y)
            });
            match cec::cec(&g, &bad).unwrap() {
                Verdict::Different { output, input } => {
                    assert_ne!(
                        g.eval(&input)[output],
                        bad.eval(&input)[output],
                        "{} {m:?}: bad witness",
                        e.name
                    );
                    caught += 1;
                }
                Verdict::Equivalent(method) => {
                    assert!(
                        !differs,
                        "{} {m:?}: simulation shows a difference, the checker says equivalent ({method})",
                        e.name
                    );
                }
            }
        }
    }
    eprintln!("large circuits: {caught} sampled mutants caught");
    assert!(caught >= 20, "only {caught} mutants caught");
}
