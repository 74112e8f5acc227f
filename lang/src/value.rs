//! Scalar values and the elementwise operations on them: the arithmetic of the language.
//!
//! Every elementwise operator of the interpreter (and of any later compiled model) is defined
//! here, once, on single values. Sequences apply these position by position.

use crate::ast::BinOp;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// One value at one position (or a scalar).
#[derive(Debug, Clone)]
pub enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
}

/// Why an elementwise operation failed (the caller adds where).
#[derive(Debug, Clone, PartialEq)]
pub enum OpError {
    Type(String),
    DivisionByZero,
    Overflow(String),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Type(m) => write!(f, "{m}"),
            OpError::DivisionByZero => write!(f, "division by zero"),
            OpError::Overflow(m) => write!(f, "integer overflow in {m}"),
        }
    }
}

impl Val {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Val::None => "none",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
        }
    }

    /// The string `s` (never parsed: `"1"` stays a string).
    pub fn string(s: &str) -> Val {
        Val::Str(Arc::from(s))
    }

    /// Parse one input token: an integer-looking token is an int, anything else a string.
    pub fn from_token(tok: &str) -> Val {
        let digits = tok.strip_prefix('-').unwrap_or(tok);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = tok.parse::<i64>()
        {
            return Val::Int(i);
        }
        Val::Str(Arc::from(tok))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(x) => Some(*x),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Val::None => 0,
            Val::Bool(_) => 1,
            Val::Int(_) | Val::Float(_) => 2,
            Val::Str(_) => 3,
        }
    }

    /// The total order used by `<`, `select(.., <)`, sorting and printing of value sets:
    /// `none` < booleans < numbers (by value) < strings (lexicographic).
    pub fn total_cmp(&self, other: &Val) -> Ordering {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::Int(a), Val::Float(x)) => cmp_int_float(*a, *x),
            (Val::Float(x), Val::Int(a)) => cmp_int_float(*a, *x).reverse(),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Str(a), Val::Str(b)) => a.cmp(b),
            (Val::None, Val::None) => Ordering::Equal,
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.rank().cmp(&b.rank()),
            },
        }
    }

    /// Equality as `==` sees it: numbers compare by value (`1 == 1.0`).
    pub fn eq_val(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a == b,
            (Val::Int(a), Val::Float(x)) | (Val::Float(x), Val::Int(a)) => eq_int_float(*a, *x),
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Bool(a), Val::Bool(b)) => a == b,
            (Val::None, Val::None) => true,
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            },
        }
    }
}

/// Integers of up to 2^53 in magnitude are exactly floats: they compare as their float does
/// (so `0` sits above `-0.0` in the order and `==` it, as `0.0` does).
const EXACT_INT: i64 = 1 << 53;

/// An integer against a float by exact value. Beyond 2^53 an `i64` is not rounded to a float
/// first: rounding made `2^53 + 1` equal to `2.0^53`, and `2.0^53` equal to `2^53`, so the
/// order was not transitive (and sets of values depended on their order).
fn cmp_int_float(i: i64, x: f64) -> Ordering {
    if (-EXACT_INT..=EXACT_INT).contains(&i) || x.is_nan() {
        return (i as f64).total_cmp(&x);
    }
    // 2^63: above every i64; every float below it in magnitude has an i64 integer part
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x >= TWO_63 {
        return Ordering::Less;
    }
    if x < -TWO_63 {
        return Ordering::Greater;
    }
    let t = x.trunc();
    i.cmp(&(t as i64)).then_with(|| t.total_cmp(&x))
}

/// `==` between an integer and a float: equal as numbers (`1 == 1.0`, `0 == -0.0`).
fn eq_int_float(i: i64, x: f64) -> bool {
    if (-EXACT_INT..=EXACT_INT).contains(&i) {
        return i as f64 == x;
    }
    cmp_int_float(i, x) == Ordering::Equal
}

impl PartialEq for Val {
    fn eq(&self, other: &Val) -> bool {
        self.eq_val(other)
    }
}

impl Eq for Val {}

impl PartialOrd for Val {
    fn partial_cmp(&self, other: &Val) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Val {
    fn cmp(&self, other: &Val) -> Ordering {
        self.total_cmp(other)
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::None => write!(f, "none"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Float(x) => write!(f, "{}", format_float(*x)),
            Val::Str(s) => write!(f, "{s}"),
        }
    }
}

/// Format a float with up to 6 significant digits, like C's `%g`: `2.0` prints as `2`,
/// `1/3` as `0.333333`, `1e-7` as `1e-07`.
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let exp = x.abs().log10().floor() as i32;
    // Round to 6 significant digits first; rounding may bump the exponent (9.999999 -> 10).
    let sci = format!("{:.5e}", x);
    let (mantissa, e) = sci.split_once('e').unwrap_or((&sci, "0"));
    let e: i32 = e.parse().unwrap_or(exp);
    if !(-4..6).contains(&e) {
        let m = trim_zeros(mantissa);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", e.abs());
    }
    let decimals = (5 - e).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, x)).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn type_err(op: &str, a: &Val, b: &Val) -> OpError {
    OpError::Type(format!(
        "cannot apply `{op}` to {} `{a}` and {} `{b}`",
        a.kind_name(),
        b.kind_name()
    ))
}

fn python_mod_i(a: i64, b: i64) -> i64 {
    let r = a.wrapping_rem(b);
    if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}

fn python_mod_f(a: f64, b: f64) -> f64 {
    let r = a % b;
    if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
        r + b
    } else {
        r
    }
}

/// Apply a binary operator to two scalars.
pub fn binop(op: BinOp, a: &Val, b: &Val) -> Result<Val, OpError> {
    use BinOp::*;
    match op {
        Eq => return Ok(Val::Bool(a.eq_val(b))),
        Ne => return Ok(Val::Bool(!a.eq_val(b))),
        Lt => return Ok(Val::Bool(a.total_cmp(b) == Ordering::Less)),
        Le => return Ok(Val::Bool(a.total_cmp(b) != Ordering::Greater)),
        Gt => return Ok(Val::Bool(a.total_cmp(b) == Ordering::Greater)),
        Ge => return Ok(Val::Bool(a.total_cmp(b) != Ordering::Less)),
        And | Amp | Or | Pipe | Xor => {
            return match (a, b) {
                (Val::Bool(x), Val::Bool(y)) => Ok(Val::Bool(match op {
                    And | Amp => *x && *y,
                    Or | Pipe => *x || *y,
                    _ => *x != *y,
                })),
                _ => Err(type_err(op.symbol(), a, b)),
            };
        }
        _ => {}
    }
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => {
            let (x, y) = (*x, *y);
            let ov = || OpError::Overflow(format!("{x} {} {y}", op.symbol()));
            match op {
                Add => x.checked_add(y).map(Val::Int).ok_or_else(ov),
                Sub => x.checked_sub(y).map(Val::Int).ok_or_else(ov),
                Mul => x.checked_mul(y).map(Val::Int).ok_or_else(ov),
                Div => {
                    if y == 0 {
                        Err(OpError::DivisionByZero)
                    } else {
                        Ok(Val::Float(x as f64 / y as f64))
                    }
                }
                FloorDiv => {
                    if y == 0 {
                        Err(OpError::DivisionByZero)
                    } else {
                        let q = x.checked_div(y).ok_or_else(ov)?;
                        let q = if (x % y != 0) && ((x < 0) != (y < 0)) {
                            q - 1
                        } else {
                            q
                        };
                        Ok(Val::Int(q))
                    }
                }
                Rem => {
                    if y == 0 {
                        Err(OpError::DivisionByZero)
                    } else {
                        Ok(Val::Int(python_mod_i(x, y)))
                    }
                }
                Shl | Shr => {
                    if !(0..64).contains(&y) {
                        return Err(OpError::Overflow(format!(
                            "{x} {} {y} (shift amounts are 0..64)",
                            op.symbol()
                        )));
                    }
                    if op == Shr {
                        return Ok(Val::Int(x >> y));
                    }
                    let r = x.wrapping_shl(y as u32);
                    if r >> y == x {
                        Ok(Val::Int(r))
                    } else {
                        Err(ov())
                    }
                }
                _ => Err(type_err(op.symbol(), a, b)),
            }
        }
        (Val::Str(x), Val::Str(y)) if op == Add => {
            let mut s = String::with_capacity(x.len() + y.len());
            s.push_str(x);
            s.push_str(y);
            Ok(Val::Str(Arc::from(s)))
        }
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => {
                let r = match op {
                    Add => x + y,
                    Sub => x - y,
                    Mul => x * y,
                    Div | FloorDiv | Rem if y == 0.0 => return Err(OpError::DivisionByZero),
                    Div => x / y,
                    FloorDiv => (x / y).floor(),
                    Rem => python_mod_f(x, y),
                    _ => return Err(type_err(op.symbol(), a, b)),
                };
                Ok(Val::Float(r))
            }
            _ => Err(type_err(op.symbol(), a, b)),
        },
    }
}

/// Negation and logical not of a scalar.
pub fn neg(a: &Val) -> Result<Val, OpError> {
    match a {
        Val::Int(i) => i
            .checked_neg()
            .map(Val::Int)
            .ok_or_else(|| OpError::Overflow(format!("-{i}"))),
        Val::Float(x) => Ok(Val::Float(-x)),
        _ => Err(OpError::Type(format!(
            "cannot negate {} `{a}`",
            a.kind_name()
        ))),
    }
}

pub fn not(a: &Val) -> Result<Val, OpError> {
    match a {
        Val::Bool(b) => Ok(Val::Bool(!b)),
        _ => Err(OpError::Type(format!(
            "`not` needs a bool, found {} `{a}`",
            a.kind_name()
        ))),
    }
}

/// `numeric(x)` on one value: booleans become 1 and 0, numbers stay.
pub fn to_numeric(a: &Val) -> Result<Val, OpError> {
    match a {
        Val::Bool(b) => Ok(Val::Int(i64::from(*b))),
        Val::Int(_) | Val::Float(_) => Ok(a.clone()),
        _ => Err(OpError::Type(format!(
            "`numeric` needs numbers or booleans, found {} `{a}`",
            a.kind_name()
        ))),
    }
}

/// The scalar built-in functions usable elementwise (and inside lambdas).
pub const SCALAR_BUILTINS: &[&str] = &["round", "floor", "ceil", "abs", "int", "float", "str"];

pub fn scalar_builtin(name: &str, a: &Val) -> Result<Val, OpError> {
    let num = |a: &Val| {
        a.as_f64().ok_or_else(|| {
            OpError::Type(format!(
                "`{name}` needs a number, found {} `{a}`",
                a.kind_name()
            ))
        })
    };
    let to_int = |x: f64| {
        if x.is_finite() && x.abs() < 9.0e18 {
            Ok(Val::Int(x as i64))
        } else {
            Err(OpError::Overflow(format!("{name}({})", format_float(x))))
        }
    };
    match name {
        "round" => match a {
            Val::Int(_) => Ok(a.clone()),
            _ => to_int(num(a)?.round_ties_even()),
        },
        "floor" => match a {
            Val::Int(_) => Ok(a.clone()),
            _ => to_int(num(a)?.floor()),
        },
        "ceil" => match a {
            Val::Int(_) => Ok(a.clone()),
            _ => to_int(num(a)?.ceil()),
        },
        "abs" => match a {
            Val::Int(i) => i
                .checked_abs()
                .map(Val::Int)
                .ok_or_else(|| OpError::Overflow(format!("abs({i})"))),
            _ => Ok(Val::Float(num(a)?.abs())),
        },
        "int" => match a {
            Val::Int(_) => Ok(a.clone()),
            Val::Bool(b) => Ok(Val::Int(i64::from(*b))),
            Val::Str(s) => s
                .trim()
                .parse::<i64>()
                .map(Val::Int)
                .map_err(|_| OpError::Type(format!("`int` cannot read \"{s}\" as an integer"))),
            _ => to_int(num(a)?.trunc()),
        },
        "float" => match a {
            Val::Str(s) => s
                .trim()
                .parse::<f64>()
                .map(Val::Float)
                .map_err(|_| OpError::Type(format!("`float` cannot read \"{s}\" as a number"))),
            Val::Bool(b) => Ok(Val::Float(f64::from(u8::from(*b)))),
            _ => Ok(Val::Float(num(a)?)),
        },
        "str" => Ok(Val::Str(Arc::from(a.to_string()))),
        _ => Err(OpError::Type(format!("unknown built-in `{name}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_percent_g() {
        assert_eq!(format_float(2.0), "2");
        assert_eq!(format_float(1.0 / 3.0), "0.333333");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(-2.5), "-2.5");
        assert_eq!(format_float(1234567.0), "1.23457e+06");
        assert_eq!(format_float(1e-7), "1e-07");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(0.00001), "1e-05");
        assert_eq!(format_float(9.9999999), "10");
        assert_eq!(format_float(123456.0), "123456");
    }

    #[test]
    fn python_style_division_and_modulo() {
        let i = Val::Int;
        assert_eq!(binop(BinOp::FloorDiv, &i(-7), &i(2)), Ok(i(-4)));
        assert_eq!(binop(BinOp::Rem, &i(-7), &i(3)), Ok(i(2)));
        assert_eq!(binop(BinOp::Rem, &i(7), &i(-3)), Ok(i(-2)));
        assert_eq!(
            binop(BinOp::Div, &i(1), &i(0)),
            Err(OpError::DivisionByZero)
        );
        assert!(matches!(
            binop(BinOp::Add, &i(i64::MAX), &i(1)),
            Err(OpError::Overflow(_))
        ));
    }

    #[test]
    fn shifts_are_checked() {
        let i = Val::Int;
        assert_eq!(binop(BinOp::Shl, &i(3), &i(4)), Ok(i(48)));
        assert_eq!(binop(BinOp::Shr, &i(-8), &i(1)), Ok(i(-4)));
        for (x, y) in [(1, 63), (3, 62), (1, 64), (1, -1)] {
            assert!(
                matches!(binop(BinOp::Shl, &i(x), &i(y)), Err(OpError::Overflow(_))),
                "{x} << {y}"
            );
        }
    }

    #[test]
    fn total_order_across_kinds() {
        let s = |x: &str| Val::Str(Arc::from(x));
        assert!(Val::None < Val::Bool(false));
        assert!(Val::Bool(true) < Val::Int(-5));
        assert!(Val::Int(2) < Val::Float(2.5));
        assert!(Val::Float(1e9) < s("a"));
        assert_eq!(Val::Int(1), Val::Float(1.0));
    }

    /// Integers and floats compare by exact value, so the order is a total preorder (antisymmetric
    /// and transitive) on every mix of them, and `==` agrees with it (but for `-0.0`, which
    /// `==` takes for `0` and the order puts just below it, and NaN, which `==` never equals).
    #[test]
    fn integers_and_floats_compare_by_exact_value() {
        let big = 1i64 << 53;
        let mut vals: Vec<Val> = [
            0,
            1,
            -1,
            big - 1,
            big,
            big + 1,
            big + 2,
            -big - 1,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            (1 << 62) + 1,
        ]
        .into_iter()
        .map(Val::Int)
        .collect();
        let floats = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            big as f64,
            (big + 2) as f64,
            -(big as f64),
            9_223_372_036_854_775_808.0,
            -9_223_372_036_854_775_808.0,
            4.611_686_018_427_388e18,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
        ];
        vals.extend(floats.into_iter().map(Val::Float));
        for a in &vals {
            for b in &vals {
                assert_eq!(a.total_cmp(b), b.total_cmp(a).reverse(), "{a:?} {b:?}");
                let zero_or_nan = |v: &Val| matches!(v, Val::Float(x) if *x == 0.0 || x.is_nan());
                if !zero_or_nan(a) && !zero_or_nan(b) {
                    assert_eq!(
                        a.eq_val(b),
                        a.total_cmp(b) == Ordering::Equal,
                        "{a:?} {b:?}"
                    );
                }
                for c in &vals {
                    if a.total_cmp(b) != Ordering::Greater && b.total_cmp(c) != Ordering::Greater {
                        assert_ne!(a.total_cmp(c), Ordering::Greater, "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
        let (i, f) = (Val::Int, Val::Float);
        assert!(i(big + 1) > f(big as f64));
        assert_ne!(i(big + 1), f(big as f64));
        assert_eq!(i(big), f(big as f64));
        assert!(i(i64::MAX) < f(9_223_372_036_854_775_808.0));
        assert_eq!(i(i64::MIN), f(-9_223_372_036_854_775_808.0));
        assert!(i(-big - 1) < f(-(big as f64)));
        assert_eq!(i(0), f(-0.0));
        assert!(f(-0.0) < i(0));
    }

    #[test]
    fn tokens_parse_ints_only_when_integer_looking() {
        assert_eq!(Val::from_token("12"), Val::Int(12));
        assert_eq!(Val::from_token("-3"), Val::Int(-3));
        assert!(matches!(Val::from_token("1.5"), Val::Str(_)));
        assert!(matches!(Val::from_token("+"), Val::Str(_)));
        assert!(matches!(Val::from_token("-"), Val::Str(_)));
        assert!(matches!(
            Val::from_token("99999999999999999999"),
            Val::Str(_)
        ));
    }
}
