//! The and-inverter graph: structurally hashed two-input ANDs over primary inputs, with
//! complemented edges. Nodes are kept in topological order (every fanin precedes its node), so
//! a single forward pass simulates, levels or copies a graph.

use std::collections::HashMap;
use std::fmt;

/// A literal: a node (its *variable*) and a complement bit, AIGER's encoding `2·var + compl`.
/// Variable 0 is the constant false, so `Lit::FALSE` is 0 and `Lit::TRUE` is 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Lit(u32);

impl Lit {
    pub const FALSE: Lit = Lit(0);
    pub const TRUE: Lit = Lit(1);

    pub fn new(var: u32, compl: bool) -> Lit {
        Lit(var << 1 | compl as u32)
    }
    /// The literal with AIGER code `code` (`2·var + compl`).
    pub fn from_code(code: u32) -> Lit {
        Lit(code)
    }
    pub fn code(self) -> u32 {
        self.0
    }
    pub fn var(self) -> u32 {
        self.0 >> 1
    }
    pub fn index(self) -> usize {
        (self.0 >> 1) as usize
    }
    pub fn is_compl(self) -> bool {
        self.0 & 1 == 1
    }
    pub fn is_const(self) -> bool {
        self.0 < 2
    }
    /// This literal complemented when `c` is true.
    pub fn xor(self, c: bool) -> Lit {
        Lit(self.0 ^ c as u32)
    }
    /// The positive literal of the same variable.
    pub fn regular(self) -> Lit {
        Lit(self.0 & !1)
    }
}

impl std::ops::Not for Lit {
    type Output = Lit;
    fn not(self) -> Lit {
        Lit(self.0 ^ 1)
    }
}

impl fmt::Debug for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            if self.is_compl() { "!" } else { "" },
            self.var()
        )
    }
}

/// The operands of an AND in the order nodes store them.
pub(crate) fn sorted(a: Lit, b: Lit) -> (Lit, Lit) {
    if a <= b { (a, b) } else { (b, a) }
}

/// What an AND of two literals simplifies to without a node (constants, `a·a = a`,
/// `a·¬a = 0`), if anything.
pub(crate) fn trivial(a: Lit, b: Lit) -> Option<Lit> {
    let (a, b) = sorted(a, b);
    if a == Lit::FALSE || a == !b {
        Some(Lit::FALSE)
    } else if a == Lit::TRUE || a == b {
        Some(b)
    } else {
        None
    }
}

/// One node of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Const,
    /// The primary input with this position.
    Input(u32),
    And(Lit, Lit),
}

/// A combinational and-inverter graph with named inputs and outputs.
#[derive(Clone, Default)]
pub struct Aig {
    nodes: Vec<Node>,
    inputs: Vec<u32>,
    outputs: Vec<Lit>,
    input_names: Vec<Option<String>>,
    output_names: Vec<Option<String>>,
    strash: HashMap<(Lit, Lit), u32>,
}

impl fmt::Debug for Aig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Aig {{ inputs: {}, outputs: {}, ands: {}, levels: {} }}",
            self.num_inputs(),
            self.num_outputs(),
            self.num_ands(),
            self.levels()
        )
    }
}

impl Aig {
    pub fn new() -> Aig {
        Aig {
            nodes: vec![Node::Const],
            ..Aig::default()
        }
    }

    /// An empty graph with `n` unnamed inputs, returning their literals.
    pub fn with_inputs(n: usize) -> (Aig, Vec<Lit>) {
        let mut g = Aig::new();
        let lits = (0..n).map(|_| g.add_input(None)).collect();
        (g, lits)
    }

    pub fn add_input(&mut self, name: Option<String>) -> Lit {
        let var = self.nodes.len() as u32;
        self.nodes.push(Node::Input(self.inputs.len() as u32));
        self.inputs.push(var);
        self.input_names.push(name);
        Lit::new(var, false)
    }

    pub fn add_output(&mut self, lit: Lit, name: Option<String>) {
        self.outputs.push(lit);
        self.output_names.push(name);
    }

    pub fn set_output(&mut self, i: usize, lit: Lit) {
        self.outputs[i] = lit;
    }

    /// The AND of two literals, with constant propagation, the trivial identities
    /// (`a·a = a`, `a·¬a = 0`) and structural hashing.
    pub fn and(&mut self, a: Lit, b: Lit) -> Lit {
        if let Some(l) = self.lookup_and(a, b) {
            return l;
        }
        let (a, b) = sorted(a, b);
        let var = self.nodes.len() as u32;
        self.nodes.push(Node::And(a, b));
        self.strash.insert((a, b), var);
        Lit::new(var, false)
    }

    /// The literal an AND of `a` and `b` would have, without adding a node: `None` when it
    /// would need a new node.
    pub fn lookup_and(&self, a: Lit, b: Lit) -> Option<Lit> {
        trivial(a, b).or_else(|| self.strash.get(&sorted(a, b)).map(|&v| Lit::new(v, false)))
    }

    pub fn or(&mut self, a: Lit, b: Lit) -> Lit {
        !self.and(!a, !b)
    }

    /// `a ⊕ b` as three ANDs.
    pub fn xor(&mut self, a: Lit, b: Lit) -> Lit {
        let x = self.and(a, !b);
        let y = self.and(!a, b);
        self.or(x, y)
    }

    /// `if s then t else e`.
    pub fn mux(&mut self, s: Lit, t: Lit, e: Lit) -> Lit {
        let x = self.and(s, t);
        let y = self.and(!s, e);
        self.or(x, y)
    }

    /// AND of many literals as a balanced tree.
    pub fn and_many(&mut self, lits: &[Lit]) -> Lit {
        match lits {
            [] => Lit::TRUE,
            [a] => *a,
            _ => {
                let (l, r) = lits.split_at(lits.len() / 2);
                let a = self.and_many(l);
                let b = self.and_many(r);
                self.and(a, b)
            }
        }
    }

    pub fn or_many(&mut self, lits: &[Lit]) -> Lit {
        let neg: Vec<Lit> = lits.iter().map(|&l| !l).collect();
        !self.and_many(&neg)
    }

    pub fn node(&self, var: u32) -> Node {
        self.nodes[var as usize]
    }
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    /// The fanins of an AND node, `None` for inputs and the constant.
    pub fn fanins(&self, var: u32) -> Option<(Lit, Lit)> {
        match self.nodes[var as usize] {
            Node::And(a, b) => Some((a, b)),
            _ => None,
        }
    }
    pub fn is_and(&self, var: u32) -> bool {
        matches!(self.nodes[var as usize], Node::And(..))
    }
    pub fn num_nodes(&self) -> usize {
        self.nodes.len()
    }
    pub fn num_inputs(&self) -> usize {
        self.inputs.len()
    }
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }
    pub fn num_ands(&self) -> usize {
        self.nodes.len() - 1 - self.inputs.len()
    }
    pub fn inputs(&self) -> &[u32] {
        &self.inputs
    }
    pub fn input(&self, i: usize) -> Lit {
        Lit::new(self.inputs[i], false)
    }
    pub fn outputs(&self) -> &[Lit] {
        &self.outputs
    }
    pub fn input_name(&self, i: usize) -> Option<&str> {
        self.input_names.get(i).and_then(|n| n.as_deref())
    }
    pub fn output_name(&self, i: usize) -> Option<&str> {
        self.output_names.get(i).and_then(|n| n.as_deref())
    }
    pub fn set_input_name(&mut self, i: usize, name: Option<String>) {
        self.input_names[i] = name;
    }
    pub fn set_output_name(&mut self, i: usize, name: Option<String>) {
        self.output_names[i] = name;
    }
    /// Copies the input and output names of `other` (same counts) onto this graph.
    pub fn copy_names(&mut self, other: &Aig) {
        for i in 0..self.num_inputs().min(other.num_inputs()) {
            self.input_names[i] = other.input_names[i].clone();
        }
        for i in 0..self.num_outputs().min(other.num_outputs()) {
            self.output_names[i] = other.output_names[i].clone();
        }
    }

    /// The logic level of every node (inputs and the constant 0, an AND one more than its
    /// deeper fanin).
    pub fn node_levels(&self) -> Vec<u32> {
        let mut lev = vec![0u32; self.nodes.len()];
        for (v, n) in self.nodes.iter().enumerate() {
            if let Node::And(a, b) = n {
                lev[v] = 1 + lev[a.index()].max(lev[b.index()]);
            }
        }
        lev
    }

    /// The depth of the deepest output.
    pub fn levels(&self) -> u32 {
        let lev = self.node_levels();
        self.outputs
            .iter()
            .map(|o| lev[o.index()])
            .max()
            .unwrap_or(0)
    }

    /// How many times each node is used (by ANDs and by outputs).
    pub fn fanout_counts(&self) -> Vec<u32> {
        let mut refs = vec![0u32; self.nodes.len()];
        for n in &self.nodes {
            if let Node::And(a, b) = n {
                refs[a.index()] += 1;
                refs[b.index()] += 1;
            }
        }
        for o in &self.outputs {
            refs[o.index()] += 1;
        }
        refs
    }

    /// A copy with only the nodes the outputs reach, renumbered in topological order; inputs
    /// and outputs keep their positions and names.
    pub fn cleanup(&self) -> Aig {
        let mut live = vec![false; self.nodes.len()];
        for o in &self.outputs {
            live[o.index()] = true;
        }
        for v in (0..self.nodes.len()).rev() {
            if live[v]
                && let Node::And(a, b) = self.nodes[v]
            {
                live[a.index()] = true;
                live[b.index()] = true;
            }
        }
        let mut g = Aig::new();
        let mut map = vec![Lit::FALSE; self.nodes.len()];
        for (i, &v) in self.inputs.iter().enumerate() {
            map[v as usize] = g.add_input(self.input_names[i].clone());
        }
        for (v, n) in self.nodes.iter().enumerate() {
            if let (true, Node::And(a, b)) = (live[v], n) {
                map[v] = g.and(
                    map[a.index()].xor(a.is_compl()),
                    map[b.index()].xor(b.is_compl()),
                );
            }
        }
        for (i, o) in self.outputs.iter().enumerate() {
            g.add_output(
                map[o.index()].xor(o.is_compl()),
                self.output_names[i].clone(),
            );
        }
        g
    }

    /// Maps a literal of this graph through `map` (old variable → new literal).
    pub fn map_lit(map: &[Lit], l: Lit) -> Lit {
        map[l.index()].xor(l.is_compl())
    }

    /// A new graph with the same inputs (names kept) and no outputs, and the map of this
    /// graph's inputs and constant into it; the passes build their result on it.
    pub fn empty_like(&self) -> (Aig, Vec<Lit>) {
        let mut g = Aig::new();
        let mut map = vec![Lit::FALSE; self.nodes.len()];
        for (i, &v) in self.inputs.iter().enumerate() {
            map[v as usize] = g.add_input(self.input_names[i].clone());
        }
        (g, map)
    }

    /// Adds this graph's outputs (through `map`) with their names to `g`.
    pub fn finish_like(&self, g: &mut Aig, map: &[Lit]) {
        for (i, &o) in self.outputs.iter().enumerate() {
            g.add_output(Aig::map_lit(map, o), self.output_names[i].clone());
        }
    }

    /// Evaluates every output on one input assignment.
    pub fn eval(&self, input: &[bool]) -> Vec<bool> {
        let mut val = vec![false; self.nodes.len()];
        for (v, n) in self.nodes.iter().enumerate() {
            val[v] = match *n {
                Node::Const => false,
                Node::Input(i) => input.get(i as usize).copied().unwrap_or(false),
                Node::And(a, b) => {
                    (val[a.index()] ^ a.is_compl()) && (val[b.index()] ^ b.is_compl())
                }
            };
        }
        self.outputs
            .iter()
            .map(|o| val[o.index()] ^ o.is_compl())
            .collect()
    }

    /// The transitive fanin cone (AND variables only) of `roots`, in topological order.
    pub fn cone(&self, roots: &[Lit]) -> Vec<u32> {
        let mut mark = vec![false; self.nodes.len()];
        for r in roots {
            mark[r.index()] = true;
        }
        for v in (0..self.nodes.len()).rev() {
            if let (true, Node::And(a, b)) = (mark[v], self.nodes[v]) {
                mark[a.index()] = true;
                mark[b.index()] = true;
            }
        }
        (0..self.nodes.len() as u32)
            .filter(|&v| mark[v as usize] && self.is_and(v))
            .collect()
    }

    /// Adds a copy of `other` (its inputs mapped to `inputs`) and returns its output literals.
    pub fn append(&mut self, other: &Aig, inputs: &[Lit]) -> Vec<Lit> {
        let mut map = vec![Lit::FALSE; other.nodes.len()];
        for (i, &v) in other.inputs.iter().enumerate() {
            map[v as usize] = inputs.get(i).copied().unwrap_or(Lit::FALSE);
        }
        for (v, n) in other.nodes.iter().enumerate() {
            if let Node::And(a, b) = *n {
                map[v] = self.and(Aig::map_lit(&map, a), Aig::map_lit(&map, b));
            }
        }
        other
            .outputs
            .iter()
            .map(|&o| Aig::map_lit(&map, o))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strash_and_identities() {
        let (mut g, x) = Aig::with_inputs(2);
        let a = g.and(x[0], x[1]);
        assert_eq!(g.and(x[1], x[0]), a);
        assert_eq!(g.and(x[0], !x[0]), Lit::FALSE);
        assert_eq!(g.and(x[0], Lit::TRUE), x[0]);
        assert_eq!(g.and(x[0], x[0]), x[0]);
        assert_eq!(g.num_ands(), 1);
        let o = g.xor(x[0], x[1]);
        g.add_output(o, None);
        for m in 0..4 {
            let i = [m & 1 == 1, m & 2 == 2];
            assert_eq!(g.eval(&i), vec![i[0] ^ i[1]]);
        }
        assert_eq!(g.levels(), 2);
    }

    #[test]
    fn cleanup_drops_dangling() {
        let (mut g, x) = Aig::with_inputs(3);
        let _dead = g.and(x[0], x[2]);
        let o = g.and(x[0], !x[1]);
        g.add_output(!o, Some("y".into()));
        let c = g.cleanup();
        assert_eq!(c.num_ands(), 1);
        assert_eq!(c.num_inputs(), 3);
        assert_eq!(c.output_name(0), Some("y"));
    }
}
