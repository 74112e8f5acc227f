//! Don't-care-based windows. For circuits of at most 16 inputs every node's global truth table
//! is known exactly, so the leaf patterns a window can ever see are known too: the others are
//! *satisfiability don't-cares*. A window's function then only has to be kept on the patterns
//! that occur, which lets refactoring pick a smaller cover and resubstitution match more
//! divisors ([`crate::opt::resub_dc`]). Sound by construction: the leaves never take the
//! other values, so every output keeps its function (and the passes' results are proved anyway).

use crate::aig::{Aig, Lit};
use crate::net::Net;
use crate::sim::{exhaustive_word, simulate_nodes};
use crate::synth::{factored_aig, synth_tt};
use crate::tt::{MAX_VARS, Tt, factor, isop, words_for};

/// Exact global truth tables of a network's nodes (computed from fanins for new nodes).
pub struct GlobalTables {
    words: usize,
    tabs: Vec<Option<Vec<u64>>>,
}

impl GlobalTables {
    /// `None` when `g` has more than [`MAX_VARS`] inputs.
    pub fn new(g: &Aig) -> Option<GlobalTables> {
        let n = g.num_inputs();
        if n > MAX_VARS {
            return None;
        }
        let words = words_for(n);
        let val = simulate_nodes(g, words, exhaustive_word);
        let tabs = (0..g.num_nodes())
            .map(|v| Some(val[v * words..(v + 1) * words].to_vec()))
            .collect();
        Some(GlobalTables { words, tabs })
    }

    /// The global table of node `v` of `net` (whose first nodes are the graph's).
    fn table(&mut self, net: &Net, v: u32) -> Vec<u64> {
        if self.tabs.len() < net.len() {
            self.tabs.resize(net.len(), None);
        }
        let mut stack = vec![v];
        while let Some(&x) = stack.last() {
            if self.tabs[x as usize].is_some() {
                stack.pop();
                continue;
            }
            let [a, b] = net.fanins(x);
            let missing: Vec<u32> = [a, b]
                .iter()
                .map(|l| l.var())
                .filter(|&c| self.tabs[c as usize].is_none())
                .collect();
            if missing.is_empty() {
                let t = {
                    let (ta, tb) = (
                        self.tabs[a.index()].as_deref().unwrap_or(&[]),
                        self.tabs[b.index()].as_deref().unwrap_or(&[]),
                    );
                    let (ma, mb) = (
                        if a.is_compl() { !0 } else { 0 },
                        if b.is_compl() { !0 } else { 0 },
                    );
                    ta.iter()
                        .zip(tb)
                        .map(|(&x, &y)| (x ^ ma) & (y ^ mb))
                        .collect()
                };
                self.tabs[x as usize] = Some(t);
                stack.pop();
            } else {
                stack.extend(missing);
            }
        }
        self.tabs[v as usize]
            .clone()
            .unwrap_or_else(|| vec![0; self.words])
    }

    /// The leaf patterns of a window that occur: bit `p` of the result (over `leaves.len()`
    /// variables) is set when some input assignment gives leaf `i` the value of bit `i` of `p`.
    pub fn care(&mut self, net: &Net, leaves: &[u32]) -> Tt {
        let k = leaves.len();
        let tabs: Vec<Vec<u64>> = leaves.iter().map(|&l| self.table(net, l)).collect();
        let mut care = Tt::zero(k);
        for w in 0..self.words {
            for bit in 0..64 {
                let mut idx = 0usize;
                for (i, t) in tabs.iter().enumerate() {
                    idx |= ((t[w] >> bit & 1) as usize) << i;
                }
                care.set(idx, true);
            }
        }
        Tt::from_words(k, care.words().to_vec())
    }
}

/// Refactoring with don't-cares: one reconvergence-driven cut of up to `k` leaves per node; its
/// function is resynthesised from the irredundant cover of its on-set within the care set (or
/// of its off-set), and kept when that saves ANDs over the MFFC. A no-op beyond 16 inputs.
pub fn refactor_dc(g: &Aig, k: usize) -> Aig {
    let g = g.cleanup();
    let Some(mut global) = GlobalTables::new(&g) else {
        return g;
    };
    let k = k.clamp(3, 12);
    let mut net = Net::from_aig(&g);
    for v in 0..g.num_nodes() as u32 {
        if !net.is_and(v) {
            continue;
        }
        let leaves = crate::opt::reconv_cut(&net, v, k);
        if leaves.len() < 3 || leaves.contains(&0) {
            continue;
        }
        let Some(f) = net.cut_function(v, &leaves, 400) else {
            continue;
        };
        let care = global.care(&net, &leaves);
        if care.is_one() {
            continue;
        }
        let dc = care.not();
        let on = f.and(&care);
        let off = f.not().and(&care);
        let cands = [
            factored_aig(&factor(&isop(&on, &on.or(&dc))), leaves.len(), false),
            factored_aig(&factor(&isop(&off, &off.or(&dc))), leaves.len(), true),
            synth_tt(&f),
        ];
        let mffc = net.mffc_deref(v, &leaves);
        let lits: Vec<Lit> = leaves.iter().map(|&l| Lit::new(l, false)).collect();
        let best = cands
            .iter()
            .filter_map(|c| net.cost(c, &lits, v, mffc.len()).map(|cost| (cost, c)))
            .min_by_key(|(cost, _)| *cost);
        net.mffc_ref(&mffc);
        if let Some((cost, cand)) = best
            && cost < mffc.len()
        {
            let l = net.build(cand, &lits);
            if l.var() != v && !net.depends_on(l, v) {
                net.replace(v, l);
            } else {
                net.drop_if_unused(l);
            }
        }
    }
    net.to_aig()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dont_cares_shrink_and_keep_the_function() {
        // y = (a & b) | (a & b & c) | (!a & b & d) where d = a & c: the leaves a and d
        // never take (0, 1), so (!a & b & d) is redundant.
        let (mut g, x) = Aig::with_inputs(3);
        let d = g.and(x[0], x[2]);
        let ab = g.and(x[0], x[1]);
        let abc = g.and(ab, x[2]);
        let t = g.and(!x[0], x[1]);
        let tad = g.and(t, d);
        let o1 = g.or(ab, abc);
        let o = g.or(o1, tad);
        g.add_output(o, None);
        g.add_output(d, None);
        // The window (a, d) never sees a = 0 with d = 1.
        let net = Net::from_aig(&g);
        let mut gt = GlobalTables::new(&g).unwrap();
        let care = gt.care(&net, &[x[0].var(), d.var()]);
        assert_eq!(
            (0..4).map(|p| care.get(p)).collect::<Vec<_>>(),
            [true, true, false, true]
        );
        let h = refactor_dc(&g, 8);
        assert!(crate::cec::cec(&g, &h).unwrap().is_equivalent());
        assert!(h.num_ands() <= g.cleanup().num_ands());
        let h = crate::opt::resub_dc(&g, 8, 2);
        assert!(crate::cec::cec(&g, &h).unwrap().is_equivalent());
    }

    #[test]
    fn random_graphs_keep_their_function() {
        for seed in 0..8 {
            let mut r = crate::sim::Patterns::new(seed + 100);
            let (mut g, x) = Aig::with_inputs(9);
            let mut pool = x.clone();
            for _ in 0..150 {
                let a = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
                let b = pool[(r.next_word() as usize) % pool.len()].xor(r.next_word() & 1 == 1);
                let c = g.and(a, b);
                pool.push(c);
            }
            for k in 0..6 {
                g.add_output(pool[pool.len() - 1 - 7 * k], None);
            }
            for h in [refactor_dc(&g, 10), crate::opt::resub_dc(&g, 10, 2)] {
                assert!(
                    crate::cec::cec(&g, &h).unwrap().is_equivalent(),
                    "seed {seed}"
                );
                assert!(h.num_ands() <= g.cleanup().num_ands());
            }
        }
    }
}
