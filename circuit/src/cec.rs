//! Combinational equivalence checking with a proof for every output.
//!
//! Both circuits go into one structurally hashed *miter* (shared inputs), so identical logic
//! merges before any search. Then:
//!
//! - **exhaustive simulation** when the input space is small enough (always up to
//!   [`EXHAUSTIVE_INPUTS`] inputs; beyond that while nodes × 2^inputs stays under a work
//!   bound): every input pattern, 64 per word, is a complete proof;
//! - otherwise **SAT sweeping**: random simulation splits the nodes into candidate equivalence
//!   classes, candidates are proved in topological order with an incremental SAT solver
//!   (varisat), each proved equivalence is added to the solver so later proofs stay small, and
//!   each refuting model refines the classes; finally each output pair is proved.
//!
//! A difference comes back as an input assignment that is re-checked by evaluating both
//! circuits, so a counterexample is never wrong.

use crate::CircuitError;
use crate::aig::{Aig, Lit, Node};
use crate::sim::{self, Patterns};
use std::collections::HashMap;
use varisat::{ExtendFormula, Solver};

/// Inputs up to which the proof is always exhaustive simulation.
pub const EXHAUSTIVE_INPUTS: usize = 20;
/// Beyond [`EXHAUSTIVE_INPUTS`], exhaustive simulation is still used while
/// `nodes · 2^(inputs−6)` word operations stay under this bound (24-input EPFL `sin` fits).
pub const EXHAUSTIVE_WORK: u64 = 1 << 32;

/// How a proof was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// The two circuits hash to the same graph.
    Structural,
    /// Every one of the `2^inputs` patterns was simulated.
    Exhaustive { inputs: usize },
    /// SAT sweeping: `sat_calls` solver calls, `merged` internal equivalences proved.
    SatSweep { sat_calls: usize, merged: usize },
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Structural => f.write_str("structural (identical after hashing)"),
            Method::Exhaustive { inputs } => {
                write!(f, "exhaustive simulation (2^{inputs} patterns)")
            }
            Method::SatSweep { sat_calls, merged } => {
                write!(
                    f,
                    "SAT sweeping ({sat_calls} SAT calls, {merged} internal equivalences)"
                )
            }
        }
    }
}

/// The verdict of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every output pair is equivalent.
    Equivalent(Method),
    /// Output `output` differs on this input assignment (checked by evaluation).
    Different { output: usize, input: Vec<bool> },
}

impl Verdict {
    pub fn is_equivalent(&self) -> bool {
        matches!(self, Verdict::Equivalent(_))
    }
}

/// Which proof engine to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Exhaustive simulation where it fits (see [`EXHAUSTIVE_INPUTS`]), SAT sweeping beyond.
    Auto,
    /// SAT sweeping whatever the input count (for tests of the SAT engine).
    SatSweep,
}

/// Checks that `a` and `b` compute the same function, output by output (inputs and outputs
/// matched by position).
pub fn cec(a: &Aig, b: &Aig) -> Result<Verdict, CircuitError> {
    cec_with(a, b, Engine::Auto)
}

/// [`cec`] with a chosen engine.
pub fn cec_with(a: &Aig, b: &Aig, engine: Engine) -> Result<Verdict, CircuitError> {
    if a.num_inputs() != b.num_inputs() || a.num_outputs() != b.num_outputs() {
        return Err(CircuitError::Usage(format!(
            "the circuits have different interfaces: {} inputs / {} outputs against {} / {}",
            a.num_inputs(),
            a.num_outputs(),
            b.num_inputs(),
            b.num_outputs()
        )));
    }
    let n = a.num_inputs();
    let (mut m, x) = Aig::with_inputs(n);
    let oa = m.append(a, &x);
    let ob = m.append(b, &x);
    if oa == ob {
        return Ok(Verdict::Equivalent(Method::Structural));
    }
    let verdict = if engine == Engine::Auto && exhaustive_fits(n, m.num_nodes()) {
        exhaustive(&mut m, &oa, &ob)
    } else {
        sweep(&m, &oa, &ob)
    };
    // Re-check a counterexample on the original circuits.
    if let Verdict::Different { output, input } = &verdict {
        let (va, vb) = (a.eval(input), b.eval(input));
        if va[*output] == vb[*output] {
            return Err(CircuitError::Usage(format!(
                "internal error: the counterexample for output {output} does not separate the circuits"
            )));
        }
    }
    Ok(verdict)
}

fn exhaustive_fits(inputs: usize, nodes: usize) -> bool {
    inputs <= EXHAUSTIVE_INPUTS
        || (inputs < 40
            && (nodes as u64).saturating_mul(1u64 << inputs.saturating_sub(6)) <= EXHAUSTIVE_WORK)
}

fn exhaustive(m: &mut Aig, oa: &[Lit], ob: &[Lit]) -> Verdict {
    let n = m.num_inputs();
    let no = oa.len();
    // Outputs: the XOR of each pair.
    for k in 0..no {
        let d = m.xor(oa[k], ob[k]);
        m.add_output(d, None);
    }
    let mut found: Option<(usize, usize)> = None;
    sim::exhaustive_chunks(m, |first, outs| {
        let chunk = outs.len() / no.max(1);
        for k in 0..no {
            for w in 0..chunk {
                let d = outs[k * chunk + w];
                if d != 0 {
                    found = Some((k, (first + w) * 64 + d.trailing_zeros() as usize));
                    return false;
                }
            }
        }
        true
    });
    match found {
        None => Verdict::Equivalent(Method::Exhaustive { inputs: n }),
        Some((output, minterm)) => Verdict::Different {
            output,
            input: (0..n).map(|i| minterm >> i & 1 == 1).collect(),
        },
    }
}

/// Tseitin encoding of a graph's cones into a solver, on demand.
struct Encoder {
    sat: Solver<'static>,
    vars: Vec<Option<varisat::Lit>>,
    calls: usize,
}

impl Encoder {
    fn new(g: &Aig) -> Encoder {
        Encoder {
            sat: Solver::new(),
            vars: vec![None; g.num_nodes()],
            calls: 0,
        }
    }

    fn lit(&mut self, g: &Aig, l: Lit) -> varisat::Lit {
        let v = self.var(g, l.var());
        if l.is_compl() { !v } else { v }
    }

    fn var(&mut self, g: &Aig, root: u32) -> varisat::Lit {
        if let Some(v) = self.vars[root as usize] {
            return v;
        }
        let mut stack = vec![(root, false)];
        while let Some((v, expanded)) = stack.pop() {
            if self.vars[v as usize].is_some() {
                continue;
            }
            match g.node(v) {
                Node::Const => {
                    let x = self.sat.new_lit();
                    self.sat.add_clause(&[!x]);
                    self.vars[v as usize] = Some(x);
                }
                Node::Input(_) => self.vars[v as usize] = Some(self.sat.new_lit()),
                Node::And(a, b) => {
                    if expanded {
                        let (Some(xa), Some(xb)) = (self.vars[a.index()], self.vars[b.index()])
                        else {
                            continue;
                        };
                        let (xa, xb) = (
                            if a.is_compl() { !xa } else { xa },
                            if b.is_compl() { !xb } else { xb },
                        );
                        let x = self.sat.new_lit();
                        self.sat.add_clause(&[!x, xa]);
                        self.sat.add_clause(&[!x, xb]);
                        self.sat.add_clause(&[x, !xa, !xb]);
                        self.vars[v as usize] = Some(x);
                    } else {
                        stack.push((v, true));
                        for c in [a, b] {
                            if self.vars[c.index()].is_none() {
                                stack.push((c.var(), false));
                            }
                        }
                    }
                }
            }
        }
        self.vars[root as usize].unwrap_or_else(|| self.sat.new_lit())
    }

    /// Whether `x ≠ y` is satisfiable; on SAT, the input assignment of the model.
    fn differ(&mut self, g: &Aig, x: Lit, y: Lit) -> Option<Vec<bool>> {
        let (sx, sy) = (self.lit(g, x), self.lit(g, y));
        let t = self.sat.new_lit();
        // t → (sx ⊕ sy)
        self.sat.add_clause(&[!t, sx, sy]);
        self.sat.add_clause(&[!t, !sx, !sy]);
        self.sat.assume(&[t]);
        self.calls += 1;
        let sat = self.sat.solve().unwrap_or(false);
        let out = if sat {
            let model = self.sat.model().unwrap_or_default();
            let mut value = HashMap::with_capacity(model.len());
            for l in model {
                value.insert(l.var().index(), l.is_positive());
            }
            Some(
                g.inputs()
                    .iter()
                    .map(|&v| {
                        self.vars[v as usize]
                            .and_then(|s| {
                                value.get(&s.var().index()).map(|&b| b ^ !s.is_positive())
                            })
                            .unwrap_or(false)
                    })
                    .collect(),
            )
        } else {
            None
        };
        self.sat.assume(&[]);
        // Retire the query literal.
        self.sat.add_clause(&[!t]);
        out
    }

    fn equate(&mut self, g: &Aig, x: Lit, y: Lit) {
        let (sx, sy) = (self.lit(g, x), self.lit(g, y));
        self.sat.add_clause(&[!sx, sy]);
        self.sat.add_clause(&[sx, !sy]);
    }
}

const WORDS: usize = 32;

fn sweep(m: &Aig, oa: &[Lit], ob: &[Lit]) -> Verdict {
    let n = m.num_inputs();
    let pats = sim::random_inputs(n, WORDS, 0x7E55_E7A0);
    let val = sim::simulate_nodes(m, WORDS, |i, w| pats[i * WORDS + w]);
    // A difference random simulation already shows needs no solver.
    for k in 0..oa.len() {
        let (xa, xb): (Vec<u64>, Vec<u64>) = (
            sim::lit_words(&val, WORDS, oa[k]).collect(),
            sim::lit_words(&val, WORDS, ob[k]).collect(),
        );
        if let Some(w) = (0..WORDS).find(|&w| xa[w] != xb[w]) {
            let bit = (xa[w] ^ xb[w]).trailing_zeros();
            let input = (0..n)
                .map(|i| pats[i * WORDS + w] >> bit & 1 == 1)
                .collect();
            return Verdict::Different { output: k, input };
        }
    }
    let mut enc = Encoder::new(m);
    let merged = prove_classes(m, &mut enc, &val, WORDS).len();
    for k in 0..oa.len() {
        if oa[k] == ob[k] {
            continue;
        }
        if let Some(input) = enc.differ(m, oa[k], ob[k]) {
            return Verdict::Different { output: k, input };
        }
    }
    Verdict::Equivalent(Method::SatSweep {
        sat_calls: enc.calls,
        merged,
    })
}

/// Proves candidate equivalences (from `val`, `words` words of simulation per node) in
/// topological order, each proof added to the solver; returns `(node, equal literal)` pairs,
/// the literal's node always earlier than the node.
fn prove_classes(m: &Aig, enc: &mut Encoder, val: &[u64], words: usize) -> Vec<(u32, Lit)> {
    // Candidate classes by phase-normalised signature; each node points at its class
    // representative (the first, i.e. lowest, node) with a phase.
    let nn = m.num_nodes();
    let mut repr: Vec<Option<(u32, bool)>> = vec![None; nn];
    let mut classes: HashMap<Vec<u64>, u32> = HashMap::new();
    for v in 0..nn {
        let w = &val[v * words..(v + 1) * words];
        let phase = w[0] & 1 == 1;
        let key: Vec<u64> = w.iter().map(|&x| if phase { !x } else { x }).collect();
        match classes.get(&key) {
            Some(&r) => {
                let rphase = val[r as usize * words] & 1 == 1;
                repr[v] = Some((r, phase ^ rphase));
            }
            None => {
                classes.insert(key, v as u32);
            }
        }
    }
    let mut proved = Vec::new();
    let mut rng = Patterns::new(99);
    for v in 0..nn {
        let Some((r, phase)) = repr[v] else { continue };
        if !m.is_and(v as u32) {
            continue;
        }
        let (x, y) = (Lit::new(v as u32, false), Lit::new(r, phase));
        match enc.differ(m, x, y) {
            None => {
                enc.equate(m, x, y);
                proved.push((v as u32, y));
            }
            Some(input) => {
                // Refine every class with the counterexample (plus 63 random neighbours).
                let w: Vec<u64> = input
                    .iter()
                    .map(|&b| (rng.next_word() & !1) | b as u64)
                    .collect();
                let cval = sim::simulate_nodes(m, 1, |i, _| w[i]);
                refine(&mut repr, &cval, v);
            }
        }
    }
    proved
}

/// Functionally equivalent node pairs of `g`, proved: `(node, earlier literal)`. Exact truth
/// tables up to 16 inputs, SAT sweeping beyond.
pub fn equivalences(g: &Aig) -> Vec<(u32, Lit)> {
    let n = g.num_inputs();
    if n <= crate::tt::MAX_VARS {
        let words = crate::tt::words_for(n);
        let val = sim::simulate_nodes(g, words, sim::exhaustive_word);
        let mut first: HashMap<Vec<u64>, (u32, bool)> = HashMap::new();
        let mut out = Vec::new();
        for v in 0..g.num_nodes() {
            let w = &val[v * words..(v + 1) * words];
            let phase = w[0] & 1 == 1;
            let key: Vec<u64> = w.iter().map(|&x| if phase { !x } else { x }).collect();
            match first.get(&key) {
                Some(&(r, rphase)) => {
                    if g.is_and(v as u32) {
                        out.push((v as u32, Lit::new(r, phase ^ rphase)));
                    }
                }
                None => {
                    first.insert(key, (v as u32, phase));
                }
            }
        }
        return out;
    }
    let pats = sim::random_inputs(n, WORDS, 0x5EED);
    let val = sim::simulate_nodes(g, WORDS, |i, w| pats[i * WORDS + w]);
    let mut enc = Encoder::new(g);
    prove_classes(g, &mut enc, &val, WORDS)
}

/// Splits classes with one more word of simulation: a node stays with its representative
/// only if they still agree (up to phase) on every new pattern; otherwise it starts a new
/// class with the later nodes that agree with it.
fn refine(repr: &mut [Option<(u32, bool)>], cval: &[u64], from: usize) {
    let mut new_rep: HashMap<(u32, u64), u32> = HashMap::new();
    for v in from..repr.len() {
        let Some((r, phase)) = repr[v] else { continue };
        let want = if phase {
            !cval[r as usize]
        } else {
            cval[r as usize]
        };
        if cval[v] == want {
            continue;
        }
        // Group the splinters by (old representative, normalised value).
        let key = if cval[v] & 1 == 1 { !cval[v] } else { cval[v] };
        match new_rep.get(&(r, key)) {
            Some(&nr) => {
                let p = (cval[v] ^ cval[nr as usize]) & 1 == 1;
                repr[v] = Some((nr, p));
            }
            None => {
                new_rep.insert((r, key), v as u32);
                repr[v] = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adder(n: usize, ripple: bool) -> Aig {
        let (mut g, x) = Aig::with_inputs(2 * n);
        let mut carry = Lit::FALSE;
        for i in 0..n {
            let (a, b) = (x[i], x[n + i]);
            let s = g.xor(a, b);
            let sum = g.xor(s, carry);
            g.add_output(sum, None);
            carry = if ripple {
                let t = g.and(a, b);
                let u = g.and(s, carry);
                g.or(t, u)
            } else {
                // Majority written differently.
                let ab = g.and(a, b);
                let ac = g.and(a, carry);
                let bc = g.and(b, carry);
                let o = g.or(ab, ac);
                g.or(o, bc)
            };
        }
        g.add_output(carry, None);
        g
    }

    #[test]
    fn exhaustive_and_sweep_agree() {
        for n in [4, 16] {
            let (a, b) = (adder(n, true), adder(n, false));
            let v = cec(&a, &b).unwrap();
            assert!(v.is_equivalent(), "{v:?}");
            if n == 16 {
                assert!(matches!(v, Verdict::Equivalent(Method::SatSweep { .. })));
            }
        }
    }

    #[test]
    fn difference_is_found_with_a_witness() {
        let a = adder(16, true);
        let mut b = adder(16, false);
        let last = b.num_outputs() - 1;
        let o = b.outputs()[last];
        let x0 = b.input(0);
        let x17 = b.input(17);
        let t = b.and(x0, x17);
        let bad = b.and(o, !t);
        b.set_output(last, bad);
        match cec(&a, &b).unwrap() {
            Verdict::Different { output, input } => {
                assert_eq!(output, last);
                assert_ne!(a.eval(&input)[last], b.eval(&input)[last]);
            }
            v => panic!("{v:?}"),
        }
    }
}
