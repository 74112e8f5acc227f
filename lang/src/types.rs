//! Static types: `cat` / `num` sequences (with the kind of their values when known), `sel`,
//! `hv<S>`, scalars, lists and functions. `Unknown` is the type of an unannotated parameter in a
//! function checked on its own: operations on it are accepted and checked again at each call.

use std::fmt;

/// The kind of the values a sequence or scalar holds, when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Any,
    None,
    Bool,
    Int,
    Float,
    Str,
}

impl Kind {
    /// The least kind covering both (values of either).
    pub fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            // `none` joins into anything: it is the empty categorical result.
            (Kind::None, k) | (k, Kind::None) => k,
            _ => Kind::Any,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Float | Kind::Any)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Any => "any",
            Kind::None => "none",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "str",
        }
    }
}

/// Sequence encoding: categorical (one-hot in a compiled model) or numerical (one dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Enc {
    Cat,
    Num,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    Unknown,
    Scalar(Kind),
    Seq(Enc, Kind),
    Sel,
    List(Box<Ty>),
    /// A user function (by definition id) or a lambda.
    Func,
    /// A hypervector (`seq`: one per position) in space `space`.
    Hv {
        space: String,
        seq: bool,
    },
    Space,
    Codebook(String),
    Bits(Option<i64>),
}

impl Ty {
    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown)
    }

    /// Values that broadcast over positions: sequences and scalars.
    pub fn is_seq_like(&self) -> bool {
        matches!(self, Ty::Scalar(_) | Ty::Seq(..) | Ty::Unknown)
    }

    pub fn kind(&self) -> Kind {
        match self {
            Ty::Scalar(k) | Ty::Seq(_, k) => *k,
            _ => Kind::Any,
        }
    }

    pub fn enc(&self) -> Enc {
        match self {
            Ty::Seq(e, _) => *e,
            _ => Enc::Cat,
        }
    }

    pub fn is_num(&self) -> bool {
        matches!(self, Ty::Seq(Enc::Num, _))
    }

    /// Join of two branch types (of an `if`), or `None` when they cannot meet.
    pub fn join(&self, other: &Ty) -> Option<Ty> {
        match (self, other) {
            (Ty::Unknown, t) | (t, Ty::Unknown) => Some(t.clone()),
            (a, b) if a == b => Some(a.clone()),
            (Ty::Scalar(a), Ty::Scalar(b)) => Some(Ty::Scalar(a.join(*b))),
            (Ty::Scalar(a), Ty::Seq(e, b)) | (Ty::Seq(e, b), Ty::Scalar(a)) => {
                Some(Ty::Seq(*e, a.join(*b)))
            }
            (Ty::Seq(e1, a), Ty::Seq(e2, b)) => Some(Ty::Seq(
                if *e1 == Enc::Num || *e2 == Enc::Num {
                    Enc::Num
                } else {
                    Enc::Cat
                },
                a.join(*b),
            )),
            (Ty::List(a), Ty::List(b)) => {
                Some(Ty::List(Box::new(a.join(b).unwrap_or(Ty::Unknown))))
            }
            (Ty::Hv { space: s1, seq: q1 }, Ty::Hv { space: s2, seq: q2 }) if s1 == s2 => {
                Some(Ty::Hv {
                    space: s1.clone(),
                    seq: *q1 || *q2,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Unknown => write!(f, "_"),
            Ty::Scalar(k) => write!(f, "{}", if *k == Kind::Any { "scalar" } else { k.name() }),
            Ty::Seq(Enc::Cat, Kind::Any) => write!(f, "cat"),
            Ty::Seq(Enc::Cat, k) => write!(f, "cat<{}>", k.name()),
            Ty::Seq(Enc::Num, _) => write!(f, "num"),
            Ty::Sel => write!(f, "sel"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Func => write!(f, "function"),
            Ty::Hv { space, seq: true } => write!(f, "hv<{space}>"),
            Ty::Hv { space, seq: false } => write!(f, "hv<{space}> (one vector)"),
            Ty::Space => write!(f, "space"),
            Ty::Codebook(s) => write!(f, "codebook in {s}"),
            Ty::Bits(Some(n)) => write!(f, "bits[{n}]"),
            Ty::Bits(None) => write!(f, "bits"),
        }
    }
}
