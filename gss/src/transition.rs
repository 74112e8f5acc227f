//! A learned transition parser: the second syntax model of a grounded symbol system.
//!
//! The schema's Pratt parser ([`crate::model::parse`]) decides every attachment by comparing
//! precedence numbers. The transition parser keeps the schema's word *categories* (which words
//! take operands, how many and on which side, which are separators or brackets, whether
//! side-by-side operands are juxtaposed) and learns the attachment decisions instead, as NSR's
//! dependency parser does: a shift-reduce machine over a stack of subtrees with three actions,
//!
//! - `shift`: read the next word (an operand starts a new subtree; a postfix or infix word takes
//!   the subtree on top of the stack as its left operand; a closing bracket closes a group),
//! - `right`: the complete subtree on top becomes the next right operand of the one below,
//! - `jux`: the two complete subtrees on top are juxtaposed,
//!
//! scored by an averaged perceptron over features of the top three subtrees and the next two
//! words. Every tree the machine can build respects the categories; which tree it builds is
//! learned, so it can represent grammars that no assignment of precedences describes (an
//! attachment that depends on the words around it, not only on the operator).
//!
//! **Training is abduction (NSR's re-parse edit).** Pairs are visited shortest first. The
//! parser's own best parse of the input is evaluated with the system's meanings; when it gives
//! the wrong output, a beam search over parses ranked by the parser finds the best-ranked parse
//! whose value *is* the output, and the perceptron is updated towards that parse's actions. No
//! tree is ever given: the parser is taught only by what the meanings make of its parses.

use crate::arith::{Fuel, RUN_STEPS};
use crate::learn::Example;
use crate::model::{Fixity, Gss, Head, Interner, MAX_INPUT_TOKENS, Node, Reader, Sym, Tree};
use std::collections::HashMap;
use std::fmt::Write as _;

/// The parser's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Shift = 0,
    Right = 1,
    Jux = 2,
}

const ACTIONS: [Action; 3] = [Action::Shift, Action::Right, Action::Jux];

/// The first line of a saved parser.
pub const MAGIC: &str = "tessera-transition-parser 1";

/// A word's category: its fixity without the precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Atom,
    Prefix(u8),
    Postfix,
    Infix,
    Sep,
    Open,
    Close,
}

impl Cat {
    fn of(f: Fixity) -> Cat {
        match f {
            Fixity::Atom => Cat::Atom,
            Fixity::Prefix { arity, .. } => Cat::Prefix(arity),
            Fixity::Postfix { .. } => Cat::Postfix,
            Fixity::Infix { .. } => Cat::Infix,
            Fixity::Separator => Cat::Sep,
            Fixity::Open => Cat::Open,
            Fixity::Close => Cat::Close,
        }
    }
    fn code(self) -> u64 {
        match self {
            Cat::Atom => 1,
            Cat::Prefix(k) => 10 + u64::from(k),
            Cat::Postfix => 4,
            Cat::Infix => 5,
            Cat::Sep => 6,
            Cat::Open => 7,
            Cat::Close => 8,
        }
    }
}

/// A subtree on the stack, or a separator or opening bracket waiting to be closed.
#[derive(Debug, Clone)]
enum Item {
    Expr {
        head: Head,
        /// Position of the head word (for juxtaposition: the right operand's first word).
        pos: usize,
        /// First word of the subtree.
        start: usize,
        /// Right operands still missing (0: complete).
        need: u8,
        kids: Vec<usize>,
        /// The node, once complete.
        node: usize,
        /// What the subtree is, for the features (atom, operator application, juxtaposition,
        /// bracketed group).
        shape: u8,
    },
    Sep,
    Open {
        start: usize,
    },
}

impl Item {
    fn complete(&self) -> Option<(usize, usize)> {
        match self {
            Item::Expr {
                need: 0,
                node,
                start,
                ..
            } => Some((*node, *start)),
            _ => None,
        }
    }
    fn waiting(&self) -> bool {
        matches!(self, Item::Expr { need, .. } if *need > 0)
    }
}

const SHAPE_ATOM: u8 = 1;
const SHAPE_APPLIED: u8 = 2;
const SHAPE_JUX: u8 = 3;
const SHAPE_GROUP: u8 = 4;

#[derive(Debug, Clone, Default)]
struct State {
    stack: Vec<Item>,
    i: usize,
    nodes: Vec<Node>,
    score: f32,
    actions: Vec<Action>,
}

impl State {
    fn push_node(&mut self, head: Head, pos: usize, children: Vec<usize>) -> usize {
        self.nodes.push(Node {
            head,
            pos,
            children,
        });
        self.nodes.len() - 1
    }
    fn is_final(&self, n: usize) -> bool {
        self.i == n && self.stack.len() == 1 && self.stack[0].complete().is_some()
    }
    fn top(&self, k: usize) -> Option<&Item> {
        self.stack.len().checked_sub(k + 1).map(|i| &self.stack[i])
    }
}

/// One input ready to parse: its words, their categories and their hashed names.
struct Sentence<'a> {
    toks: &'a [Sym],
    cats: Vec<Cat>,
    words: Vec<u64>,
    /// Each word's schema fixity with its precedence, as a part-of-speech tag.
    tags: Vec<u64>,
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
    for &p in parts {
        h ^= p.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(h << 6) ^ (h >> 2);
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    h ^ (h >> 33)
}

const NONE: u64 = 0x6e6f_6e65;
const JUX_WORD: u64 = 0x006a_7578;
const SEP_WORD: u64 = 0x0073_6570;
const OPEN_WORD: u64 = 0x6f70_656e;
const ATOM_WORD: u64 = 0x6174_6f6d;

/// How parse and training search.
#[derive(Debug, Clone, Copy)]
pub struct TransitionConfig {
    /// Passes over the training pairs (training stops early after a pass without updates).
    pub epochs: usize,
    /// Beam width of the abduction search (parses ranked by the parser, evaluated in order).
    pub abduce_width: usize,
    /// Beam width when parsing.
    pub parse_width: usize,
    /// How far the target action's score must lead every rival's before training leaves the
    /// decision alone (one correction moves the difference by twice the number of features).
    pub margin: f32,
}

impl Default for TransitionConfig {
    fn default() -> Self {
        TransitionConfig {
            epochs: 8,
            abduce_width: 64,
            parse_width: 4,
            margin: 5.0,
        }
    }
}

/// What training did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransitionReport {
    /// Passes made.
    pub epochs: usize,
    /// Pairs whose parse was repaired by abduction, over all passes.
    pub abduced: usize,
    /// Pairs of the last pass for which no parse in the beam gives the output.
    pub unexplained: usize,
    /// Perceptron updates (actions corrected), over all passes.
    pub updates: usize,
    /// Features with a weight.
    pub features: usize,
}

/// A learned transition parser for one system (its categories come from the system's
/// fixities).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransitionParser {
    /// The `gss` item it was trained for.
    pub system: String,
    weights: HashMap<u64, [f32; 3]>,
}

impl TransitionParser {
    /// Number of features with a weight.
    pub fn len(&self) -> usize {
        self.weights.len()
    }
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    fn sentence<'a>(
        g: &Gss,
        reader: &Reader<'_>,
        names: &Interner,
        toks: &'a [Sym],
    ) -> Result<Sentence<'a>, (usize, String)> {
        let mut cats = Vec::with_capacity(toks.len());
        let mut words = Vec::with_capacity(toks.len());
        let mut tags = Vec::with_capacity(toks.len());
        for (p, &t) in toks.iter().enumerate() {
            let f = reader
                .fixity(t)
                .ok_or_else(|| (p, "unknown symbol (no rule and no `_` rule)".to_string()))?;
            cats.push(Cat::of(f));
            let prec = match f {
                Fixity::Prefix { prec, .. } | Fixity::Postfix { prec } | Fixity::Infix { prec } => {
                    prec
                }
                _ => 0,
            };
            tags.push(mix(&[Cat::of(f).code(), u64::from(prec)]));
            // Atoms are read by their category alone: attachment is the operators' business,
            // and an atom's name would tie a decision to the atoms seen beside it in training.
            if f == Fixity::Atom {
                words.push(ATOM_WORD);
                continue;
            }
            let name = if (t as usize) < names.len() {
                names.name(t)
            } else if (t as usize) < g.names.len() {
                g.names.name(t)
            } else {
                ""
            };
            words.push(fnv(name.as_bytes()));
        }
        Ok(Sentence {
            toks,
            cats,
            words,
            tags,
        })
    }

    fn valid(s: &Sentence<'_>, st: &State, jux: bool) -> [bool; 3] {
        let n = s.toks.len();
        let top = st.top(0);
        let below = st.top(1);
        let top_done = top.is_some_and(|t| t.complete().is_some());
        let shift = st.i < n
            && match s.cats[st.i] {
                Cat::Postfix | Cat::Infix => top_done,
                Cat::Close => top_done && matches!(below, Some(Item::Open { .. })),
                Cat::Sep => {
                    matches!(top, Some(Item::Expr { need, kids, .. }) if *need > 0 && !kids.is_empty())
                }
                Cat::Atom | Cat::Prefix(_) | Cat::Open => match top {
                    None | Some(Item::Sep | Item::Open { .. }) => true,
                    Some(t) => t.waiting() || (jux && top_done),
                },
            };
        let right = top_done
            && match below {
                Some(Item::Sep) => st.top(2).is_some_and(Item::waiting),
                Some(b) => b.waiting(),
                None => false,
            };
        let juxt = jux && top_done && below.is_some_and(|b| b.complete().is_some());
        [shift, right, juxt]
    }

    fn apply(s: &Sentence<'_>, st: &mut State, a: Action) {
        match a {
            Action::Shift => {
                let p = st.i;
                st.i += 1;
                let head = Head::Tok(s.toks[p]);
                match s.cats[p] {
                    Cat::Atom => {
                        let node = st.push_node(head, p, Vec::new());
                        st.stack.push(Item::Expr {
                            head,
                            pos: p,
                            start: p,
                            need: 0,
                            kids: Vec::new(),
                            node,
                            shape: SHAPE_ATOM,
                        });
                    }
                    Cat::Prefix(k) => st.stack.push(Item::Expr {
                        head,
                        pos: p,
                        start: p,
                        need: k,
                        kids: Vec::new(),
                        node: 0,
                        shape: SHAPE_APPLIED,
                    }),
                    Cat::Postfix | Cat::Infix => {
                        let Some((left, start)) = st.stack.pop().and_then(|t| t.complete()) else {
                            return;
                        };
                        if s.cats[p] == Cat::Postfix {
                            let node = st.push_node(head, p, vec![left]);
                            st.stack.push(Item::Expr {
                                head,
                                pos: p,
                                start,
                                need: 0,
                                kids: Vec::new(),
                                node,
                                shape: SHAPE_APPLIED,
                            });
                        } else {
                            st.stack.push(Item::Expr {
                                head,
                                pos: p,
                                start,
                                need: 1,
                                kids: vec![left],
                                node: 0,
                                shape: SHAPE_APPLIED,
                            });
                        }
                    }
                    Cat::Sep => st.stack.push(Item::Sep),
                    Cat::Open => st.stack.push(Item::Open { start: p }),
                    Cat::Close => {
                        let inner = st.stack.pop();
                        let open = st.stack.pop();
                        if let (
                            Some(Item::Expr {
                                head, pos, node, ..
                            }),
                            Some(Item::Open { start }),
                        ) = (inner, open)
                        {
                            st.stack.push(Item::Expr {
                                head,
                                pos,
                                start,
                                need: 0,
                                kids: Vec::new(),
                                node,
                                shape: SHAPE_GROUP,
                            });
                        }
                    }
                }
            }
            Action::Right => {
                let Some((child, _)) = st.stack.pop().and_then(|t| t.complete()) else {
                    return;
                };
                if matches!(st.stack.last(), Some(Item::Sep)) {
                    st.stack.pop();
                }
                let mut done = None;
                if let Some(Item::Expr {
                    head,
                    pos,
                    need,
                    kids,
                    ..
                }) = st.stack.last_mut()
                {
                    kids.push(child);
                    *need = need.saturating_sub(1);
                    if *need == 0 {
                        done = Some((*head, *pos, std::mem::take(kids)));
                    }
                }
                if let Some((head, pos, kids)) = done {
                    let id = st.push_node(head, pos, kids);
                    if let Some(Item::Expr { node, .. }) = st.stack.last_mut() {
                        *node = id;
                    }
                }
            }
            Action::Jux => {
                let right = st.stack.pop().and_then(|t| t.complete());
                let left = st.stack.pop().and_then(|t| t.complete());
                if let (Some((r, rstart)), Some((l, lstart))) = (right, left) {
                    let node = st.push_node(Head::Juxtapose, rstart, vec![l, r]);
                    st.stack.push(Item::Expr {
                        head: Head::Juxtapose,
                        pos: rstart,
                        start: lstart,
                        need: 0,
                        kids: Vec::new(),
                        node,
                        shape: SHAPE_JUX,
                    });
                }
            }
        }
        st.actions.push(a);
    }

    /// The features of a state (hashed).
    fn features(s: &Sentence<'_>, st: &State, out: &mut Vec<u64>) {
        out.clear();
        // (word, shape, tag) of the k-th subtree from the top
        let desc = |k: usize| -> (u64, u64, u64) {
            match st.top(k) {
                None => (NONE, 0, NONE),
                Some(Item::Sep) => (SEP_WORD, 30, SEP_WORD),
                Some(Item::Open { .. }) => (OPEN_WORD, 31, OPEN_WORD),
                Some(Item::Expr {
                    head,
                    need,
                    shape,
                    pos,
                    ..
                }) => {
                    let (w, t) = match head {
                        Head::Tok(_) => (s.words[*pos], s.tags[*pos]),
                        Head::Juxtapose => (JUX_WORD, JUX_WORD),
                    };
                    (w, u64::from(*shape) * 8 + u64::from(*need), t)
                }
            }
        };
        let (w0, h0, t0) = desc(0);
        let (w1, h1, t1) = desc(1);
        let (w2, _, _) = desc(2);
        let next = |k: usize| -> (u64, u64, u64) {
            match s.toks.get(st.i + k) {
                Some(_) => (s.words[st.i + k], s.cats[st.i + k].code(), s.tags[st.i + k]),
                None => (NONE, 0, NONE),
            }
        };
        let (b0, c0, tb0) = next(0);
        let (b1, _, _) = next(1);
        let feats: [&[u64]; 22] = [
            &[1],
            &[2, w0],
            &[3, h0],
            &[4, w1],
            &[5, h1],
            &[6, b0],
            &[7, c0],
            &[8, w0, b0],
            &[9, w1, w0],
            &[10, w1, b0],
            &[11, w1, w0, b0],
            &[12, h0, c0],
            &[13, h1, h0, c0],
            &[14, w2, w1],
            &[15, w1, h0, b0],
            &[16, h1, b0],
            &[17, w0, b0, b1],
            &[18, w2, w1, w0],
            &[19, t1, tb0],
            &[20, t1, t0, tb0],
            &[21, t0, tb0],
            &[22, h1, t1, h0, tb0],
        ];
        out.extend(feats.iter().map(|f| mix(f)));
    }

    fn scores(&self, feats: &[u64]) -> [f32; 3] {
        let mut s = [0f32; 3];
        for f in feats {
            if let Some(w) = self.weights.get(f) {
                for a in 0..3 {
                    s[a] += w[a];
                }
            }
        }
        s
    }

    /// Complete parses in the beam, best-ranked first.
    fn beam(&self, s: &Sentence<'_>, jux: bool, width: usize) -> Vec<State> {
        let n = s.toks.len();
        let mut beam = vec![State::default()];
        let mut done: Vec<State> = Vec::new();
        let mut feats = Vec::new();
        while !beam.is_empty() {
            let mut next: Vec<State> = Vec::new();
            for st in beam {
                if st.is_final(n) {
                    done.push(st);
                    continue;
                }
                let ok = Self::valid(s, &st, jux);
                if !ok.iter().any(|&b| b) {
                    continue;
                }
                Self::features(s, &st, &mut feats);
                let sc = self.scores(&feats);
                // log-probabilities over the valid actions, so that parses with different
                // numbers of actions compare fairly
                let max = ACTIONS
                    .into_iter()
                    .filter(|a| ok[*a as usize])
                    .map(|a| sc[a as usize])
                    .fold(f32::NEG_INFINITY, f32::max);
                let z: f32 = ACTIONS
                    .into_iter()
                    .filter(|a| ok[*a as usize])
                    .map(|a| (sc[a as usize] - max).exp())
                    .sum();
                for a in ACTIONS {
                    if ok[a as usize] {
                        let mut child = st.clone();
                        Self::apply(s, &mut child, a);
                        child.score += sc[a as usize] - max - z.ln();
                        next.push(child);
                    }
                }
            }
            // stable: ties keep the order of generation (shift before right before jux)
            next.sort_by(|a, b| b.score.total_cmp(&a.score));
            next.truncate(width.max(1));
            beam = next;
        }
        done.sort_by(|a, b| b.score.total_cmp(&a.score));
        done
    }

    /// The best-ranked parse of `toks` (interned in `names`, which extends `g.names`).
    pub fn parse(
        &self,
        g: &Gss,
        names: &Interner,
        toks: &[Sym],
        width: usize,
    ) -> Result<Tree, (usize, String)> {
        self.parse_with(g, &g.reader(), names, toks, width)
    }

    fn parse_with(
        &self,
        g: &Gss,
        reader: &Reader<'_>,
        names: &Interner,
        toks: &[Sym],
        width: usize,
    ) -> Result<Tree, (usize, String)> {
        if toks.is_empty() {
            return Err((0, "the input is empty".into()));
        }
        if toks.len() > MAX_INPUT_TOKENS {
            return Err((
                MAX_INPUT_TOKENS,
                format!(
                    "the input has {} tokens, more than the limit of {MAX_INPUT_TOKENS}",
                    toks.len()
                ),
            ));
        }
        let s = Self::sentence(g, reader, names, toks)?;
        self.beam(&s, g.juxtapose.is_some(), width)
            .into_iter()
            .next()
            .map(|st| Tree { nodes: st.nodes })
            .ok_or_else(|| {
                (
                    toks.len(),
                    "no parse: the words' categories do not combine into one tree".into(),
                )
            })
    }

    /// Trains a parser for `g` from pairs (interned in `names`, which extends `g.names`) by
    /// abduction against the system's meanings.
    pub fn train(
        g: &Gss,
        names: &Interner,
        train: &[Example],
        cfg: &TransitionConfig,
        progress: &mut dyn FnMut(&str),
    ) -> (TransitionParser, TransitionReport) {
        let reader = g.reader();
        let jux = g.juxtapose.is_some();
        let mut model = TransitionParser {
            system: g.name.clone(),
            weights: HashMap::new(),
        };
        // averaged perceptron: w - u / c
        let mut acc: HashMap<u64, [f32; 3]> = HashMap::new();
        let mut c: f32 = 1.0;
        let mut report = TransitionReport::default();
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.sort_by_key(|&i| train[i].input.len());
        let mut out_names = names.clone();
        let mut feats = Vec::new();
        for epoch in 0..cfg.epochs {
            report.epochs = epoch + 1;
            let mut updates = 0usize;
            let mut unexplained = 0usize;
            let mut abduced = 0usize;
            for &i in &order {
                c += 1.0;
                let ex = &train[i];
                if ex.input.is_empty() || ex.input.len() > MAX_INPUT_TOKENS {
                    unexplained += 1;
                    continue;
                }
                let Ok(s) = Self::sentence(g, &reader, names, &ex.input) else {
                    unexplained += 1;
                    continue;
                };
                let right = |st: &State, out_names: &mut Interner| {
                    let tree = Tree {
                        nodes: st.nodes.clone(),
                    };
                    value(g, &reader, &tree, &ex.input, out_names).as_deref()
                        == Some(&ex.output[..])
                };
                let best = model.beam(&s, jux, cfg.parse_width);
                let Some(pred) = best.into_iter().next() else {
                    unexplained += 1;
                    continue;
                };
                let target = if right(&pred, &mut out_names) {
                    pred
                } else {
                    // abduction: the best-ranked parse whose value is the output
                    let found = model
                        .beam(&s, jux, cfg.abduce_width)
                        .into_iter()
                        .find(|st| right(st, &mut out_names));
                    let Some(gold) = found else {
                        unexplained += 1;
                        continue;
                    };
                    abduced += 1;
                    gold
                };
                // Every decision of every explained parse is a lesson: a perceptron with a
                // margin, towards the target's action and away from its strongest rival.
                let mut st = State::default();
                for &a in &target.actions {
                    let ok = Self::valid(&s, &st, jux);
                    Self::features(&s, &st, &mut feats);
                    let sc = model.scores(&feats);
                    let rival = ACTIONS
                        .into_iter()
                        .filter(|b| *b != a && ok[*b as usize])
                        .max_by(|x, y| sc[*x as usize].total_cmp(&sc[*y as usize]));
                    if let Some(r) = rival.filter(|&r| sc[r as usize] + cfg.margin > sc[a as usize])
                    {
                        updates += 1;
                        for f in &feats {
                            let w = model.weights.entry(*f).or_insert([0.0; 3]);
                            w[a as usize] += 1.0;
                            w[r as usize] -= 1.0;
                            let u = acc.entry(*f).or_insert([0.0; 3]);
                            u[a as usize] += c;
                            u[r as usize] -= c;
                        }
                    }
                    Self::apply(&s, &mut st, a);
                }
            }
            report.updates += updates;
            report.abduced += abduced;
            report.unexplained = unexplained;
            progress(&format!(
                "transition parser, pass {}: {abduced} parses repaired by abduction, {updates} updates, {unexplained} pairs unexplained",
                epoch + 1
            ));
            if updates == 0 {
                break;
            }
        }
        for (f, w) in model.weights.iter_mut() {
            if let Some(u) = acc.get(f) {
                for a in 0..3 {
                    w[a] -= u[a] / c;
                }
            }
        }
        model.weights.retain(|_, w| w.iter().any(|x| *x != 0.0));
        report.features = model.weights.len();
        (model, report)
    }

    /// The parser as text: a header, the system's name, one feature per line (hash and the
    /// three actions' weights), sorted.
    pub fn to_text(&self) -> String {
        let mut out = format!("{MAGIC}\nsystem {}\n", self.system);
        let mut keys: Vec<&u64> = self.weights.keys().collect();
        keys.sort();
        for k in keys {
            let w = self.weights[k];
            let _ = writeln!(out, "{k:016x} {} {} {}", w[0], w[1], w[2]);
        }
        out
    }

    /// Reads [`Self::to_text`]; errors name the line.
    pub fn from_text(text: &str) -> Result<TransitionParser, String> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim_end() == MAGIC => {}
            _ => {
                return Err(format!(
                    "line 1: not a transition parser (expected `{MAGIC}`)"
                ));
            }
        }
        let system = match lines.next() {
            Some((_, l)) => l
                .strip_prefix("system ")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or("line 2: expected `system NAME`")?,
            None => return Err("line 2: expected `system NAME`, found the end of the file".into()),
        };
        let mut weights = HashMap::new();
        for (i, line) in lines {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let bad = |why: &str| format!("line {}: {why}", i + 1);
            if parts.len() != 4 {
                return Err(bad("expected a feature hash and three weights"));
            }
            let k = u64::from_str_radix(parts[0], 16)
                .map_err(|_| bad(&format!("`{}` is not a hexadecimal feature hash", parts[0])))?;
            let mut w = [0f32; 3];
            for a in 0..3 {
                let x: f32 = parts[a + 1]
                    .parse()
                    .map_err(|_| bad(&format!("`{}` is not a number", parts[a + 1])))?;
                if !x.is_finite() {
                    return Err(bad(&format!("weight `{}` is not finite", parts[a + 1])));
                }
                w[a] = x;
            }
            if weights.insert(k, w).is_some() {
                return Err(bad(&format!("feature {} appears twice", parts[0])));
            }
        }
        Ok(TransitionParser { system, weights })
    }
}

/// The value of a parse under the system's meanings, as output tokens (a numeric system's
/// number interned in `names`).
fn value(
    g: &Gss,
    reader: &Reader<'_>,
    tree: &Tree,
    toks: &[Sym],
    names: &mut Interner,
) -> Option<Vec<Sym>> {
    if g.is_numeric() {
        let n = reader.eval_num(tree, &mut Fuel::new(RUN_STEPS)).ok()?;
        Some(vec![names.intern(&n.to_string())])
    } else {
        reader.eval(tree, toks).ok()
    }
}

/// Accuracy of `g` with `parser` as its syntax on pairs interned in `names` (which extends
/// `g.names`): (correct, total).
pub fn accuracy(
    g: &Gss,
    parser: &TransitionParser,
    names: &Interner,
    exs: &[Example],
    width: usize,
) -> (usize, usize) {
    let reader = g.reader();
    let mut out_names = names.clone();
    let ok = exs
        .iter()
        .filter(|e| {
            parser
                .parse_with(g, &reader, names, &e.input, width)
                .ok()
                .and_then(|t| value(g, &reader, &t, &e.input, &mut out_names))
                .is_some_and(|v| v == e.output)
        })
        .count();
    (ok, exs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cyclic_rpn;
    use crate::model::{Atom, Meaning, Path, Program, Rule};

    /// Infix operators `p`, `q`, `r` whose meaning writes the tree in reverse Polish notation,
    /// over atoms that denote themselves.
    fn rpn_system() -> Gss {
        let mut names = Interner::default();
        let rpn = Program {
            arity: 2,
            atoms: vec![
                Atom::Seq(Path::var(0)),
                Atom::Seq(Path::var(1)),
                Atom::SelfTok,
            ],
        };
        let rules = ["p", "q", "r"]
            .map(|o| {
                (
                    names.intern(o),
                    Rule {
                        fixity: Fixity::Infix { prec: 1 },
                        meaning: Some(Meaning::List(rpn.clone())),
                    },
                )
            })
            .to_vec();
        Gss {
            name: "cyclic".into(),
            names,
            rules,
            juxtapose: None,
            default: Some(Program::self_token()),
        }
    }

    fn cyclic_data(
        names: &mut Interner,
        operands: std::ops::RangeInclusive<usize>,
        count: usize,
        seed: u64,
    ) -> Vec<Example> {
        let mut x = seed;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n) as usize
        };
        let atoms = ["a", "b", "c", "d", "e"];
        let ops = ["p", "q", "r"];
        let span = (operands.end() - operands.start() + 1) as u64;
        (0..count)
            .map(|_| {
                let k = operands.start() + next(span);
                let mut words = vec![atoms[next(5)]];
                for _ in 1..k {
                    words.push(ops[next(3)]);
                    words.push(atoms[next(5)]);
                }
                let output = cyclic_rpn(&words).join(" ");
                Example {
                    input: names.words(&words.join(" ")),
                    output: names.words(&output),
                }
            })
            .collect()
    }

    #[test]
    fn learns_an_attachment_relation_that_no_precedence_describes() {
        let g = rpn_system();
        let mut names = g.names.clone();
        let train = cyclic_data(&mut names, 1..=4, 600, 7);
        let test = cyclic_data(&mut names, 5..=8, 400, 11);
        let cfg = TransitionConfig::default();
        let (parser, report) = TransitionParser::train(&g, &names, &train, &cfg, &mut |_| {});
        assert!(report.abduced > 0 && report.unexplained == 0, "{report:?}");
        // longer inputs than any in training, all right
        assert_eq!(
            accuracy(&g, &parser, &names, &test, cfg.parse_width),
            (400, 400)
        );
        // no precedence numbers for p, q, r parse them all right (the relation is a cycle)
        let (p, q, r) = (
            names.get("p").unwrap(),
            names.get("q").unwrap(),
            names.get("r").unwrap(),
        );
        for pp in 1..=3u8 {
            for pq in 1..=3u8 {
                for pr in 1..=3u8 {
                    let mut s = g.clone();
                    for (sym, rule) in &mut s.rules {
                        let prec = if *sym == p {
                            pp
                        } else if *sym == q {
                            pq
                        } else {
                            pr
                        };
                        assert!(*sym == p || *sym == q || *sym == r);
                        rule.fixity = Fixity::Infix { prec };
                    }
                    let (ok, n) = crate::learn::accuracy(&s, &names, &test);
                    assert!(ok < n, "precedences {pp} {pq} {pr} parse every test input");
                }
            }
        }
        // an untrained parser does not: the learning is what parses them
        let blank = TransitionParser {
            system: g.name.clone(),
            weights: HashMap::new(),
        };
        let (ok, _) = accuracy(&g, &blank, &names, &test, cfg.parse_width);
        assert!(ok < 200, "untrained: {ok}/400");
    }

    #[test]
    fn saved_parsers_load_back_and_bad_files_name_the_line() {
        let g = rpn_system();
        let mut names = g.names.clone();
        let train = cyclic_data(&mut names, 1..=4, 300, 3);
        let test = cyclic_data(&mut names, 2..=6, 100, 5);
        let cfg = TransitionConfig::default();
        let (parser, _) = TransitionParser::train(&g, &names, &train, &cfg, &mut |_| {});
        let text = parser.to_text();
        let back = TransitionParser::from_text(&text).unwrap();
        assert_eq!(back, parser);
        for e in &test {
            assert_eq!(
                back.parse(&g, &names, &e.input, 4),
                parser.parse(&g, &names, &e.input, 4)
            );
        }
        assert!(
            TransitionParser::from_text("hello")
                .unwrap_err()
                .starts_with("line 1:")
        );
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines[2] = lines[2].replacen(' ', " NaN ", 1);
        let cut = lines[2].rfind(' ').unwrap_or(0);
        lines[2].truncate(cut);
        let bad = lines.join("\n");
        let err = TransitionParser::from_text(&bad).unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        let err =
            TransitionParser::from_text(&format!("{MAGIC}\nsystem x\n00ff 1 2\n")).unwrap_err();
        assert_eq!(err, "line 3: expected a feature hash and three weights");
        // an input whose categories do not combine: an error, not a panic
        let toks = names.words("a p");
        assert!(parser.parse(&g, &names, &toks, 4).is_err());
        assert!(parser.parse(&g, &names, &[], 4).is_err());
        let long = names.words(&vec!["a"; MAX_INPUT_TOKENS + 1].join(" "));
        assert!(
            parser
                .parse(&g, &names, &long, 4)
                .unwrap_err()
                .1
                .contains("limit")
        );
    }
}
