//! A list `gss` item compiled to an and-inverter graph, for inputs of at most `max_len` words
//! and values of at most `out_len` tokens.
//!
//! The graph has two parts, both built for the bounds and checked against the interpreter
//! ([`Reader`]) by [`check`]:
//!
//! 1. **Parsing.** The Pratt parser ([`tessera_gss::model::parse`]) is run as a stack machine over the
//!    words, one word at a time: a frame per pending operator (prefix, infix, juxtaposition,
//!    bracket) with its minimum precedence, a mode (an operand is expected / one is held), and
//!    a node table filled in the parser's own order (children before parents). Each word takes
//!    a bounded number of machine steps (completions pop frames; at most `2t + 3` steps at word
//!    `t`), all unrolled into gates.
//! 2. **Meanings.** Every node's value length, and for each atom of its meaning where it starts
//!    and how an index into it maps to an index into a child's value (`tail`, `init` and
//!    `reverse` compose to `±i + c`). Output position `q` then *descends* from the root: at a
//!    node, the atom holding `q` either names a token (a literal or `self`) or a child and an
//!    index in it. Children come before parents, so one pass over the nodes from the last to
//!    the first is every descent.
//!
//! Interface (the names are written into the graph): input `p·|vocab| + i` is
//! `w{p}={vocab[i]}`, one-hot per word position, all zero after the last word; output
//! `q·|out_vocab| + i` is `out{q}={out_vocab[i]}`, one-hot per output position, all zero past
//! the output's end; the last output is `error`: the interpreter rejects the input (it does
//! not parse, a meaning is undefined on its arguments, a word is unknown), or some node's value
//! is longer than `out_len` (the circuit's range), or the input bits are not a word sequence.

use tessera_circuit::{Aig, Lit};
use tessera_gss::model::{
    Atom, ElemOp, Fixity, Gss, Interner, ListOp, Meaning, Program, Reader, Sym,
};
use tessera_vsa::rng::Rng;

type Bv = Vec<Lit>;

/// The longest input a gss circuit takes.
pub const MAX_WORDS: usize = 24;
/// The longest output a gss circuit gives.
pub const MAX_OUT: usize = 4096;

/// The most (output position, node, atom) triples a circuit's descents may have (SCAN at 9
/// words and 48 tokens: 6,912, 624,044 ANDs).
pub const MAX_DESCENT_WORK: usize = 60_000;

/// A `gss` item as a circuit, with its interface.
#[derive(Debug, Clone)]
pub struct GssCircuit {
    pub aig: Aig,
    /// Input words, in input-group order.
    pub vocab: Vec<String>,
    pub max_len: usize,
    /// Output tokens, in output-group order.
    pub out_vocab: Vec<String>,
    pub out_len: usize,
}

/// What a circuit gives for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CircuitAnswer {
    /// The output tokens.
    Output(Vec<String>),
    /// The `error` output is set.
    Error,
    /// An output group is not one-hot, or a token follows an empty position.
    Malformed,
}

impl GssCircuit {
    /// The input bits of a word sequence; `None` for a word outside the vocabulary or more
    /// than `max_len` words.
    pub fn encode(&self, words: &[&str]) -> Option<Vec<bool>> {
        if words.len() > self.max_len {
            return None;
        }
        let v = self.vocab.len();
        let mut bits = vec![false; self.max_len * v];
        for (p, w) in words.iter().enumerate() {
            let i = self.vocab.iter().position(|x| x == w)?;
            bits[p * v + i] = true;
        }
        Some(bits)
    }

    /// Reads output bits.
    pub fn decode(&self, out: &[bool]) -> CircuitAnswer {
        if out.last().copied().unwrap_or(true) {
            return CircuitAnswer::Error;
        }
        let u = self.out_vocab.len();
        let mut toks = Vec::new();
        let mut ended = false;
        for q in 0..self.out_len {
            let Some(group) = out.get(q * u..(q + 1) * u) else {
                return CircuitAnswer::Malformed;
            };
            match group.iter().filter(|&&b| b).count() {
                0 => ended = true,
                1 if !ended => {
                    if let Some(i) = group.iter().position(|&b| b) {
                        toks.push(self.out_vocab[i].clone());
                    }
                }
                _ => return CircuitAnswer::Malformed,
            }
        }
        CircuitAnswer::Output(toks)
    }

    /// The circuit's answer on a word sequence (`None`: it cannot be encoded).
    pub fn run(&self, words: &[&str]) -> Option<CircuitAnswer> {
        let bits = self.encode(words)?;
        Some(self.decode(&self.aig.eval(&bits)))
    }

    /// The answers on many word sequences, 256 at a time (bit-parallel simulation).
    pub fn run_many(&self, inputs: &[Vec<&str>]) -> Vec<Option<CircuitAnswer>> {
        const WORDS: usize = 4;
        let mut answers = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(64 * WORDS) {
            let encoded: Vec<Option<Vec<bool>>> =
                chunk.iter().map(|w| self.encode(w.as_slice())).collect();
            let word = |i: usize, w: usize| -> u64 {
                let mut x = 0u64;
                for j in 0..64 {
                    if let Some(Some(bits)) = encoded.get(w * 64 + j)
                        && bits.get(i).copied().unwrap_or(false)
                    {
                        x |= 1 << j;
                    }
                }
                x
            };
            let val = tessera_circuit::sim::simulate_nodes(&self.aig, WORDS, word);
            let outs: Vec<Vec<u64>> = self
                .aig
                .outputs()
                .iter()
                .map(|&l| tessera_circuit::sim::lit_words(&val, WORDS, l).collect())
                .collect();
            for (j, e) in encoded.iter().enumerate() {
                answers.push(e.as_ref().map(|_| {
                    let bits: Vec<bool> = outs
                        .iter()
                        .map(|w| w[j / 64] >> (j % 64) & 1 == 1)
                        .collect();
                    self.decode(&bits)
                }));
            }
        }
        answers
    }
}

/// Smallest bit width that holds `0..=n`.
fn bits(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()).max(1) as usize
}

/// Gates over bit vectors (least significant bit first).
struct B {
    g: Aig,
}

impl B {
    fn and(&mut self, a: Lit, b: Lit) -> Lit {
        self.g.and(a, b)
    }
    fn or(&mut self, a: Lit, b: Lit) -> Lit {
        self.g.or(a, b)
    }
    fn any(&mut self, ls: &[Lit]) -> Lit {
        self.g.or_many(ls)
    }
    fn k(v: u64, w: usize) -> Bv {
        (0..w)
            .map(|i| {
                if i < 64 && v >> i & 1 == 1 {
                    Lit::TRUE
                } else {
                    Lit::FALSE
                }
            })
            .collect()
    }
    fn bit(a: &[Lit], i: usize) -> Lit {
        a.get(i).copied().unwrap_or(Lit::FALSE)
    }
    /// `a + b + cin` in `w` bits.
    fn add(&mut self, a: &[Lit], b: &[Lit], cin: Lit, w: usize) -> Bv {
        let mut c = cin;
        let mut out = Vec::with_capacity(w);
        for i in 0..w {
            let (x, y) = (Self::bit(a, i), Self::bit(b, i));
            let xy = self.g.xor(x, y);
            out.push(self.g.xor(xy, c));
            let g1 = self.and(x, y);
            let p1 = self.and(xy, c);
            c = self.or(g1, p1);
        }
        out
    }
    /// `a - b` in `w` bits.
    fn sub(&mut self, a: &[Lit], b: &[Lit], w: usize) -> Bv {
        let nb: Bv = (0..w).map(|i| !Self::bit(b, i)).collect();
        self.add(a, &nb, Lit::TRUE, w)
    }
    /// `a ≥ b`, unsigned.
    fn ge(&mut self, a: &[Lit], b: &[Lit]) -> Lit {
        let w = a.len().max(b.len());
        let mut c = Lit::TRUE;
        for i in 0..w {
            let (x, y) = (Self::bit(a, i), !Self::bit(b, i));
            let g1 = self.and(x, y);
            let xy = self.or(x, y);
            let p1 = self.and(xy, c);
            c = self.or(g1, p1);
        }
        c
    }
    fn eq_k(&mut self, a: &[Lit], v: usize) -> Lit {
        if a.len() < usize::BITS as usize && v >> a.len() != 0 {
            return Lit::FALSE;
        }
        let ls: Vec<Lit> = a
            .iter()
            .enumerate()
            .map(|(i, &l)| if v >> i & 1 == 1 { l } else { !l })
            .collect();
        self.g.and_many(&ls)
    }
    fn mux(&mut self, s: Lit, t: &[Lit], e: &[Lit]) -> Bv {
        let w = t.len().max(e.len());
        (0..w)
            .map(|i| self.g.mux(s, Self::bit(t, i), Self::bit(e, i)))
            .collect()
    }
    /// The OR of `vs[i]` for the (one-hot) selected `i`.
    fn sel(&mut self, ss: &[Lit], vs: &[&[Lit]], w: usize) -> Bv {
        (0..w)
            .map(|b| {
                let terms: Vec<Lit> = ss
                    .iter()
                    .zip(vs)
                    .map(|(&s, v)| self.and(s, Self::bit(v, b)))
                    .collect();
                self.any(&terms)
            })
            .collect()
    }
    /// The one-hot form of `a` over `0..n`.
    fn decode(&mut self, a: &[Lit], n: usize) -> Vec<Lit> {
        (0..n).map(|v| self.eq_k(a, v)).collect()
    }
}

/// One atom of a node's meaning: where it starts in the node's value, whether it descends
/// into a child (`child`, at index `c ± o`, minus when `neg`) or names a token (`emit`).
struct AtomRow {
    start: Bv,
    desc: Lit,
    neg: Lit,
    c: Bv,
    child: Bv,
    emit: Bv,
}

/// What the parser needs of the word at one position.
struct Word {
    atom: Lit,
    prefix: Lit,
    postfix: Lit,
    infix: Lit,
    sep: Lit,
    open: Lit,
    close: Lit,
    end: Lit,
    prec: Bv,
    /// The prefix's arity minus one.
    more: Bv,
}

const K_PRE: usize = 0;
const K_INF: usize = 1;
const K_JUX: usize = 2;
const K_OPEN: usize = 3;

#[derive(Clone)]
struct Frame {
    kind: [Lit; 4],
    pos: Bv,
    min: Bv,
    got: Bv,
    rem: Bv,
    kids: Vec<Bv>,
}

#[derive(Clone)]
struct NodeRec {
    jux: Lit,
    pos: Bv,
    kids: Vec<Bv>,
}

/// The parsing machine's state.
#[derive(Clone)]
struct St {
    /// One-hot stack depth, `0..=frames.len()`.
    depth: Vec<Lit>,
    frames: Vec<Frame>,
    /// One-hot node count, `0..=nodes.len()`.
    count: Vec<Lit>,
    nodes: Vec<NodeRec>,
    /// The operand held (a node id).
    x: Bv,
    held: Lit,
    done: Lit,
    err: Lit,
    consumed: Lit,
}

struct Widths {
    pos: usize,
    id: usize,
    prec: usize,
    arity: usize,
    max_arity: usize,
}

const PREC_BITS: usize = 8;

/// Compiles a list `gss` item for inputs of at most `max_len` words over its symbols and
/// `extra` (words without a rule, read by its `_` rule), with every value at most `out_len`
/// tokens.
pub fn compile(
    g: &Gss,
    extra: &[String],
    max_len: usize,
    out_len: usize,
) -> Result<GssCircuit, String> {
    if g.is_numeric() {
        return Err(
            "a `gss` item with numeric meanings cannot be compiled to a circuit yet (only list meanings)"
                .into(),
        );
    }
    if max_len == 0 || max_len > MAX_WORDS {
        return Err(format!(
            "--max-len {max_len}: a gss circuit takes 1..={MAX_WORDS} words"
        ));
    }
    if out_len == 0 || out_len > MAX_OUT {
        return Err(format!(
            "--out-len {out_len}: a gss circuit gives 1..={MAX_OUT} tokens"
        ));
    }
    let mut names = g.names.clone();
    let mut vocab: Vec<Sym> = Vec::new();
    for (s, _) in &g.rules {
        if !vocab.contains(s) {
            vocab.push(*s);
        }
    }
    for w in extra {
        let s = names.intern(w);
        if !vocab.contains(&s) {
            vocab.push(s);
        }
    }
    let reader = g.reader();
    // Each word's fixity (None: unknown, an error wherever it stands).
    let classes: Vec<Option<Fixity>> = vocab.iter().map(|&s| reader.fixity(s)).collect();
    let list = |m: &Option<Meaning>| -> Result<Option<Program>, String> {
        match m {
            None => Ok(None),
            Some(Meaning::List(p)) => Ok(Some(p.clone())),
            Some(Meaning::Num(_)) => Err("a numeric meaning in a list system".into()),
        }
    };
    // Each word's meaning (None: separators and brackets, or no rule and no `_`).
    let mut word_prog: Vec<Option<Program>> = Vec::new();
    for &s in &vocab {
        word_prog.push(match g.rule(s) {
            Some(r) => list(&r.meaning)?,
            None => g.default.clone(),
        });
    }
    let jux = g.juxtapose.as_ref();
    // Distinct programs.
    let mut progs: Vec<Program> = Vec::new();
    let mut index = |p: &Program| -> usize {
        match progs.iter().position(|q| q == p) {
            Some(i) => i,
            None => {
                progs.push(p.clone());
                progs.len() - 1
            }
        }
    };
    let word_pi: Vec<Option<usize>> = word_prog
        .iter()
        .map(|p| p.as_ref().map(&mut index))
        .collect();
    let jux_pi = jux.map(|(_, p)| index(p));
    // Output tokens: literals, then (when a meaning copies its token) the input words.
    let mut out_syms: Vec<Sym> = Vec::new();
    let mut uses_self = false;
    for p in &progs {
        for a in &p.atoms {
            match a {
                Atom::Lit(s) if !out_syms.contains(s) => out_syms.push(*s),
                Atom::SelfTok => uses_self = true,
                _ => {}
            }
        }
    }
    if uses_self {
        for &s in &vocab {
            if !out_syms.contains(&s) {
                out_syms.push(s);
            }
        }
    }
    let out_code = |s: Sym| out_syms.iter().position(|&t| t == s).map_or(0, |i| i + 1);
    let max_arity = progs
        .iter()
        .map(|p| p.arity as usize)
        .chain(classes.iter().flatten().map(|f| f.arity() as usize))
        .max()
        .unwrap_or(0)
        .max(2);
    for p in &progs {
        for a in &p.atoms {
            if let Atom::Seq(path) | Atom::Elem(_, path) = a
                && path.var >= p.arity
            {
                return Err(format!(
                    "a meaning reads operand {} of {}",
                    path.var + 1,
                    p.arity
                ));
            }
        }
    }

    for (i, p) in word_prog.iter().enumerate() {
        let arity = classes[i].map_or(0, |f| f.arity());
        if let Some(p) = p
            && p.arity != arity
        {
            return Err(format!(
                "`{}` takes {arity} operands but its meaning has {} parameters",
                names.name(vocab[i]),
                p.arity
            ));
        }
    }
    if let Some((_, p)) = jux
        && p.arity != 2
    {
        return Err(format!(
            "juxtaposition takes 2 operands but its meaning has {} parameters",
            p.arity
        ));
    }
    // The descents dominate the size: about 90 ANDs per (output position, node, atom).
    let work = out_len.saturating_mul(2 * max_len).saturating_mul(
        progs
            .iter()
            .map(|p| p.atoms.len())
            .max()
            .unwrap_or(1)
            .max(1),
    );
    if work > MAX_DESCENT_WORK {
        return Err(format!(
            "--out-len {out_len} × {} nodes × the longest meaning's atoms is {work}, more than the limit of {MAX_DESCENT_WORK} (about {} million ANDs): lower --out-len or --max-len",
            2 * max_len,
            MAX_DESCENT_WORK * 90 / 1_000_000
        ));
    }
    let n = max_len;
    let m_nodes = 2 * n;
    let s_frames = 2 * n + 2;
    let wd = Widths {
        pos: bits(n.saturating_sub(1)),
        id: bits(m_nodes.saturating_sub(1)),
        prec: PREC_BITS,
        arity: bits(max_arity),
        max_arity,
    };
    let mut b = B { g: Aig::new() };
    let v = vocab.len();
    let mut x: Vec<Vec<Lit>> = Vec::with_capacity(n);
    for p in 0..n {
        let row = vocab
            .iter()
            .map(|&s| b.g.add_input(Some(format!("w{p}={}", names.name(s)))))
            .collect();
        x.push(row);
    }
    let mut err = Lit::FALSE;
    // Each position holds at most one word, and words come first.
    let mut present = Vec::with_capacity(n);
    for row in &x {
        let mut seen = Lit::FALSE;
        for &l in row {
            let both = b.and(l, seen);
            err = b.or(err, both);
            seen = b.or(seen, l);
        }
        present.push(seen);
    }
    for p in 1..n {
        let gap = b.and(present[p], !present[p - 1]);
        err = b.or(err, gap);
    }
    let word_at = |b: &mut B, p: usize| -> Word {
        if p >= n {
            return Word {
                atom: Lit::FALSE,
                prefix: Lit::FALSE,
                postfix: Lit::FALSE,
                infix: Lit::FALSE,
                sep: Lit::FALSE,
                open: Lit::FALSE,
                close: Lit::FALSE,
                end: Lit::TRUE,
                prec: B::k(0, wd.prec),
                more: B::k(0, wd.arity),
            };
        }
        let class = |b: &mut B, f: &dyn Fn(Fixity) -> bool| {
            let ls: Vec<Lit> = (0..v)
                .filter(|&i| classes[i].is_some_and(f))
                .map(|i| x[p][i])
                .collect();
            b.any(&ls)
        };
        let prec_of = |f: Fixity| match f {
            Fixity::Prefix { prec, .. } | Fixity::Postfix { prec } | Fixity::Infix { prec } => {
                prec as usize
            }
            _ => 0,
        };
        let precs: Vec<Bv> = (0..v)
            .map(|i| B::k(classes[i].map_or(0, prec_of) as u64, wd.prec))
            .collect();
        let mores: Vec<Bv> = (0..v)
            .map(|i| {
                let more = match classes[i] {
                    Some(Fixity::Prefix { arity, .. }) => (arity as usize).saturating_sub(1),
                    _ => 0,
                };
                B::k(more as u64, wd.arity)
            })
            .collect();
        let pr: Vec<&[Lit]> = precs.iter().map(|p| p.as_slice()).collect();
        let mo: Vec<&[Lit]> = mores.iter().map(|p| p.as_slice()).collect();
        Word {
            atom: class(b, &|f| f == Fixity::Atom),
            prefix: class(b, &|f| matches!(f, Fixity::Prefix { .. })),
            postfix: class(b, &|f| matches!(f, Fixity::Postfix { .. })),
            infix: class(b, &|f| matches!(f, Fixity::Infix { .. })),
            sep: class(b, &|f| f == Fixity::Separator),
            open: class(b, &|f| f == Fixity::Open),
            close: class(b, &|f| f == Fixity::Close),
            end: !present[p],
            prec: b.sel(&x[p], &pr, wd.prec),
            more: b.sel(&x[p], &mo, wd.arity),
        }
    };

    // 1. Parsing.
    let zero_frame = Frame {
        kind: [Lit::FALSE; 4],
        pos: B::k(0, wd.pos),
        min: B::k(0, wd.prec),
        got: B::k(0, wd.arity),
        rem: B::k(0, wd.arity),
        kids: vec![B::k(0, wd.id); max_arity],
    };
    let mut st = St {
        depth: std::iter::once(Lit::TRUE)
            .chain(std::iter::repeat_n(Lit::FALSE, s_frames))
            .collect(),
        frames: vec![zero_frame; s_frames],
        count: std::iter::once(Lit::TRUE)
            .chain(std::iter::repeat_n(Lit::FALSE, m_nodes))
            .collect(),
        nodes: vec![
            NodeRec {
                jux: Lit::FALSE,
                pos: B::k(0, wd.pos),
                kids: vec![B::k(0, wd.id); max_arity],
            };
            m_nodes
        ],
        x: B::k(0, wd.id),
        held: Lit::FALSE,
        done: Lit::FALSE,
        err,
        consumed: Lit::FALSE,
    };
    let jux_prec = jux.map(|(p, _)| *p);
    for t in 0..=n {
        let w = word_at(&mut b, t);
        for _ in 0..(2 * t + 3) {
            st = step(&mut b, &st, &w, t, jux_prec, &wd);
        }
        let fine = b.or(st.consumed, st.done);
        st.err = b.or(st.err, !fine);
        st.consumed = Lit::FALSE;
    }
    let parsed = b.and(st.done, !st.err);
    let mut err = !parsed;

    // 2. Meanings.
    let w_len = bits(out_len);
    let max_atoms = progs.iter().map(|p| p.atoms.len()).max().unwrap_or(0);
    let w_sum = w_len + bits(max_atoms + 1) + 1;
    let w_code = bits(out_syms.len());
    // Nodes that exist: the count is past them.
    let valid: Vec<Lit> = (0..m_nodes)
        .map(|k| {
            let later: Vec<Lit> = st.count[k + 1..].to_vec();
            b.any(&later)
        })
        .collect();
    /// A node's value length and its meaning's atoms (`max_atoms` of them, padded).
    struct NodeEval {
        len: Bv,
        atoms: Vec<AtomRow>,
    }
    let mut evals: Vec<NodeEval> = Vec::with_capacity(m_nodes);
    for (k, &valid_k) in valid.iter().enumerate() {
        let node = st.nodes[k].clone();
        let pos_hot = b.decode(&node.pos, n);
        let tok: Vec<Lit> = (0..v)
            .map(|i| {
                let ls: Vec<Lit> = (0..n).map(|p| b.and(pos_hot[p], x[p][i])).collect();
                b.any(&ls)
            })
            .collect();
        let psel: Vec<Lit> = (0..progs.len())
            .map(|j| {
                let ls: Vec<Lit> = (0..v)
                    .filter(|&i| word_pi[i] == Some(j))
                    .map(|i| tok[i])
                    .collect();
                let by_word = b.any(&ls);
                let by_word = b.and(by_word, !node.jux);
                if jux_pi == Some(j) {
                    b.or(by_word, node.jux)
                } else {
                    by_word
                }
            })
            .collect();
        let some_prog = b.any(&psel);
        let missing = b.and(valid_k, !some_prog);
        err = b.or(err, missing);
        // The children's lengths (children come before their parent).
        let child_len: Vec<Bv> = node
            .kids
            .iter()
            .map(|id| {
                let hits: Vec<Lit> = (0..k).map(|c| b.eq_k(id, c)).collect();
                let lens: Vec<&[Lit]> = evals.iter().map(|e| e.len.as_slice()).collect();
                b.sel(&hits, &lens, w_len)
            })
            .collect();
        let self_code = {
            let codes: Vec<Bv> = vocab
                .iter()
                .map(|&s| B::k(out_code(s) as u64, w_code))
                .collect();
            let cs: Vec<&[Lit]> = codes.iter().map(|c| c.as_slice()).collect();
            b.sel(&tok, &cs, w_code)
        };
        // Each program's atoms on this node's children.
        let mut totals: Vec<Bv> = Vec::new();
        let mut bad: Vec<Lit> = Vec::new();
        let mut rows: Vec<Vec<AtomRow>> = Vec::new();
        for p in &progs {
            let mut start = B::k(0, w_sum);
            let mut undefined = Lit::FALSE;
            let mut row = Vec::new();
            for a in &p.atoms {
                let (len, desc, neg, c, child, emit) = match a {
                    Atom::Seq(path) | Atom::Elem(_, path) => {
                        let var = path.var as usize;
                        let l0 = child_len.get(var).cloned().unwrap_or_default();
                        let mut lens = vec![l0];
                        for op in &path.ops {
                            let l = lens.last().cloned().unwrap_or_default();
                            let l = match op {
                                ListOp::Tail | ListOp::Init => {
                                    let nz = b.any(&l);
                                    b.sub(&l, &[nz], w_len)
                                }
                                ListOp::Reverse => l,
                            };
                            lens.push(l);
                        }
                        let lf = lens.last().cloned().unwrap_or_default();
                        // index in the child = ±u + base, u the index in the path's value
                        let mut neg = false;
                        let mut base = B::k(0, w_len);
                        for (i, op) in path.ops.iter().enumerate().rev() {
                            match op {
                                ListOp::Tail => {
                                    base = b.add(&base, &B::k(1, w_len), Lit::FALSE, w_len)
                                }
                                ListOp::Init => {}
                                ListOp::Reverse => {
                                    neg = !neg;
                                    let lb1 = b.sub(&lens[i], &B::k(1, w_len), w_len);
                                    base = b.sub(&lb1, &base, w_len);
                                }
                            }
                        }
                        let st_w: Bv = start[..w_len].to_vec();
                        let child = node.kids.get(var).cloned().unwrap_or_default();
                        match a {
                            Atom::Elem(e, _) => {
                                let empty = b.eq_k(&lf, 0);
                                undefined = b.or(undefined, empty);
                                // the element's index in the path's value
                                let u = match e {
                                    ElemOp::Head => B::k(0, w_len),
                                    ElemOp::Last => b.sub(&lf, &B::k(1, w_len), w_len),
                                };
                                let idx = if neg {
                                    b.sub(&base, &u, w_len)
                                } else {
                                    b.add(&base, &u, Lit::FALSE, w_len)
                                };
                                let c = b.sub(&idx, &st_w, w_len);
                                (
                                    B::k(1, w_len),
                                    Lit::TRUE,
                                    Lit::FALSE,
                                    c,
                                    child,
                                    B::k(0, w_code),
                                )
                            }
                            _ => {
                                let c = if neg {
                                    b.add(&base, &st_w, Lit::FALSE, w_len)
                                } else {
                                    b.sub(&base, &st_w, w_len)
                                };
                                let ng = if neg { Lit::TRUE } else { Lit::FALSE };
                                (lf, Lit::TRUE, ng, c, child, B::k(0, w_code))
                            }
                        }
                    }
                    Atom::Lit(s) => (
                        B::k(1, w_len),
                        Lit::FALSE,
                        Lit::FALSE,
                        B::k(0, w_len),
                        B::k(0, wd.id),
                        B::k(out_code(*s) as u64, w_code),
                    ),
                    Atom::SelfTok => (
                        B::k(1, w_len),
                        Lit::FALSE,
                        Lit::FALSE,
                        B::k(0, w_len),
                        B::k(0, wd.id),
                        self_code.clone(),
                    ),
                };
                row.push(AtomRow {
                    start: start.clone(),
                    desc,
                    neg,
                    c,
                    child,
                    emit,
                });
                start = b.add(&start, &len, Lit::FALSE, w_sum);
            }
            let over = b.ge(&start, &B::k(out_len as u64 + 1, w_sum));
            bad.push(b.or(undefined, over));
            totals.push(start);
            rows.push(row);
        }
        let bads: Vec<&[Lit]> = bad.iter().map(std::slice::from_ref).collect();
        let node_bad = b.sel(&psel, &bads, 1)[0];
        let node_bad = b.and(valid_k, node_bad);
        err = b.or(err, node_bad);
        let tots: Vec<&[Lit]> = totals.iter().map(|t| &t[..w_len]).collect();
        let len = b.sel(&psel, &tots, w_len);
        // Programs with fewer atoms end in empty ones (starting at their total).
        for (row, total) in rows.iter_mut().zip(&totals) {
            while row.len() < max_atoms {
                row.push(AtomRow {
                    start: total.clone(),
                    desc: Lit::FALSE,
                    neg: Lit::FALSE,
                    c: Vec::new(),
                    child: Vec::new(),
                    emit: Vec::new(),
                });
            }
        }
        let atoms: Vec<AtomRow> = (0..max_atoms)
            .map(|a| {
                let mut pick = |f: &dyn Fn(&AtomRow) -> &[Lit], w: usize| {
                    let vs: Vec<&[Lit]> = rows.iter().map(|r| f(&r[a])).collect();
                    b.sel(&psel, &vs, w)
                };
                AtomRow {
                    start: pick(&|r| &r.start, w_len),
                    desc: pick(&|r| std::slice::from_ref(&r.desc), 1)[0],
                    neg: pick(&|r| std::slice::from_ref(&r.neg), 1)[0],
                    c: pick(&|r| &r.c, w_len),
                    child: pick(&|r| &r.child, wd.id),
                    emit: pick(&|r| &r.emit, w_code),
                }
            })
            .collect();
        evals.push(NodeEval { len, atoms });
    }

    // 3. Every output position descends from the root.
    let root_hot: Vec<Lit> = (0..m_nodes).map(|k| b.eq_k(&st.x, k)).collect();
    let lens: Vec<&[Lit]> = evals.iter().map(|e| e.len.as_slice()).collect();
    let root_len = b.sel(&root_hot, &lens, w_len);
    let mut codes: Vec<Bv> = Vec::with_capacity(out_len);
    for q in 0..out_len {
        let qv = B::k(q as u64, w_len);
        let mut live = !b.ge(&qv, &root_len);
        let mut xid = st.x.clone();
        let mut o = qv;
        let mut code = B::k(0, w_code);
        for k in (0..m_nodes).rev() {
            let at = b.eq_k(&xid, k);
            let here = b.and(live, at);
            if here == Lit::FALSE {
                continue;
            }
            let e = &evals[k];
            let ge: Vec<Lit> = e
                .atoms
                .iter()
                .map(|r| &r.start)
                .chain([&e.len])
                .map(|s| b.ge(&o, s))
                .collect();
            let inside: Vec<Lit> = (0..max_atoms).map(|a| b.and(ge[a], !ge[a + 1])).collect();
            let mut pick = |f: &dyn Fn(&AtomRow) -> &[Lit], w: usize| {
                let vs: Vec<&[Lit]> = e.atoms.iter().map(f).collect();
                b.sel(&inside, &vs, w)
            };
            let desc = pick(&|r| std::slice::from_ref(&r.desc), 1)[0];
            let neg = pick(&|r| std::slice::from_ref(&r.neg), 1)[0];
            let c = pick(&|r| &r.c, w_len);
            let child = pick(&|r| &r.child, wd.id);
            let emitted = pick(&|r| &r.emit, w_code);
            let ox: Bv = o.iter().map(|&l| b.g.xor(l, neg)).collect();
            let o2 = b.add(&c, &ox, neg, w_len);
            let mv = b.and(here, desc);
            xid = b.mux(mv, &child, &xid);
            o = b.mux(mv, &o2, &o);
            let em = b.and(here, !desc);
            let emitted: Bv = emitted.iter().map(|&l| b.and(em, l)).collect();
            code = code
                .iter()
                .zip(&emitted)
                .map(|(&a, &z)| b.or(a, z))
                .collect();
            live = b.and(live, !em);
        }
        err = b.or(err, live);
        codes.push(code);
    }
    for (q, code) in codes.iter().enumerate() {
        for (i, &s) in out_syms.iter().enumerate() {
            let hit = b.eq_k(code, i + 1);
            let hit = b.and(hit, !err);
            b.g.add_output(hit, Some(format!("out{q}={}", names.name(s))));
        }
    }
    b.g.add_output(err, Some("error".into()));
    Ok(GssCircuit {
        aig: b.g.cleanup(),
        vocab: vocab.iter().map(|&s| names.name(s).to_string()).collect(),
        max_len,
        out_vocab: out_syms
            .iter()
            .map(|&s| names.name(s).to_string())
            .collect(),
        out_len,
    })
}

/// One parsing-machine step on the word at `t`.
fn step(b: &mut B, s: &St, w: &Word, t: usize, jux: Option<u8>, wd: &Widths) -> St {
    let nf = s.frames.len();
    let a0 = b.and(!s.done, !s.consumed);
    let active = b.and(a0, !s.err);
    if active == Lit::FALSE {
        return s.clone();
    }
    let is_top: Vec<Lit> = (0..nf).map(|sl| s.depth[sl + 1]).collect();
    let root = s.depth[0];
    let top_kind: Vec<Lit> = (0..4)
        .map(|i| {
            let ls: Vec<Lit> = (0..nf)
                .map(|sl| b.and(is_top[sl], s.frames[sl].kind[i]))
                .collect();
            b.any(&ls)
        })
        .collect();
    let field = |b: &mut B, f: &dyn Fn(&Frame) -> &Bv, w: usize| -> Bv {
        let vs: Vec<&[Lit]> = s.frames.iter().map(|fr| f(fr).as_slice()).collect();
        b.sel(&is_top, &vs, w)
    };
    let top_pos = field(b, &|f| &f.pos, wd.pos);
    let top_min = field(b, &|f| &f.min, wd.prec);
    let top_got = field(b, &|f| &f.got, wd.arity);
    let top_rem = field(b, &|f| &f.rem, wd.arity);
    let top_kids: Vec<Bv> = (0..wd.max_arity)
        .map(|j| field(b, &|f| &f.kids[j], wd.id))
        .collect();
    let expect = b.and(active, !s.held);
    let atom_e = b.and(expect, w.atom);
    let pre_e = b.and(expect, w.prefix);
    let open_e = b.and(expect, w.open);
    let starts = {
        let ls = [w.atom, w.prefix, w.open];
        b.any(&ls)
    };
    let err_e = b.and(expect, !starts);
    let hold = b.and(active, s.held);
    let gt = !b.ge(&top_min, &w.prec);
    let post = {
        let c = b.and(w.postfix, gt);
        b.and(hold, c)
    };
    let inf = {
        let c = b.and(w.infix, gt);
        b.and(hold, c)
    };
    let jx = match jux {
        Some(j) => {
            let jgt = !b.ge(&top_min, &B::k(j as u64, wd.prec));
            let c = b.and(starts, jgt);
            b.and(hold, c)
        }
        None => Lit::FALSE,
    };
    let ext = b.any(&[post, inf, jx]);
    let complete = b.and(hold, !ext);
    let at_root = b.and(complete, root);
    let acc = b.and(at_root, w.end);
    let err_root = b.and(at_root, !w.end);
    let c_inf = b.and(complete, top_kind[K_INF]);
    let c_jux = b.and(complete, top_kind[K_JUX]);
    let c_pre = b.and(complete, top_kind[K_PRE]);
    let rem0 = b.eq_k(&top_rem, 0);
    let c_more = b.and(c_pre, !rem0);
    let c_pdone = b.and(c_pre, rem0);
    let c_open = b.and(complete, top_kind[K_OPEN]);
    let close_ok = b.and(c_open, w.close);
    let err_open = b.and(c_open, !w.close);
    let create = b.any(&[atom_e, post, c_inf, c_jux, c_pdone]);
    let push = b.any(&[pre_e, open_e, inf, jx]);
    let pop = b.any(&[c_inf, c_jux, c_pdone, close_ok]);

    let tpos = B::k(t as u64, wd.pos);
    let here_pos = b.or(atom_e, post);
    let node_pos = b.mux(here_pos, &tpos, &top_pos);
    let binop = b.or(c_inf, c_jux);
    let got_hot: Vec<Lit> = (0..wd.max_arity).map(|j| b.eq_k(&top_got, j)).collect();
    let zero_id = B::k(0, wd.id);
    let node_kids: Vec<Bv> = (0..wd.max_arity)
        .map(|j| {
            let pre_kid = b.mux(got_hot[j], &s.x, &top_kids[j]);
            let mut kid = b.mux(c_pdone, &pre_kid, &zero_id);
            if j == 0 {
                kid = b.mux(binop, &top_kids[0], &kid);
                kid = b.mux(post, &s.x, &kid);
            } else if j == 1 {
                kid = b.mux(binop, &s.x, &kid);
            }
            kid
        })
        .collect();
    let m = s.nodes.len();
    let new_id: Bv = (0..wd.id)
        .map(|bit| {
            let ls: Vec<Lit> = (0..m)
                .filter(|k| k >> bit & 1 == 1)
                .map(|k| s.count[k])
                .collect();
            b.any(&ls)
        })
        .collect();
    let mut nodes = s.nodes.clone();
    for (k, node) in nodes.iter_mut().enumerate() {
        let wr = b.and(create, s.count[k]);
        if wr == Lit::FALSE {
            continue;
        }
        node.jux = b.g.mux(wr, c_jux, node.jux);
        node.pos = b.mux(wr, &node_pos, &node.pos);
        for (kid, new) in node.kids.iter_mut().zip(&node_kids) {
            *kid = b.mux(wr, new, kid);
        }
    }
    let full = b.and(create, s.count[m]);
    let count: Vec<Lit> = (0..=m)
        .map(|k| {
            let prev = if k == 0 { Lit::FALSE } else { s.count[k - 1] };
            b.g.mux(create, prev, s.count[k])
        })
        .collect();
    let x = b.mux(create, &new_id, &s.x);

    // Frames: a push writes the slot at the depth; a prefix taking another operand updates the
    // top one.
    let pre_or_inf = b.or(pre_e, inf);
    let min_new = {
        let jv = B::k(jux.unwrap_or(0) as u64, wd.prec);
        let a = b.mux(jx, &jv, &B::k(0, wd.prec));
        b.mux(pre_or_inf, &w.prec, &a)
    };
    let rem_new = b.mux(pre_e, &w.more, &B::k(0, wd.arity));
    let kid0_new = b.or(inf, jx);
    let kid0_new = b.mux(kid0_new, &s.x, &zero_id);
    let got_inc = b.add(&top_got, &B::k(1, wd.arity), Lit::FALSE, wd.arity);
    let rem_dec = b.sub(&top_rem, &B::k(1, wd.arity), wd.arity);
    let mut frames = s.frames.clone();
    for (sl, fr) in frames.iter_mut().enumerate() {
        let wp = b.and(push, s.depth[sl]);
        let wm = b.and(c_more, is_top[sl]);
        if wp != Lit::FALSE {
            let kinds = [pre_e, inf, jx, open_e];
            for (i, &kd) in kinds.iter().enumerate() {
                fr.kind[i] = b.g.mux(wp, kd, fr.kind[i]);
            }
            fr.pos = b.mux(wp, &tpos, &fr.pos);
            fr.min = b.mux(wp, &min_new, &fr.min);
            fr.got = b.mux(wp, &B::k(0, wd.arity), &fr.got);
            fr.rem = b.mux(wp, &rem_new, &fr.rem);
            fr.kids[0] = b.mux(wp, &kid0_new, &fr.kids[0]);
            for j in 1..wd.max_arity {
                fr.kids[j] = b.mux(wp, &zero_id, &fr.kids[j]);
            }
        }
        if wm != Lit::FALSE {
            for (kid, &hot) in fr.kids.iter_mut().zip(&got_hot) {
                let put = b.and(wm, hot);
                *kid = b.mux(put, &s.x, kid);
            }
            fr.got = b.mux(wm, &got_inc, &fr.got);
            fr.rem = b.mux(wm, &rem_dec, &fr.rem);
        }
    }
    let overflow = b.and(push, s.depth[nf]);
    let depth: Vec<Lit> = (0..=nf)
        .map(|d| {
            let up = if d == 0 { Lit::FALSE } else { s.depth[d - 1] };
            let down = if d == nf { Lit::FALSE } else { s.depth[d + 1] };
            let moved = b.g.mux(pop, down, s.depth[d]);
            b.g.mux(push, up, moved)
        })
        .collect();
    let holds = b.any(&[atom_e, post, c_inf, c_jux, c_pdone, close_ok]);
    let held = b.g.mux(active, holds, s.held);
    let sep_taken = b.and(c_more, w.sep);
    let took = b.any(&[atom_e, pre_e, open_e, post, inf, sep_taken, close_ok, acc]);
    let consumed = b.or(s.consumed, took);
    let done = b.or(s.done, acc);
    let err = b.any(&[s.err, err_e, err_root, err_open, overflow, full]);
    St {
        depth,
        frames,
        count,
        nodes,
        x,
        held,
        done,
        err,
        consumed,
    }
}

/// How a circuit was checked against the interpreter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Inputs compared.
    pub compared: usize,
    /// Of those, inputs the interpreter answers within the circuit's range.
    pub answered: usize,
    /// Every input of at most this many words was compared.
    pub exhaustive_words: usize,
    /// Inputs drawn word by word among the words that keep the input parseable.
    pub guided: usize,
    /// Inputs drawn uniformly.
    pub uniform: usize,
}

/// The interpreter's answer in the circuit's terms: `None` when it rejects the input or some
/// node's value is longer than `out_len`.
pub fn expected(
    reader: &Reader,
    names: &mut Interner,
    words: &[&str],
    out_len: usize,
) -> Option<Vec<String>> {
    let toks: Vec<Sym> = words.iter().map(|w| names.intern(w)).collect();
    let tree = reader.parse(&toks).ok()?;
    let vals = reader.eval_values(&tree, &toks).ok()?;
    if vals.iter().any(|v| v.len() > out_len) {
        return None;
    }
    let root = vals.last()?;
    Some(root.iter().map(|&s| names.name(s).to_string()).collect())
}

/// Whether a word sequence can still be extended to one the schema parses (the Pratt parser
/// reads left to right with one word of lookahead, so an error inside the prefix is final).
fn viable(reader: &Reader, toks: &[Sym]) -> bool {
    match reader.parse(toks) {
        Ok(_) => true,
        Err(e) => e.pos >= toks.len(),
    }
}

/// Compares the circuit with the interpreter on every input of up to as many words as fit in
/// `exhaustive_limit` inputs, `guided` inputs drawn word by word among the words that keep the
/// input parseable (the last word one that completes a parse, where one does), and `uniform` uniformly drawn ones (seeded). The first disagreement is
/// the error.
pub fn check(
    g: &Gss,
    c: &GssCircuit,
    exhaustive_limit: usize,
    guided: usize,
    uniform: usize,
    seed: u64,
) -> Result<Checked, String> {
    let reader = g.reader();
    let mut names = g.names.clone();
    let vocab: Vec<&str> = c.vocab.iter().map(String::as_str).collect();
    let syms: Vec<Sym> = vocab.iter().map(|w| names.intern(w)).collect();
    let mut inputs: Vec<Vec<&str>> = vec![Vec::new()];
    let mut layer: Vec<Vec<&str>> = vec![Vec::new()];
    let mut exhaustive_words = 0;
    for len in 1..=c.max_len {
        let next = layer.len().saturating_mul(vocab.len());
        if inputs.len().saturating_add(next) > exhaustive_limit {
            break;
        }
        let mut grown = Vec::with_capacity(next);
        for p in &layer {
            for &w in &vocab {
                let mut q = p.clone();
                q.push(w);
                grown.push(q);
            }
        }
        inputs.extend(grown.iter().cloned());
        layer = grown;
        exhaustive_words = len;
    }
    let mut rng = Rng::derive(seed, &["gss-circuit"]);
    for _ in 0..guided {
        let n = 1 + rng.below(c.max_len as u64) as usize;
        let mut toks: Vec<Sym> = Vec::new();
        let mut words: Vec<&str> = Vec::new();
        while words.len() < n {
            let ok: Vec<usize> = (0..syms.len())
                .filter(|&i| {
                    toks.push(syms[i]);
                    let v = viable(&reader, &toks);
                    toks.pop();
                    v
                })
                .collect();
            if ok.is_empty() {
                break;
            }
            // the last word: one that completes a parse when there is one
            let mut ok = ok;
            if words.len() + 1 == n {
                let done: Vec<usize> = ok
                    .iter()
                    .copied()
                    .filter(|&i| {
                        toks.push(syms[i]);
                        let parses = reader.parse(&toks).is_ok();
                        toks.pop();
                        parses
                    })
                    .collect();
                if !done.is_empty() {
                    ok = done;
                }
            }
            let i = ok[rng.below(ok.len() as u64) as usize];
            toks.push(syms[i]);
            words.push(vocab[i]);
        }
        inputs.push(words);
    }
    for _ in 0..uniform {
        let n = rng.below(c.max_len as u64 + 1) as usize;
        let words = (0..n)
            .map(|_| vocab[rng.below(vocab.len() as u64) as usize])
            .collect();
        inputs.push(words);
    }
    let mut report = Checked {
        compared: 0,
        answered: 0,
        exhaustive_words,
        guided,
        uniform,
    };
    for chunk in inputs.chunks(4096) {
        let got = c.run_many(chunk);
        for (words, got) in chunk.iter().zip(got) {
            let want = expected(&reader, &mut names, words, c.out_len);
            report.compared += 1;
            let same = match (&want, &got) {
                (Some(w), Some(CircuitAnswer::Output(g))) => w == g,
                (None, Some(CircuitAnswer::Error)) => true,
                _ => false,
            };
            if !same {
                let want = match want {
                    Some(w) => format!("`{}`", w.join(" ")),
                    None => "no answer within the range".into(),
                };
                let got = match got {
                    Some(CircuitAnswer::Output(g)) => format!("`{}`", g.join(" ")),
                    Some(CircuitAnswer::Malformed) => "an output group that is not one-hot".into(),
                    Some(CircuitAnswer::Error) => "the error output".into(),
                    None => "no encoding".into(),
                };
                return Err(format!(
                    "the circuit disagrees with the interpreter on `{}`: interpreter {want}, circuit {got}",
                    words.join(" ")
                ));
            }
            if want.is_some() {
                report.answered += 1;
            }
        }
    }
    Ok(report)
}
