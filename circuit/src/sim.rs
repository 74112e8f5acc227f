//! Bit-parallel simulation: 64 input patterns per machine word, every node in one forward
//! pass over the (topologically ordered) graph.

use crate::aig::{Aig, Lit, Node};
use crate::tt::{Tt, words_for};

/// The word of input `i` in the `w`-th word of the exhaustive enumeration (minterm `m` has
/// input `i` = bit `i` of `m`).
pub fn exhaustive_word(i: usize, w: usize) -> u64 {
    if i < 6 {
        crate::tt::VAR_MASKS[i]
    } else if w >> (i - 6) & 1 == 1 {
        !0
    } else {
        0
    }
}

/// Simulates every node on `words` words of patterns; `input(i, w)` gives input `i`'s word
/// `w`. The result holds node `v`'s words at `v*words .. (v+1)*words`.
pub fn simulate_nodes(aig: &Aig, words: usize, input: impl Fn(usize, usize) -> u64) -> Vec<u64> {
    let mut val = vec![0u64; aig.num_nodes() * words];
    simulate_into(aig, words, &input, &mut val);
    val
}

fn simulate_into(aig: &Aig, words: usize, input: &impl Fn(usize, usize) -> u64, val: &mut [u64]) {
    for (v, n) in aig.nodes().iter().enumerate() {
        match *n {
            Node::Const => val[v * words..(v + 1) * words].fill(0),
            Node::Input(i) => {
                for w in 0..words {
                    val[v * words + w] = input(i as usize, w);
                }
            }
            Node::And(a, b) => {
                let (ma, mb) = (mask(a), mask(b));
                let (ia, ib) = (a.index() * words, b.index() * words);
                for w in 0..words {
                    val[v * words + w] = (val[ia + w] ^ ma) & (val[ib + w] ^ mb);
                }
            }
        }
    }
}

fn mask(l: Lit) -> u64 {
    if l.is_compl() { !0 } else { 0 }
}

/// The value words of a literal in a node-value buffer.
pub fn lit_words(val: &[u64], words: usize, l: Lit) -> impl Iterator<Item = u64> + '_ {
    let m = mask(l);
    val[l.index() * words..(l.index() + 1) * words]
        .iter()
        .map(move |&w| w ^ m)
}

/// The complete truth table of every output (at most [`crate::tt::MAX_VARS`] inputs).
pub fn output_tables(aig: &Aig) -> Vec<Tt> {
    let n = aig.num_inputs();
    let words = words_for(n);
    let val = simulate_nodes(aig, words, exhaustive_word);
    aig.outputs()
        .iter()
        .map(|&o| Tt::from_words(n, lit_words(&val, words, o).collect()))
        .collect()
}

/// Runs `aig` on every input pattern, `chunk` words at a time, calling `visit(first_word,
/// outputs)` with each output's words for the chunk (outputs laid out one after another).
/// Stops early when `visit` returns false.
pub fn exhaustive_chunks(aig: &Aig, mut visit: impl FnMut(usize, &[u64]) -> bool) {
    let n = aig.num_inputs();
    let total = words_for(n);
    let chunk = total.min(256);
    let mut val = vec![0u64; aig.num_nodes() * chunk];
    let mut outs = vec![0u64; aig.num_outputs() * chunk];
    let mut first = 0;
    while first < total {
        let input = |i: usize, w: usize| exhaustive_word(i, first + w);
        simulate_into(aig, chunk, &input, &mut val);
        for (k, &o) in aig.outputs().iter().enumerate() {
            for (w, x) in lit_words(&val, chunk, o).enumerate() {
                outs[k * chunk + w] = x;
            }
        }
        if !visit(first, &outs) {
            return;
        }
        first += chunk;
    }
}

/// A seeded xorshift generator for random patterns (deterministic across runs).
#[derive(Clone)]
pub struct Patterns(u64);

impl Patterns {
    pub fn new(seed: u64) -> Patterns {
        Patterns(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_word(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `words` random words for each of `n` inputs (`[input][word]`, flattened).
pub fn random_inputs(n: usize, words: usize, seed: u64) -> Vec<u64> {
    let mut r = Patterns::new(seed);
    (0..n * words).map(|_| r.next_word()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_eval() {
        let (mut g, x) = Aig::with_inputs(8);
        let a = g.xor(x[0], x[7]);
        let b = g.mux(x[3], a, x[6]);
        g.add_output(b, None);
        g.add_output(!a, None);
        let t = output_tables(&g);
        for m in 0..256usize {
            let inp: Vec<bool> = (0..8).map(|i| m >> i & 1 == 1).collect();
            let e = g.eval(&inp);
            assert_eq!(t[0].get(m), e[0]);
            assert_eq!(t[1].get(m), e[1]);
        }
    }
}
