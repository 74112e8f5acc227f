//! Evaluating the IR on one input: the reference for every later lowering of it, and checked
//! against the interpreter. Sequence operations use `tessera_lang::kernels`, the same
//! definitions the interpreter uses.

use crate::ir::{Ir, IrOutput, NodeId, Op, Pred, VsaOp};
use std::rc::Rc;
use tessera_lang::interp::{Output, Seq};
use tessera_lang::kernels::{self, KernelError, Selector};
use tessera_lang::span::Span;
use tessera_lang::value::Val;
use tessera_vsa::Hv;

/// A failure while evaluating a node.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub kind: &'static str,
    pub message: String,
    pub span: Span,
    pub position: Option<usize>,
}

enum V {
    Seq(Vec<Val>),
    Sel(Selector),
    Hv(Vec<Rc<Hv>>),
    Unused,
}

fn kerr(e: KernelError, span: Span) -> EvalError {
    EvalError {
        kind: e.kind,
        message: e.message,
        span,
        position: e.position,
    }
}

/// The value of one node on one input (for pictures and debugging).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Seq(Vec<Val>),
    Sel(Selector),
    /// One hypervector per position.
    Hv(Vec<Rc<Hv>>),
    /// Not live (the output does not depend on it).
    Unused,
}

/// Run the IR on input tokens and keep every live node's value.
pub fn eval_all(ir: &Ir, tokens: &[Val]) -> Result<Vec<NodeValue>, EvalError> {
    let (vals, _) = run(ir, tokens)?;
    Ok(vals
        .into_iter()
        .map(|v| match v {
            V::Seq(s) => NodeValue::Seq(s),
            V::Sel(s) => NodeValue::Sel(s),
            V::Hv(h) => NodeValue::Hv(h),
            V::Unused => NodeValue::Unused,
        })
        .collect())
}

/// Run the IR on input tokens.
pub fn eval(ir: &Ir, tokens: &[Val]) -> Result<Output, EvalError> {
    let (mut vals, _) = run(ir, tokens)?;
    output(ir, &mut vals)
}

fn run(ir: &Ir, tokens: &[Val]) -> Result<(Vec<V>, ()), EvalError> {
    let n = tokens.len();
    let live = ir.live();
    let mut vals: Vec<V> = (0..ir.nodes.len()).map(|_| V::Unused).collect();
    for id in live {
        let node = ir.node(id);
        let span = node.span;
        fn seq(vals: &[V], i: usize) -> &[Val] {
            match &vals[i] {
                V::Seq(s) => s,
                _ => &[],
            }
        }
        let sel = |vals: &[V], i: usize| -> Option<Selector> {
            match &vals[i] {
                V::Sel(s) => Some(s.clone()),
                _ => None,
            }
        };
        let missing = || EvalError {
            kind: "TypeError",
            message: "malformed IR: a selector input is not a selector".into(),
            span,
            position: None,
        };
        let v = match &node.op {
            Op::Tokens => V::Seq(tokens.to_vec()),
            Op::Indices => V::Seq((0..n).map(|i| Val::Int(i as i64)).collect()),
            Op::Length => V::Seq(vec![Val::Int(n as i64); n]),
            Op::Const(c) => V::Seq(vec![c.clone(); n]),
            Op::Elementwise { inputs, f } => {
                let mut out = Vec::with_capacity(n);
                let mut args: Vec<Val> = Vec::with_capacity(inputs.len());
                for q in 0..n {
                    args.clear();
                    args.extend(inputs.iter().map(|&i| seq(&vals, i)[q].clone()));
                    out.push(f.eval(&args).map_err(|e| EvalError {
                        kind: match e {
                            tessera_lang::value::OpError::Type(_) => "TypeError",
                            tessera_lang::value::OpError::DivisionByZero => "DivisionByZero",
                            tessera_lang::value::OpError::Overflow(_) => "Overflow",
                        },
                        message: e.to_string(),
                        span,
                        position: Some(q),
                    })?);
                }
                V::Seq(out)
            }
            Op::Select {
                keys,
                queries,
                pred,
            } => {
                let (k, q) = (seq(&vals, *keys), seq(&vals, *queries));
                V::Sel(match pred {
                    Pred::Cmp(c) => kernels::select_cmp(k, q, *c),
                    Pred::True => Selector::filled(n, true),
                    Pred::False => Selector::filled(n, false),
                    Pred::Fun(f) => kernels::select_with(k, q, |kv, qv| {
                        match f.eval(&[kv.clone(), qv.clone()]) {
                            Ok(Val::Bool(b)) => Ok(b),
                            Ok(other) => Err(format!(
                                "a select predicate gave {} `{other}`",
                                other.kind_name()
                            )),
                            Err(e) => Err(e.to_string()),
                        }
                    })
                    .map_err(|(message, q)| EvalError {
                        kind: "TypeError",
                        message,
                        span,
                        position: Some(q),
                    })?,
                })
            }
            Op::SelAnd(a, b) => V::Sel(
                sel(&vals, *a)
                    .ok_or_else(missing)?
                    .zip(&sel(&vals, *b).ok_or_else(missing)?, |x, y| x && y),
            ),
            Op::SelOr(a, b) => V::Sel(
                sel(&vals, *a)
                    .ok_or_else(missing)?
                    .zip(&sel(&vals, *b).ok_or_else(missing)?, |x, y| x || y),
            ),
            Op::SelNot(a) => V::Sel(sel(&vals, *a).ok_or_else(missing)?.not()),
            Op::Aggregate {
                sel: s,
                values,
                default,
            } => {
                let s = sel(&vals, *s).ok_or_else(missing)?;
                V::Seq(
                    kernels::aggregate(&s, seq(&vals, *values), default.as_ref())
                        .map_err(|e| kerr(e, span))?,
                )
            }
            Op::Mean { sel: s, values } => {
                let s = sel(&vals, *s).ok_or_else(missing)?;
                V::Seq(kernels::mean(&s, seq(&vals, *values)).map_err(|e| kerr(e, span))?)
            }
            Op::Width { sel: s } => V::Seq(kernels::width(&sel(&vals, *s).ok_or_else(missing)?)),
            Op::Best {
                sel: s,
                score,
                default,
            } => {
                let s = sel(&vals, *s).ok_or_else(missing)?;
                V::Seq(
                    kernels::best(&s, seq(&vals, *score), default.as_ref())
                        .map_err(|e| kerr(e, span))?,
                )
            }
            Op::Vsa { op, inputs } => vsa(op, inputs, &vals, n, span)?,
        };
        vals[id] = v;
    }
    Ok((vals, ()))
}

fn output(ir: &Ir, vals: &mut [V]) -> Result<Output, EvalError> {
    match &ir.output {
        Some(IrOutput::Scalar(v)) => Ok(Output::Scalar(v.clone())),
        Some(IrOutput::Seq(i)) => match std::mem::replace(&mut vals[*i], V::Unused) {
            V::Seq(s) => Ok(Output::Seq(Seq {
                vals: s,
                numeric: ir.node(*i).numeric,
            })),
            _ => Err(EvalError {
                kind: "TypeError",
                message: "malformed IR output".into(),
                span: ir.node(*i).span,
                position: None,
            }),
        },
        Some(IrOutput::Sel(i)) => match std::mem::replace(&mut vals[*i], V::Unused) {
            V::Sel(s) => Ok(Output::Sel(s)),
            _ => Err(EvalError {
                kind: "TypeError",
                message: "malformed IR output".into(),
                span: ir.node(*i).span,
                position: None,
            }),
        },
        None => Err(EvalError {
            kind: "TypeError",
            message: "the IR has no output".into(),
            span: Span::default(),
            position: None,
        }),
    }
}

fn vsa_fail(kind: &'static str, message: String, span: Span, q: Option<usize>) -> EvalError {
    EvalError {
        kind,
        message,
        span,
        position: q,
    }
}

/// One VSA node, computed with the same `tessera-vsa` calls the interpreter makes.
fn vsa(op: &VsaOp, inputs: &[NodeId], vals: &[V], n: usize, span: Span) -> Result<V, EvalError> {
    let hv = |i: usize| -> Result<&Vec<Rc<Hv>>, EvalError> {
        match inputs.get(i).map(|&x| &vals[x]) {
            Some(V::Hv(h)) => Ok(h),
            _ => Err(vsa_fail(
                "TypeError",
                "malformed IR: a VSA input is not a hypervector".into(),
                span,
                None,
            )),
        }
    };
    let verr =
        |e: tessera_vsa::VsaError, q: usize| vsa_fail("TypeError", e.to_string(), span, Some(q));
    let space = &op.space().space;
    Ok(match op {
        VsaOp::Const { vec, .. } => V::Hv(vec![vec.0.clone(); n]),
        VsaOp::Embed { book } => {
            let xs = match inputs.first().map(|&x| &vals[x]) {
                Some(V::Seq(s)) => s,
                _ => {
                    return Err(vsa_fail(
                        "TypeError",
                        "malformed IR: `embed` reads a sequence".into(),
                        span,
                        None,
                    ));
                }
            };
            let mut out = Vec::with_capacity(n);
            for (q, v) in xs.iter().enumerate() {
                let key = v.to_string();
                match book.book.index_of(&key) {
                    Some(i) => out.push(Rc::new(book.book.vectors()[i].clone())),
                    None => {
                        return Err(vsa_fail(
                            "UnknownSymbol",
                            format!("`{key}` is not a symbol of the codebook `{}`", book.name),
                            span,
                            Some(q),
                        ));
                    }
                }
            }
            V::Hv(out)
        }
        VsaOp::Bind { .. } | VsaOp::Unbind { .. } => {
            let (a, b) = (hv(0)?, hv(1)?);
            let mut out = Vec::with_capacity(n);
            for q in 0..n {
                let r = if matches!(op, VsaOp::Bind { .. }) {
                    space.bind(&a[q], &b[q])
                } else {
                    space.unbind(&a[q], &b[q])
                };
                out.push(Rc::new(r.map_err(|e| verr(e, q))?));
            }
            V::Hv(out)
        }
        VsaOp::Bundle { .. } => {
            let items = (0..inputs.len()).map(hv).collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(n);
            for q in 0..n {
                let refs: Vec<&Hv> = items.iter().map(|h| h[q].as_ref()).collect();
                out.push(Rc::new(space.bundle(&refs).map_err(|e| verr(e, q))?));
            }
            V::Hv(out)
        }
        VsaOp::Permute { k, .. } => {
            let a = hv(0)?;
            let mut out = Vec::with_capacity(n);
            for (q, x) in a.iter().enumerate() {
                out.push(Rc::new(space.permute(x, *k).map_err(|e| verr(e, q))?));
            }
            V::Hv(out)
        }
        VsaOp::PermuteBy { .. } => {
            let a = hv(0)?;
            let ks = match inputs.get(1).map(|&x| &vals[x]) {
                Some(V::Seq(s)) => s,
                _ => {
                    return Err(vsa_fail(
                        "TypeError",
                        "malformed IR: `permute` by a sequence reads one".into(),
                        span,
                        None,
                    ));
                }
            };
            let mut out = Vec::with_capacity(n);
            for (q, (x, k)) in a.iter().zip(ks).enumerate() {
                let Val::Int(k) = k else {
                    return Err(vsa_fail(
                        "TypeError",
                        format!("`permute` shifts by an int, found {}", k.kind_name()),
                        span,
                        Some(q),
                    ));
                };
                out.push(Rc::new(space.permute(x, *k).map_err(|e| verr(e, q))?));
            }
            V::Hv(out)
        }
        VsaOp::Sum { .. } => {
            let s = match inputs.first().map(|&x| &vals[x]) {
                Some(V::Sel(s)) => s,
                _ => {
                    return Err(vsa_fail(
                        "TypeError",
                        "malformed IR: `sum` reads a selector".into(),
                        span,
                        None,
                    ));
                }
            };
            let h = hv(1)?;
            let out =
                kernels::bundle_selected(space, s, |k| h[k].as_ref()).map_err(|e| kerr(e, span))?;
            V::Hv(out.into_iter().map(Rc::new).collect())
        }
        VsaOp::Sim { .. } => {
            let (a, b) = (hv(0)?, hv(1)?);
            let mut out = Vec::with_capacity(n);
            for q in 0..n {
                out.push(Val::Float(
                    space.similarity(&a[q], &b[q]).map_err(|e| verr(e, q))?,
                ));
            }
            V::Seq(out)
        }
        VsaOp::Cleanup { book, min } => {
            let a = hv(0)?;
            let queries: Vec<Hv> = a.iter().map(|x| x.as_ref().clone()).collect();
            V::Seq(kernels::cleanup(&book.book, &queries, *min).map_err(|e| kerr(e, span))?)
        }
    })
}
