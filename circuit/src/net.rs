//! A mutable AIG for local rewriting: fanout lists, reference counts and structural hashing
//! kept up to date while a node is *replaced* by an equivalent literal. A replacement moves
//! every fanout to the new literal, re-hashes the fanouts (merging the ones that become
//! duplicates, cascading), and frees the old node's maximum fanout-free cone (MFFC).
//!
//! Node ids are stable for the whole pass; new nodes are appended, so after a replacement the
//! id order is no longer topological. [`Net::to_aig`] turns the result back into a compact,
//! topologically ordered [`Aig`].

use crate::aig::{Aig, Lit, Node, sorted, trivial};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Const,
    Input,
    And,
    Dead,
}

pub struct Net {
    kind: Vec<Kind>,
    fanin: Vec<[Lit; 2]>,
    refs: Vec<u32>,
    fanouts: Vec<Vec<u32>>,
    strash: HashMap<(Lit, Lit), u32>,
    outputs: Vec<Lit>,
    inputs: Vec<u32>,
    /// Where a deleted node went, so queued replacements can follow the chain.
    moved: HashMap<u32, Lit>,
    /// The graph this came from (for names).
    source: Aig,
}

impl Net {
    pub fn from_aig(g: &Aig) -> Net {
        let n = g.num_nodes();
        let mut net = Net {
            kind: Vec::with_capacity(n),
            fanin: Vec::with_capacity(n),
            refs: vec![0; n],
            fanouts: vec![Vec::new(); n],
            strash: HashMap::with_capacity(n),
            outputs: g.outputs().to_vec(),
            inputs: g.inputs().to_vec(),
            moved: HashMap::new(),
            source: g.clone(),
        };
        for (v, node) in g.nodes().iter().enumerate() {
            match *node {
                Node::Const => {
                    net.kind.push(Kind::Const);
                    net.fanin.push([Lit::FALSE; 2]);
                }
                Node::Input(_) => {
                    net.kind.push(Kind::Input);
                    net.fanin.push([Lit::FALSE; 2]);
                }
                Node::And(a, b) => {
                    net.kind.push(Kind::And);
                    net.fanin.push([a, b]);
                    net.refs[a.index()] += 1;
                    net.refs[b.index()] += 1;
                    net.fanouts[a.index()].push(v as u32);
                    net.fanouts[b.index()].push(v as u32);
                    net.strash.insert((a, b), v as u32);
                }
            }
        }
        for o in g.outputs() {
            net.refs[o.index()] += 1;
        }
        net
    }

    pub fn len(&self) -> usize {
        self.kind.len()
    }
    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }
    pub fn is_and(&self, v: u32) -> bool {
        self.kind[v as usize] == Kind::And
    }
    pub fn is_dead(&self, v: u32) -> bool {
        self.kind[v as usize] == Kind::Dead
    }
    pub fn is_input(&self, v: u32) -> bool {
        self.kind[v as usize] == Kind::Input
    }
    pub fn fanins(&self, v: u32) -> [Lit; 2] {
        self.fanin[v as usize]
    }
    pub fn refs(&self, v: u32) -> u32 {
        self.refs[v as usize]
    }
    pub fn fanouts(&self, v: u32) -> &[u32] {
        &self.fanouts[v as usize]
    }
    pub fn num_ands(&self) -> usize {
        self.kind.iter().filter(|&&k| k == Kind::And).count()
    }

    /// The literal `AND(a, b)` would be, if it needs no new node.
    pub fn lookup(&self, a: Lit, b: Lit) -> Option<Lit> {
        if let Some(l) = trivial(a, b) {
            return Some(l);
        }
        self.strash.get(&sorted(a, b)).map(|&v| Lit::new(v, false))
    }

    /// `AND(a, b)`, hashed; a new node starts with no references.
    pub fn and(&mut self, a: Lit, b: Lit) -> Lit {
        if let Some(l) = self.lookup(a, b) {
            return l;
        }
        let (a, b) = sorted(a, b);
        let v = self.kind.len() as u32;
        self.kind.push(Kind::And);
        self.fanin.push([a, b]);
        self.refs.push(0);
        self.fanouts.push(Vec::new());
        self.refs[a.index()] += 1;
        self.refs[b.index()] += 1;
        self.fanouts[a.index()].push(v);
        self.fanouts[b.index()].push(v);
        self.strash.insert((a, b), v);
        Lit::new(v, false)
    }

    /// Deletes `v` and, recursively, the fanins left without references.
    fn delete(&mut self, v: u32) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            if self.kind[v as usize] != Kind::And || self.refs[v as usize] != 0 {
                continue;
            }
            let [a, b] = self.fanin[v as usize];
            if self.strash.get(&(a, b)) == Some(&v) {
                self.strash.remove(&(a, b));
            }
            self.kind[v as usize] = Kind::Dead;
            self.fanouts[v as usize] = Vec::new();
            for c in [a, b] {
                self.refs[c.index()] -= 1;
                if self.refs[c.index()] == 0 {
                    stack.push(c.var());
                }
            }
        }
    }

    /// Deletes `lit`'s node if nothing uses it (a candidate built and then not used).
    pub fn drop_if_unused(&mut self, lit: Lit) {
        if self.refs[lit.index()] == 0 {
            self.delete(lit.var());
        }
    }

    fn resolve(&self, mut l: Lit) -> Lit {
        while self.kind[l.index()] == Kind::Dead {
            match self.moved.get(&l.var()) {
                Some(&m) => l = m.xor(l.is_compl()),
                None => break,
            }
        }
        l
    }

    /// Replaces node `old` by the equivalent literal `new` everywhere. `new` must not depend
    /// on `old`.
    pub fn replace(&mut self, old: u32, new: Lit) {
        let mut queue = vec![(old, new)];
        self.refs[new.index()] += 1; // pinned while queued
        while let Some((o, n0)) = queue.pop() {
            let n = self.resolve(n0);
            if n != n0 {
                self.refs[n.index()] += 1;
                self.refs[n0.index()] -= 1;
            }
            if self.kind[o as usize] == Kind::Dead || n.var() == o {
                self.refs[n.index()] -= 1;
                self.drop_if_unused(n);
                continue;
            }
            let fanouts = std::mem::take(&mut self.fanouts[o as usize]);
            for f in fanouts {
                if self.kind[f as usize] != Kind::And {
                    continue;
                }
                let [a, b] = self.fanin[f as usize];
                if a.var() != o && b.var() != o {
                    continue;
                }
                if self.strash.get(&(a, b)) == Some(&f) {
                    self.strash.remove(&(a, b));
                }
                let sub = |l: Lit| if l.var() == o { n.xor(l.is_compl()) } else { l };
                let (na, nb) = sorted(sub(a), sub(b));
                // Move the references.
                for l in [a, b] {
                    if l.var() == o {
                        self.refs[o as usize] -= 1;
                        self.refs[n.index()] += 1;
                        self.fanouts[n.index()].push(f);
                    }
                }
                self.fanin[f as usize] = [na, nb];
                let merge = trivial(na, nb)
                    .or_else(|| self.strash.get(&(na, nb)).map(|&g| Lit::new(g, false)));
                match merge {
                    Some(t) if t.var() != f => {
                        self.refs[t.index()] += 1;
                        queue.push((f, t));
                    }
                    _ => {
                        self.strash.insert((na, nb), f);
                    }
                }
            }
            for out in &mut self.outputs {
                if out.var() == o {
                    *out = n.xor(out.is_compl());
                    self.refs[o as usize] -= 1;
                    self.refs[n.index()] += 1;
                }
            }
            self.moved.insert(o, n);
            self.refs[n.index()] -= 1; // unpin
            if self.refs[o as usize] == 0 {
                self.delete(o);
            }
            self.drop_if_unused(n);
        }
    }

    /// Dereferences the MFFC of `root` (bounded by `leaves`) and returns its nodes; the
    /// caller must [`Net::mffc_ref`] it back.
    pub fn mffc_deref(&mut self, root: u32, leaves: &[u32]) -> Vec<u32> {
        let mut out = vec![root];
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            for c in self.fanin[v as usize] {
                self.refs[c.index()] -= 1;
                if self.refs[c.index()] == 0
                    && self.kind[c.index()] == Kind::And
                    && !leaves.contains(&c.var())
                {
                    out.push(c.var());
                    stack.push(c.var());
                }
            }
        }
        out
    }

    pub fn mffc_ref(&mut self, nodes: &[u32]) {
        for &v in nodes {
            for c in self.fanin[v as usize] {
                self.refs[c.index()] += 1;
            }
        }
    }

    /// The size of `root`'s MFFC within `leaves`.
    pub fn mffc_size(&mut self, root: u32, leaves: &[u32]) -> usize {
        let m = self.mffc_deref(root, leaves);
        self.mffc_ref(&m);
        m.len()
    }

    /// How many new nodes adding `cand` (a local graph over `leaves`, one output) would cost,
    /// counting reused nodes with no references (the dereferenced MFFC) as cost too. `None`
    /// when the structure would use `root` itself or exceeds `limit`.
    pub fn cost(&self, cand: &Aig, leaves: &[Lit], root: u32, limit: usize) -> Option<usize> {
        let mut map: Vec<Option<Lit>> = vec![None; cand.num_nodes()];
        map[0] = Some(Lit::FALSE);
        for (i, &v) in cand.inputs().iter().enumerate() {
            map[v as usize] = leaves.get(i).copied();
        }
        let mut cost = 0;
        let mut counted: Vec<u32> = Vec::new();
        for (v, n) in cand.nodes().iter().enumerate() {
            let Node::And(a, b) = *n else { continue };
            let found = match (map[a.index()], map[b.index()]) {
                (Some(x), Some(y)) => self.lookup(x.xor(a.is_compl()), y.xor(b.is_compl())),
                _ => None,
            };
            match found {
                Some(l) => {
                    if l.var() == root {
                        return None;
                    }
                    if self.kind[l.index()] == Kind::And
                        && self.refs[l.index()] == 0
                        && !counted.contains(&l.var())
                    {
                        counted.push(l.var());
                        cost += 1;
                    }
                    map[v] = Some(l);
                }
                None => cost += 1,
            }
            if cost > limit {
                return None;
            }
        }
        let out = cand.outputs().first().copied().unwrap_or(Lit::FALSE);
        if let Some(l) = map[out.index()]
            && l.var() == root
        {
            return None;
        }
        Some(cost)
    }

    /// Adds `cand` over `leaves` and returns its output literal.
    pub fn build(&mut self, cand: &Aig, leaves: &[Lit]) -> Lit {
        let mut map = vec![Lit::FALSE; cand.num_nodes()];
        for (i, &v) in cand.inputs().iter().enumerate() {
            map[v as usize] = leaves.get(i).copied().unwrap_or(Lit::FALSE);
        }
        for (v, n) in cand.nodes().iter().enumerate() {
            if let Node::And(a, b) = *n {
                map[v] = self.and(Aig::map_lit(&map, a), Aig::map_lit(&map, b));
            }
        }
        let out = cand.outputs().first().copied().unwrap_or(Lit::FALSE);
        Aig::map_lit(&map, out)
    }

    /// Whether `target` lies in the transitive fanin of `lit` (used to refuse replacements that
    /// would close a cycle).
    pub fn depends_on(&self, lit: Lit, target: u32) -> bool {
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![lit.var()];
        while let Some(v) = stack.pop() {
            if v == target {
                return true;
            }
            if self.kind[v as usize] != Kind::And || !seen.insert(v) {
                continue;
            }
            for c in self.fanin[v as usize] {
                stack.push(c.var());
            }
        }
        false
    }

    /// The truth table of `root` over `leaves` (at most 16), or `None` when the cone reaches a
    /// node outside the leaves that is not the constant (the cut is no longer valid).
    pub fn cut_function(
        &self,
        root: u32,
        leaves: &[u32],
        max_cone: usize,
    ) -> Option<crate::tt::Tt> {
        use crate::tt::Tt;
        let k = leaves.len();
        let mut val: HashMap<u32, Tt> = HashMap::new();
        for (i, &l) in leaves.iter().enumerate() {
            val.insert(l, Tt::var(k, i));
        }
        val.entry(0).or_insert_with(|| Tt::zero(k));
        let mut stack = vec![(root, false)];
        let mut visited = 0;
        while let Some((v, expanded)) = stack.pop() {
            if val.contains_key(&v) {
                continue;
            }
            if self.kind[v as usize] != Kind::And {
                return None;
            }
            let [a, b] = self.fanin[v as usize];
            if expanded {
                let (ta, tb) = (val.get(&a.var())?, val.get(&b.var())?);
                let ta = if a.is_compl() { ta.not() } else { ta.clone() };
                let tb = if b.is_compl() { tb.not() } else { tb.clone() };
                val.insert(v, ta.and(&tb));
                continue;
            }
            visited += 1;
            if visited > max_cone {
                return None;
            }
            stack.push((v, true));
            for c in [a, b] {
                if !val.contains_key(&c.var()) {
                    stack.push((c.var(), false));
                }
            }
        }
        val.remove(&root)
    }

    /// Back to a compact, topologically ordered AIG with the source's names.
    pub fn to_aig(&self) -> Aig {
        let mut g = Aig::new();
        let mut map: Vec<Option<Lit>> = vec![None; self.kind.len()];
        map[0] = Some(Lit::FALSE);
        for (i, &v) in self.inputs.iter().enumerate() {
            map[v as usize] = Some(g.add_input(self.source.input_name(i).map(str::to_string)));
        }
        for &o in &self.outputs {
            let mut stack = vec![(o.var(), false)];
            while let Some((v, expanded)) = stack.pop() {
                if map[v as usize].is_some() {
                    continue;
                }
                let [a, b] = self.fanin[v as usize];
                if expanded {
                    let x = map[a.index()].unwrap_or(Lit::FALSE).xor(a.is_compl());
                    let y = map[b.index()].unwrap_or(Lit::FALSE).xor(b.is_compl());
                    map[v as usize] = Some(g.and(x, y));
                } else {
                    stack.push((v, true));
                    for c in [a, b] {
                        if map[c.index()].is_none() {
                            stack.push((c.var(), false));
                        }
                    }
                }
            }
        }
        for (i, &o) in self.outputs.iter().enumerate() {
            let l = map[o.index()].unwrap_or(Lit::FALSE).xor(o.is_compl());
            g.add_output(l, self.source.output_name(i).map(str::to_string));
        }
        g
    }
}
