//! Circuit items: `circuit NAME(a: bits[4], b: bits[4]) -> bits[5] { a + b }`.
//!
//! A circuit body is elaborated by one generic evaluator, [`elaborate`], over any
//! [`BitAlgebra`]: with `bool` it is the interpreter (the specification), with `()` it checks
//! widths without values (the type checker), and the compiler gives it and-inverter-graph
//! literals to build the circuit. One definition of every operator serves all three, so the
//! compiled circuit cannot drift from the interpreter.
//!
//! Values are bit vectors `bits[w]` (bit 0 is the least significant) and compile-time integers
//! (indices, shift amounts, constants). An integer meeting a bit vector takes its width (two's
//! complement, and it must fit). Binary operators zero-extend the narrower operand.
//!
//! | form | width | meaning |
//! |---|---|---|
//! | `a & b`, `a \| b`, `a ^ b`, `!a` | max | bitwise |
//! | `a + b` | max + 1 | sum with carry out |
//! | `a - b`, `-a` | max | two's complement, modulo 2^w |
//! | `a * b` | wa + wb | full unsigned product |
//! | `a == b` … `a >= b` | 1 | unsigned comparison |
//! | `a << k`, `a >> k` | wa | logical shifts; `k` an integer or a bit vector (barrel shifter) |
//! | `if c then a else b` | max | `c` is `bits[1]` (a mux), or an integer (chosen at compile time) |
//! | `a[i]`, `a[lo..hi]` | 1, hi − lo | bit and slice, integer bounds |
//! | `concat(lo, …, hi)` | sum | the first argument in the low bits |
//! | `table("f.truth")`, `table("f.truth", x)` | lines | a lookup table in the IWLS format over all parameters (parameter 0 in the low bits), or over `x` |
//! | `other(x, y)` | its result | another circuit, inlined |

use crate::ast::{BinOp, Expr, ExprKind, FnDef, Stmt, UnOp};
use crate::diag::Diagnostic;
use crate::program::{DefId, DefKind, Program};
use crate::span::Span;
use std::path::{Path, PathBuf};

/// The widest bit vector a circuit may build.
pub const MAX_WIDTH: usize = 1 << 16;
/// The most inputs a `table` file may have.
pub const MAX_TABLE_INPUTS: usize = 16;

/// The operations a bit domain provides.
pub trait BitAlgebra {
    type B: Clone;
    fn constant(&mut self, v: bool) -> Self::B;
    fn and(&mut self, a: &Self::B, b: &Self::B) -> Self::B;
    fn not(&mut self, a: &Self::B) -> Self::B;
    fn or(&mut self, a: &Self::B, b: &Self::B) -> Self::B {
        let (na, nb) = (self.not(a), self.not(b));
        let x = self.and(&na, &nb);
        self.not(&x)
    }
    fn xor(&mut self, a: &Self::B, b: &Self::B) -> Self::B {
        let nb = self.not(b);
        let x = self.and(a, &nb);
        let na = self.not(a);
        let y = self.and(&na, b);
        self.or(&x, &y)
    }
    fn mux(&mut self, s: &Self::B, t: &Self::B, e: &Self::B) -> Self::B {
        let x = self.and(s, t);
        let ns = self.not(s);
        let y = self.and(&ns, e);
        self.or(&x, &y)
    }
}

/// Concrete evaluation: the interpreter.
pub struct Bools;

impl BitAlgebra for Bools {
    type B = bool;
    fn constant(&mut self, v: bool) -> bool {
        v
    }
    fn and(&mut self, a: &bool, b: &bool) -> bool {
        *a && *b
    }
    fn not(&mut self, a: &bool) -> bool {
        !a
    }
    fn or(&mut self, a: &bool, b: &bool) -> bool {
        *a || *b
    }
    fn xor(&mut self, a: &bool, b: &bool) -> bool {
        a ^ b
    }
    fn mux(&mut self, s: &bool, t: &bool, e: &bool) -> bool {
        if *s { *t } else { *e }
    }
}

/// 64 evaluations at once: bit `j` of every word is evaluation `j` (for exhaustive checks).
pub struct Words;

impl BitAlgebra for Words {
    type B = u64;
    fn constant(&mut self, v: bool) -> u64 {
        if v { !0 } else { 0 }
    }
    fn and(&mut self, a: &u64, b: &u64) -> u64 {
        a & b
    }
    fn not(&mut self, a: &u64) -> u64 {
        !a
    }
    fn or(&mut self, a: &u64, b: &u64) -> u64 {
        a | b
    }
    fn xor(&mut self, a: &u64, b: &u64) -> u64 {
        a ^ b
    }
    fn mux(&mut self, s: &u64, t: &u64, e: &u64) -> u64 {
        (s & t) | (!s & e)
    }
}

/// Widths only: the type checker.
pub struct Widths;

impl BitAlgebra for Widths {
    type B = ();
    fn constant(&mut self, _: bool) {}
    fn and(&mut self, _: &(), _: &()) {}
    fn not(&mut self, _: &()) {}
}

/// An elaboration error with the place it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitError {
    pub kind: &'static str,
    pub message: String,
    pub span: Span,
    pub notes: Vec<String>,
}

impl CircuitError {
    pub fn code(&self) -> &'static str {
        match self.kind {
            "WidthMismatch" => "E0520",
            "TableError" => "E0522",
            "IndexOutOfRange" => "E0506",
            "RecursionLimit" => "E0508",
            "LimitExceeded" => "E0511",
            "UnknownName" => "E0100",
            _ => "E0521",
        }
    }
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut d = Diagnostic::error(self.code(), self.kind, self.message.clone())
            .with_primary(self.span, self.kind);
        for n in &self.notes {
            d = d.with_note(n.clone());
        }
        d
    }
}

type R<T> = Result<T, CircuitError>;

/// Two operands of one width.
type Pair<B> = (Vec<B>, Vec<B>);

fn err<T>(kind: &'static str, span: Span, message: impl Into<String>) -> R<T> {
    Err(CircuitError {
        kind,
        message: message.into(),
        span,
        notes: Vec::new(),
    })
}

/// A value during elaboration.
#[derive(Clone, Debug)]
pub enum CVal<B> {
    Int(i64),
    Bits(Vec<B>),
}

/// A circuit's interface: parameter names and widths, and the declared result width.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub params: Vec<(String, usize)>,
    pub ret: Option<usize>,
}

fn circuit_def(program: &Program, def: DefId) -> Option<&FnDef> {
    match &program.def(def).kind {
        DefKind::Circuit(f) => Some(f),
        _ => None,
    }
}

fn width_of(t: &crate::ast::TypeExpr) -> R<usize> {
    match (t.name.name.as_str(), &t.arg) {
        ("bits", Some(crate::ast::TypeArg::Size(n)))
            if *n >= 1 && (*n as u64) <= MAX_WIDTH as u64 =>
        {
            Ok(*n as usize)
        }
        ("bits", Some(crate::ast::TypeArg::Size(n))) => err(
            "LimitExceeded",
            t.span,
            format!("`bits[{n}]`: a width must be between 1 and {MAX_WIDTH}"),
        ),
        _ => err(
            "WidthMismatch",
            t.span,
            format!(
                "circuit values are bit vectors: write `bits[n]`, not `{}`",
                t.name.name
            ),
        ),
    }
}

/// The interface of circuit `def`.
pub fn signature(program: &Program, def: DefId) -> R<Signature> {
    let span = program.def(def).span;
    let Some(f) = circuit_def(program, def) else {
        return err(
            "CircuitError",
            span,
            format!("`{}` is not a circuit", program.def(def).name),
        );
    };
    let mut params = Vec::new();
    for p in &f.params {
        let Some(t) = &p.ty else {
            return err(
                "WidthMismatch",
                p.span,
                format!(
                    "parameter `{}` needs a width: `{}: bits[n]`",
                    p.name.name, p.name.name
                ),
            );
        };
        params.push((p.name.name.clone(), width_of(t)?));
    }
    let ret = f.ret.as_ref().map(width_of).transpose()?;
    Ok(Signature { params, ret })
}

/// Reads the text of a `table` file (the facade reads from disk; tests and fuzzing give none).
pub trait TableFiles {
    fn read(&self, path: &Path) -> Result<String, String>;
}

/// Tables read from the file system.
pub struct DiskTables;

/// The largest table file read (a 16-input, 256-output table is 16 MiB).
pub const MAX_TABLE_BYTES: u64 = 1 << 24;

impl TableFiles for DiskTables {
    fn read(&self, path: &Path) -> Result<String, String> {
        // Only regular files of bounded size: never a device or a pipe that could block.
        let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("not a regular file".into());
        }
        if meta.len() > MAX_TABLE_BYTES {
            return Err(format!("larger than {MAX_TABLE_BYTES} bytes"));
        }
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// No table files (every `table` is an error).
pub struct NoTables;

impl TableFiles for NoTables {
    fn read(&self, _: &Path) -> Result<String, String> {
        Err("table files are not available here".into())
    }
}

/// The most bit operations one elaboration may perform (a circuit that would need more is
/// `LimitExceeded`, so that nested calls or wide products cannot make `check` or `run` hang).
pub const MAX_GATES: u64 = 10_000_000;
/// The largest product `a * b` (in partial-product bits, wa · wb).
pub const MAX_PRODUCT: usize = 1 << 20;

/// An algebra that counts its operations.
struct Counted<'a, A: BitAlgebra> {
    inner: &'a mut A,
    ops: u64,
}

impl<A: BitAlgebra> BitAlgebra for Counted<'_, A> {
    type B = A::B;
    fn constant(&mut self, v: bool) -> A::B {
        self.inner.constant(v)
    }
    fn and(&mut self, a: &A::B, b: &A::B) -> A::B {
        self.ops += 1;
        self.inner.and(a, b)
    }
    fn not(&mut self, a: &A::B) -> A::B {
        self.inner.not(a)
    }
    fn or(&mut self, a: &A::B, b: &A::B) -> A::B {
        self.ops += 1;
        self.inner.or(a, b)
    }
    fn xor(&mut self, a: &A::B, b: &A::B) -> A::B {
        self.ops += 3;
        self.inner.xor(a, b)
    }
    fn mux(&mut self, s: &A::B, t: &A::B, e: &A::B) -> A::B {
        self.ops += 3;
        self.inner.mux(s, t, e)
    }
}

struct Elab<'a, A: BitAlgebra> {
    program: &'a Program,
    alg: Counted<'a, A>,
    tables: &'a dyn TableFiles,
    stack: Vec<DefId>,
}

/// Elaborates circuit `def` on `args` (one bit vector per parameter, of its width) and returns
/// its result bits.
pub fn elaborate<A: BitAlgebra>(
    program: &Program,
    def: DefId,
    alg: &mut A,
    args: Vec<Vec<A::B>>,
    tables: &dyn TableFiles,
) -> R<Vec<A::B>> {
    let mut e = Elab {
        program,
        alg: Counted { inner: alg, ops: 0 },
        tables,
        stack: Vec::new(),
    };
    e.call(
        def,
        args.into_iter().map(CVal::Bits).collect(),
        program.def(def).span,
    )
}

/// Checks a circuit's widths without values (every error the elaboration would raise).
pub fn check(program: &Program, def: DefId, tables: &dyn TableFiles) -> R<Vec<()>> {
    let sig = signature(program, def)?;
    let args = sig.params.iter().map(|(_, w)| vec![(); *w]).collect();
    elaborate(program, def, &mut Widths, args, tables)
}

/// Runs a circuit on integer arguments (the interpreter's entry for circuits).
pub fn run(
    program: &Program,
    def: DefId,
    args: &[Vec<bool>],
    tables: &dyn TableFiles,
) -> R<Vec<bool>> {
    elaborate(program, def, &mut Bools, args.to_vec(), tables)
}

/// Parses a circuit argument: decimal, `0b…`, `0x…`, or a width-prefixed `8'b…`/`8'hff`/`8'd3`.
pub fn parse_bits(text: &str, width: usize) -> Result<Vec<bool>, String> {
    let t = text.trim().replace('_', "");
    let (digits, radix) = if let Some(rest) = t.strip_prefix("0b") {
        (rest.to_string(), 2)
    } else if let Some(rest) = t.strip_prefix("0x") {
        (rest.to_string(), 16)
    } else if let Some((_, rest)) = t.split_once('\'') {
        match rest.split_at_checked(1) {
            Some(("b", d)) => (d.to_string(), 2),
            Some(("h", d)) => (d.to_string(), 16),
            Some(("d", d)) => (d.to_string(), 10),
            _ => {
                return Err(format!(
                    "`{text}`: expected a number like 5, 0b101, 0x1f or 8'hff"
                ));
            }
        }
    } else {
        (t.clone(), 10)
    };
    if digits.is_empty() {
        return Err(format!("`{text}`: no digits"));
    }
    // Digits to bits, least significant first, any length.
    let mut bits: Vec<bool> = Vec::new();
    if radix == 10 {
        let mut n: Vec<u32> = Vec::new();
        for c in digits.chars() {
            let d = c
                .to_digit(10)
                .ok_or_else(|| format!("`{text}`: `{c}` is not a decimal digit"))?;
            n.push(d);
        }
        // Repeated division by two of the decimal digit string.
        while n.iter().any(|&d| d != 0) {
            let mut rem = 0;
            for d in n.iter_mut() {
                let cur = rem * 10 + *d;
                *d = cur / 2;
                rem = cur % 2;
            }
            bits.push(rem == 1);
        }
    } else {
        let per = if radix == 2 { 1 } else { 4 };
        for c in digits.chars().rev() {
            let d = c
                .to_digit(radix)
                .ok_or_else(|| format!("`{text}`: `{c}` is not a base-{radix} digit"))?;
            for i in 0..per {
                bits.push(d >> i & 1 == 1);
            }
        }
    }
    while bits.last() == Some(&false) {
        bits.pop();
    }
    if bits.len() > width {
        return Err(format!("`{text}` does not fit in bits[{width}]"));
    }
    bits.resize(width, false);
    Ok(bits)
}

/// Prints bits as `w'b…` (most significant first) with the unsigned value when it fits in 128
/// bits: `5'b01000 (8)`.
pub fn render_bits(bits: &[bool]) -> String {
    let s: String = bits
        .iter()
        .rev()
        .map(|&b| if b { '1' } else { '0' })
        .collect();
    if bits.len() <= 128 {
        let v = bits
            .iter()
            .rev()
            .fold(0u128, |acc, &b| acc << 1 | b as u128);
        format!("{}'b{s} ({v})", bits.len())
    } else {
        format!("{}'b{s}", bits.len())
    }
}

impl<A: BitAlgebra> Elab<'_, A> {
    fn call(&mut self, def: DefId, args: Vec<CVal<A::B>>, span: Span) -> R<Vec<A::B>> {
        let sig = signature(self.program, def)?;
        let Some(f) = circuit_def(self.program, def) else {
            return err("CircuitError", span, "not a circuit");
        };
        self.may_enter(
            def,
            span,
            &format!(
                "circuit `{}` calls itself: circuits cannot be recursive",
                f.name.name
            ),
        )?;
        if args.len() != sig.params.len() {
            return err(
                "WidthMismatch",
                span,
                format!(
                    "`{}` takes {} arguments, found {}",
                    f.name.name,
                    sig.params.len(),
                    args.len()
                ),
            );
        }
        let mut env: Vec<(String, CVal<A::B>)> = Vec::new();
        for ((name, w), a) in sig.params.iter().zip(args) {
            let bits = self.as_bits(a, Some(*w), span)?;
            if bits.len() != *w {
                return err(
                    "WidthMismatch",
                    span,
                    format!(
                        "parameter `{name}` of `{}` is bits[{w}], the argument is bits[{}]",
                        f.name.name,
                        bits.len()
                    ),
                );
            }
            env.push((name.clone(), CVal::Bits(bits)));
        }
        self.stack.push(def);
        let v = self.expr(&f.body, &mut env);
        self.stack.pop();
        let v = v?;
        let body_span = f.body.span;
        let bits = self.as_bits(v, sig.ret, body_span)?;
        match sig.ret {
            Some(w) if bits.len() > w => err(
                "WidthMismatch",
                body_span,
                format!(
                    "the body is bits[{}] but `{}` returns bits[{w}]; keep the low bits with `[0..{w}]`",
                    bits.len(),
                    f.name.name
                ),
            ),
            Some(w) => Ok(self.extend(bits, w)),
            None => Ok(bits),
        }
    }

    fn extend(&mut self, mut bits: Vec<A::B>, w: usize) -> Vec<A::B> {
        while bits.len() < w {
            bits.push(self.alg.constant(false));
        }
        bits
    }

    /// A value as bits: an integer takes `width` (two's complement; it must fit).
    fn as_bits(&mut self, v: CVal<A::B>, width: Option<usize>, span: Span) -> R<Vec<A::B>> {
        match v {
            CVal::Bits(b) => Ok(b),
            CVal::Int(i) => {
                let Some(w) = width else {
                    return err(
                        "WidthMismatch",
                        span,
                        format!(
                            "the integer {i} has no width here: give it one by combining it with a bit vector or with a declared type"
                        ),
                    );
                };
                let fits = match w {
                    0 => i == 0,
                    1..=63 => i >= -(1i64 << (w - 1)) && i < (1i64 << w),
                    _ => true,
                };
                if !fits {
                    return err(
                        "WidthMismatch",
                        span,
                        format!("{i} does not fit in bits[{w}]"),
                    );
                }
                Ok((0..w)
                    .map(|k| {
                        self.alg
                            .constant(if k < 64 { i >> k & 1 == 1 } else { i < 0 })
                    })
                    .collect())
            }
        }
    }

    fn bits(&mut self, e: &Expr, env: &mut Vec<(String, CVal<A::B>)>) -> R<Vec<A::B>> {
        let v = self.expr(e, env)?;
        self.as_bits(v, None, e.span)
    }

    fn check_width(&self, w: usize, span: Span) -> R<()> {
        if w > MAX_WIDTH {
            return err(
                "LimitExceeded",
                span,
                format!("a bit vector of {w} bits (the limit is {MAX_WIDTH})"),
            );
        }
        Ok(())
    }

    fn int(&mut self, e: &Expr, env: &mut Vec<(String, CVal<A::B>)>, what: &str) -> R<i64> {
        match self.expr(e, env)? {
            CVal::Int(i) => Ok(i),
            CVal::Bits(_) => err(
                "CircuitError",
                e.span,
                format!(
                    "{what} must be an integer known when the circuit is built, not a bit vector"
                ),
            ),
        }
    }

    /// One expression, with enough native stack for its subexpressions (grown on the heap as
    /// nesting and circuit calls deepen; see `crate::with_stack`).
    fn expr(&mut self, e: &Expr, env: &mut Vec<(String, CVal<A::B>)>) -> R<CVal<A::B>> {
        crate::with_stack(|| self.expr_inner(e, env))
    }

    fn expr_inner(&mut self, e: &Expr, env: &mut Vec<(String, CVal<A::B>)>) -> R<CVal<A::B>> {
        let span = e.span;
        if self.alg.ops > MAX_GATES {
            return err(
                "LimitExceeded",
                span,
                format!("the circuit needs more than {MAX_GATES} gates to build"),
            );
        }
        match &e.kind {
            ExprKind::Int(i) => Ok(CVal::Int(*i)),
            ExprKind::Bool(b) => Ok(CVal::Bits(vec![self.alg.constant(*b)])),
            ExprKind::Name(path) => {
                if let [id] = path.as_slice()
                    && let Some((_, v)) = env.iter().rev().find(|(n, _)| *n == id.name)
                {
                    return Ok(v.clone());
                }
                let def = self.resolve(path, span)?;
                match &self.program.def(def).kind {
                    DefKind::Let(v, _) => {
                        // A `let` read by a circuit is elaborated in its own module, once per
                        // read; one that reads itself (directly or through other lets) is an
                        // error, not an endless recursion, and a chain of lets counts toward
                        // the call depth.
                        let name = &self.program.def(def).name;
                        self.may_enter(
                            def,
                            span,
                            &format!(
                                "`{name}` is defined in terms of itself: a `let` cannot be recursive"
                            ),
                        )?;
                        let v = v.clone();
                        self.stack.push(def);
                        let r = self.expr(&v, &mut Vec::new());
                        self.stack.pop();
                        match r? {
                            CVal::Int(i) => Ok(CVal::Int(i)),
                            CVal::Bits(b) => Ok(CVal::Bits(b)),
                        }
                    }
                    _ => err(
                        "CircuitError",
                        span,
                        format!(
                            "`{}` is not a value a circuit can use (call a circuit with arguments)",
                            self.program.def(def).name
                        ),
                    ),
                }
            }
            ExprKind::Unary(op, a) => {
                let v = self.expr(a, env)?;
                match (op, v) {
                    (UnOp::Neg, CVal::Int(i)) => {
                        i.checked_neg().map(CVal::Int).ok_or_else(|| CircuitError {
                            kind: "LimitExceeded",
                            message: "integer overflow".into(),
                            span,
                            notes: Vec::new(),
                        })
                    }
                    (UnOp::Bang, CVal::Int(i)) => Ok(CVal::Int(!i)),
                    (UnOp::Not, CVal::Int(i)) => Ok(CVal::Int((i == 0) as i64)),
                    (UnOp::Bang, CVal::Bits(b)) => {
                        Ok(CVal::Bits(b.iter().map(|x| self.alg.not(x)).collect()))
                    }
                    (UnOp::Not, CVal::Bits(b)) => {
                        if b.len() != 1 {
                            return err(
                                "WidthMismatch",
                                span,
                                format!(
                                    "`not` needs bits[1], found bits[{}]; use `!` for a bitwise not",
                                    b.len()
                                ),
                            );
                        }
                        Ok(CVal::Bits(vec![self.alg.not(&b[0])]))
                    }
                    (UnOp::Neg, CVal::Bits(b)) => {
                        let zero: Vec<A::B> =
                            (0..b.len()).map(|_| self.alg.constant(false)).collect();
                        Ok(CVal::Bits(self.sub(&zero, &b)))
                    }
                }
            }
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.expr(a, env)?, self.expr(b, env)?);
                self.binary(*op, x, y, span)
            }
            ExprKind::If(c, a, b) => match self.expr(c, env)? {
                CVal::Int(i) => {
                    if i != 0 {
                        self.expr(a, env)
                    } else {
                        self.expr(b, env)
                    }
                }
                CVal::Bits(s) => {
                    if s.len() != 1 {
                        return err(
                            "WidthMismatch",
                            c.span,
                            format!("the condition must be bits[1], found bits[{}]", s.len()),
                        );
                    }
                    let (x, y) = (self.expr(a, env)?, self.expr(b, env)?);
                    let (x, y) = self.pair(x, y, span)?;
                    let out = x
                        .iter()
                        .zip(&y)
                        .map(|(t, f)| self.alg.mux(&s[0], t, f))
                        .collect();
                    Ok(CVal::Bits(out))
                }
            },
            ExprKind::Index(a, i) => {
                let v = self.bits(a, env)?;
                let k = self.int(i, env, "a bit index")?;
                match usize::try_from(k).ok().filter(|&k| k < v.len()) {
                    Some(k) => Ok(CVal::Bits(vec![v[k].clone()])),
                    None => err(
                        "IndexOutOfRange",
                        i.span,
                        format!("bit {k} of a bits[{}]", v.len()),
                    ),
                }
            }
            ExprKind::Slice(a, lo, hi) => {
                let v = self.bits(a, env)?;
                let lo = match lo {
                    Some(x) => self.int(x, env, "a slice bound")?,
                    None => 0,
                };
                let hi = match hi {
                    Some(x) => self.int(x, env, "a slice bound")?,
                    None => v.len() as i64,
                };
                if lo < 0 || hi <= lo || hi as usize > v.len() {
                    return err(
                        "IndexOutOfRange",
                        span,
                        format!(
                            "slice [{lo}..{hi}] of a bits[{}] (need 0 <= lo < hi <= {})",
                            v.len(),
                            v.len()
                        ),
                    );
                }
                Ok(CVal::Bits(v[lo as usize..hi as usize].to_vec()))
            }
            ExprKind::Call(callee, args) => self.call_expr(callee, args, env, span),
            ExprKind::Block(stmts, last) => {
                let mark = env.len();
                for s in stmts {
                    self.stmt(s, env)?;
                }
                let v = self.expr(last, env);
                env.truncate(mark);
                v
            }
            ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::None | ExprKind::List(_) => err(
                "CircuitError",
                span,
                "circuits compute with bit vectors and integers; this value has no place here",
            ),
            ExprKind::Select(..) | ExprKind::Lambda(..) | ExprKind::Field(..) => err(
                "CircuitError",
                span,
                "sequence and hypervector forms cannot be used in a circuit",
            ),
            ExprKind::Error => err("CircuitError", span, "this expression could not be parsed"),
        }
    }

    /// An item by path from the current circuit's module; `UnknownName` (with the resolver's
    /// "did you mean") at `span`.
    fn resolve(&self, path: &[crate::ast::Ident], span: Span) -> R<DefId> {
        self.program
            .resolve(self.module(), path)
            .map_err(|d| CircuitError {
                kind: "UnknownName",
                message: d.message.clone(),
                span,
                notes: d.notes.clone(),
            })
    }

    /// Whether `def` (a circuit called, or a `let` read) may be entered: not while it is being
    /// elaborated already (`cycle` says why), and not past the call depth (circuit calls and
    /// the lets they read count alike).
    fn may_enter(&self, def: DefId, span: Span, cycle: &str) -> R<()> {
        if self.stack.contains(&def) {
            return err("RecursionLimit", span, cycle.to_string());
        }
        let max = self.program.limits.call_depth;
        if self.stack.len() >= max {
            return err(
                "RecursionLimit",
                span,
                format!(
                    "circuit calls and the lets they read nest deeper than {max} (`{}`)",
                    crate::limits::CALL_DEPTH.flag
                ),
            );
        }
        Ok(())
    }

    fn module(&self) -> crate::program::ModId {
        self.stack.last().map_or(0, |&d| self.program.def(d).module)
    }

    fn stmt(&mut self, s: &Stmt, env: &mut Vec<(String, CVal<A::B>)>) -> R<()> {
        match s {
            Stmt::Let {
                name, ty, value, ..
            } => {
                let mut v = self.expr(value, env)?;
                if let Some(t) = ty {
                    let w = width_of(t)?;
                    let bits = self.as_bits(v, Some(w), value.span)?;
                    if bits.len() > w {
                        return err(
                            "WidthMismatch",
                            value.span,
                            format!(
                                "`{}` is declared bits[{w}] but its value is bits[{}]",
                                name.name,
                                bits.len()
                            ),
                        );
                    }
                    v = CVal::Bits(self.extend(bits, w));
                }
                env.push((name.name.clone(), v));
                Ok(())
            }
            Stmt::For {
                var, iter, body, ..
            } => {
                let ExprKind::List(items) = &iter.kind else {
                    return err(
                        "CircuitError",
                        iter.span,
                        "a circuit `for` loops over a written list of integers, e.g. `[0, 1, 2]`",
                    );
                };
                let mut vals = Vec::new();
                for it in items {
                    vals.push(self.int(it, env, "a loop value")?);
                }
                for i in vals {
                    env.push((var.name.clone(), CVal::Int(i)));
                    for s in body {
                        self.stmt(s, env)?;
                    }
                    // The loop variable goes out of scope; the body's bindings stay (RASP's rule).
                    if let Some(pos) = env.iter().rposition(|(n, _)| *n == var.name) {
                        env.remove(pos);
                    }
                }
                Ok(())
            }
            Stmt::Error(span) => err("CircuitError", *span, "this statement could not be parsed"),
        }
    }

    fn call_expr(
        &mut self,
        callee: &Expr,
        args: &[crate::ast::Arg],
        env: &mut Vec<(String, CVal<A::B>)>,
        span: Span,
    ) -> R<CVal<A::B>> {
        let ExprKind::Name(path) = &callee.kind else {
            return err(
                "CircuitError",
                callee.span,
                "only circuits and the builtins `concat` and `table` can be called in a circuit",
            );
        };
        if let Some(a) = args.iter().find(|a| a.name.is_some()) {
            return err(
                "CircuitError",
                a.value.span,
                "circuit arguments are positional",
            );
        }
        let name = path.last().map(|i| i.name.as_str()).unwrap_or("");
        if path.len() == 1 && name == "concat" {
            let mut out = Vec::new();
            for a in args {
                out.extend(self.bits(&a.value, env)?);
                self.check_width(out.len(), span)?;
            }
            if out.is_empty() {
                return err(
                    "WidthMismatch",
                    span,
                    "`concat` needs at least one bit vector",
                );
            }
            return Ok(CVal::Bits(out));
        }
        if path.len() == 1 && name == "table" {
            return self.table(args, env, span);
        }
        let def = self.resolve(path, callee.span)?;
        if circuit_def(self.program, def).is_none() {
            return err(
                "CircuitError",
                callee.span,
                format!("`{name}` is not a circuit: a circuit can only call circuits"),
            );
        }
        let mut vals = Vec::new();
        for a in args {
            vals.push(self.expr(&a.value, env)?);
        }
        Ok(CVal::Bits(self.call(def, vals, span)?))
    }

    fn table(
        &mut self,
        args: &[crate::ast::Arg],
        env: &mut Vec<(String, CVal<A::B>)>,
        span: Span,
    ) -> R<CVal<A::B>> {
        let Some(first) = args.first() else {
            return err(
                "TableError",
                span,
                "`table` needs a file: `table(\"f.truth\")`",
            );
        };
        let ExprKind::Str(file) = &first.value.kind else {
            return err(
                "TableError",
                first.value.span,
                "the table file must be a string literal",
            );
        };
        // The index: the given bit vector, or every parameter (parameter 0 in the low bits).
        let index: Vec<A::B> = match args.get(1) {
            Some(a) => self.bits(&a.value, env)?,
            None => {
                let def = self.stack.last().copied();
                let sig = def.map(|d| signature(self.program, d)).transpose()?;
                let mut bits = Vec::new();
                for (name, _) in sig.map(|s| s.params).unwrap_or_default() {
                    if let Some((_, CVal::Bits(b))) = env.iter().find(|(n, _)| *n == name) {
                        bits.extend(b.iter().cloned());
                    }
                }
                bits
            }
        };
        if args.len() > 2 {
            return err(
                "TableError",
                span,
                "`table` takes a file and optionally an index",
            );
        }
        let path = self.table_path(file, span);
        let text = self.tables.read(&path).map_err(|e| CircuitError {
            kind: "TableError",
            message: format!("cannot read table `{}`: {e}", path.display()),
            span: first.value.span,
            notes: Vec::new(),
        })?;
        let rows = parse_truth(&text).map_err(|(line, m)| CircuitError {
            kind: "TableError",
            message: format!("{}:{line}: {m}", path.display()),
            span: first.value.span,
            notes: Vec::new(),
        })?;
        let n = rows
            .first()
            .map_or(0, |r| r.len().trailing_zeros() as usize);
        if n != index.len() {
            return err(
                "WidthMismatch",
                span,
                format!(
                    "table `{file}` has {n} inputs but its index is bits[{}]",
                    index.len()
                ),
            );
        }
        // Each output: a mux tree over the index bits (Shannon expansion, MSB first).
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut level: Vec<A::B> = row.iter().map(|&b| self.alg.constant(b)).collect();
            for bit in &index {
                let mut next = Vec::with_capacity(level.len() / 2);
                for pair in level.chunks(2) {
                    next.push(self.alg.mux(bit, &pair[1], &pair[0]));
                }
                level = next;
            }
            out.push(
                level
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| self.alg.constant(false)),
            );
        }
        Ok(CVal::Bits(out))
    }

    fn table_path(&self, file: &str, span: Span) -> PathBuf {
        let base = self
            .program
            .sources
            .get(span.file)
            .map(|f| {
                Path::new(&f.name)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        base.join(file)
    }

    /// Two bit vectors zero-extended to the wider width; an integer gets the other operand's
    /// width, or more if it needs more bits (then the bit vector is zero-extended).
    fn pair(&mut self, x: CVal<A::B>, y: CVal<A::B>, span: Span) -> R<Pair<A::B>> {
        let (x, y) = match (x, y) {
            (CVal::Int(i), CVal::Bits(b)) => {
                let w = b.len().max(int_width(i));
                self.check_width(w, span)?;
                (self.as_bits(CVal::Int(i), Some(w), span)?, b)
            }
            (CVal::Bits(b), CVal::Int(i)) => {
                let w = b.len().max(int_width(i));
                self.check_width(w, span)?;
                (b, self.as_bits(CVal::Int(i), Some(w), span)?)
            }
            (x, y) => (self.as_bits(x, None, span)?, self.as_bits(y, None, span)?),
        };
        let w = x.len().max(y.len());
        Ok((self.extend(x, w), self.extend(y, w)))
    }

    fn binary(&mut self, op: BinOp, x: CVal<A::B>, y: CVal<A::B>, span: Span) -> R<CVal<A::B>> {
        if let (CVal::Int(a), CVal::Int(b)) = (&x, &y) {
            return int_op(op, *a, *b, span).map(CVal::Int);
        }
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let CVal::Bits(a) = x else {
                return err("WidthMismatch", span, "the shifted value needs a width");
            };
            return Ok(CVal::Bits(match y {
                CVal::Int(k) => {
                    let k = usize::try_from(k).map_err(|_| CircuitError {
                        kind: "CircuitError",
                        message: "a negative shift".into(),
                        span,
                        notes: Vec::new(),
                    })?;
                    self.shift_const(&a, k, op == BinOp::Shl)
                }
                CVal::Bits(s) => {
                    // Shift-amount bits worth the width or more only zero the result.
                    let w = a.len();
                    let stages = s.len().min(usize::BITS as usize - 1);
                    let useful = (0..stages).take_while(|&i| (1usize << i) < w).count();
                    let mut over = self.alg.constant(false);
                    for bit in &s[useful..] {
                        over = self.alg.or(&over, bit);
                    }
                    let mut cur = a;
                    for (i, bit) in s.iter().enumerate().take(useful) {
                        let k = 1usize << i;
                        let shifted = self.shift_const(&cur, k, op == BinOp::Shl);
                        cur = cur
                            .iter()
                            .zip(&shifted)
                            .map(|(o, n)| self.alg.mux(bit, n, o))
                            .collect();
                    }
                    let zero = self.alg.constant(false);
                    cur.iter().map(|b| self.alg.mux(&over, &zero, b)).collect()
                }
            }));
        }
        let (a, b) = self.pair(x, y, span)?;
        let w = a.len();
        Ok(CVal::Bits(match op {
            BinOp::Amp | BinOp::And => a.iter().zip(&b).map(|(p, q)| self.alg.and(p, q)).collect(),
            BinOp::Pipe | BinOp::Or => a.iter().zip(&b).map(|(p, q)| self.alg.or(p, q)).collect(),
            BinOp::Xor => a.iter().zip(&b).map(|(p, q)| self.alg.xor(p, q)).collect(),
            BinOp::Add => {
                self.check_width(w + 1, span)?;
                let c0 = self.alg.constant(false);
                let (mut s, c) = self.add(&a, &b, c0);
                s.push(c);
                s
            }
            BinOp::Sub => self.sub(&a, &b),
            BinOp::Mul => {
                self.check_width(2 * w, span)?;
                if w.saturating_mul(w) > MAX_PRODUCT {
                    return err(
                        "LimitExceeded",
                        span,
                        format!(
                            "a {w} × {w}-bit product (at most {MAX_PRODUCT} partial-product bits)"
                        ),
                    );
                }
                self.mul(&a, &b)
            }
            BinOp::Eq | BinOp::Ne => {
                let diff: Vec<A::B> = a.iter().zip(&b).map(|(p, q)| self.alg.xor(p, q)).collect();
                let mut any = self.alg.constant(false);
                for d in &diff {
                    any = self.alg.or(&any, d);
                }
                vec![if op == BinOp::Ne {
                    any
                } else {
                    self.alg.not(&any)
                }]
            }
            BinOp::Lt | BinOp::Ge | BinOp::Gt | BinOp::Le => {
                // a < b unsigned: the borrow out of a − b.
                let (l, r) = if matches!(op, BinOp::Lt | BinOp::Ge) {
                    (&a, &b)
                } else {
                    (&b, &a)
                };
                let nr: Vec<A::B> = r.iter().map(|x| self.alg.not(x)).collect();
                let one = self.alg.constant(true);
                let (_, carry) = self.add(l, &nr, one);
                let lt = self.alg.not(&carry);
                vec![if matches!(op, BinOp::Lt | BinOp::Gt) {
                    lt
                } else {
                    carry
                }]
            }
            BinOp::Div | BinOp::FloorDiv | BinOp::Rem => {
                return err(
                    "CircuitError",
                    span,
                    format!(
                        "`{}` is not a circuit operator (use shifts, or `table`)",
                        op.symbol()
                    ),
                );
            }
            BinOp::Shl | BinOp::Shr => return err("CircuitError", span, "shift handled above"),
        }))
    }

    fn add(&mut self, a: &[A::B], b: &[A::B], mut carry: A::B) -> (Vec<A::B>, A::B) {
        let mut s = Vec::with_capacity(a.len());
        for (x, y) in a.iter().zip(b) {
            let t = self.alg.xor(x, y);
            s.push(self.alg.xor(&t, &carry));
            let g = self.alg.and(x, y);
            let p = self.alg.and(&t, &carry);
            carry = self.alg.or(&g, &p);
        }
        (s, carry)
    }

    fn sub(&mut self, a: &[A::B], b: &[A::B]) -> Vec<A::B> {
        let nb: Vec<A::B> = b.iter().map(|x| self.alg.not(x)).collect();
        let one = self.alg.constant(true);
        self.add(a, &nb, one).0
    }

    fn mul(&mut self, a: &[A::B], b: &[A::B]) -> Vec<A::B> {
        let w = a.len() + b.len();
        let mut acc: Vec<A::B> = (0..w).map(|_| self.alg.constant(false)).collect();
        for (i, bi) in b.iter().enumerate() {
            let row: Vec<A::B> = (0..w)
                .map(|k| {
                    if k >= i && k - i < a.len() {
                        self.alg.and(&a[k - i], bi)
                    } else {
                        self.alg.constant(false)
                    }
                })
                .collect();
            let c0 = self.alg.constant(false);
            acc = self.add(&acc, &row, c0).0;
        }
        acc
    }

    fn shift_const(&mut self, a: &[A::B], k: usize, left: bool) -> Vec<A::B> {
        let w = a.len();
        (0..w)
            .map(|i| {
                let src = if left {
                    i.checked_sub(k)
                } else {
                    i.checked_add(k).filter(|&s| s < w)
                };
                match src {
                    Some(s) => a[s].clone(),
                    None => self.alg.constant(false),
                }
            })
            .collect()
    }
}

/// The bits an integer needs: unsigned for non-negative values, two's complement otherwise.
fn int_width(i: i64) -> usize {
    if i >= 0 {
        (64 - i.leading_zeros() as usize).max(1)
    } else {
        65 - (!i).leading_zeros() as usize
    }
}

fn int_op(op: BinOp, a: i64, b: i64, span: Span) -> R<i64> {
    let overflow = || CircuitError {
        kind: "LimitExceeded",
        message: format!("integer overflow in {a} {} {b}", op.symbol()),
        span,
        notes: Vec::new(),
    };
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div | BinOp::FloorDiv => {
            if b == 0 {
                return err("CircuitError", span, "division by zero");
            }
            a.checked_div_euclid(b)
        }
        BinOp::Rem => {
            if b == 0 {
                return err("CircuitError", span, "division by zero");
            }
            a.checked_rem_euclid(b)
        }
        BinOp::Amp | BinOp::And => Some(a & b),
        BinOp::Pipe | BinOp::Or => Some(a | b),
        BinOp::Xor => Some(a ^ b),
        BinOp::Shl => u32::try_from(b).ok().and_then(|s| a.checked_shl(s)),
        BinOp::Shr => u32::try_from(b).ok().and_then(|s| a.checked_shr(s)),
        BinOp::Eq => Some((a == b) as i64),
        BinOp::Ne => Some((a != b) as i64),
        BinOp::Lt => Some((a < b) as i64),
        BinOp::Le => Some((a <= b) as i64),
        BinOp::Gt => Some((a > b) as i64),
        BinOp::Ge => Some((a >= b) as i64),
    };
    r.ok_or_else(overflow)
}

/// The rows of an IWLS `.truth` text, each as bits indexed by minterm; errors carry the line.
pub fn parse_truth(text: &str) -> Result<Vec<Vec<bool>>, (usize, String)> {
    let mut rows: Vec<Vec<bool>> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if !line.bytes().all(|c| c == b'0' || c == b'1') {
            return Err((i + 1, "expected only `0` and `1`".into()));
        }
        let len = line.len();
        if !len.is_power_of_two() || len.trailing_zeros() as usize > MAX_TABLE_INPUTS {
            return Err((
                i + 1,
                format!("expected 2^n characters with n <= {MAX_TABLE_INPUTS}, found {len}"),
            ));
        }
        if rows.first().is_some_and(|r| r.len() != len) {
            return Err((i + 1, "every line must have the same length".into()));
        }
        // Most significant minterm first.
        rows.push(line.bytes().rev().map(|c| c == b'1').collect());
    }
    if rows.is_empty() {
        return Err((1, "expected at least one line".into()));
    }
    Ok(rows)
}
