//! The vector-symbolic forms of LANGUAGE.md in the reference interpreter. Every operation calls
//! the one implementation in `tessera-vsa`; this file only maps values and errors.
//!
//! Semantics chosen where LANGUAGE.md is silent (documented in docs/language.md):
//! - a chain `a + b + c` is one bundle of three, normalised once (integer accumulation, then
//!   sign / majority / unit norm); parentheses make a sub-bundle that is normalised on its own;
//! - a space without `dim` has 10,000 dimensions, without `seed` seed 0;
//! - `factor` gives `none` for every codebook when the resonator does not reach a product that
//!   explains the input (similarity 8 standard deviations above chance) within its budget;
//! - `sum` over an empty selection is the error `EmptySelection`, like `aggregate`.

use super::{BuiltinArgs, Interp, R, RuntimeError, Value, describe};
use crate::ast::{BinOp, Expr, Ident};
use crate::kernels;
use crate::program::{DefId, DefKind, ModId};
use crate::span::Span;
use crate::value::Val;
use std::rc::Rc;
use tessera_vsa::{Codebook, Hv, Model, Space, VsaError};

/// Default dimension of a space declared without `dim`.
pub const DEFAULT_DIM: usize = 10_000;

/// A hypervector value: one vector (broadcast over positions) or one per position.
#[derive(Debug, Clone)]
pub struct HvVal {
    pub space: DefId,
    pub seq: bool,
    pub vecs: Vec<Rc<Hv>>,
}

impl HvVal {
    fn at(&self, q: usize) -> &Rc<Hv> {
        if self.seq {
            &self.vecs[q]
        } else {
            &self.vecs[0]
        }
    }
}

/// A hypervector detached from the program (what `run` returns).
#[derive(Debug, Clone, PartialEq)]
pub struct HvOutput {
    pub space: String,
    pub model: &'static str,
    pub dim: usize,
    pub seq: bool,
    pub vecs: Vec<Hv>,
}

impl HvOutput {
    pub fn render(&self) -> String {
        let fp: Vec<String> = self
            .vecs
            .iter()
            .map(|v| format!("#{:08x}", v.fingerprint() >> 32))
            .collect();
        if self.seq {
            fp.join(" ")
        } else {
            format!(
                "<hv {}: {} d={} {}>",
                self.space,
                self.model,
                self.dim,
                fp.first().map_or("", String::as_str)
            )
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let integral = matches!(self.model, "map" | "bsc");
        let comps = |v: &Hv| -> Vec<serde_json::Value> {
            let mut c = v.components();
            c.truncate(self.dim);
            c.into_iter()
                .map(|x| {
                    if integral {
                        serde_json::json!(x as i64)
                    } else {
                        serde_json::json!(x)
                    }
                })
                .collect()
        };
        let value = if self.seq {
            serde_json::json!(self.vecs.iter().map(comps).collect::<Vec<_>>())
        } else {
            serde_json::json!(self.vecs.first().map(comps).unwrap_or_default())
        };
        serde_json::json!({
            "type": "hv",
            "space": self.space,
            "model": self.model,
            "dim": self.dim,
            "value": value,
        })
    }
}

fn vsa_err(e: VsaError, span: Span) -> RuntimeError {
    let kind = match e {
        VsaError::Dimension { .. } => "LimitExceeded",
        _ => "TypeError",
    };
    RuntimeError::new(kind, span, e.to_string())
}

impl<'p> Interp<'p> {
    /// The space an item defines (built once per run). Public so the compiler builds exactly
    /// the interpreter's spaces and codebooks.
    pub fn vsa_space(&self, id: DefId, span: Span) -> R<Rc<Space>> {
        if let Some(s) = self.spaces.borrow().get(&id) {
            return Ok(s.clone());
        }
        let def: &'p crate::program::Def = self.program.def(id);
        let DefKind::Space { model, args } = &def.kind else {
            return Err(RuntimeError::new(
                "TypeError",
                span,
                format!("`{}` is not a space", def.name),
            ));
        };
        let m = Model::parse(&model.name).ok_or_else(|| {
            RuntimeError::new(
                "UnknownName",
                model.span,
                format!("unknown VSA model `{}`", model.name),
            )
        })?;
        let (mut dim, mut seed) = (DEFAULT_DIM as i64, 0i64);
        for a in args.iter() {
            let v = self.eval(&a.value, &None, def.module, 0)?;
            let Value::Scalar(Val::Int(i)) = v else {
                return Err(RuntimeError::new(
                    "TypeError",
                    a.value.span,
                    format!("space arguments are integers, found {}", describe(&v)),
                ));
            };
            match a.name.as_ref().map(|n| n.name.as_str()) {
                Some("dim") => dim = i,
                Some("seed") => seed = i,
                _ => {
                    return Err(RuntimeError::new(
                        "UnknownArgument",
                        a.value.span,
                        "a space takes `dim` and `seed`",
                    ));
                }
            }
        }
        let dim_span = args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.name == "dim"))
            .map_or(def.span, |a| a.value.span);
        let max = self.program.limits.vsa_dim;
        let dim = usize::try_from(dim)
            .ok()
            .filter(|d| (1..=max).contains(d))
            .ok_or_else(|| {
                RuntimeError::new(
                    "LimitExceeded",
                    dim_span,
                    format!(
                        "a space's dimension must be between 1 and {max} (the VSA dimension limit, {}), not {dim}",
                        crate::limits::VSA_DIM.flag
                    ),
                )
            })?;
        let space = Rc::new(Space::new(m, dim, seed as u64).map_err(|e| vsa_err(e, dim_span))?);
        self.spaces.borrow_mut().insert(id, space.clone());
        Ok(space)
    }

    /// The codebook a `symbols` item defines (vectors and item memory built once per run).
    pub fn vsa_book(&self, id: DefId, span: Span) -> R<(DefId, Rc<Codebook>)> {
        if let Some(b) = self.books.borrow().get(&id) {
            return Ok(b.clone());
        }
        let def: &'p crate::program::Def = self.program.def(id);
        let DefKind::Symbols { space, symbols } = &def.kind else {
            return Err(RuntimeError::new(
                "TypeError",
                span,
                format!("`{}` is not a codebook", def.name),
            ));
        };
        let sid = self
            .program
            .resolve(def.module, std::slice::from_ref(space))
            .map_err(|d| RuntimeError::new(d.kind, space.span, d.message))?;
        let sp = self.vsa_space(sid, space.span)?;
        let names: Vec<String> = symbols.iter().map(|s| s.name.clone()).collect();
        // The codebook's vectors depend on the qualified name, so two modules' `Color`s differ.
        let book = Codebook::new(&sp, &self.program.qualified(id), &names)
            .map_err(|e| vsa_err(e, def.span))?;
        let entry = (sid, Rc::new(book));
        self.books.borrow_mut().insert(id, entry.clone());
        Ok(entry)
    }

    fn hv(&self, space: DefId, seq: bool, vecs: Vec<Hv>) -> Value<'p> {
        Value::Hv(Rc::new(HvVal {
            space,
            seq,
            vecs: vecs.into_iter().map(Rc::new).collect(),
        }))
    }

    fn space_of(&self, v: &HvVal, span: Span) -> R<Rc<Space>> {
        self.vsa_space(v.space, span)
    }

    /// `Codebook.symbol`
    pub(super) fn vsa_field(
        &self,
        base: &'p Expr,
        field: &Ident,
        span: Span,
        env: &super::Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Value<'p>> {
        let b = self.eval(base, env, module, d)?;
        let Value::Codebook(id) = b else {
            return Err(RuntimeError::new(
                "TypeError",
                base.span,
                format!(
                    "only codebooks have fields (`Color.red`), found {}",
                    describe(&b)
                ),
            ));
        };
        let (space, book) = self.vsa_book(id, span)?;
        let i = book.index_of(&field.name).ok_or_else(|| {
            RuntimeError::new(
                "UnknownName",
                field.span,
                format!(
                    "the codebook `{}` has no symbol `{}`",
                    book.name(),
                    field.name
                ),
            )
        })?;
        Ok(self.hv(space, false, vec![book.vectors()[i].clone()]))
    }

    /// `a * b` (bind) and `a / b` (unbind), elementwise over positions.
    pub(super) fn vsa_binary(&self, op: BinOp, a: &HvVal, b: &HvVal, span: Span) -> R<Value<'p>> {
        let s = self.space_of(a, span)?;
        let seq = a.seq || b.seq;
        let n = if seq { self.n } else { 1 };
        let mut out = Vec::with_capacity(n);
        for q in 0..n {
            let r = match op {
                BinOp::Mul => s.bind(a.at(q), b.at(q)),
                BinOp::Div => s.unbind(a.at(q), b.at(q)),
                _ => {
                    return Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!(
                            "hypervectors combine with `*`, `/` and `+`, not `{}`",
                            op.symbol()
                        ),
                    ));
                }
            };
            out.push(r.map_err(|e| vsa_err(e, span).at(q))?);
        }
        Ok(self.hv(a.space, seq, out))
    }

    /// One bundle of all the items (a `+` chain or `bundle([..])`), normalised once.
    pub(super) fn vsa_bundle(&self, items: &[Value<'p>], span: Span) -> R<Value<'p>> {
        let mut hvs = Vec::with_capacity(items.len());
        for v in items {
            match v {
                Value::Hv(h) => hvs.push(h.clone()),
                other => {
                    return Err(RuntimeError::new(
                        "TypeError",
                        span,
                        format!("cannot bundle a hypervector with {}", describe(other)),
                    ));
                }
            }
        }
        let Some(first) = hvs.first() else {
            return Err(vsa_err(VsaError::EmptyBundle, span));
        };
        let s = self.space_of(first, span)?;
        let seq = hvs.iter().any(|h| h.seq);
        let n = if seq { self.n } else { 1 };
        let mut out = Vec::with_capacity(n);
        for q in 0..n {
            let refs: Vec<&Hv> = hvs.iter().map(|h| h.at(q).as_ref()).collect();
            out.push(s.bundle(&refs).map_err(|e| vsa_err(e, span).at(q))?);
        }
        Ok(self.hv(first.space, seq, out))
    }

    /// Evaluate a left-associated `+` chain: one bundle when its first operand is a
    /// hypervector, else the ordinary left fold (the same order of evaluation as the tree).
    pub(super) fn eval_add_chain(
        &self,
        e: &'p Expr,
        env: &super::Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Value<'p>> {
        let (head, rhs) = crate::ast::add_chain(e);
        let first = self.eval(head, env, module, d)?;
        if matches!(first, Value::Hv(_)) {
            let mut items = vec![first];
            for (r, _) in &rhs {
                items.push(self.eval(r, env, module, d)?);
            }
            return self.vsa_bundle(&items, e.span);
        }
        let mut acc = first;
        for (r, span) in rhs {
            let b = self.eval(r, env, module, d)?;
            acc = self.binary(BinOp::Add, acc, b, span)?;
        }
        Ok(acc)
    }

    /// `bundle`, `permute`, `sim`, `cleanup`, `embed`, `sum`, `factor`.
    pub(super) fn vsa_builtin(
        &self,
        name: &str,
        a: &BuiltinArgs<'p>,
        span: Span,
        env: &super::Env<'p>,
        module: ModId,
        d: usize,
    ) -> R<Value<'p>> {
        let ev = |e: &'p Expr| self.eval(e, env, module, d);
        let want_hv = |v: Value<'p>, e: &Expr| -> R<Rc<HvVal>> {
            match v {
                Value::Hv(h) => Ok(h),
                other => Err(RuntimeError::new(
                    "TypeError",
                    e.span,
                    format!("`{name}` needs a hypervector, found {}", describe(&other)),
                )),
            }
        };
        let want_book = |v: Value<'p>, e: &Expr| -> R<(DefId, Rc<Codebook>)> {
            match v {
                Value::Codebook(id) => self.vsa_book(id, e.span),
                other => Err(RuntimeError::new(
                    "TypeError",
                    e.span,
                    format!("`{name}` needs a codebook, found {}", describe(&other)),
                )),
            }
        };
        match name {
            "bundle" => {
                a.expect(1, &[])?;
                let e = a.req(0)?;
                match ev(e)? {
                    Value::List(items) => self.vsa_bundle(&items, span),
                    other => Err(RuntimeError::new(
                        "TypeError",
                        e.span,
                        format!(
                            "`bundle` needs a list of hypervectors, found {}",
                            describe(&other)
                        ),
                    )),
                }
            }
            "permute" => {
                a.expect(2, &[])?;
                let h = want_hv(ev(a.req(0)?)?, a.req(0)?)?;
                let ke = a.req(1)?;
                let s = self.space_of(&h, span)?;
                let shift = |v: &Val, q: Option<usize>| -> R<i64> {
                    match v {
                        Val::Int(i) => Ok(*i),
                        other => {
                            let e = RuntimeError::new(
                                "TypeError",
                                ke.span,
                                format!("`permute` shifts by an int, found {}", other.kind_name()),
                            );
                            Err(match q {
                                Some(q) => e.at(q),
                                None => e,
                            })
                        }
                    }
                };
                match ev(ke)? {
                    Value::Scalar(k) => {
                        let k = shift(&k, None)?;
                        let n = if h.seq { self.n } else { 1 };
                        let out = (0..n)
                            .map(|q| s.permute(h.at(q), k).map_err(|e| vsa_err(e, span).at(q)))
                            .collect::<R<Vec<_>>>()?;
                        Ok(self.hv(h.space, h.seq, out))
                    }
                    Value::Seq(ks) => {
                        let out = (0..self.n)
                            .map(|q| {
                                let k = shift(&ks.vals[q], Some(q))?;
                                s.permute(h.at(q), k).map_err(|e| vsa_err(e, span).at(q))
                            })
                            .collect::<R<Vec<_>>>()?;
                        Ok(self.hv(h.space, true, out))
                    }
                    other => Err(RuntimeError::new(
                        "TypeError",
                        ke.span,
                        format!(
                            "`permute` shifts by an int or an int sequence, found {}",
                            describe(&other)
                        ),
                    )),
                }
            }
            "sim" => {
                a.expect(2, &[])?;
                let x = want_hv(ev(a.req(0)?)?, a.req(0)?)?;
                let y = want_hv(ev(a.req(1)?)?, a.req(1)?)?;
                let s = self.space_of(&x, span)?;
                let seq = x.seq || y.seq;
                let n = if seq { self.n } else { 1 };
                let vals = (0..n)
                    .map(|q| {
                        s.similarity(x.at(q), y.at(q))
                            .map(Val::Float)
                            .map_err(|e| vsa_err(e, span).at(q))
                    })
                    .collect::<R<Vec<_>>>()?;
                Ok(if seq {
                    self.seq(vals, true)
                } else {
                    Value::Scalar(vals.into_iter().next().unwrap_or(Val::None))
                })
            }
            "cleanup" => {
                a.expect(2, &["min", "z"])?;
                let h = want_hv(ev(a.req(0)?)?, a.req(0)?)?;
                let be = a.req(1)?;
                let (_, book) = want_book(ev(be)?, be)?;
                let number = |e: &'p Expr, what: &str| -> R<f64> {
                    match ev(e)? {
                        Value::Scalar(Val::Float(x)) => Ok(x),
                        Value::Scalar(Val::Int(i)) => Ok(i as f64),
                        other => Err(RuntimeError::new(
                            "TypeError",
                            e.span,
                            format!("`{what}` is a number, found {}", describe(&other)),
                        )),
                    }
                };
                let min = match a.named("min").or_else(|| a.pos(2)) {
                    None => None,
                    Some(e) => Some(number(e, "min")?),
                };
                // `z:` is a threshold in standard deviations above chance, the same in every
                // model and dimension.
                let z = match a.named("z") {
                    None => None,
                    Some(e) => Some(number(e, "z")?),
                };
                let min = self.space_of(&h, span)?.threshold(min, z);
                let n = if h.seq { self.n } else { 1 };
                let queries: Vec<Hv> = (0..n).map(|q| h.at(q).as_ref().clone()).collect();
                let vals = kernels::cleanup(&book, &queries, min)
                    .map_err(|e| super::kernel_err(e, span))?;
                Ok(if h.seq {
                    self.seq(vals, false)
                } else {
                    Value::Scalar(vals.into_iter().next().unwrap_or(Val::None))
                })
            }
            "embed" => {
                a.expect(2, &[])?;
                let xe = a.req(0)?;
                let be = a.req(1)?;
                let xs = ev(xe)?;
                let (space, book) = want_book(ev(be)?, be)?;
                let lookup = |v: &Val, q: Option<usize>| -> R<Hv> {
                    // A token's text is its symbol's name (`Val` prints strings bare).
                    let key = v.to_string();
                    match book.index_of(&key) {
                        Some(i) => Ok(book.vectors()[i].clone()),
                        None => {
                            let e = RuntimeError::new(
                                "UnknownSymbol",
                                xe.span,
                                format!(
                                    "`{key}` is not a symbol of the codebook `{}`",
                                    book.name()
                                ),
                            )
                            .with_note(format!("its symbols: {}", book.symbols().join(", ")));
                            Err(match q {
                                Some(q) => e.at(q),
                                None => e,
                            })
                        }
                    }
                };
                match xs {
                    Value::Scalar(v) => Ok(self.hv(space, false, vec![lookup(&v, None)?])),
                    Value::Seq(s) => {
                        let out = s
                            .vals
                            .iter()
                            .enumerate()
                            .map(|(q, v)| lookup(v, Some(q)))
                            .collect::<R<Vec<_>>>()?;
                        Ok(self.hv(space, true, out))
                    }
                    other => Err(RuntimeError::new(
                        "TypeError",
                        xe.span,
                        format!(
                            "`embed` needs a categorical sequence, found {}",
                            describe(&other)
                        ),
                    )),
                }
            }
            "sum" => {
                a.expect(2, &[])?;
                let sv = ev(a.req(0)?)?;
                let sel = super::as_sel(&sv, "sum", span)?;
                let h = want_hv(ev(a.req(1)?)?, a.req(1)?)?;
                let s = self.space_of(&h, span)?;
                let out = kernels::bundle_selected(&s, sel, |k| h.at(k).as_ref())
                    .map_err(|e| super::kernel_err(e, span))?;
                Ok(self.hv(h.space, true, out))
            }
            "factor" => {
                a.expect(2, &[])?;
                let h = want_hv(ev(a.req(0)?)?, a.req(0)?)?;
                let le = a.req(1)?;
                let items = match ev(le)? {
                    Value::List(items) => items,
                    other => {
                        return Err(RuntimeError::new(
                            "TypeError",
                            le.span,
                            format!(
                                "`factor` needs a list of codebooks, found {}",
                                describe(&other)
                            ),
                        ));
                    }
                };
                let books = items
                    .iter()
                    .map(|v| want_book(v.clone(), le).map(|(_, b)| b))
                    .collect::<R<Vec<_>>>()?;
                let refs: Vec<&Codebook> = books.iter().map(|b| b.as_ref()).collect();
                let s = self.space_of(&h, span)?;
                let n = if h.seq { self.n } else { 1 };
                let problems: Vec<Hv> = (0..n).map(|q| h.at(q).as_ref().clone()).collect();
                let sols = tessera_vsa::resonator::factor_batch(
                    &s,
                    &problems,
                    &refs,
                    &tessera_vsa::ResonatorOptions::default(),
                )
                .map_err(|e| vsa_err(e, span))?;
                let per_book: Vec<Value<'p>> = refs
                    .iter()
                    .enumerate()
                    .map(|(f, b)| {
                        let vals: Vec<Val> = sols
                            .iter()
                            .map(|sol| {
                                if sol.outcome == tessera_vsa::Outcome::Converged {
                                    Val::string(&b.symbols()[sol.indices[f]])
                                } else {
                                    Val::None
                                }
                            })
                            .collect();
                        if h.seq {
                            self.seq(vals, false)
                        } else {
                            Value::Scalar(vals.into_iter().next().unwrap_or(Val::None))
                        }
                    })
                    .collect();
                Ok(Value::List(Rc::new(per_book)))
            }
            _ => Err(RuntimeError::new(
                "Unsupported",
                span,
                format!("`{name}` is not a vector-symbolic operation"),
            )),
        }
    }
}
