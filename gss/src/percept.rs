//! Grounding: every input token arrives as a noisy percept, and perception is learned without
//! ever being told which symbol a percept shows.
//!
//! A percept is a binary hypervector: the token's own random vector (seeded by its name) with a
//! fraction of its bits flipped, fresh for every occurrence. Perception is learned in two steps:
//!
//! 1. **Clustering** (no labels): leader clustering at a distance threshold below chance
//!    (`0.5 − 4σ` for `d` bits, `σ = 0.5/√d`), then rounds of k-means (prototype = bitwise
//!    majority of its members; every percept to its nearest prototype), merging prototypes that
//!    came out closer than the threshold and dissolving clusters too small to be a symbol. Each
//!    cluster becomes a symbol `p0`, `p1`, …
//! 2. **Abduction**: the grounded symbol system is learned on the clustered symbols; for every
//!    training pair it does not explain, the least certain percepts (smallest margin between the
//!    nearest and the second-nearest prototype) are relabelled to their second or third choice
//!    when that makes the system explain the pair. The prototypes are re-estimated from the
//!    abduced labels (perception retrained on them), and the
//!    system is learned again from the abduced labels; rounds stop when no pair is repaired.
//!    Learning tolerates misperceived symbols: a numeric meaning may disagree with up to 5%
//!    of its observations, and an operand tuple seen with several values keeps the most
//!    frequent.
//!
//! Symbol accuracy is measured against the hidden truth: each cluster is named by the symbol
//! most of its training percepts show, and a percept counts as right when its cluster's name is
//! its symbol.

use crate::data::Pair;
use crate::learn::LearnConfig;
use crate::model::Gss;
use std::collections::{BTreeMap, HashMap};
use tessera_vsa::rng::Rng;

/// A percept: bits packed in words.
pub type Bits = Vec<u64>;

/// How percepts are made.
#[derive(Debug, Clone, Copy)]
pub struct PerceptConfig {
    /// Bits per percept.
    pub dim: usize,
    /// Fraction of bits flipped in each percept.
    pub noise: f64,
    /// Abduction rounds.
    pub rounds: usize,
    /// Percepts per unexplained pair that abduction may relabel (the least certain).
    pub candidates: usize,
}

impl Default for PerceptConfig {
    fn default() -> Self {
        PerceptConfig {
            dim: 1024,
            noise: 0.3,
            rounds: 3,
            candidates: 4,
        }
    }
}

fn words(dim: usize) -> usize {
    dim.div_ceil(64)
}

fn dist(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The clean vector of a token (seeded by the name, so the same in every run).
fn clean(token: &str, dim: usize, seed: u64) -> Bits {
    let mut rng = Rng::derive(seed, &["percept", token]);
    let mut v: Bits = (0..words(dim)).map(|_| rng.next_u64()).collect();
    mask_tail(&mut v, dim);
    v
}

fn mask_tail(v: &mut [u64], dim: usize) {
    if !dim.is_multiple_of(64)
        && let Some(last) = v.last_mut()
    {
        *last &= (1u64 << (dim % 64)) - 1;
    }
}

/// Makes the noisy percepts of token sequences; the same (seed, stream) gives the same noise.
pub struct Senses {
    cfg: PerceptConfig,
    seed: u64,
    clean: HashMap<String, Bits>,
}

impl Senses {
    pub fn new(cfg: PerceptConfig, seed: u64) -> Senses {
        Senses {
            cfg,
            seed,
            clean: HashMap::new(),
        }
    }
    fn percept(&mut self, token: &str, rng: &mut Rng) -> Bits {
        let dim = self.cfg.dim;
        let seed = self.seed;
        let mut v = self
            .clean
            .entry(token.to_string())
            .or_insert_with(|| clean(token, dim, seed))
            .clone();
        for i in 0..dim {
            if rng.next_f64() < self.cfg.noise {
                v[i / 64] ^= 1 << (i % 64);
            }
        }
        v
    }
    /// The percepts of every word of every input, with the true words kept aside for scoring.
    pub fn perceive(&mut self, pairs: &[Pair], stream: &str) -> Vec<Vec<(Bits, String)>> {
        let mut rng = Rng::derive(self.seed, &["percept-noise", stream]);
        pairs
            .iter()
            .map(|p| {
                p.input
                    .split_whitespace()
                    .map(|w| (self.percept(w, &mut rng), w.to_string()))
                    .collect()
            })
            .collect()
    }
}

/// Learned perception: one prototype per symbol.
#[derive(Debug, Clone)]
pub struct Perception {
    pub dim: usize,
    pub protos: Vec<Bits>,
}

impl Perception {
    /// The nearest prototypes, best first: `(index, distance)`.
    fn ranked(&self, x: &[u64]) -> Vec<(usize, u32)> {
        let mut r: Vec<(usize, u32)> = self
            .protos
            .iter()
            .enumerate()
            .map(|(i, p)| (i, dist(x, p)))
            .collect();
        r.sort_by_key(|&(i, d)| (d, i));
        r
    }
    pub fn classify(&self, x: &[u64]) -> usize {
        self.ranked(x).first().map_or(0, |r| r.0)
    }
    fn threshold(dim: usize) -> u32 {
        let sigma = 0.5 / (dim as f64).sqrt();
        ((0.5 - 4.0 * sigma) * dim as f64) as u32
    }
}

/// Bitwise majority of members (ties from a seeded coin).
fn majority(members: &[&Bits], dim: usize, rng: &mut Rng) -> Bits {
    let mut counts = vec![0u32; dim];
    for m in members {
        for (i, c) in counts.iter_mut().enumerate() {
            *c += ((m[i / 64] >> (i % 64)) & 1) as u32;
        }
    }
    let n = members.len() as u32;
    let mut v = vec![0u64; words(dim)];
    for (i, &c) in counts.iter().enumerate() {
        let one = 2 * c > n || (2 * c == n && rng.next_u64() & 1 == 1);
        if one {
            v[i / 64] |= 1 << (i % 64);
        }
    }
    v
}

fn refit(points: &[&Bits], assign: &[usize], k: usize, dim: usize, rng: &mut Rng) -> Vec<Bits> {
    let mut members: Vec<Vec<&Bits>> = vec![Vec::new(); k];
    for (p, &a) in points.iter().zip(assign) {
        if let Some(m) = members.get_mut(a) {
            m.push(p);
        }
    }
    members
        .iter()
        .map(|m| majority(m, dim, rng))
        .collect::<Vec<_>>()
}

/// The most seeds leader clustering makes.
const MAX_LEADERS: usize = 256;
/// The most k-means rounds.
const MAX_ROUNDS: usize = 20;

/// Clusters percepts without labels (see the module's documentation).
pub fn cluster(points: &[&Bits], dim: usize, seed: u64) -> (Perception, Vec<usize>) {
    let mut rng = Rng::derive(seed, &["cluster"]);
    let tau = Perception::threshold(dim);
    let mut protos: Vec<Bits> = Vec::new();
    for p in points {
        if protos.len() >= MAX_LEADERS {
            break; // noise too high for leaders: k-means sorts the seeds out
        }
        if protos.iter().all(|q| dist(p, q) > tau) {
            protos.push((*p).clone());
        }
    }
    let min_size = (points.len() / 1000).max(3);
    let mut perception = Perception { dim, protos };
    let mut assign: Vec<usize> = points.iter().map(|p| perception.classify(p)).collect();
    for _ in 0..MAX_ROUNDS {
        // k-means until the assignment settles (merging early would join the noisy
        // prototypes of the first rounds, which all lean towards the overall majority)
        for _ in 0..MAX_ROUNDS {
            let k = perception.protos.len();
            let protos = refit(points, &assign, k, dim, &mut rng);
            let mut sizes = vec![0usize; k];
            for &a in &assign {
                sizes[a] += 1;
            }
            perception.protos = protos
                .into_iter()
                .zip(&sizes)
                .filter(|(_, n)| **n > 0)
                .map(|(p, _)| p)
                .collect();
            let next: Vec<usize> = points.iter().map(|p| perception.classify(p)).collect();
            let settled = next == assign;
            assign = next;
            if settled {
                break;
            }
        }
        // then merge prototypes closer than the threshold, and dissolve tiny clusters
        let k = perception.protos.len();
        let mut sizes = vec![0usize; k];
        for &a in &assign {
            sizes[a] += 1;
        }
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(sizes[i]), i));
        let mut keep: Vec<Bits> = Vec::new();
        for &i in &order {
            if sizes[i] >= min_size && keep.iter().all(|q| dist(&perception.protos[i], q) > tau) {
                keep.push(perception.protos[i].clone());
            }
        }
        if keep.is_empty()
            && let Some(&i) = order.first()
        {
            keep.push(perception.protos[i].clone());
        }
        if keep.len() == k {
            break;
        }
        perception.protos = keep;
        assign = points.iter().map(|p| perception.classify(p)).collect();
    }
    (perception, assign)
}

/// The symbol each cluster's percepts mostly show.
pub fn name_clusters(assign: &[usize], truth: &[&str], k: usize) -> Vec<String> {
    let mut votes: Vec<BTreeMap<&str, usize>> = vec![BTreeMap::new(); k];
    for (&a, &t) in assign.iter().zip(truth) {
        *votes[a].entry(t).or_default() += 1;
    }
    votes
        .iter()
        .map(|v| {
            v.iter()
                .max_by_key(|(t, n)| (**n, std::cmp::Reverse(**t)))
                .map_or(String::new(), |(t, _)| t.to_string())
        })
        .collect()
}

/// What learning from percepts did.
#[derive(Debug, Clone)]
pub struct PerceptOutcome {
    pub gss: Gss,
    /// Clusters found (symbols).
    pub symbols: usize,
    /// The cluster names by the truth (for the report).
    pub cluster_names: Vec<String>,
    /// Symbol accuracy of the training percepts after clustering alone, and after abduction.
    pub symbol_clustered: (usize, usize),
    pub symbol_train: (usize, usize),
    /// Symbol accuracy on the fresh test percepts.
    pub symbol_test: (usize, usize),
    /// Percepts relabelled by abduction, per round.
    pub relabelled: Vec<usize>,
    pub train: (usize, usize),
    pub test: (usize, usize),
    pub seconds: f64,
}

fn token(i: usize) -> String {
    format!("p{i}")
}

fn symbol_pairs(pairs: &[Pair], assign: &[Vec<usize>]) -> Vec<Pair> {
    pairs
        .iter()
        .zip(assign)
        .map(|(p, a)| Pair {
            input: a.iter().map(|&i| token(i)).collect::<Vec<_>>().join(" "),
            output: p.output.clone(),
        })
        .collect()
}

fn symbol_accuracy(
    assign: &[Vec<usize>],
    truth: &[Vec<(Bits, String)>],
    names: &[String],
) -> (usize, usize) {
    let mut ok = 0;
    let mut n = 0;
    for (a, t) in assign.iter().zip(truth) {
        for (&c, (_, w)) in a.iter().zip(t) {
            n += 1;
            if names.get(c).is_some_and(|s| s == w) {
                ok += 1;
            }
        }
    }
    (ok, n)
}

/// Learns perception and a grounded symbol system from percept inputs and their answers;
/// scores symbols and answers on the test pairs' fresh percepts.
pub fn train_percepts(
    name: &str,
    train: &[Pair],
    test: &[Pair],
    pcfg: &PerceptConfig,
    cfg: &LearnConfig,
    seed: u64,
    progress: &mut dyn FnMut(&str),
) -> PerceptOutcome {
    let mut senses = Senses::new(*pcfg, seed);
    let seen = senses.perceive(train, "train");
    let fresh = senses.perceive(test, "test");
    let t0 = std::time::Instant::now();
    let flat: Vec<&Bits> = seen.iter().flat_map(|s| s.iter().map(|(b, _)| b)).collect();
    let truth: Vec<&str> = seen
        .iter()
        .flat_map(|s| s.iter().map(|(_, w)| w.as_str()))
        .collect();
    let (mut perception, flat_assign) = cluster(&flat, pcfg.dim, seed);
    let mut assign: Vec<Vec<usize>> = Vec::new();
    let mut k = 0;
    for s in &seen {
        assign.push(flat_assign[k..k + s.len()].to_vec());
        k += s.len();
    }
    let names0 = name_clusters(&flat_assign, &truth, perception.protos.len());
    let symbol_clustered = symbol_accuracy(&assign, &seen, &names0);
    progress(&format!(
        "clustering: {} symbols; symbol accuracy {}/{}",
        perception.protos.len(),
        symbol_clustered.0,
        symbol_clustered.1
    ));
    // perceived symbols may be wrong: numeric meanings tolerate a few disagreeing observations
    let cfg = LearnConfig {
        tolerance: cfg.tolerance.max(0.05),
        ..*cfg
    };
    let learn = |assign: &[Vec<usize>], progress: &mut dyn FnMut(&str)| {
        crate::train_pairs(
            name,
            &symbol_pairs(train, assign),
            &[],
            None,
            &cfg,
            progress,
        )
    };
    let mut outcome = learn(&assign, &mut |_| {});
    let mut relabelled = Vec::new();
    for round in 0..pcfg.rounds {
        if outcome.train.0 == outcome.train.1 {
            break;
        }
        // abduction: relabel the least certain percepts of unexplained pairs
        let g = &outcome.gss;
        let reader = g.reader();
        let mut names = g.names.clone();
        let mut fixed = 0;
        let mut edits = 0;
        for (i, p) in train.iter().enumerate() {
            let toks: Vec<u32> = assign[i].iter().map(|&c| names.intern(&token(c))).collect();
            let want = names.words(&p.output);
            if reader.interpret(&toks, &mut names).is_ok_and(|v| v == want) {
                continue;
            }
            let ranked: Vec<Vec<(usize, u32)>> =
                seen[i].iter().map(|(b, _)| perception.ranked(b)).collect();
            let mut by_margin: Vec<usize> = (0..ranked.len()).collect();
            by_margin.sort_by_key(|&j| {
                let r = &ranked[j];
                (r.get(1).map_or(u32::MAX, |x| x.1) - r[0].1, j)
            });
            'search: for &j in by_margin.iter().take(pcfg.candidates) {
                for &(alt, _) in ranked[j].iter().skip(1).take(2) {
                    let mut t = toks.clone();
                    t[j] = names.intern(&token(alt));
                    if reader.interpret(&t, &mut names).is_ok_and(|v| v == want) {
                        assign[i][j] = alt;
                        fixed += 1;
                        edits += 1;
                        break 'search;
                    }
                }
            }
        }
        relabelled.push(edits);
        progress(&format!(
            "abduction round {}: {fixed} unexplained pairs repaired by relabelling one percept",
            round + 1
        ));
        if fixed == 0 {
            break;
        }
        // perception retrained on the abduced labels (they stay the training labels), and the
        // system learned again from them
        let labels: Vec<usize> = assign.iter().flatten().copied().collect();
        let mut rng = Rng::derive(seed, &["refit", &round.to_string()]);
        perception.protos = refit(&flat, &labels, perception.protos.len(), pcfg.dim, &mut rng);
        outcome = learn(&assign, &mut |_| {});
    }
    let seconds = t0.elapsed().as_secs_f64();
    let flat_now: Vec<usize> = assign.iter().flatten().copied().collect();
    let cluster_names = name_clusters(&flat_now, &truth, perception.protos.len());
    let symbol_train = symbol_accuracy(&assign, &seen, &cluster_names);
    let test_assign: Vec<Vec<usize>> = fresh
        .iter()
        .map(|s| s.iter().map(|(b, _)| perception.classify(b)).collect())
        .collect();
    let symbol_test = symbol_accuracy(&test_assign, &fresh, &cluster_names);
    let test_pairs = symbol_pairs(test, &test_assign);
    let mut names = outcome.gss.names.clone();
    let test_ex = crate::examples(&mut names, &test_pairs);
    let test_acc = crate::learn::accuracy(&outcome.gss, &names, &test_ex);
    PerceptOutcome {
        symbols: perception.protos.len(),
        cluster_names,
        symbol_clustered,
        symbol_train,
        symbol_test,
        relabelled,
        train: outcome.train,
        test: test_acc,
        gss: outcome.gss,
        seconds,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hint_from_percepts() {
        let d = crate::hint::hint(0);
        let test: Vec<Pair> = d.tests.iter().flat_map(|(_, p)| p.clone()).collect();
        let o = train_percepts(
            "hint",
            &d.train,
            &test,
            &PerceptConfig::default(),
            &LearnConfig::default(),
            0,
            &mut |_| {},
        );
        assert_eq!(o.symbols, 16, "{:?}", o.cluster_names);
        assert_eq!(o.symbol_test.0, o.symbol_test.1);
        assert_eq!(o.test.0, o.test.1, "{}", o.gss.to_source());
    }
}
