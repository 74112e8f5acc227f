//! Equivalence-preserving generation, after the Circuit Transformer: a circuit is written token
//! by token (each output a tree in pre-order over `AND`, `NAND`, input literals, constants and
//! references to nodes already built), and before each token is accepted the partial circuit
//! is evaluated in three-valued logic (0, 1, unknown) over every input pattern; a token that
//! makes some determined output value contradict the target truth table (on its care set) is
//! cut off. Because unfilled slots are independent, a partial tree that passes the check can
//! always be completed, and a finished circuit is equivalent to the target by construction —
//! whatever the policy that proposes the tokens.
//!
//! Completed subtrees merge with equal (or complemented) existing nodes by truth table, so the
//! tree becomes a shared DAG and only new ANDs count.
//!
//! Two policies: [`Policy::Greedy`], a divisor-driven planner (an AND takes as first child the
//! literal or existing node that contains the on-set and excludes most of the off-set; a Shannon
//! split when none helps), sampled with seeded tie-breaks; and [`Policy::Random`], which proposes
//! tokens at random, to show that the cutoff alone keeps the result correct.

use crate::aig::{Aig, Lit};
use crate::sim::Patterns;
use crate::tt::Tt;
use std::collections::HashMap;

/// The most inputs a generation target may have (the planner's recursion is bounded by the
/// number of patterns).
pub const MAX_GEN_VARS: usize = 10;

/// One token of the circuit language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    And,
    Nand,
    Const(bool),
    /// Input `i`, complemented when the flag is set.
    Input(usize, bool),
    /// A node already built (by its literal in the output graph).
    Ref(Lit),
}

/// How tokens are proposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The divisor-driven planner (from scratch, per output).
    Greedy,
    /// Replays, token by token, a circuit that `synth` optimised from the target's truth tables
    /// (the way the Circuit Transformer imitates optimised targets); still checked per token.
    Teacher,
    /// Uniformly random tokens (gates rarer deeper in the tree).
    Random,
}

/// The target: one truth table per output over `n` inputs, and optionally a care set per output
/// (patterns outside it are don't-cares).
#[derive(Clone, Debug)]
pub struct Target {
    pub tables: Vec<Tt>,
    pub care: Vec<Tt>,
    /// A circuit for the target, when the task starts from one (the Circuit Transformer's
    /// setting: rewrite this AIG); the teacher may start from it.
    pub circuit: Option<Aig>,
}

impl Target {
    pub fn new(tables: Vec<Tt>) -> Target {
        let care = tables.iter().map(|t| Tt::one(t.vars())).collect();
        Target {
            tables,
            care,
            circuit: None,
        }
    }

    /// The target of an existing circuit (its truth tables; the circuit kept for the teacher).
    pub fn from_aig(g: &Aig) -> Target {
        let mut t = Target::new(crate::sim::output_tables(g));
        t.circuit = Some(g.clone());
        t
    }
    pub fn vars(&self) -> usize {
        self.tables.first().map_or(0, Tt::vars)
    }
}

/// The decoder: the partial circuit, the three-valued check, and the output graph.
pub struct Decoder<'t> {
    target: &'t Target,
    pub graph: Aig,
    inputs: Vec<Lit>,
    /// Truth table of every graph node (by variable), for merging and checks.
    tables: Vec<Tt>,
    by_table: HashMap<Tt, Lit>,
    /// Open gates of the current output: (is NAND, first child when set).
    stack: Vec<(bool, Option<Lit>)>,
    output: usize,
    pub tokens: usize,
}

impl<'t> Decoder<'t> {
    pub fn new(target: &'t Target) -> Decoder<'t> {
        let n = target.vars();
        let (graph, inputs) = Aig::with_inputs(n);
        let mut tables = vec![Tt::zero(n)];
        let mut by_table = HashMap::new();
        by_table.insert(Tt::zero(n), Lit::FALSE);
        for (i, &x) in inputs.iter().enumerate() {
            let t = Tt::var(n, i);
            by_table.insert(t.clone(), x);
            tables.push(t);
        }
        Decoder {
            target,
            graph,
            inputs,
            tables,
            by_table,
            stack: Vec::new(),
            output: 0,
            tokens: 0,
        }
    }

    pub fn done(&self) -> bool {
        self.output >= self.target.tables.len()
    }

    fn table(&self, l: Lit) -> Tt {
        let t = &self.tables[l.index()];
        if l.is_compl() { t.not() } else { t.clone() }
    }

    /// The built node (or input, or constant) with this truth table, if any.
    pub fn find(&self, t: &Tt) -> Option<Lit> {
        if let Some(&l) = self.by_table.get(t) {
            return Some(l);
        }
        self.by_table.get(&t.not()).map(|&l| !l)
    }

    /// Every node built so far, positive literals (the `Ref` vocabulary).
    pub fn built(&self) -> Vec<Lit> {
        (1 + self.inputs.len()..self.graph.num_nodes())
            .map(|v| Lit::new(v as u32, false))
            .collect()
    }

    fn leaf_table(&self, t: Token) -> Option<Tt> {
        let n = self.target.vars();
        match t {
            Token::Const(b) => Some(if b { Tt::one(n) } else { Tt::zero(n) }),
            Token::Input(i, c) => self.inputs.get(i).map(|&x| self.table(x.xor(c))),
            Token::Ref(l) => (l.index() < self.tables.len()).then(|| self.table(l)),
            Token::And | Token::Nand => None,
        }
    }

    /// The three-valued cutoff: whether `t` keeps the current output consistent with the target.
    pub fn allowed(&self, t: Token) -> bool {
        if self.done() {
            return false;
        }
        let n = self.target.vars();
        // The slot's value: a leaf's table (all known), or unknown for a fresh gate.
        let (mut known, mut value) = match t {
            Token::And | Token::Nand => (Tt::zero(n), Tt::zero(n)),
            _ => match self.leaf_table(t) {
                Some(v) => (Tt::one(n), v),
                None => return false,
            },
        };
        for &(nand, first) in self.stack.iter().rev() {
            let (k, v) = match first {
                // The slot is the second child: AND with a known first child.
                Some(f) => {
                    let ft = self.table(f);
                    let k = ft.not().or(&known);
                    (k, ft.and(&value))
                }
                // The slot is the first child; the second is unknown.
                None => {
                    let zero = known.and_not(&value);
                    (zero, Tt::zero(n))
                }
            };
            known = k;
            value = if nand { v.not() } else { v };
        }
        let target = &self.target.tables[self.output];
        let care = &self.target.care[self.output];
        known.and(care).and(&value.xor(target)).is_zero()
    }

    /// Accepts a token (after [`Decoder::allowed`]); returns false when it was cut off.
    pub fn push(&mut self, t: Token) -> bool {
        if !self.allowed(t) {
            return false;
        }
        self.tokens += 1;
        let mut lit = match t {
            Token::And => {
                self.stack.push((false, None));
                return true;
            }
            Token::Nand => {
                self.stack.push((true, None));
                return true;
            }
            Token::Const(b) => Lit::FALSE.xor(b),
            Token::Input(i, c) => self.inputs[i].xor(c),
            Token::Ref(l) => l,
        };
        // Close every gate this completes.
        loop {
            match self.stack.last_mut() {
                None => {
                    self.graph.add_output(lit, None);
                    self.output += 1;
                    return true;
                }
                Some((_, first @ None)) => {
                    *first = Some(lit);
                    return true;
                }
                Some(&mut (nand, Some(f))) => {
                    self.stack.pop();
                    lit = self.gate(f, lit).xor(nand);
                }
            }
        }
    }

    /// `AND(a, b)` with merging of functionally equal nodes.
    fn gate(&mut self, a: Lit, b: Lit) -> Lit {
        let t = self.table(a).and(&self.table(b));
        if let Some(&l) = self.by_table.get(&t) {
            return l;
        }
        if let Some(&l) = self.by_table.get(&t.not()) {
            return !l;
        }
        let l = self.graph.and(a, b);
        while self.tables.len() < self.graph.num_nodes() {
            self.tables.push(t.clone());
        }
        self.by_table.insert(t, l);
        l
    }
}

/// The result of a generation.
#[derive(Clone, Debug)]
pub struct Generated {
    pub graph: Aig,
    pub tokens: usize,
    pub success: bool,
}

/// Generates a circuit for `target` with `policy`, at most `max_tokens` tokens; `samples`
/// seeded runs, the smallest kept.
pub fn generate(
    target: &Target,
    policy: Policy,
    samples: usize,
    max_tokens: usize,
    seed: u64,
) -> Generated {
    let mut best: Option<Generated> = None;
    for s in 0..samples.max(1) {
        let g = generate_once(
            target,
            policy,
            max_tokens,
            seed.wrapping_mul(0x9E37_79B9).wrapping_add(s as u64),
            s,
        );
        let better = match &best {
            None => true,
            Some(b) => {
                (g.success, std::cmp::Reverse(g.graph.num_ands()))
                    > (b.success, std::cmp::Reverse(b.graph.num_ands()))
            }
        };
        if better {
            best = Some(g);
        }
    }
    best.unwrap_or(Generated {
        graph: Aig::new(),
        tokens: 0,
        success: false,
    })
}

fn generate_once(
    target: &Target,
    policy: Policy,
    max_tokens: usize,
    seed: u64,
    sample: usize,
) -> Generated {
    let mut d = Decoder::new(target);
    let mut rng = Patterns::new(seed);
    let n = target.vars();
    if n > MAX_GEN_VARS {
        return Generated {
            graph: d.graph,
            tokens: 0,
            success: false,
        };
    }
    while !d.done() && d.tokens < max_tokens {
        match policy {
            Policy::Greedy => {
                let k = d.output;
                let (on, off) = (
                    target.tables[k].and(&target.care[k]),
                    target.tables[k].not().and(&target.care[k]),
                );
                let mut plan = Vec::new();
                planner(&d, &on, &off, &mut rng, &mut plan);
                for t in plan {
                    if !d.push(t) {
                        // The planner only proposes consistent tokens; a refusal means a bug,
                        // and the cutoff has kept the circuit correct regardless.
                        return Generated {
                            graph: d.graph,
                            tokens: d.tokens,
                            success: false,
                        };
                    }
                    if d.tokens >= max_tokens {
                        break;
                    }
                }
            }
            Policy::Teacher => {
                let teacher = teacher_circuit(target, sample);
                for (k, &o) in teacher.outputs().iter().enumerate() {
                    if d.output != k || !replay(&mut d, &teacher, o, max_tokens) {
                        return Generated {
                            graph: d.graph.cleanup(),
                            tokens: d.tokens,
                            success: false,
                        };
                    }
                }
            }
            Policy::Random => {
                let mut cands: Vec<Token> = vec![
                    Token::And,
                    Token::Nand,
                    Token::Const(false),
                    Token::Const(true),
                ];
                for i in 0..n {
                    cands.push(Token::Input(i, false));
                    cands.push(Token::Input(i, true));
                }
                for l in d.built() {
                    cands.push(Token::Ref(l));
                    cands.push(Token::Ref(!l));
                }
                // Gates get rarer as the tree deepens, so trees close.
                let depth = d.stack.len();
                let mut order: Vec<(u64, Token)> = cands
                    .into_iter()
                    .map(|t| {
                        let r = rng.next_word() >> 1;
                        let penalty = if matches!(t, Token::And | Token::Nand) {
                            (depth as u64 + 1) << 58
                        } else {
                            0
                        };
                        (r.saturating_add(penalty), t)
                    })
                    .collect();
                order.sort_by_key(|x| x.0);
                if !order.iter().any(|&(_, t)| d.push(t)) {
                    break;
                }
            }
        }
    }
    let success = d.done();
    Generated {
        graph: d.graph.cleanup(),
        tokens: d.tokens,
        success,
    }
}

/// The circuit the teacher replays: the target's truth tables synthesised and optimised
/// (don't-cares filled with zeros).
fn teacher_circuit(target: &Target, sample: usize) -> Aig {
    let tables: Vec<Tt> = target
        .tables
        .iter()
        .zip(&target.care)
        .map(|(t, c)| t.and(c))
        .collect();
    let full_care = target.care.iter().all(Tt::is_one);
    let start = match (&target.circuit, full_care, sample % 2) {
        (Some(c), true, 1) => c.clone(),
        _ => crate::synth::from_tables(&tables),
    };
    match (sample / 2) % 3 {
        0 => crate::synth::run(&start, crate::synth::Effort::Default),
        1 => crate::synth::run(&start, crate::synth::Effort::Fast),
        _ => crate::synth::run_with_budget(
            &start,
            crate::synth::Effort::High,
            std::time::Duration::from_millis(40),
        ),
    }
}

/// Pushes the tokens of `lit` of `teacher` (pre-order; a node already built becomes a `Ref`).
fn replay(d: &mut Decoder, teacher: &Aig, lit: Lit, max_tokens: usize) -> bool {
    if d.tokens >= max_tokens {
        return false;
    }
    let t = teacher_table(teacher, lit, d.target.vars());
    if let Some(found) = d.find(&t) {
        let tok = match teacher.node(lit.var()) {
            crate::aig::Node::Input(i) => Token::Input(i as usize, lit.is_compl()),
            crate::aig::Node::Const => Token::Const(lit.is_compl()),
            _ if found.is_const() => Token::Const(found == Lit::TRUE),
            _ => Token::Ref(found),
        };
        return d.push(tok);
    }
    let Some((a, b)) = teacher.fanins(lit.var()) else {
        return false;
    };
    d.push(if lit.is_compl() {
        Token::Nand
    } else {
        Token::And
    }) && replay(d, teacher, a, max_tokens)
        && replay(d, teacher, b, max_tokens)
}

fn teacher_table(g: &Aig, lit: Lit, n: usize) -> Tt {
    // Small windows: simulate the node's cone.
    let mut h = Aig::new();
    let x: Vec<Lit> = (0..g.num_inputs()).map(|_| h.add_input(None)).collect();
    let mut sub = g.clone();
    sub.add_output(lit, None);
    let outs = h.append(&sub, &x);
    if let Some(&o) = outs.last() {
        h.add_output(o, None);
    }
    crate::sim::output_tables(&h)
        .pop()
        .unwrap_or_else(|| Tt::zero(n))
}

/// Plans the tokens of a subtree that is 1 on `on` and 0 on `off`.
fn planner(d: &Decoder, on: &Tt, off: &Tt, rng: &mut Patterns, out: &mut Vec<Token>) {
    if on.is_zero() {
        out.push(Token::Const(false));
        return;
    }
    if off.is_zero() {
        out.push(Token::Const(true));
        return;
    }
    let n = d.target.vars();
    // Candidates: input literals and built nodes, each with its table.
    let mut cands: Vec<(Token, Tt)> = Vec::new();
    for i in 0..n {
        let t = Tt::var(n, i);
        cands.push((Token::Input(i, true), t.not()));
        cands.push((Token::Input(i, false), t));
    }
    for l in d.built() {
        let t = d.table(l);
        cands.push((Token::Ref(!l), t.not()));
        cands.push((Token::Ref(l), t));
    }
    // A candidate that already is the function.
    if let Some((t, _)) = cands
        .iter()
        .find(|(_, t)| on.implies(t) && t.and(off).is_zero())
    {
        out.push(*t);
        return;
    }
    // AND: first child contains `on`, excludes the most of `off`; NAND: the mirror.
    let mut best: Option<(usize, u64, bool, usize)> = None;
    for (i, (_, t)) in cands.iter().enumerate() {
        for nand in [false, true] {
            let (must, exclude) = if nand { (off, on) } else { (on, off) };
            if must.implies(t) {
                let gain = exclude.and_not(t).count_ones();
                let tie = rng.next_word();
                if gain > 0 && best.is_none_or(|b| (gain, tie) > (b.0, b.1)) {
                    best = Some((gain, tie, nand, i));
                }
            }
        }
    }
    if let Some((_, _, nand, i)) = best {
        let (tok, t) = &cands[i];
        out.push(if nand { Token::Nand } else { Token::And });
        out.push(*tok);
        let (must, exclude) = if nand { (off, on) } else { (on, off) };
        // Second child: 1 on `must`, 0 where the first child is 1 on `exclude`.
        planner(d, must, &exclude.and(t), rng, out);
        return;
    }
    // Shannon split on the variable that best separates on from off:
    // f = NAND(NAND(x, f1), NAND(¬x, f0)).
    let care = on.or(off);
    let mut bestv = 0;
    let mut score = 0usize;
    for v in 0..n {
        let x = Tt::var(n, v);
        let split = care.and(&x).count_ones().min(care.and_not(&x).count_ones());
        if split == 0 {
            continue;
        }
        let s = split * 8 + (rng.next_word() & 7) as usize;
        if s > score {
            score = s;
            bestv = v;
        }
    }
    let x = Tt::var(n, bestv);
    out.push(Token::Nand);
    out.push(Token::Nand);
    out.push(Token::Input(bestv, false));
    planner(d, &on.and(&x), &off.and(&x), rng, out);
    out.push(Token::Nand);
    out.push(Token::Input(bestv, true));
    planner(d, &on.and_not(&x), &off.and_not(&x), rng, out);
}

/// `k`-input, 2-output windows of `g` (at most `max`, distinct functions): for sampled nodes
/// `v`, a reconvergence-driven cut of exactly `k` leaves; the outputs are `v` and the largest
/// node inside `v`'s cone that is also used outside it (else the largest inner node).
pub fn windows(g: &Aig, k: usize, max: usize) -> Vec<Aig> {
    let net = crate::net::Net::from_aig(g);
    let refs = g.fanout_counts();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for v in (0..g.num_nodes() as u32).rev() {
        if out.len() >= max {
            break;
        }
        if !g.is_and(v) {
            continue;
        }
        let leaves = crate::opt::reconv_cut(&net, v, k);
        if leaves.len() != k || leaves.contains(&0) {
            continue;
        }
        // The cone of v inside the leaves.
        let mut cone: Vec<u32> = Vec::new();
        let mut stack = vec![v];
        let mut inside = std::collections::HashSet::new();
        while let Some(x) = stack.pop() {
            if leaves.contains(&x) || !inside.insert(x) {
                continue;
            }
            if let Some((a, b)) = g.fanins(x) {
                stack.push(a.var());
                stack.push(b.var());
            }
        }
        cone.extend(inside.iter().copied());
        cone.sort_unstable();
        let local_size = |w: u32| -> usize {
            g.cone(&[Lit::new(w, false)])
                .iter()
                .filter(|x| inside.contains(x))
                .count()
        };
        let second = cone
            .iter()
            .copied()
            .filter(|&w| w != v)
            .max_by_key(|&w| ((refs[w as usize] > 1) as usize, local_size(w), w));
        let Some(w) = second else { continue };
        let (mut win, x) = Aig::with_inputs(k);
        let mut map: HashMap<u32, Lit> = leaves.iter().copied().zip(x).collect();
        map.insert(0, Lit::FALSE);
        for &c in &cone {
            if let Some((a, b)) = g.fanins(c) {
                let (Some(&ma), Some(&mb)) = (map.get(&a.var()), map.get(&b.var())) else {
                    continue;
                };
                let l = win.and(ma.xor(a.is_compl()), mb.xor(b.is_compl()));
                map.insert(c, l);
            }
        }
        let (Some(&ov), Some(&ow)) = (map.get(&v), map.get(&w)) else {
            continue;
        };
        win.add_output(ov, None);
        win.add_output(ow, None);
        let win = win.cleanup();
        if win.num_ands() < 4 {
            continue;
        }
        if seen.insert(crate::sim::output_tables(&win)) {
            out.push(win);
        }
    }
    out
}

/// One row of the generation benchmark.
#[derive(Clone, Debug, Default)]
pub struct GenStats {
    pub windows: usize,
    pub success: usize,
    pub proved: usize,
    pub ands_window: usize,
    pub ands_resyn2: usize,
    pub ands_generated: usize,
    pub no_worse_than_resyn2: usize,
}

/// Generates every window's function with `policy` and compares sizes with the window itself
/// and with `synth::run(Fast)` (resyn2-like); every result is re-proved with [`crate::cec`].
pub fn bench_windows(wins: &[Aig], policy: Policy, samples: usize, max_tokens: usize) -> GenStats {
    let mut s = GenStats {
        windows: wins.len(),
        ..GenStats::default()
    };
    for (i, w) in wins.iter().enumerate() {
        let target = Target::from_aig(w);
        let g = generate(&target, policy, samples, max_tokens, i as u64);
        let r2 = crate::synth::run(w, crate::synth::Effort::Fast).num_ands();
        s.ands_window += w.num_ands();
        s.ands_resyn2 += r2;
        if g.success {
            s.success += 1;
            s.ands_generated += g.graph.num_ands();
            s.no_worse_than_resyn2 += (g.graph.num_ands() <= r2) as usize;
            if crate::cec::cec(w, &g.graph).is_ok_and(|v| v.is_equivalent()) {
                s.proved += 1;
            }
        } else {
            s.ands_generated += w.num_ands();
        }
    }
    s
}

/// The generation benchmark as a Markdown table: windows of every circuit of the manifest in
/// `dir`, each policy's success rate, proofs, and AND totals against the windows themselves and
/// `synth::run(Fast)` (resyn2-like).
pub fn report(
    dir: &std::path::Path,
    per_circuit: usize,
    samples: usize,
) -> Result<String, crate::CircuitError> {
    use std::fmt::Write;
    let mut wins = Vec::new();
    for e in crate::bench::read_manifest(&dir.join("manifest.csv"))? {
        let (g, _) = crate::bench::load(dir, &e)?;
        wins.extend(windows(&g, 8, per_circuit));
    }
    let mut s = format!(
        "{} windows of 8 inputs and 2 outputs ({} per circuit at most), max 200 tokens\n\n| policy | samples | success | proved equivalent | ANDs generated (failures count the window) | ANDs in the windows | ANDs after resyn2-like `synth --effort fast` | windows no larger than resyn2 | CPU s |\n|---|---|---|---|---|---|---|---|---|\n",
        wins.len(),
        per_circuit
    );
    for (policy, n) in [
        (Policy::Greedy, samples),
        (Policy::Teacher, samples),
        (Policy::Random, 1),
    ] {
        let t0 = crate::bench::cpu_time();
        let w0 = std::time::Instant::now();
        let st = bench_windows(&wins, policy, n, 200);
        let cpu = match (t0, crate::bench::cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => w0.elapsed(),
        };
        let _ = writeln!(
            s,
            "| {policy:?} | {n} | {}/{} | {}/{} | {} | {} | {} | {}/{} | {:.1} |",
            st.success,
            st.windows,
            st.proved,
            st.success,
            st.ands_generated,
            st.ands_window,
            st.ands_resyn2,
            st.no_worse_than_resyn2,
            st.windows,
            cpu.as_secs_f64()
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(g: &Aig) -> Target {
        Target::new(crate::sim::output_tables(g))
    }

    #[test]
    fn greedy_generation_is_exact() {
        let mut r = Patterns::new(5);
        for n in 2..=8 {
            for _ in 0..10 {
                let tables: Vec<Tt> = (0..2)
                    .map(|_| {
                        let words: Vec<u64> = (0..crate::tt::words_for(n))
                            .map(|_| r.next_word())
                            .collect();
                        Tt::from_words(n, words)
                    })
                    .collect();
                let t = Target::new(tables.clone());
                let g = generate(&t, Policy::Greedy, 2, 100_000, 1);
                assert!(g.success);
                assert_eq!(crate::sim::output_tables(&g.graph), tables);
            }
        }
    }

    #[test]
    fn random_policy_is_kept_correct_by_the_cutoff() {
        let (mut w, x) = Aig::with_inputs(4);
        let a = w.xor(x[0], x[1]);
        let b = w.mux(x[2], a, x[3]);
        w.add_output(b, None);
        w.add_output(!a, None);
        let t = target_of(&w);
        let mut ok = 0;
        for seed in 0..40 {
            let g = generate(&t, Policy::Random, 1, 400, seed);
            if g.success {
                ok += 1;
                assert!(crate::cec::cec(&w, &g.graph).unwrap().is_equivalent());
            }
        }
        assert!(ok > 0, "the random policy never finished");
    }

    #[test]
    fn cutoff_rejects_contradicting_tokens() {
        // Target: x0 AND x1. After `AND x0`, the literal !x0 would make the output 0 where
        // the target is 1.
        let (mut w, x) = Aig::with_inputs(2);
        let o = w.and(x[0], x[1]);
        w.add_output(o, None);
        let t = target_of(&w);
        let mut d = Decoder::new(&t);
        assert!(!d.allowed(Token::Input(0, true)));
        assert!(!d.allowed(Token::Const(true)));
        assert!(d.push(Token::And));
        assert!(d.push(Token::Input(0, false)));
        assert!(!d.allowed(Token::Input(0, true)));
        assert!(!d.allowed(Token::Input(1, true)));
        assert!(d.allowed(Token::Input(1, false)));
        assert!(d.push(Token::Input(1, false)));
        assert!(d.done());
    }
}
