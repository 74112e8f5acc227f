//! Truth tables over up to 16 variables (bit `m` is the value on minterm `m`; variable `i` is
//! bit `i` of `m`), the Minato–Morreale irredundant sum of products, and algebraic factoring.
//!
//! Tables with fewer than 6 variables are stored replicated across one 64-bit word, so the
//! variable masks are the same constants at every size and bitwise operations need no masking.

/// The largest number of variables a truth table may have here.
pub const MAX_VARS: usize = 16;

/// The truth tables of variables 0..6 over one word.
pub(crate) const VAR_MASKS: [u64; 6] = [
    0xAAAA_AAAA_AAAA_AAAA,
    0xCCCC_CCCC_CCCC_CCCC,
    0xF0F0_F0F0_F0F0_F0F0,
    0xFF00_FF00_FF00_FF00,
    0xFFFF_0000_FFFF_0000,
    0xFFFF_FFFF_0000_0000,
];

/// A complete truth table of a function of `vars` variables.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Tt {
    vars: usize,
    words: Vec<u64>,
}

pub fn words_for(vars: usize) -> usize {
    if vars <= 6 { 1 } else { 1 << (vars - 6) }
}

impl Tt {
    pub fn zero(vars: usize) -> Tt {
        Tt {
            vars,
            words: vec![0; words_for(vars)],
        }
    }
    pub fn one(vars: usize) -> Tt {
        Tt {
            vars,
            words: vec![!0; words_for(vars)],
        }
    }
    /// The projection onto variable `i`.
    pub fn var(vars: usize, i: usize) -> Tt {
        let mut t = Tt::zero(vars);
        if i < 6 {
            t.words.fill(VAR_MASKS[i]);
        } else {
            let block = 1 << (i - 6);
            for (w, x) in t.words.iter_mut().enumerate() {
                if w & block != 0 {
                    *x = !0;
                }
            }
        }
        t
    }
    /// From words laid out as here (replicated below 6 variables).
    pub fn from_words(vars: usize, words: Vec<u64>) -> Tt {
        debug_assert_eq!(words.len(), words_for(vars));
        let mut t = Tt { vars, words };
        t.normalize();
        t
    }
    /// From a table of `2^vars` bits (bit `m` = value on minterm `m`).
    pub fn from_fn(vars: usize, f: impl Fn(usize) -> bool) -> Tt {
        let mut t = Tt::zero(vars);
        for m in 0..1usize << vars {
            if f(m) {
                t.set(m, true);
            }
        }
        t.normalize();
        t
    }
    /// Replicates the low `2^vars` bits across the word when `vars < 6`.
    fn normalize(&mut self) {
        if self.vars < 6 {
            let n = 1u32 << self.vars;
            let mut w = self.words[0] & ((1u64 << n) - 1);
            let mut k = n;
            while k < 64 {
                w |= w << k;
                k *= 2;
            }
            self.words[0] = w;
        }
    }
    pub fn vars(&self) -> usize {
        self.vars
    }
    pub fn words(&self) -> &[u64] {
        &self.words
    }
    pub fn get(&self, m: usize) -> bool {
        self.words[m >> 6] >> (m & 63) & 1 == 1
    }
    pub fn set(&mut self, m: usize, v: bool) {
        if v {
            self.words[m >> 6] |= 1 << (m & 63);
        } else {
            self.words[m >> 6] &= !(1 << (m & 63));
        }
    }
    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }
    pub fn is_one(&self) -> bool {
        self.words.iter().all(|&w| w == !0)
    }
    pub fn count_ones(&self) -> usize {
        let c: usize = self.words.iter().map(|w| w.count_ones() as usize).sum();
        if self.vars < 6 {
            c >> (6 - self.vars)
        } else {
            c
        }
    }
    pub fn not(&self) -> Tt {
        Tt {
            vars: self.vars,
            words: self.words.iter().map(|w| !w).collect(),
        }
    }
    pub fn and(&self, o: &Tt) -> Tt {
        self.zip(o, |a, b| a & b)
    }
    pub fn or(&self, o: &Tt) -> Tt {
        self.zip(o, |a, b| a | b)
    }
    pub fn xor(&self, o: &Tt) -> Tt {
        self.zip(o, |a, b| a ^ b)
    }
    pub fn and_not(&self, o: &Tt) -> Tt {
        self.zip(o, |a, b| a & !b)
    }
    fn zip(&self, o: &Tt, f: impl Fn(u64, u64) -> u64) -> Tt {
        Tt {
            vars: self.vars,
            words: self
                .words
                .iter()
                .zip(&o.words)
                .map(|(&a, &b)| f(a, b))
                .collect(),
        }
    }
    /// `self ⊆ o`.
    pub fn implies(&self, o: &Tt) -> bool {
        self.words.iter().zip(&o.words).all(|(&a, &b)| a & !b == 0)
    }
    /// The cofactor with variable `i` fixed to `v`, as a table over the same variables (it no
    /// longer depends on `i`).
    pub fn cofactor(&self, i: usize, v: bool) -> Tt {
        let mut t = self.clone();
        if i < 6 {
            let s = 1 << i;
            let m = VAR_MASKS[i];
            for w in &mut t.words {
                *w = if v {
                    (*w & m) | ((*w & m) >> s)
                } else {
                    (*w & !m) | ((*w & !m) << s)
                };
            }
        } else {
            let block = 1 << (i - 6);
            for w in 0..t.words.len() {
                if w & block == 0 {
                    let (lo, hi) = (w, w | block);
                    let x = if v { t.words[hi] } else { t.words[lo] };
                    t.words[lo] = x;
                    t.words[hi] = x;
                }
            }
        }
        t
    }
    pub fn depends_on(&self, i: usize) -> bool {
        self.cofactor(i, false) != self.cofactor(i, true)
    }
    pub fn support(&self) -> Vec<usize> {
        (0..self.vars).filter(|&i| self.depends_on(i)).collect()
    }
}

/// A product term: variable `i` appears when bit `i` of `mask` is set, positively when bit
/// `i` of `pol` is set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct Cube {
    pub mask: u32,
    pub pol: u32,
}

impl Cube {
    pub fn literals(self) -> u32 {
        self.mask.count_ones()
    }
    fn with(self, i: usize, positive: bool) -> Cube {
        Cube {
            mask: self.mask | 1 << i,
            pol: self.pol | (positive as u32) << i,
        }
    }
}

/// An irredundant sum of products `c` with `on ⊆ c ⊆ on_dc` (Minato–Morreale).
pub fn isop(on: &Tt, on_dc: &Tt) -> Vec<Cube> {
    let mut cubes = Vec::new();
    isop_rec(on, on_dc, on.vars(), &mut cubes);
    cubes
}

fn isop_rec(on: &Tt, on_dc: &Tt, top: usize, out: &mut Vec<Cube>) -> Tt {
    if on.is_zero() {
        return Tt::zero(on.vars());
    }
    if on_dc.is_one() {
        out.push(Cube { mask: 0, pol: 0 });
        return Tt::one(on.vars());
    }
    let mut v = top;
    while v > 0 {
        v -= 1;
        if on.depends_on(v) || on_dc.depends_on(v) {
            break;
        }
    }
    let (on0, on1) = (on.cofactor(v, false), on.cofactor(v, true));
    let (dc0, dc1) = (on_dc.cofactor(v, false), on_dc.cofactor(v, true));
    let start0 = out.len();
    let f0 = isop_rec(&on0.and_not(&dc1), &dc0, v, out);
    for c in &mut out[start0..] {
        *c = c.with(v, false);
    }
    let start1 = out.len();
    let f1 = isop_rec(&on1.and_not(&dc0), &dc1, v, out);
    for c in &mut out[start1..] {
        *c = c.with(v, true);
    }
    let rest = on0.and_not(&f0).or(&on1.and_not(&f1));
    let fs = isop_rec(&rest, &dc0.and(&dc1), v, out);
    let x = Tt::var(on.vars(), v);
    f0.and_not(&x).or(&f1.and(&x)).or(&fs)
}

/// A factored form: a tree of ANDs and ORs over literals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Factored {
    Const(bool),
    Lit(usize, bool),
    And(Vec<Factored>),
    Or(Vec<Factored>),
}

impl Factored {
    /// The number of two-input gates a tree of this form takes.
    pub fn gates(&self) -> usize {
        match self {
            Factored::Const(_) | Factored::Lit(..) => 0,
            Factored::And(xs) | Factored::Or(xs) => {
                xs.len().saturating_sub(1) + xs.iter().map(Factored::gates).sum::<usize>()
            }
        }
    }
}

/// Algebraic factoring of a cover by its most frequent literal (quick factor):
/// `F = l·(F/l) + R`, recursively.
pub fn factor(cubes: &[Cube]) -> Factored {
    if cubes.is_empty() {
        return Factored::Const(false);
    }
    if cubes.iter().any(|c| c.mask == 0) {
        return Factored::Const(true);
    }
    if cubes.len() == 1 {
        return cube_form(cubes[0]);
    }
    // Literal counts: index 2·var + positive.
    let mut count = [0u32; 2 * 32];
    for c in cubes {
        for i in 0..32 {
            if c.mask >> i & 1 == 1 {
                count[2 * i + (c.pol >> i & 1) as usize] += 1;
            }
        }
    }
    let (best, &n) = count
        .iter()
        .enumerate()
        .max_by_key(|&(i, &n)| (n, std::cmp::Reverse(i)))
        .unwrap_or((0, &0));
    if n <= 1 {
        return Factored::Or(cubes.iter().map(|&c| cube_form(c)).collect());
    }
    let (var, positive) = (best / 2, best % 2 == 1);
    let bit = 1u32 << var;
    let (mut quotient, mut rest) = (Vec::new(), Vec::new());
    for &c in cubes {
        if c.mask & bit != 0 && (c.pol & bit != 0) == positive {
            quotient.push(Cube {
                mask: c.mask & !bit,
                pol: c.pol & !bit,
            });
        } else {
            rest.push(c);
        }
    }
    // Common cube of the quotient moves out too.
    let q = factor(&quotient);
    let lit = Factored::Lit(var, positive);
    let prod = match q {
        Factored::Const(true) => lit,
        Factored::And(mut xs) => {
            xs.insert(0, lit);
            Factored::And(xs)
        }
        other => Factored::And(vec![lit, other]),
    };
    if rest.is_empty() {
        return prod;
    }
    match factor(&rest) {
        Factored::Or(mut xs) => {
            xs.insert(0, prod);
            Factored::Or(xs)
        }
        Factored::Const(false) => prod,
        other => Factored::Or(vec![prod, other]),
    }
}

fn cube_form(c: Cube) -> Factored {
    let lits: Vec<Factored> = (0..32)
        .filter(|i| c.mask >> i & 1 == 1)
        .map(|i| Factored::Lit(i, c.pol >> i & 1 == 1))
        .collect();
    match lits.len() {
        0 => Factored::Const(true),
        1 => lits.into_iter().next().unwrap_or(Factored::Const(true)),
        _ => Factored::And(lits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_cubes(cubes: &[Cube], m: usize) -> bool {
        cubes.iter().any(|c| {
            (0..32).all(|i| c.mask >> i & 1 == 0 || ((m >> i & 1) as u32) == (c.pol >> i & 1))
        })
    }

    fn eval_factored(f: &Factored, m: usize) -> bool {
        match f {
            Factored::Const(b) => *b,
            Factored::Lit(i, p) => (m >> i & 1 == 1) == *p,
            Factored::And(xs) => xs.iter().all(|x| eval_factored(x, m)),
            Factored::Or(xs) => xs.iter().any(|x| eval_factored(x, m)),
        }
    }

    #[test]
    fn cofactors_and_support() {
        for vars in [3, 6, 8] {
            let f = Tt::from_fn(vars, |m| (m & 1 == 1) ^ (m >> 2 & 1 == 1));
            assert_eq!(f.support(), vec![0, 2]);
            let c = f.cofactor(2, true);
            for m in 0..1 << vars {
                assert_eq!(c.get(m), m & 1 == 0);
            }
            assert_eq!(Tt::var(vars, vars - 1).count_ones(), 1 << (vars - 1));
        }
    }

    #[test]
    fn isop_and_factor_are_exact() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for vars in 1..=9 {
            for _ in 0..20 {
                let mut t = Tt::zero(vars);
                for m in 0..1 << vars {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    t.set(m, seed & 3 == 0);
                }
                t.normalize();
                let cubes = isop(&t, &t);
                let f = factor(&cubes);
                for m in 0..1 << vars {
                    assert_eq!(eval_cubes(&cubes, m), t.get(m));
                    assert_eq!(eval_factored(&f, m), t.get(m));
                }
            }
        }
    }
}
