//! The classical AIG passes, each a function from graph to graph that keeps the function of
//! every output:
//!
//! - [`balance`]: rebuilds AND trees (through single-fanout, uncomplemented edges) pairing the
//!   shallowest operands first;
//! - [`rewrite`]: for every node and every 4-input cut, replaces the cut's cone by a fresh
//!   synthesis of its function when that frees more nodes (the MFFC) than it adds;
//! - [`refactor`]: the same with one large reconvergence-driven cut per node (up to 16 leaves);
//! - [`resub`]: re-expresses a node with nodes that already exist in its window (0-, 1- and
//!   2-resubstitution with AND/OR of divisors), freeing its MFFC;
//! - [`sweep`]: merges nodes that are functionally equivalent (exhaustive simulation for up to
//!   16 inputs, SAT-proved classes beyond).
//!
//! Every pass accounts gains with the MFFC and structural-hashing lookups, so a replacement is
//! only made when it lowers the AND count (or keeps it, in the `zero` variants).

use crate::aig::{Aig, Lit, Node};
use crate::net::Net;
use crate::synth::synth_tt;
use crate::tt::Tt;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Balancing for depth: AND trees through single-fanout uncomplemented edges are rebuilt by
/// pairing the two shallowest operands first.
pub fn balance(g: &Aig) -> Aig {
    let refs = g.fanout_counts();
    let (mut ng, mut map) = g.empty_like();
    let mut lev: Vec<u32> = vec![0; ng.num_nodes()];
    let level = |lev: &mut Vec<u32>, ng: &Aig, l: Lit| -> u32 {
        while lev.len() < ng.num_nodes() {
            let v = lev.len() as u32;
            let x = match ng.node(v) {
                Node::And(a, b) => 1 + lev[a.index()].max(lev[b.index()]),
                _ => 0,
            };
            lev.push(x);
        }
        lev[l.index()]
    };
    for (v, n) in g.nodes().iter().enumerate() {
        let Node::And(a, b) = *n else { continue };
        let mut leaves: Vec<Lit> = Vec::new();
        let mut stack = vec![a, b];
        while let Some(c) = stack.pop() {
            if !c.is_compl()
                && refs[c.index()] == 1
                && leaves.len() < 64
                && let Node::And(x, y) = g.node(c.var())
            {
                stack.push(x);
                stack.push(y);
                continue;
            }
            leaves.push(Aig::map_lit(&map, c));
        }
        leaves.sort();
        leaves.dedup();
        if leaves.windows(2).any(|w| w[0] == !w[1]) || leaves.contains(&Lit::FALSE) {
            map[v] = Lit::FALSE;
            continue;
        }
        leaves.retain(|&l| l != Lit::TRUE);
        let mut heap: BinaryHeap<std::cmp::Reverse<(u32, Lit)>> = leaves
            .iter()
            .map(|&l| std::cmp::Reverse((level(&mut lev, &ng, l), l)))
            .collect();
        let out = loop {
            let Some(std::cmp::Reverse((_, x))) = heap.pop() else {
                break Lit::TRUE;
            };
            let Some(std::cmp::Reverse((_, y))) = heap.pop() else {
                break x;
            };
            let z = ng.and(x, y);
            heap.push(std::cmp::Reverse((level(&mut lev, &ng, z), z)));
        };
        map[v] = out;
    }
    g.finish_like(&mut ng, &map);
    ng.cleanup()
}

/// All cuts of at most `k` leaves per node (at most `max` per node, smallest first), in the
/// graph's topological order.
fn enumerate_cuts(g: &Aig, k: usize, max: usize) -> Vec<Vec<Vec<u32>>> {
    let mut cuts: Vec<Vec<Vec<u32>>> = vec![Vec::new(); g.num_nodes()];
    for (v, n) in g.nodes().iter().enumerate() {
        match *n {
            Node::Const => cuts[v] = vec![vec![]],
            Node::Input(_) => cuts[v] = vec![vec![v as u32]],
            Node::And(a, b) => {
                let mut set: Vec<Vec<u32>> = Vec::new();
                for ca in &cuts[a.index()] {
                    for cb in &cuts[b.index()] {
                        let mut u: Vec<u32> = ca.iter().chain(cb).copied().collect();
                        u.sort_unstable();
                        u.dedup();
                        if u.len() <= k && !set.contains(&u) {
                            set.push(u);
                        }
                    }
                }
                // Drop dominated cuts (supersets of another).
                set.sort_by_key(Vec::len);
                let mut kept: Vec<Vec<u32>> = Vec::new();
                for c in set {
                    if !kept.iter().any(|d| d.iter().all(|x| c.contains(x))) {
                        kept.push(c);
                    }
                    if kept.len() >= max {
                        break;
                    }
                }
                kept.push(vec![v as u32]);
                cuts[v] = kept;
            }
        }
    }
    cuts
}

fn lits(leaves: &[u32]) -> Vec<Lit> {
    leaves.iter().map(|&l| Lit::new(l, false)).collect()
}

/// Tries replacing `v` by `cand` over `leaves`; returns the gain (MFFC freed minus added).
fn gain(net: &mut Net, v: u32, leaves: &[u32], cand: &Aig) -> Option<i64> {
    let mffc = net.mffc_deref(v, leaves);
    let cost = net.cost(cand, &lits(leaves), v, mffc.len() + 1);
    net.mffc_ref(&mffc);
    cost.map(|c| mffc.len() as i64 - c as i64)
}

fn commit(net: &mut Net, v: u32, leaves: &[u32], cand: &Aig) {
    let l = net.build(cand, &lits(leaves));
    if l.var() != v && !net.depends_on(l, v) {
        net.replace(v, l);
    } else {
        net.drop_if_unused(l);
    }
}

/// Cut rewriting with 4-input cuts; `zero` also takes replacements that keep the size.
pub fn rewrite(g: &Aig, zero: bool) -> Aig {
    let g = g.cleanup();
    let cuts = enumerate_cuts(&g, 4, 10);
    let mut net = Net::from_aig(&g);
    let mut cache: HashMap<Tt, Aig> = HashMap::new();
    for v in 0..g.num_nodes() as u32 {
        if !net.is_and(v) {
            continue;
        }
        let mut best: Option<(i64, Vec<u32>, Tt)> = None;
        for cut in &cuts[v as usize] {
            if cut.len() < 2 || cut.contains(&v) || cut.iter().any(|&l| net.is_dead(l)) {
                continue;
            }
            let Some(f) = net.cut_function(v, cut, 24) else {
                continue;
            };
            let cand = cache.entry(f.clone()).or_insert_with(|| synth_tt(&f));
            let Some(gn) = gain(&mut net, v, cut, cand) else {
                continue;
            };
            if best.as_ref().is_none_or(|b| gn > b.0) {
                best = Some((gn, cut.clone(), f));
            }
        }
        if let Some((gn, cut, f)) = best
            && (gn > 0 || (zero && gn == 0))
        {
            let cand = cache
                .entry(f.clone())
                .or_insert_with(|| synth_tt(&f))
                .clone();
            commit(&mut net, v, &cut, &cand);
        }
    }
    net.to_aig()
}

/// A reconvergence-driven cut of at most `k` leaves for `root`: starting from its fanins,
/// repeatedly expands the leaf that adds the fewest new leaves.
pub(crate) fn reconv_cut(net: &Net, root: u32, k: usize) -> Vec<u32> {
    let mut visited: HashSet<u32> = HashSet::new();
    visited.insert(root);
    let mut leaves: Vec<u32> = Vec::new();
    for c in net.fanins(root) {
        if visited.insert(c.var()) {
            leaves.push(c.var());
        }
    }
    loop {
        let mut best: Option<(usize, usize)> = None;
        for (i, &l) in leaves.iter().enumerate() {
            if !net.is_and(l) {
                continue;
            }
            let cost = net
                .fanins(l)
                .iter()
                .filter(|c| !visited.contains(&c.var()))
                .count();
            let better = match best {
                None => true,
                Some((bc, bi)) => cost < bc || (cost == bc && net.refs(l) > net.refs(leaves[bi])),
            };
            if better {
                best = Some((cost, i));
            }
        }
        let Some((cost, i)) = best else { break };
        if leaves.len() - 1 + cost > k {
            break;
        }
        let l = leaves.swap_remove(i);
        for c in net.fanins(l) {
            if visited.insert(c.var()) {
                leaves.push(c.var());
            }
        }
    }
    leaves.sort_unstable();
    leaves
}

/// Refactoring: one reconvergence-driven cut of up to `k` leaves per node, its function
/// resynthesised from the truth table.
pub fn refactor(g: &Aig, k: usize, zero: bool) -> Aig {
    let g = g.cleanup();
    let k = k.clamp(3, 16);
    let mut net = Net::from_aig(&g);
    for v in 0..g.num_nodes() as u32 {
        if !net.is_and(v) {
            continue;
        }
        let leaves = reconv_cut(&net, v, k);
        if leaves.len() < 3 || leaves.contains(&0) {
            continue;
        }
        let Some(f) = net.cut_function(v, &leaves, 400) else {
            continue;
        };
        let cand = synth_tt(&f);
        if let Some(gn) = gain(&mut net, v, &leaves, &cand)
            && (gn > 0 || (zero && gn == 0))
        {
            commit(&mut net, v, &leaves, &cand);
        }
    }
    net.to_aig()
}

/// The divisors of `root`'s window: the leaves, the cone inside them (minus the MFFC), and
/// nodes whose fanins are already divisors, each with its truth table over the leaves.
fn divisors(
    net: &Net,
    root: u32,
    leaves: &[u32],
    mffc: &HashSet<u32>,
    max: usize,
) -> Option<(Vec<u32>, Vec<Tt>)> {
    let k = leaves.len();
    let mut tt: HashMap<u32, Tt> = HashMap::new();
    let mut order: Vec<u32> = Vec::new();
    for (i, &l) in leaves.iter().enumerate() {
        tt.insert(l, Tt::var(k, i));
        order.push(l);
    }
    // The cone of the root within the leaves, in topological order (post-order DFS).
    let mut stack = vec![(root, false)];
    let mut cone: Vec<u32> = Vec::new();
    let mut seen: HashSet<u32> = leaves.iter().copied().collect();
    while let Some((v, expanded)) = stack.pop() {
        if expanded {
            cone.push(v);
            continue;
        }
        if !seen.insert(v) {
            continue;
        }
        if !net.is_and(v) {
            return None;
        }
        stack.push((v, true));
        for c in net.fanins(v) {
            if !seen.contains(&c.var()) {
                stack.push((c.var(), false));
            }
        }
    }
    let eval = |tt: &HashMap<u32, Tt>, v: u32| -> Option<Tt> {
        let [a, b] = net.fanins(v);
        let ta = tt.get(&a.var())?;
        let tb = tt.get(&b.var())?;
        let ta = if a.is_compl() { ta.not() } else { ta.clone() };
        let tb = if b.is_compl() { tb.not() } else { tb.clone() };
        Some(ta.and(&tb))
    };
    for &v in &cone {
        let t = eval(&tt, v)?;
        tt.insert(v, t);
        if v != root && !mffc.contains(&v) {
            order.push(v);
        }
    }
    // Grow through fanouts whose fanins are both divisors.
    let mut i = 0;
    while i < order.len() && order.len() < max {
        let d = order[i];
        i += 1;
        for &f in net.fanouts(d) {
            if order.len() >= max {
                break;
            }
            if f == root || !net.is_and(f) || mffc.contains(&f) || tt.contains_key(&f) {
                continue;
            }
            let [a, b] = net.fanins(f);
            if tt.contains_key(&a.var())
                && tt.contains_key(&b.var())
                && let Some(t) = eval(&tt, f)
            {
                tt.insert(f, t);
                order.push(f);
            }
        }
    }
    let mut tabs: Vec<Tt> = order.iter().filter_map(|v| tt.get(v).cloned()).collect();
    let target = tt.remove(&root)?;
    tabs.push(target);
    Some((order, tabs))
}

/// Resubstitution with windows of up to `k` leaves; `depth` 1 adds one new AND, 2 up to two.
pub fn resub(g: &Aig, k: usize, depth: usize) -> Aig {
    resub_with(g, k, depth, false)
}

/// [`resub`] that, for graphs of at most 16 inputs, matches divisors only on the leaf patterns
/// that occur (satisfiability don't-cares of the window, exact from global truth tables).
pub fn resub_dc(g: &Aig, k: usize, depth: usize) -> Aig {
    resub_with(g, k, depth, true)
}

fn resub_with(g: &Aig, k: usize, depth: usize, dc: bool) -> Aig {
    let g = g.cleanup();
    let mut global = if dc {
        crate::dc::GlobalTables::new(&g)
    } else {
        None
    };
    let k = k.clamp(4, 14);
    let mut net = Net::from_aig(&g);
    for v in 0..g.num_nodes() as u32 {
        if !net.is_and(v) {
            continue;
        }
        let leaves = reconv_cut(&net, v, k);
        if leaves.contains(&0) {
            continue;
        }
        let mffc_nodes = net.mffc_deref(v, &leaves);
        net.mffc_ref(&mffc_nodes);
        let size = mffc_nodes.len();
        let mffc: HashSet<u32> = mffc_nodes.into_iter().collect();
        let Some((divs, mut tabs)) = divisors(&net, v, &leaves, &mffc, 100) else {
            continue;
        };
        let Some(target) = tabs.pop() else { continue };
        let care = match global.as_mut() {
            Some(gt) => gt.care(&net, &leaves),
            None => Tt::one(leaves.len()),
        };
        if let Some(l) = find_resub(&divs, &tabs, &target, size, depth, &mut net, &care) {
            if l.var() != v && !net.depends_on(l, v) {
                net.replace(v, l);
            } else {
                net.drop_if_unused(l);
            }
        }
    }
    net.to_aig()
}

/// Finds (and builds) an expression of `target` over the divisors with fewer new ANDs than
/// `size`.
fn find_resub(
    divs: &[u32],
    tabs: &[Tt],
    target: &Tt,
    size: usize,
    depth: usize,
    net: &mut Net,
    care: &Tt,
) -> Option<Lit> {
    let lit = |i: usize, c: bool| Lit::new(divs[i], c);
    // Equal, and contained, on the care set (all patterns without don't-cares).
    let same = |x: &Tt, y: &Tt| x.xor(y).and(care).is_zero();
    let within = |x: &Tt, y: &Tt| x.and_not(y).and(care).is_zero();
    // 0-resub.
    let nt = target.not();
    for (i, t) in tabs.iter().enumerate() {
        if same(t, target) {
            return Some(lit(i, false));
        }
        if same(t, &nt) {
            return Some(lit(i, true));
        }
    }
    if size < 2 {
        return None;
    }
    // Literals that contain the target (AND candidates) and that it contains (OR candidates).
    let mut pos: Vec<(usize, bool, Tt)> = Vec::new();
    let mut neg: Vec<(usize, bool, Tt)> = Vec::new();
    for (i, t) in tabs.iter().enumerate() {
        for c in [false, true] {
            let tc = if c { t.not() } else { t.clone() };
            if within(target, &tc) {
                pos.push((i, c, tc.clone()));
            }
            if within(&tc, target) {
                neg.push((i, c, tc));
            }
        }
    }
    for a in 0..pos.len() {
        for b in a + 1..pos.len() {
            if same(&pos[a].2.and(&pos[b].2), target) {
                return Some(net.and(lit(pos[a].0, pos[a].1), lit(pos[b].0, pos[b].1)));
            }
        }
    }
    for a in 0..neg.len() {
        for b in a + 1..neg.len() {
            if same(&neg[a].2.or(&neg[b].2), target) {
                return Some(!net.and(!lit(neg[a].0, neg[a].1), !lit(neg[b].0, neg[b].1)));
            }
        }
    }
    if depth < 2 || size < 3 {
        return None;
    }
    // 2-resub: three AND literals, three OR literals, or AND/OR of a literal and a pair.
    let cap = 40;
    let (p, n) = (&pos[..pos.len().min(cap)], &neg[..neg.len().min(cap)]);
    for a in 0..p.len() {
        for b in a + 1..p.len() {
            let ab = p[a].2.and(&p[b].2);
            for c in b + 1..p.len() {
                if same(&ab.and(&p[c].2), target) {
                    let x = net.and(lit(p[a].0, p[a].1), lit(p[b].0, p[b].1));
                    return Some(net.and(x, lit(p[c].0, p[c].1)));
                }
            }
        }
    }
    for a in 0..n.len() {
        for b in a + 1..n.len() {
            let ab = n[a].2.or(&n[b].2);
            for c in b + 1..n.len() {
                if same(&ab.or(&n[c].2), target) {
                    let x = net.and(!lit(n[a].0, n[a].1), !lit(n[b].0, n[b].1));
                    return Some(!net.and(x, !lit(n[c].0, n[c].1)));
                }
            }
        }
    }
    // target = p ∧ (q ∨ r) with p ⊇ target, and target = q ∨ (p ∧ r) with q ⊆ target.
    let all: Vec<(usize, bool, Tt)> = tabs
        .iter()
        .enumerate()
        .take(60)
        .flat_map(|(i, t)| [(i, false, t.clone()), (i, true, t.not())])
        .collect();
    for x in p {
        for a in 0..all.len() {
            for b in a + 1..all.len() {
                if same(&x.2.and(&all[a].2.or(&all[b].2)), target) {
                    let o = !net.and(!lit(all[a].0, all[a].1), !lit(all[b].0, all[b].1));
                    return Some(net.and(lit(x.0, x.1), o));
                }
            }
        }
    }
    for x in n {
        for a in 0..all.len() {
            for b in a + 1..all.len() {
                if same(&x.2.or(&all[a].2.and(&all[b].2)), target) {
                    let y = net.and(lit(all[a].0, all[a].1), lit(all[b].0, all[b].1));
                    return Some(!net.and(!lit(x.0, x.1), !y));
                }
            }
        }
    }
    None
}

/// Merges functionally equivalent nodes (each into the first node of its class).
pub fn sweep(g: &Aig) -> Aig {
    let g = g.cleanup();
    let merges = crate::cec::equivalences(&g);
    if merges.is_empty() {
        return g;
    }
    let mut net = Net::from_aig(&g);
    for (v, r) in merges {
        if net.is_and(v) && !net.is_dead(r.var()) {
            net.replace(v, r);
        }
    }
    net.to_aig()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cec::cec;

    fn random_aig(inputs: usize, ands: usize, outputs: usize, seed: u64) -> Aig {
        let mut r = crate::sim::Patterns::new(seed);
        let (mut g, x) = Aig::with_inputs(inputs);
        let mut pool: Vec<Lit> = x.clone();
        for _ in 0..ands {
            let a = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
            let b = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
            let c = if r.next_word().is_multiple_of(4) {
                g.xor(a, b)
            } else {
                g.and(a, b)
            };
            pool.push(c);
        }
        for k in 0..outputs {
            let l = pool[pool.len() - 1 - k % pool.len()];
            g.add_output(l, None);
        }
        g
    }

    #[test]
    fn every_pass_keeps_the_function() {
        for seed in 0..12 {
            let g = random_aig(8 + seed as usize % 5, 120, 6, seed);
            for (name, h) in [
                ("balance", balance(&g)),
                ("rewrite", rewrite(&g, false)),
                ("rewrite-z", rewrite(&g, true)),
                ("refactor", refactor(&g, 10, false)),
                ("resub", resub(&g, 8, 2)),
                ("sweep", sweep(&g)),
            ] {
                let v = cec(&g, &h).unwrap();
                assert!(v.is_equivalent(), "{name} seed {seed}: {v:?}");
                if name != "balance" && name != "rewrite-z" {
                    assert!(
                        h.num_ands() <= g.cleanup().num_ands(),
                        "{name} grew the graph"
                    );
                }
            }
        }
    }

    #[test]
    fn rewrite_finds_xor_and_redundancy() {
        let (mut g, x) = Aig::with_inputs(3);
        // (a & b) | (a & c) | (a & b & c): a & (b | c) with redundancy.
        let ab = g.and(x[0], x[1]);
        let ac = g.and(x[0], x[2]);
        let abc = g.and(ab, x[2]);
        let o1 = g.or(ab, ac);
        let o = g.or(o1, abc);
        g.add_output(o, None);
        let before = g.cleanup().num_ands();
        let h = crate::synth::run(&g, crate::synth::Effort::Default);
        assert!(cec(&g, &h).unwrap().is_equivalent());
        assert!(
            h.num_ands() == 2 && before > 2,
            "{before} -> {}",
            h.num_ands()
        );
    }
}
