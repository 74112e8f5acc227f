//! Datasets, generated in Rust from their grammars (no downloads).
//!
//! - **SCAN** (Lake & Baroni 2018), exactly: the 20,910 commands of its grammar with their
//!   action sequences, and the standard splits by rule (simple, length, addprim_jump,
//!   addprim_turn_left, template around_right and opposite_right).
//! - **PCFG SET-style** string functions (Hupkes et al. 2020): the ten functions over letter
//!   strings, with i.i.d., systematicity and productivity splits made by this generator (the
//!   published files are not reproduced; sizes and rules are documented on [`PcfgSplit`]).

use tessera_vsa::rng::Rng;

/// One input/output pair (space-separated words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub input: String,
    pub output: String,
}

/// The SCAN splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanSplit {
    Simple,
    Length,
    AddprimJump,
    AddprimTurnLeft,
    TemplateAroundRight,
    TemplateOppositeRight,
}

impl ScanSplit {
    pub const ALL: [ScanSplit; 6] = [
        ScanSplit::Simple,
        ScanSplit::Length,
        ScanSplit::AddprimJump,
        ScanSplit::AddprimTurnLeft,
        ScanSplit::TemplateAroundRight,
        ScanSplit::TemplateOppositeRight,
    ];
    pub fn name(self) -> &'static str {
        match self {
            ScanSplit::Simple => "simple",
            ScanSplit::Length => "length",
            ScanSplit::AddprimJump => "addprim_jump",
            ScanSplit::AddprimTurnLeft => "addprim_turn_left",
            ScanSplit::TemplateAroundRight => "template_around_right",
            ScanSplit::TemplateOppositeRight => "template_opposite_right",
        }
    }
    pub fn from_name(s: &str) -> Option<ScanSplit> {
        let s = s.replace('-', "_");
        ScanSplit::ALL.into_iter().find(|x| {
            x.name() == s
                || x.name().strip_prefix("template_") == Some(&s)
                || x.name().strip_prefix("addprim_") == Some(&s)
        })
    }
}

const PRIMS: [(&str, &str); 4] = [
    ("walk", "I_WALK"),
    ("look", "I_LOOK"),
    ("run", "I_RUN"),
    ("jump", "I_JUMP"),
];

/// Every SCAN command with its action sequence, in grammar order.
pub fn scan_all() -> Vec<Pair> {
    // V with its meaning as a list of actions.
    let mut v: Vec<(String, Vec<&str>)> = Vec::new();
    let xs: Vec<(&str, Vec<&str>)> = PRIMS
        .iter()
        .map(|&(w, a)| (w, vec![a]))
        .chain(std::iter::once(("turn", Vec::new())))
        .collect();
    for (x, xa) in &xs {
        for (d, da) in [("left", "I_TURN_LEFT"), ("right", "I_TURN_RIGHT")] {
            let mut o = vec![da, da];
            o.extend(xa);
            v.push((format!("{x} opposite {d}"), o));
            let mut a = Vec::new();
            for _ in 0..4 {
                a.push(da);
                a.extend(xa);
            }
            v.push((format!("{x} around {d}"), a));
            let mut s = vec![da];
            s.extend(xa);
            v.push((format!("{x} {d}"), s));
        }
    }
    for &(w, a) in &PRIMS {
        v.push((w.to_string(), vec![a]));
    }
    let mut s: Vec<(String, Vec<&str>)> = Vec::new();
    for (c, a) in &v {
        s.push((c.clone(), a.clone()));
        s.push((format!("{c} twice"), a.repeat(2)));
        s.push((format!("{c} thrice"), a.repeat(3)));
    }
    let mut out: Vec<Pair> = s
        .iter()
        .map(|(c, a)| Pair {
            input: c.clone(),
            output: a.join(" "),
        })
        .collect();
    for (c1, a1) in &s {
        for (c2, a2) in &s {
            let mut and = a1.clone();
            and.extend(a2);
            out.push(Pair {
                input: format!("{c1} and {c2}"),
                output: and.join(" "),
            });
            let mut after = a2.clone();
            after.extend(a1);
            out.push(Pair {
                input: format!("{c1} after {c2}"),
                output: after.join(" "),
            });
        }
    }
    out
}

fn has_window(input: &str, window: &[&str]) -> bool {
    let w: Vec<&str> = input.split_whitespace().collect();
    w.windows(window.len()).any(|x| x == window)
}

/// `(train, test)` for a SCAN split, by the published rules: simple is a seeded random 80/20;
/// length trains on outputs of at most 22 actions; addprim_X tests every command containing X
/// except X itself and repeats X in training (1,467 lines for jump, 2,189 for turn left, as the
/// published files); the templates test `<prim> around right` (`opposite right`) and leave the
/// commands containing `turn around right` (`turn opposite right`) out of both sides.
pub fn scan_split(split: ScanSplit, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
    let all = scan_all();
    let mut train = Vec::new();
    let mut test = Vec::new();
    match split {
        ScanSplit::Simple => {
            let mut idx: Vec<usize> = (0..all.len()).collect();
            let mut rng = Rng::derive(seed, &["scan", "simple"]);
            for i in (1..idx.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                idx.swap(i, j);
            }
            let cut = (all.len() * 4).div_ceil(5);
            for (k, &i) in idx.iter().enumerate() {
                if k < cut {
                    train.push(all[i].clone());
                } else {
                    test.push(all[i].clone());
                }
            }
        }
        ScanSplit::Length => {
            for p in all {
                if p.output.split_whitespace().count() <= 22 {
                    train.push(p);
                } else {
                    test.push(p);
                }
            }
        }
        ScanSplit::AddprimJump | ScanSplit::AddprimTurnLeft => {
            let (prim, copies): (&[&str], usize) = if split == ScanSplit::AddprimJump {
                (&["jump"], 1467)
            } else {
                (&["turn", "left"], 2189)
            };
            let whole = prim.join(" ");
            let mut prim_pair = None;
            for p in all {
                if p.input == whole {
                    prim_pair = Some(p);
                } else if has_window(&p.input, prim) {
                    test.push(p);
                } else {
                    train.push(p);
                }
            }
            if let Some(p) = prim_pair {
                for _ in 0..copies {
                    train.push(p.clone());
                }
            }
        }
        ScanSplit::TemplateAroundRight | ScanSplit::TemplateOppositeRight => {
            let op = if split == ScanSplit::TemplateAroundRight {
                "around"
            } else {
                "opposite"
            };
            for p in all {
                if has_window(&p.input, &["turn", op, "right"]) {
                    continue;
                }
                if PRIMS
                    .iter()
                    .any(|(w, _)| has_window(&p.input, &[w, op, "right"]))
                {
                    test.push(p);
                } else {
                    train.push(p);
                }
            }
        }
    }
    (train, test)
}

/// SCAN's text format: `IN: jump twice OUT: I_JUMP I_JUMP`, one pair per line.
pub fn to_scan_text(pairs: &[Pair]) -> String {
    let mut s = String::new();
    for p in pairs {
        s.push_str("IN: ");
        s.push_str(&p.input);
        s.push_str(" OUT: ");
        s.push_str(&p.output);
        s.push('\n');
    }
    s
}

/// Reads SCAN's text format; errors name the line.
pub fn parse_scan_text(text: &str) -> Result<Vec<Pair>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rest = line
            .strip_prefix("IN: ")
            .ok_or_else(|| format!("line {}: expected `IN: … OUT: …`", i + 1))?;
        let (input, output) = rest
            .split_once(" OUT: ")
            .or_else(|| rest.strip_suffix(" OUT:").map(|r| (r, "")))
            .ok_or_else(|| format!("line {}: missing ` OUT: `", i + 1))?;
        out.push(Pair {
            input: input.trim().to_string(),
            output: output.trim().to_string(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// PCFG SET-style string functions

/// The unary functions of PCFG SET.
pub const PCFG_UNARY: [&str; 6] = [
    "copy",
    "reverse",
    "shift",
    "echo",
    "swap_first_last",
    "repeat",
];
/// The binary functions (written `f a , b`).
pub const PCFG_BINARY: [&str; 4] = ["append", "prepend", "remove_first", "remove_second"];

#[derive(Debug, Clone)]
enum PExpr {
    Str(Vec<String>),
    Un(&'static str, Box<PExpr>),
    Bin(&'static str, Box<PExpr>, Box<PExpr>),
}

impl PExpr {
    fn render(&self, out: &mut Vec<String>) {
        match self {
            PExpr::Str(s) => out.extend(s.iter().cloned()),
            PExpr::Un(f, a) => {
                out.push(f.to_string());
                a.render(out);
            }
            PExpr::Bin(f, a, b) => {
                out.push(f.to_string());
                a.render(out);
                out.push(",".into());
                b.render(out);
            }
        }
    }
    fn eval(&self) -> Vec<String> {
        match self {
            PExpr::Str(s) => s.clone(),
            PExpr::Un(f, a) => {
                let x = a.eval();
                pcfg_unary(f, x)
            }
            PExpr::Bin(f, a, b) => {
                let (x, y) = (a.eval(), b.eval());
                match *f {
                    "append" => [x, y].concat(),
                    "prepend" => [y, x].concat(),
                    "remove_first" => y,
                    _ => x,
                }
            }
        }
    }
    fn pairs(&self, out: &mut Vec<(&'static str, &'static str)>) {
        let name = |e: &PExpr| match e {
            PExpr::Un(g, _) | PExpr::Bin(g, _, _) => Some(*g),
            PExpr::Str(_) => None,
        };
        match self {
            PExpr::Str(_) => {}
            PExpr::Un(f, a) => {
                if let Some(g) = name(a) {
                    out.push((f, g));
                }
                a.pairs(out);
            }
            PExpr::Bin(f, a, b) => {
                for c in [a, b] {
                    if let Some(g) = name(c) {
                        out.push((f, g));
                    }
                    c.pairs(out);
                }
            }
        }
    }
}

fn pcfg_unary(f: &str, mut x: Vec<String>) -> Vec<String> {
    match f {
        "copy" => x,
        "reverse" => {
            x.reverse();
            x
        }
        "shift" => {
            if !x.is_empty() {
                let h = x.remove(0);
                x.push(h);
            }
            x
        }
        "echo" => {
            if let Some(l) = x.last().cloned() {
                x.push(l);
            }
            x
        }
        // NSR's definition, x[-1:] + x[1:-1] + x[:1]: a single token is doubled
        "swap_first_last" => match (x.first().cloned(), x.last().cloned()) {
            (Some(f), Some(l)) => {
                let mid = if x.len() >= 2 {
                    x[1..x.len() - 1].to_vec()
                } else {
                    Vec::new()
                };
                [vec![l], mid, vec![f]].concat()
            }
            _ => x,
        },
        _ => {
            let y = x.clone();
            x.extend(y);
            x
        }
    }
}

/// The PCFG SET splits this generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcfgSplit {
    /// 10,000 distinct inputs with 1–5 functions, each sent to test with probability 1/5
    /// until test holds 2,000 (8,000 train).
    Iid,
    /// Test: every input in which one of the pairs `swap_first_last(repeat …)`,
    /// `append(remove_second …)`, `repeat(remove_second …)`, `append(swap_first_last …)`
    /// (a function applied directly to another) occurs; train: 8,000 inputs with none.
    Systematicity,
    /// Train: 8,000 inputs with 1–4 functions; test: 2,000 with 5–8 (outputs ≤ 64 tokens).
    Productivity,
}

impl PcfgSplit {
    pub const ALL: [PcfgSplit; 3] = [
        PcfgSplit::Iid,
        PcfgSplit::Systematicity,
        PcfgSplit::Productivity,
    ];
    pub fn name(self) -> &'static str {
        match self {
            PcfgSplit::Iid => "iid",
            PcfgSplit::Systematicity => "systematicity",
            PcfgSplit::Productivity => "productivity",
        }
    }
    pub fn from_name(s: &str) -> Option<PcfgSplit> {
        PcfgSplit::ALL.into_iter().find(|x| x.name() == s)
    }
}

const HELD_OUT: [(&str, &str); 4] = [
    ("swap_first_last", "repeat"),
    ("append", "remove_second"),
    ("repeat", "remove_second"),
    ("append", "swap_first_last"),
];

fn gen_pexpr(rng: &mut Rng, nfun: usize) -> PExpr {
    if nfun == 0 {
        let n = 1 + rng.below(5) as usize;
        let s = (0..n)
            .map(|_| {
                let l = (b'A' + rng.below(26) as u8) as char;
                format!("{l}{}", 1 + rng.below(20))
            })
            .collect();
        return PExpr::Str(s);
    }
    let k = rng.below((PCFG_UNARY.len() + PCFG_BINARY.len()) as u64) as usize;
    if k < PCFG_UNARY.len() {
        PExpr::Un(PCFG_UNARY[k], Box::new(gen_pexpr(rng, nfun - 1)))
    } else {
        let a = rng.below(nfun as u64) as usize;
        PExpr::Bin(
            PCFG_BINARY[k - PCFG_UNARY.len()],
            Box::new(gen_pexpr(rng, a)),
            Box::new(gen_pexpr(rng, nfun - 1 - a)),
        )
    }
}

/// `(train, test)` for a PCFG SET-style split.
pub fn pcfg_split(split: PcfgSplit, seed: u64) -> (Vec<Pair>, Vec<Pair>) {
    let mut rng = Rng::derive(seed, &["pcfg", split.name()]);
    let mut seen = std::collections::HashSet::new();
    let mut train = Vec::new();
    let mut test = Vec::new();
    let (n_train, n_test) = (8000, 2000);
    let mut guard = 0usize;
    while (train.len() < n_train || test.len() < n_test) && guard < 2_000_000 {
        guard += 1;
        let nfun = match split {
            PcfgSplit::Iid | PcfgSplit::Systematicity => 1 + rng.below(5) as usize,
            PcfgSplit::Productivity => {
                if train.len() < n_train {
                    1 + rng.below(4) as usize
                } else {
                    5 + rng.below(4) as usize
                }
            }
        };
        let e = gen_pexpr(&mut rng, nfun);
        let mut words = Vec::new();
        e.render(&mut words);
        let input = words.join(" ");
        let out = e.eval();
        if out.len() > 64 || !seen.insert(input.clone()) {
            continue;
        }
        let pair = Pair {
            input,
            output: out.join(" "),
        };
        let to_test = match split {
            PcfgSplit::Iid => rng.below(5) == 0,
            PcfgSplit::Systematicity => {
                let mut ps = Vec::new();
                e.pairs(&mut ps);
                ps.iter().any(|p| HELD_OUT.contains(p))
            }
            PcfgSplit::Productivity => nfun >= 5,
        };
        if to_test {
            if test.len() < n_test {
                test.push(pair);
            }
        } else if train.len() < n_train {
            train.push(pair);
        }
    }
    (train, test)
}

/// Infix expressions over atoms `a`..`e` and three operators `p`, `q`, `r` whose binding is a
/// *cycle* (`q` binds tighter than `p`, `r` than `q`, `p` than `r`; equal operators associate to
/// the left), written out in reverse Polish notation: a grammar that no precedence numbers
/// describe, for the transition parser (docs/gss.md). Train: 1,500 distinct inputs of 1–4
/// operands; test: 500 distinct inputs of 5–8 operands.
pub fn cyclic_split(seed: u64) -> (Vec<Pair>, Vec<Pair>) {
    let mut rng = Rng::derive(seed, &["cyclic"]);
    let mut seen = std::collections::BTreeSet::new();
    let mut make = |lo: u64, hi: u64, count: usize, rng: &mut Rng| {
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let k = lo + rng.below(hi - lo + 1);
            let atom = |rng: &mut Rng| ["a", "b", "c", "d", "e"][rng.below(5) as usize];
            let mut words = vec![atom(rng)];
            for _ in 1..k {
                words.push(["p", "q", "r"][rng.below(3) as usize]);
                words.push(atom(rng));
            }
            let input = words.join(" ");
            if seen.insert(input.clone()) {
                out.push(Pair {
                    output: cyclic_rpn(&words).join(" "),
                    input,
                });
            }
        }
        out
    };
    let train = make(1, 4, 1500, &mut rng);
    let test = make(5, 8, 500, &mut rng);
    (train, test)
}

/// Reverse Polish notation of `words` under the cyclic binding of [`cyclic_split`]
/// (shunting-yard).
pub fn cyclic_rpn<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let tighter =
        |next: &str, prev: &str| matches!((next, prev), ("q", "p") | ("r", "q") | ("p", "r"));
    let mut out = Vec::new();
    let mut ops: Vec<&str> = Vec::new();
    for &w in words {
        if ["p", "q", "r"].contains(&w) {
            while let Some(&t) = ops.last() {
                if tighter(w, t) {
                    break;
                }
                out.extend(ops.pop());
            }
            ops.push(w);
        } else {
            out.push(w);
        }
    }
    while let Some(t) = ops.pop() {
        out.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_counts_match_the_published_files() {
        let all = scan_all();
        assert_eq!(all.len(), 20_910);
        let inputs: std::collections::HashSet<&str> =
            all.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(inputs.len(), 20_910);
        let find = |s: &str| all.iter().find(|p| p.input == s).unwrap().output.clone();
        assert_eq!(
            find("jump opposite left after walk around right thrice"),
            format!(
                "{}I_TURN_LEFT I_TURN_LEFT I_JUMP",
                "I_TURN_RIGHT I_WALK ".repeat(12)
            )
        );
        assert_eq!(
            find("turn around left"),
            "I_TURN_LEFT ".repeat(4).trim_end()
        );
        let sizes = |s| {
            let (a, b) = scan_split(s, 1);
            (a.len(), b.len())
        };
        assert_eq!(sizes(ScanSplit::Simple), (16_728, 4_182));
        assert_eq!(sizes(ScanSplit::Length), (16_990, 3_920));
        assert_eq!(sizes(ScanSplit::AddprimJump), (14_670, 7_706));
        assert_eq!(sizes(ScanSplit::AddprimTurnLeft), (21_890, 1_208));
        assert_eq!(sizes(ScanSplit::TemplateAroundRight), (15_225, 4_476));
        assert_eq!(sizes(ScanSplit::TemplateOppositeRight), (15_225, 4_476));
        let (_, test) = scan_split(ScanSplit::Length, 1);
        assert!(
            test.iter()
                .all(|p| p.output.split_whitespace().count() >= 24)
        );
    }

    #[test]
    fn scan_text_round_trips() {
        let (train, _) = scan_split(ScanSplit::AddprimJump, 1);
        let text = to_scan_text(&train[..50]);
        assert_eq!(parse_scan_text(&text).unwrap(), train[..50].to_vec());
        assert!(parse_scan_text("OUT: x").unwrap_err().contains("line 1"));
    }

    #[test]
    fn cyclic_binding_is_a_cycle() {
        for (input, rpn) in [
            (["a", "p", "b", "q", "c"], ["a", "b", "c", "q", "p"]),
            (["a", "q", "b", "r", "c"], ["a", "b", "c", "r", "q"]),
            (["a", "r", "b", "p", "c"], ["a", "b", "c", "p", "r"]),
            (["a", "q", "b", "p", "c"], ["a", "b", "q", "c", "p"]),
        ] {
            assert_eq!(cyclic_rpn(&input), rpn, "{input:?}");
        }
        let (train, test) = cyclic_split(1);
        assert_eq!((train.len(), test.len()), (1500, 500));
        let ops = |p: &Pair| {
            p.input
                .split(' ')
                .filter(|w| ["p", "q", "r"].contains(w))
                .count()
        };
        assert!(train.iter().all(|p| ops(p) <= 3) && test.iter().all(|p| ops(p) >= 4));
    }

    #[test]
    fn pcfg_splits_follow_their_rules() {
        for split in PcfgSplit::ALL {
            let (train, test) = pcfg_split(split, 1);
            assert_eq!((train.len(), test.len()), (8000, 2000), "{split:?}");
            let nfun = |p: &Pair| {
                p.input
                    .split_whitespace()
                    .filter(|w| PCFG_UNARY.contains(w) || PCFG_BINARY.contains(w))
                    .count()
            };
            if split == PcfgSplit::Productivity {
                assert!(train.iter().all(|p| nfun(p) <= 4));
                assert!(test.iter().all(|p| nfun(p) >= 5));
            }
        }
        let e = PExpr::Un(
            "swap_first_last",
            Box::new(PExpr::Str(vec!["A1".into(), "B2".into(), "C3".into()])),
        );
        assert_eq!(e.eval(), ["C3", "B2", "A1"]);
    }
}
