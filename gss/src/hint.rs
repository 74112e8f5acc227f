//! HINT-like arithmetic (after Li et al., "A Minimalist Dataset for Systematic Generalization of
//! Perception, Syntax, and Semantics", ICLR 2023), symbol input, generated in Rust.
//!
//! Expressions over the digits `0`–`9`, `+`, `-` (floored at 0), `*`, `/` (rounded up) and
//! parentheses, written with the fewest parentheses that standard precedence and left
//! associativity need (`3 - ( 4 + 1 )`, `( 2 + 3 ) * 4`). The recipe is HINT's; the sample is
//! this generator's (seeded), not the published files, and it is smaller:
//!
//! | set | operators | values (every intermediate) | size |
//! |---|---|---|---|
//! | train | 0–10 | ≤ 100 | all 10 digits, all 400 one-operator expressions, ≤ 1,000 per count 2–10 |
//! | I | 0–10 | ≤ 100 | 1,000 drawn from train (HINT's I: seen expressions) |
//! | SS | 2–10 | ≤ 100 | 100 per count, not in train (every one-operator expression is) |
//! | LS | 11–20 | ≤ 100 | 100 per count |
//! | SL | 2–10 | ≤ 10,000, one > 100 | 100 per count |
//! | LL | 11–20 | ≤ 10,000, one > 100 | 100 per count |
//!
//! The first letter is the expression's length (short ≤ 10 operators, long 11–20), the second
//! its values (small ≤ 100, large up to 10,000). As in HINT, no one result may take more than 5%
//! of a training operator count's expressions.

use crate::data::Pair;
use std::collections::{HashMap, HashSet};
use tessera_vsa::rng::Rng;

/// HINT's five test subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HintSubset {
    I,
    SS,
    LS,
    SL,
    LL,
}

impl HintSubset {
    pub const ALL: [HintSubset; 5] = [
        HintSubset::I,
        HintSubset::SS,
        HintSubset::LS,
        HintSubset::SL,
        HintSubset::LL,
    ];
    pub fn name(self) -> &'static str {
        match self {
            HintSubset::I => "i",
            HintSubset::SS => "ss",
            HintSubset::LS => "ls",
            HintSubset::SL => "sl",
            HintSubset::LL => "ll",
        }
    }
    pub fn from_name(s: &str) -> Option<HintSubset> {
        HintSubset::ALL
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s))
    }
}

/// The training pairs and the five test subsets.
#[derive(Debug, Clone)]
pub struct HintData {
    pub train: Vec<Pair>,
    pub tests: Vec<(HintSubset, Vec<Pair>)>,
}

impl HintData {
    pub fn test(&self, s: HintSubset) -> &[Pair] {
        self.tests
            .iter()
            .find(|(t, _)| *t == s)
            .map_or(&[][..], |(_, p)| p.as_slice())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    const ALL: [Op; 4] = [Op::Add, Op::Sub, Op::Mul, Op::Div];
    fn sym(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
        }
    }
    fn prec(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
        }
    }
    /// `None` for division by zero.
    fn apply(self, a: u64, b: u64) -> Option<u64> {
        match self {
            Op::Add => a.checked_add(b),
            Op::Sub => Some(a.saturating_sub(b)),
            Op::Mul => a.checked_mul(b),
            Op::Div => (b > 0).then(|| a.div_ceil(b)),
        }
    }
}

enum Expr {
    Digit(u64),
    Bin(Op, Box<Expr>, Box<Expr>, u64),
}

impl Expr {
    fn value(&self) -> u64 {
        match self {
            Expr::Digit(d) => *d,
            Expr::Bin(_, _, _, v) => *v,
        }
    }
    fn prec(&self) -> u8 {
        match self {
            Expr::Digit(_) => u8::MAX,
            Expr::Bin(op, ..) => op.prec(),
        }
    }
    fn render(&self, out: &mut Vec<String>) {
        match self {
            Expr::Digit(d) => out.push(d.to_string()),
            Expr::Bin(op, a, b, _) => {
                // left operand: parenthesised when it binds looser; right: also when equal
                // (left associativity)
                let wrap = |e: &Expr, need: bool, out: &mut Vec<String>| {
                    if need {
                        out.push("(".into());
                        e.render(out);
                        out.push(")".into());
                    } else {
                        e.render(out);
                    }
                };
                wrap(a, a.prec() < op.prec(), out);
                out.push(op.sym().into());
                wrap(b, b.prec() <= op.prec(), out);
            }
        }
    }
}

/// A random expression with `n` operators whose every value is at most `max`; each operator is
/// drawn among those that keep its value in range (`-` and `/` always do, unless dividing by 0).
/// Returns the expression and its largest intermediate value.
fn random_expr(rng: &mut Rng, n: usize, max: u64) -> (Expr, u64) {
    if n == 0 {
        let d = rng.below(10);
        return (Expr::Digit(d), d);
    }
    let k = rng.below(n as u64) as usize;
    let (a, ma) = random_expr(rng, k, max);
    let (b, mb) = random_expr(rng, n - 1 - k, max);
    let (va, vb) = (a.value(), b.value());
    let ok: Vec<(Op, u64)> = Op::ALL
        .iter()
        .filter_map(|&op| op.apply(va, vb).filter(|&v| v <= max).map(|v| (op, v)))
        .collect();
    let (op, v) = match ok.len() {
        0 => (Op::Sub, va.saturating_sub(vb)), // unreachable: `-` keeps the value ≤ va ≤ max
        n => ok[rng.below(n as u64) as usize],
    };
    (
        Expr::Bin(op, Box::new(a), Box::new(b), v),
        ma.max(mb).max(v),
    )
}

fn pair(e: &Expr) -> Pair {
    let mut words = Vec::new();
    e.render(&mut words);
    Pair {
        input: words.join(" "),
        output: e.value().to_string(),
    }
}

/// Evaluates a HINT expression (space-separated tokens) by the dataset's rules; `None` when it
/// is malformed or divides by zero. The reference the generator is tested against.
pub fn eval(input: &str) -> Option<u64> {
    fn expr(t: &[&str], i: &mut usize, min: u8) -> Option<u64> {
        let mut lhs = match *t.get(*i)? {
            "(" => {
                *i += 1;
                let v = expr(t, i, 0)?;
                (t.get(*i) == Some(&")")).then_some(())?;
                *i += 1;
                v
            }
            d => {
                *i += 1;
                d.parse().ok()?
            }
        };
        while let Some(&tok) = t.get(*i) {
            let op = match tok {
                "+" => Op::Add,
                "-" => Op::Sub,
                "*" => Op::Mul,
                "/" => Op::Div,
                _ => break,
            };
            if op.prec() <= min {
                break;
            }
            *i += 1;
            let rhs = expr(t, i, op.prec())?;
            lhs = op.apply(lhs, rhs)?;
        }
        Some(lhs)
    }
    let t: Vec<&str> = input.split_whitespace().collect();
    let mut i = 0;
    let v = expr(&t, &mut i, 0)?;
    (i == t.len()).then_some(v)
}

/// Training expressions per operator count (2–10).
pub const TRAIN_PER_COUNT: usize = 1000;
/// Test expressions per operator count and subset.
pub const TEST_PER_COUNT: usize = 100;

/// Generates the training set and the five test subsets.
pub fn hint(seed: u64) -> HintData {
    let mut rng = Rng::derive(seed, &["hint"]);
    let mut train: Vec<Pair> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for d in 0..10 {
        let p = pair(&Expr::Digit(d));
        seen.insert(p.input.clone());
        train.push(p);
    }
    for op in Op::ALL {
        for a in 0..10 {
            for b in 0..10 {
                if let Some(v) = op.apply(a, b) {
                    let e = Expr::Bin(op, Box::new(Expr::Digit(a)), Box::new(Expr::Digit(b)), v);
                    let p = pair(&e);
                    seen.insert(p.input.clone());
                    train.push(p);
                }
            }
        }
    }
    for n in 2..=10 {
        let mut by_result: HashMap<u64, usize> = HashMap::new();
        let cap = TRAIN_PER_COUNT / 20; // 5%
        let mut got = 0;
        for _ in 0..TRAIN_PER_COUNT * 50 {
            if got == TRAIN_PER_COUNT {
                break;
            }
            let (e, _) = random_expr(&mut rng, n, 100);
            let c = by_result.entry(e.value()).or_default();
            if *c >= cap {
                continue;
            }
            let p = pair(&e);
            if seen.insert(p.input.clone()) {
                *c += 1;
                got += 1;
                train.push(p);
            }
        }
    }
    let mut tests = Vec::new();
    // I: expressions seen in training
    let mut idx: Vec<usize> = (0..train.len()).collect();
    for i in (1..idx.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        idx.swap(i, j);
    }
    let mut i_set: Vec<usize> = idx.into_iter().take(10 * TEST_PER_COUNT).collect();
    i_set.sort_unstable();
    tests.push((
        HintSubset::I,
        i_set.iter().map(|&i| train[i].clone()).collect(),
    ));
    for (subset, counts, max, large) in [
        (HintSubset::SS, 2..=10, 100, false),
        (HintSubset::LS, 11..=20, 100, false),
        (HintSubset::SL, 2..=10, 10_000, true),
        (HintSubset::LL, 11..=20, 10_000, true),
    ] {
        let mut out = Vec::new();
        for n in counts {
            let mut got = 0;
            for _ in 0..TEST_PER_COUNT * 200 {
                if got == TEST_PER_COUNT {
                    break;
                }
                let (e, m) = random_expr(&mut rng, n, max);
                if large && m <= 100 {
                    continue;
                }
                let p = pair(&e);
                if seen.insert(p.input.clone()) {
                    got += 1;
                    out.push(p);
                }
            }
        }
        tests.push((subset, out));
    }
    HintData { train, tests }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reference_evaluator_follows_the_rules() {
        assert_eq!(eval("3 - 5"), Some(0));
        assert_eq!(eval("7 / 2"), Some(4));
        assert_eq!(eval("1 + 2 * 3"), Some(7));
        assert_eq!(eval("( 1 + 2 ) * 3"), Some(9));
        assert_eq!(eval("8 - 2 - 1"), Some(5));
        assert_eq!(eval("8 - ( 2 - 1 )"), Some(7));
        assert_eq!(eval("1 + 2 - 5"), Some(0));
        assert_eq!(eval("9 / 0"), None);
        assert_eq!(eval("( 1 + 2"), None);
        assert_eq!(eval("1 +"), None);
        assert_eq!(eval("1 2"), None);
    }

    #[test]
    fn generated_sets_follow_the_recipe() {
        let d = hint(0);
        // 10 digits + 400 one-operator expressions (10 divisions by zero excluded) + 2..10
        assert_eq!(
            d.train.iter().filter(|p| !p.input.contains(' ')).count(),
            10
        );
        assert_eq!(
            d.train
                .iter()
                .filter(|p| p.input.split(' ').count() == 3)
                .count(),
            390
        );
        assert!(
            d.train.len() > 390 + 8 * TRAIN_PER_COUNT,
            "{}",
            d.train.len()
        );
        let ops = |p: &Pair| {
            p.input
                .split(' ')
                .filter(|w| ["+", "-", "*", "/"].contains(w))
                .count()
        };
        let train_inputs: HashSet<&str> = d.train.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(
            train_inputs.len(),
            d.train.len(),
            "train inputs are distinct"
        );
        for p in &d.train {
            assert_eq!(eval(&p.input).unwrap().to_string(), p.output, "{}", p.input);
            assert!(p.output.parse::<u64>().unwrap() <= 100);
            assert!(ops(p) <= 10);
        }
        assert!(d.train.iter().any(|p| p.input.contains('(')));
        for (s, pairs) in &d.tests {
            assert!(pairs.len() >= 900, "{s:?}: {}", pairs.len());
            for p in pairs {
                assert_eq!(eval(&p.input).unwrap().to_string(), p.output, "{}", p.input);
                let n = ops(p);
                match s {
                    HintSubset::I => assert!(train_inputs.contains(p.input.as_str())),
                    _ => assert!(!train_inputs.contains(p.input.as_str())),
                }
                match s {
                    HintSubset::I | HintSubset::SS | HintSubset::SL => assert!(n <= 10),
                    HintSubset::LS | HintSubset::LL => assert!((11..=20).contains(&n)),
                }
                let v: u64 = p.output.parse().unwrap();
                match s {
                    HintSubset::SL | HintSubset::LL => assert!(v <= 10_000),
                    _ => assert!(v <= 100),
                }
            }
        }
        // deterministic
        assert_eq!(hint(0).train, d.train);
        assert_ne!(hint(1).train, d.train);
    }
}
