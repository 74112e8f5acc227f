//! Equality saturation over Boolean expressions (egg), as a window pass.
//!
//! For every AND node, the cone of a reconvergence-driven cut (at most [`MAX_LEAVES`] leaves,
//! at most [`MAX_CONE`] ANDs) becomes a term over `& | ^ !`; egg saturates it under the Boolean
//! algebra (commutativity, associativity, De Morgan, distributivity both ways, absorption,
//! idempotence, complements, constants, XOR introduction and elimination) within node,
//! iteration and time limits; a **DAG-aware** greedy extraction then picks, per e-class, the node
//! whose *set* of gate-classes (shared sub-terms counted once; an AND or OR costs one AND, an XOR
//! three) is smallest. The result replaces the cone when the MFFC accounting says it saves ANDs.

use crate::aig::{Aig, Lit};
use crate::net::Net;
use egg::{Id, RecExpr, Runner, define_language, rewrite};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The most leaves a window may have.
pub const MAX_LEAVES: usize = 8;
/// The most ANDs a window's cone may have.
pub const MAX_CONE: usize = 24;

define_language! {
    /// Boolean terms over window leaves.
    enum BoolLang {
        "&" = And([Id; 2]),
        "|" = Or([Id; 2]),
        "^" = Xor([Id; 2]),
        "!" = Not(Id),
        Leaf(u32),
        Const(bool),
    }
}

fn rules() -> Vec<egg::Rewrite<BoolLang, ()>> {
    let mut r = vec![
        rewrite!("and-comm"; "(& ?a ?b)" => "(& ?b ?a)"),
        rewrite!("or-comm"; "(| ?a ?b)" => "(| ?b ?a)"),
        rewrite!("xor-comm"; "(^ ?a ?b)" => "(^ ?b ?a)"),
        rewrite!("and-assoc"; "(& ?a (& ?b ?c))" => "(& (& ?a ?b) ?c)"),
        rewrite!("or-assoc"; "(| ?a (| ?b ?c))" => "(| (| ?a ?b) ?c)"),
        rewrite!("xor-assoc"; "(^ ?a (^ ?b ?c))" => "(^ (^ ?a ?b) ?c)"),
        rewrite!("double-not"; "(! (! ?a))" => "?a"),
        rewrite!("and-idem"; "(& ?a ?a)" => "?a"),
        rewrite!("or-idem"; "(| ?a ?a)" => "?a"),
        rewrite!("and-compl"; "(& ?a (! ?a))" => "false"),
        rewrite!("or-compl"; "(| ?a (! ?a))" => "true"),
        rewrite!("and-false"; "(& ?a false)" => "false"),
        rewrite!("and-true"; "(& ?a true)" => "?a"),
        rewrite!("or-true"; "(| ?a true)" => "true"),
        rewrite!("or-false"; "(| ?a false)" => "?a"),
        rewrite!("not-true"; "(! true)" => "false"),
        rewrite!("not-false"; "(! false)" => "true"),
        rewrite!("xor-self"; "(^ ?a ?a)" => "false"),
        rewrite!("xor-false"; "(^ ?a false)" => "?a"),
        rewrite!("xor-true"; "(^ ?a true)" => "(! ?a)"),
        rewrite!("absorb-and"; "(& ?a (| ?a ?b))" => "?a"),
        rewrite!("absorb-or"; "(| ?a (& ?a ?b))" => "?a"),
        rewrite!("and-xor-simplify"; "(& ?a (^ ?a ?b))" => "(& ?a (! ?b))"),
    ];
    r.extend(egg::rewrite!("demorgan-and"; "(! (& ?a ?b))" <=> "(| (! ?a) (! ?b))"));
    r.extend(egg::rewrite!("demorgan-or"; "(! (| ?a ?b))" <=> "(& (! ?a) (! ?b))"));
    r.extend(egg::rewrite!("distribute-and"; "(& ?a (| ?b ?c))" <=> "(| (& ?a ?b) (& ?a ?c))"));
    r.extend(egg::rewrite!("distribute-or"; "(| ?a (& ?b ?c))" <=> "(& (| ?a ?b) (| ?a ?c))"));
    r.extend(egg::rewrite!("xor-def"; "(^ ?a ?b)" <=> "(| (& ?a (! ?b)) (& (! ?a) ?b))"));
    r.extend(egg::rewrite!("xnor"; "(! (^ ?a ?b))" <=> "(^ (! ?a) ?b)"));
    r
}

/// The term of `root`'s cone over `leaves` (leaf `i` is `Leaf(i)`), or `None` when the cone is
/// not inside the leaves or too large.
fn term(net: &Net, root: u32, leaves: &[u32]) -> Option<(RecExpr<BoolLang>, Id)> {
    let mut expr = RecExpr::default();
    let mut ids: HashMap<u32, Id> = HashMap::new();
    for (i, &l) in leaves.iter().enumerate() {
        ids.insert(l, expr.add(BoolLang::Leaf(i as u32)));
    }
    ids.entry(0)
        .or_insert_with(|| expr.add(BoolLang::Const(false)));
    let mut stack = vec![(root, false)];
    let mut ands = 0;
    while let Some((v, expanded)) = stack.pop() {
        if ids.contains_key(&v) {
            continue;
        }
        if !net.is_and(v) {
            return None;
        }
        let [a, b] = net.fanins(v);
        if expanded {
            let side = |l: Lit, expr: &mut RecExpr<BoolLang>| -> Option<Id> {
                let id = *ids.get(&l.var())?;
                Some(if l.is_compl() {
                    expr.add(BoolLang::Not(id))
                } else {
                    id
                })
            };
            let (x, y) = (side(a, &mut expr)?, side(b, &mut expr)?);
            ids.insert(v, expr.add(BoolLang::And([x, y])));
            continue;
        }
        ands += 1;
        if ands > MAX_CONE {
            return None;
        }
        stack.push((v, true));
        for c in [a, b] {
            if !ids.contains_key(&c.var()) {
                stack.push((c.var(), false));
            }
        }
    }
    let root_id = *ids.get(&root)?;
    Some((expr, root_id))
}

fn weight(n: &BoolLang) -> u32 {
    match n {
        BoolLang::And(_) | BoolLang::Or(_) => 1,
        BoolLang::Xor(_) => 3,
        _ => 0,
    }
}

/// Greedy DAG extraction: per e-class, the node whose set of gate-classes (each with its
/// weight) has the smallest total, shared children counted once; a node whose children's sets
/// contain its own class would close a cycle and is skipped.
fn extract(egraph: &egg::EGraph<BoolLang, ()>) -> HashMap<Id, BoolLang> {
    let mut best: HashMap<Id, (BTreeMap<Id, u32>, u32, BoolLang)> = HashMap::new();
    for _ in 0..32 {
        let mut changed = false;
        for class in egraph.classes() {
            for node in &class.nodes {
                let kids = egg::Language::children(node);
                if kids.iter().any(|c| !best.contains_key(&egraph.find(*c))) {
                    continue;
                }
                let mut set: BTreeMap<Id, u32> = BTreeMap::new();
                for c in kids {
                    if let Some((s, _, _)) = best.get(&egraph.find(*c)) {
                        set.extend(s.iter().map(|(k, v)| (*k, *v)));
                    }
                }
                if set.contains_key(&class.id) {
                    continue;
                }
                let w = weight(node);
                if w > 0 {
                    set.insert(class.id, w);
                }
                let cost: u32 = set.values().sum();
                let better = match best.get(&class.id) {
                    None => true,
                    Some((_, c, _)) => cost < *c,
                };
                if better {
                    best.insert(class.id, (set, cost, node.clone()));
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    best.into_iter().map(|(k, (_, _, n))| (k, n)).collect()
}

/// Builds the extracted term of `class` into `g` over `leaves`.
fn build(
    egraph: &egg::EGraph<BoolLang, ()>,
    choice: &HashMap<Id, BoolLang>,
    class: Id,
    g: &mut Aig,
    leaves: &[Lit],
    memo: &mut HashMap<Id, Lit>,
    depth: usize,
) -> Option<Lit> {
    let class = egraph.find(class);
    if let Some(&l) = memo.get(&class) {
        return Some(l);
    }
    if depth > 200 {
        return None;
    }
    let node = choice.get(&class)?.clone();
    let kid = |c: Id, g: &mut Aig, memo: &mut HashMap<Id, Lit>| {
        build(egraph, choice, c, g, leaves, memo, depth + 1)
    };
    let l = match node {
        BoolLang::Leaf(i) => *leaves.get(i as usize)?,
        BoolLang::Const(b) => Lit::FALSE.xor(b),
        BoolLang::Not(a) => !kid(a, g, memo)?,
        BoolLang::And([a, b]) => {
            let (x, y) = (kid(a, g, memo)?, kid(b, g, memo)?);
            g.and(x, y)
        }
        BoolLang::Or([a, b]) => {
            let (x, y) = (kid(a, g, memo)?, kid(b, g, memo)?);
            g.or(x, y)
        }
        BoolLang::Xor([a, b]) => {
            let (x, y) = (kid(a, g, memo)?, kid(b, g, memo)?);
            g.xor(x, y)
        }
    };
    memo.insert(class, l);
    Some(l)
}

/// Statistics of one pass.
#[derive(Clone, Debug, Default)]
pub struct EqsatStats {
    pub windows: usize,
    pub improved: usize,
}

/// The pass: every AND node's window saturated and re-extracted; `zero` also takes
/// replacements that keep the size.
pub fn eqsat(g: &Aig, zero: bool) -> (Aig, EqsatStats) {
    let g = g.cleanup();
    let mut net = Net::from_aig(&g);
    let rules = rules();
    let mut stats = EqsatStats::default();
    let mut done: HashMap<crate::tt::Tt, Option<Aig>> = HashMap::new();
    for v in 0..g.num_nodes() as u32 {
        if !net.is_and(v) {
            continue;
        }
        let leaves = crate::opt::reconv_cut(&net, v, MAX_LEAVES);
        if leaves.len() < 2 || leaves.contains(&0) {
            continue;
        }
        let Some(f) = net.cut_function(v, &leaves, MAX_CONE) else {
            continue;
        };
        let Some((expr, _)) = term(&net, v, &leaves) else {
            continue;
        };
        stats.windows += 1;
        // The same function in another window: reuse the extracted structure.
        let cand = match done.get(&f) {
            Some(c) => c.clone(),
            None => {
                let c = saturate(&expr, &rules, leaves.len());
                done.insert(f.clone(), c.clone());
                c
            }
        };
        let Some(cand) = cand else { continue };
        let mffc = net.mffc_deref(v, &leaves);
        let lits: Vec<Lit> = leaves.iter().map(|&l| Lit::new(l, false)).collect();
        let cost = net.cost(&cand, &lits, v, mffc.len() + 1);
        net.mffc_ref(&mffc);
        let Some(cost) = cost else { continue };
        let gain = mffc.len() as i64 - cost as i64;
        if gain > 0 || (zero && gain == 0) {
            let l = net.build(&cand, &lits);
            if l.var() != v && !net.depends_on(l, v) {
                net.replace(v, l);
                stats.improved += (gain > 0) as usize;
            } else {
                net.drop_if_unused(l);
            }
        }
    }
    (net.to_aig(), stats)
}

/// Saturates one window's term and extracts it as a local graph over `k` leaves.
fn saturate(
    expr: &RecExpr<BoolLang>,
    rules: &[egg::Rewrite<BoolLang, ()>],
    k: usize,
) -> Option<Aig> {
    let runner = Runner::default()
        .with_expr(expr)
        .with_node_limit(4_000)
        .with_iter_limit(8)
        .with_time_limit(Duration::from_millis(40))
        .run(rules);
    let root = *runner.roots.first()?;
    let choice = extract(&runner.egraph);
    let (mut local, x) = Aig::with_inputs(k);
    let out = build(
        &runner.egraph,
        &choice,
        root,
        &mut local,
        &x,
        &mut HashMap::new(),
        0,
    )?;
    local.add_output(out, None);
    Some(local.cleanup())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eqsat_factors_and_keeps_the_function() {
        // (a & b) | (a & c) | (b & c & a): a & (b | c) = 2 ANDs.
        let (mut g, x) = Aig::with_inputs(3);
        let ab = g.and(x[0], x[1]);
        let ac = g.and(x[0], x[2]);
        let o = g.or(ab, ac);
        g.add_output(o, None);
        let (h, st) = eqsat(&g, false);
        assert!(crate::cec::cec(&g, &h).unwrap().is_equivalent());
        assert_eq!(h.num_ands(), 2, "{st:?}");
        for seed in 0..6 {
            let mut r = crate::sim::Patterns::new(seed);
            let (mut g, x) = Aig::with_inputs(7);
            let mut pool = x.clone();
            for _ in 0..60 {
                let a = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
                let b = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
                let c = if r.next_word().is_multiple_of(3) {
                    g.xor(a, b)
                } else {
                    g.and(a, b)
                };
                pool.push(c);
            }
            for k in 0..4 {
                g.add_output(pool[pool.len() - 1 - k], None);
            }
            let (h, _) = eqsat(&g, true);
            assert!(crate::cec::cec(&g, &h).unwrap().is_equivalent());
        }
    }
}
