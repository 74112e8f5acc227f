//! Tessera's engine: runs compiled model graphs with candle, saves and loads them.
//!
//! A [`Engine`] holds a model's weights as candle tensors (f32) on a device and runs batches:
//! every sequence gets a BOS position, sequences are padded to the longest, and padded key
//! positions are masked out of attention, so each sequence computes exactly what it would alone
//! (the same function as `tessera_compiler::graph::Model::forward`). CPU always works; CUDA is
//! behind the `cuda` feature and, without it, asking for it is the error `NotCompiledWithCuda`.
//!
//! On disk a model is a directory with `model.safetensors` (the weights), `graph.json` (the
//! residual labels, vocabulary, maximum length, layer shapes and the output encoding) and
//! `graph.dot` (the blocks, for Graphviz). Loading
//! checks every tensor's presence, shape and finiteness before anything runs.

mod helpers;
pub mod ptrnet;
pub mod sparse;
pub use sparse::SparseEngine;

use candle_core::{D, DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use tessera_compiler::graph::{
    Bilinear, Head, Layer, Mat, Memory, Mlp, Model, NumericOut, Unembed,
};
use tessera_lang::value::Val;

/// Everything that can go wrong in the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    NotCompiledWithCuda,
    Candle(String),
    Input(String),
    Load(String),
    Io(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::NotCompiledWithCuda => {
                write!(
                    f,
                    "this build has no CUDA support (rebuild with `--features cuda`)"
                )
            }
            EngineError::Candle(m) => write!(f, "tensor error: {m}"),
            EngineError::Input(m) => write!(f, "{m}"),
            EngineError::Load(m) => write!(f, "cannot load the model: {m}"),
            EngineError::Io(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<candle_core::Error> for EngineError {
    fn from(e: candle_core::Error) -> EngineError {
        EngineError::Candle(e.to_string())
    }
}

type R<T> = Result<T, EngineError>;

/// The device to run on: the CPU, or the first CUDA GPU when `cuda` is asked for.
pub fn device(cuda: bool) -> R<Device> {
    if !cuda {
        return Ok(Device::Cpu);
    }
    #[cfg(feature = "cuda")]
    {
        Device::new_cuda(0).map_err(EngineError::from)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(EngineError::NotCompiledWithCuda)
    }
}

/// A product `x·W` restricted to the residual dimensions `W` reads (`rows`, `None` when that
/// is most of them): compiled weights are sparse in whole rows and columns (a head reads a few
/// one-hots and writes a few), so the engine multiplies only the blocks that are not zero.
/// Skipping exact zeros leaves every product the same.
struct Gathered {
    rows: Option<Tensor>,
    w: Tensor,
}

impl Gathered {
    fn apply(&self, x: &Tensor) -> R<Tensor> {
        let x = match &self.rows {
            Some(r) => x.index_select(r, 2)?,
            None => x.clone(),
        };
        Ok(x.broadcast_matmul(&self.w)?)
    }
}

/// Columns (or rows) of `m` with a nonzero entry.
fn nonzero_cols(m: &Mat) -> Vec<usize> {
    m.entries()
        .map(|(_, c, _)| c)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|&c| c < m.cols)
        .collect()
}

fn nonzero_rows(m: &Mat) -> Vec<usize> {
    let mut rows: Vec<usize> = m
        .entries()
        .map(|(r, _, _)| r)
        .filter(|&r| r < m.rows)
        .collect();
    rows.dedup();
    rows
}

/// The block of `m` at `rows` × `cols`, in the engine's precision.
fn block(m: &Mat, rows: &[usize], cols: &[usize], device: &Device, dtype: DType) -> R<Tensor> {
    // where each row and column of `m` lands in the block (any order, repeats allowed)
    let places = |ix: &[usize]| {
        let mut at: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, &x) in ix.iter().enumerate() {
            at.entry(x).or_default().push(i);
        }
        at
    };
    let (row_at, col_at) = (places(rows), places(cols));
    let mut data = vec![0.0; rows.len() * cols.len()];
    for (r, c, v) in m.entries() {
        if let (Some(is), Some(js)) = (row_at.get(&r), col_at.get(&c)) {
            for i in is {
                for j in js {
                    data[i * cols.len() + j] = v;
                }
            }
        }
    }
    floats(data, (rows.len(), cols.len()), device, dtype)
}

/// A tensor of `data` in `dtype` (f32 or f64).
fn floats<S: Into<candle_core::Shape>>(
    data: Vec<f64>,
    shape: S,
    device: &Device,
    dtype: DType,
) -> R<Tensor> {
    Ok(if dtype == DType::F64 {
        Tensor::from_vec(data, shape, device)?
    } else {
        let data: Vec<f32> = data.into_iter().map(|x| x as f32).collect();
        Tensor::from_vec(data, shape, device)?
    })
}

fn index(ix: &[usize], device: &Device) -> R<Tensor> {
    let v: Vec<u32> = ix.iter().map(|&i| i as u32).collect();
    Ok(Tensor::from_vec(v, ix.len(), device)?)
}

/// `x·m[:, cols]` over the rows of `m` that are not zero (gathered from `x` when that saves
/// at least a third of the work).
fn gathered(m: &Mat, cols: &[usize], device: &Device, dtype: DType) -> R<Gathered> {
    let mut rows = nonzero_rows(m);
    if rows.is_empty() {
        rows.push(0);
    }
    if rows.len() * 3 > m.rows * 2 {
        let all: Vec<usize> = (0..m.rows).collect();
        return Ok(Gathered {
            rows: None,
            w: block(m, &all, cols, device, dtype)?,
        });
    }
    Ok(Gathered {
        rows: Some(index(&rows, device)?),
        w: block(m, &rows, cols, device, dtype)?,
    })
}

struct HeadT {
    /// Query and key projections over the key-size columns both use.
    q: Gathered,
    k: Gathered,
    /// The value/output map over the columns it writes (`out`), added back with `index_add`.
    ov: Gathered,
    out: Tensor,
}

struct MlpT {
    /// The first layer over the hidden units that write something.
    w1: Gathered,
    b1: Tensor,
    /// The second layer onto the residual columns it writes (`out`).
    w2: Tensor,
    out: Tensor,
}

fn head_t(h: &Head, device: &Device, dtype: DType) -> R<HeadT> {
    let qc = nonzero_cols(&h.wq);
    let kc = nonzero_cols(&h.wk);
    let mut both: Vec<usize> = qc.into_iter().filter(|c| kc.contains(c)).collect();
    if both.is_empty() {
        // Every score is 0: one zero column keeps the shapes valid.
        both.push(0);
    }
    let mut out = nonzero_cols(&h.wov);
    if out.is_empty() {
        out.push(0);
    }
    Ok(HeadT {
        q: gathered(&h.wq, &both, device, dtype)?,
        k: gathered(&h.wk, &both, device, dtype)?,
        ov: gathered(&h.wov, &out, device, dtype)?,
        out: index(&out, device)?,
    })
}

fn mlp_t(m: &Mlp, device: &Device, dtype: DType) -> R<MlpT> {
    let mut hidden = nonzero_rows(&m.w2);
    if hidden.is_empty() {
        hidden.push(0);
    }
    let mut out = nonzero_cols(&m.w2);
    if out.is_empty() {
        out.push(0);
    }
    let b1: Vec<f64> = hidden
        .iter()
        .map(|&h| m.b1.get(h).copied().unwrap_or(0.0))
        .collect();
    Ok(MlpT {
        w1: gathered(&m.w1, &hidden, device, dtype)?,
        b1: floats(b1, hidden.len(), device, dtype)?,
        w2: block(&m.w2, &hidden, &out, device, dtype)?,
        out: index(&out, device)?,
    })
}

/// A bilinear sublayer over the units that write something: `((x U + bu) ⊙ (x V + bv)) W`.
struct BilT {
    u: Gathered,
    bu: Tensor,
    v: Gathered,
    bv: Tensor,
    w: Tensor,
    out: Tensor,
}

fn bil_t(b: &Bilinear, device: &Device, dtype: DType) -> R<BilT> {
    let mut hidden = nonzero_rows(&b.w);
    if hidden.is_empty() {
        hidden.push(0);
    }
    let mut out = nonzero_cols(&b.w);
    if out.is_empty() {
        out.push(0);
    }
    let pick = |bias: &[f64]| -> Vec<f64> {
        hidden
            .iter()
            .map(|&h| bias.get(h).copied().unwrap_or(0.0))
            .collect()
    };
    Ok(BilT {
        u: gathered(&b.u, &hidden, device, dtype)?,
        bu: floats(pick(&b.bu), hidden.len(), device, dtype)?,
        v: gathered(&b.v, &hidden, device, dtype)?,
        bv: floats(pick(&b.bv), hidden.len(), device, dtype)?,
        w: block(&b.w, &hidden, &out, device, dtype)?,
        out: index(&out, device)?,
    })
}

/// A memory's scores are computed in f64: slot tie-breaks are fractions of 1 on top of integer
/// dot products as large as the dimension.
struct MemT {
    keys: Tensor,
    bias: Tensor,
    values: Tensor,
    tie: f64,
    /// `slots - j` for slot j: the largest among the tied slots is the first of them.
    first: Tensor,
}

type LayerT = (Vec<HeadT>, Option<MlpT>, Option<BilT>, Vec<MemT>);

/// A model's weights on a device, ready to run batches.
pub struct Engine {
    device: Device,
    vocab: Vec<Val>,
    max_len: usize,
    token_embed: Tensor,
    pos_embed: Tensor,
    layers: Vec<LayerT>,
    unembed_dims: Tensor,
    unembed_vals: Vec<Val>,
    /// A numeric output instead of the one-hot (`unembed_dims` then holds its dimension).
    numeric: Option<NumericOut>,
    /// f32, or f64 for models with numeric equality heads ([`Model::needs_f64`]).
    dtype: DType,
}

/// `m` as a tensor of `dtype`.
fn tensor_as(m: &Mat, device: &Device, dtype: DType) -> R<Tensor> {
    floats(m.to_dense(), (m.rows, m.cols), device, dtype)
}

/// Keeps freed tensor buffers in the heap on glibc: every op of a forward pass allocates a
/// fresh batch × length × residual tensor (hundreds of KB), and glibc's defaults return such
/// blocks to the OS on free and fault them in again on the next allocation, which cost more
/// than the arithmetic (page faults and zeroing were the top of the profile). Raises the mmap
/// threshold to 32 MiB and the trim threshold to 256 MiB, once per process; set
/// `TESSERA_NO_MALLOC_TUNING=1` to leave the allocator alone. A no-op elsewhere.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("TESSERA_NO_MALLOC_TUNING").is_some() {
                return;
            }
            // SAFETY: `mallopt` only changes glibc's allocation thresholds; it is called once,
            // before the engine allocates, and takes plain integers.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
            }
        });
    }
}

impl Engine {
    pub fn new(model: &Model, device: &Device) -> R<Engine> {
        tune_allocator();
        // Numeric equality heads multiply values by β·M: f32 rounding of the residual would
        // reach their margin, so such models run in f64 (everything else in f32).
        let dtype = if model.needs_f64() {
            DType::F64
        } else {
            DType::F32
        };
        let mut layers = Vec::with_capacity(model.layers.len());
        for l in &model.layers {
            let heads = l
                .heads
                .iter()
                .map(|h| head_t(h, device, dtype))
                .collect::<R<Vec<_>>>()?;
            let mlp = match &l.mlp {
                Some(m) => Some(mlp_t(m, device, dtype)?),
                None => None,
            };
            let bil = match &l.bilinear {
                Some(b) => Some(bil_t(b, device, dtype)?),
                None => None,
            };
            if l.memories.iter().any(|m| m.bias.is_empty()) {
                return Err(EngineError::Load("a memory layer has no slots".into()));
            }
            let mems = l
                .memories
                .iter()
                .map(|m| {
                    let slots = m.bias.len();
                    Ok(MemT {
                        keys: tensor_as(&m.keys, device, DType::F64)?,
                        bias: Tensor::from_vec(m.bias.clone(), slots, device)?,
                        values: tensor_as(&m.values, device, dtype)?,
                        tie: m.tie,
                        first: Tensor::from_vec(
                            (0..slots).map(|j| (slots - j) as f64).collect::<Vec<_>>(),
                            slots,
                            device,
                        )?,
                    })
                })
                .collect::<R<Vec<_>>>()?;
            layers.push((heads, mlp, bil, mems));
        }
        let dims: Vec<u32> = match &model.unembed.numeric {
            Some(n) => vec![n.dim as u32],
            None => model.unembed.dims.iter().map(|(d, _)| *d as u32).collect(),
        };
        Ok(Engine {
            device: device.clone(),
            vocab: model.vocab.clone(),
            max_len: model.max_len,
            token_embed: tensor_as(&model.token_embed, device, dtype)?,
            pos_embed: tensor_as(&model.pos_embed, device, dtype)?,
            dtype,
            layers,
            unembed_dims: Tensor::from_vec(dims.clone(), dims.len(), device)?,
            unembed_vals: model.unembed.dims.iter().map(|(_, v)| v.clone()).collect(),
            numeric: model.unembed.numeric.clone(),
        })
    }

    /// Run a batch of token sequences; the decoded output of each.
    pub fn forward_batch(&self, batch: &[Vec<Val>]) -> R<Vec<Vec<Val>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let bos = self.vocab.len() as u32;
        let longest = batch.iter().map(Vec::len).max().unwrap_or(0);
        if longest > self.max_len {
            return Err(EngineError::Input(format!(
                "an input has {longest} tokens; the model was compiled for at most {}",
                self.max_len
            )));
        }
        let l = longest + 1;
        let b = batch.len();
        let mut ids: Vec<u32> = Vec::with_capacity(b * l);
        let mut mask: Vec<f32> = Vec::with_capacity(b * l);
        for (s, seq) in batch.iter().enumerate() {
            ids.push(bos);
            mask.push(0.0);
            for (p, t) in seq.iter().enumerate() {
                let id = self.vocab.iter().position(|v| v == t).ok_or_else(|| {
                    EngineError::Input(format!(
                        "input {s}: token `{t}` at position {p} is not in the model's vocabulary"
                    ))
                })?;
                ids.push(id as u32);
                mask.push(0.0);
            }
            for _ in seq.len()..longest {
                ids.push(bos);
                mask.push(-1.0e9);
            }
        }
        let ids = Tensor::from_vec(ids, b * l, &self.device)?;
        let d = self.token_embed.dim(1)?;
        let tok = self.token_embed.index_select(&ids, 0)?.reshape((b, l, d))?;
        let pos = self.pos_embed.narrow(0, 0, l)?.unsqueeze(0)?;
        let mut x = tok.broadcast_add(&pos)?;
        // Padded keys are never attended to.
        let mask = Tensor::from_vec(mask, (b, 1, l), &self.device)?.to_dtype(self.dtype)?;
        // Memories write nothing at BOS.
        let not_bos: Vec<f32> = (0..b * l)
            .map(|i| if i % l == 0 { 0.0 } else { 1.0 })
            .collect();
        let not_bos = Tensor::from_vec(not_bos, (b, l, 1), &self.device)?.to_dtype(self.dtype)?;
        for (heads, mlp, bil, mems) in &self.layers {
            // Every head reads the residual before any of the layer's heads writes to it.
            let mut delta = x.zeros_like()?;
            for h in heads {
                let q = h.q.apply(&x)?;
                let k = h.k.apply(&x)?;
                let v = h.ov.apply(&x)?;
                let scores = q
                    .matmul(&k.transpose(1, 2)?.contiguous()?)?
                    .broadcast_add(&mask)?;
                let max = scores.max_keepdim(D::Minus1)?;
                let e = scores.broadcast_sub(&max)?.exp()?;
                let z = e.sum_keepdim(D::Minus1)?;
                let attn = e.broadcast_div(&z)?;
                let written = attn.matmul(&v)?.contiguous()?;
                delta = delta.index_add(&h.out, &written, 2)?;
            }
            if !heads.is_empty() {
                x = (x + delta)?;
            }
            // The bilinear sublayer reads the residual the MLP reads.
            let products = match bil {
                Some(bl) => {
                    let a = bl.u.apply(&x)?.broadcast_add(&bl.bu)?;
                    let c = bl.v.apply(&x)?.broadcast_add(&bl.bv)?;
                    Some((bl, (a * c)?.broadcast_matmul(&bl.w)?.contiguous()?))
                }
                None => None,
            };
            if let Some(m) = mlp {
                let h = m.w1.apply(&x)?.broadcast_add(&m.b1)?.relu()?;
                let written = h.broadcast_matmul(&m.w2)?.contiguous()?;
                x = x.index_add(&m.out, &written, 2)?;
            }
            if let Some((bl, written)) = products {
                x = x.index_add(&bl.out, &written, 2)?;
            }
            if !mems.is_empty() {
                let x64 = x.to_dtype(DType::F64)?;
                let mut delta = x.zeros_like()?;
                for m in mems {
                    let scores = x64.broadcast_matmul(&m.keys)?.broadcast_add(&m.bias)?;
                    let slot = if m.tie > 0.0 {
                        // The first slot within tie·|best| of the best.
                        let max = scores.max_keepdim(D::Minus1)?;
                        let floor = (&max - (max.abs()? * m.tie)?)?;
                        let tied = scores.broadcast_ge(&floor)?.to_dtype(DType::F64)?;
                        tied.broadcast_mul(&m.first)?
                            .argmax(D::Minus1)?
                            .flatten_all()?
                    } else {
                        scores.argmax(D::Minus1)?.flatten_all()?
                    };
                    let rows = m.values.index_select(&slot, 0)?.reshape((b, l, d))?;
                    delta = (delta + rows.broadcast_mul(&not_bos)?)?;
                }
                x = (x + delta)?;
            }
        }
        let picked = x.index_select(&self.unembed_dims, 2)?;
        if let Some(n) = &self.numeric {
            let xs: Vec<Vec<f64>> = picked.squeeze(2)?.to_dtype(DType::F64)?.to_vec2()?;
            return Ok(batch
                .iter()
                .zip(xs)
                .map(|(seq, row)| row[1..=seq.len()].iter().map(|&v| n.nearest(v)).collect())
                .collect());
        }
        let best: Vec<Vec<u32>> = picked.argmax(D::Minus1)?.to_dtype(DType::U32)?.to_vec2()?;
        Ok(batch
            .iter()
            .zip(best)
            .map(|(seq, row)| {
                row[1..=seq.len()]
                    .iter()
                    .map(|&i| {
                        self.unembed_vals
                            .get(i as usize)
                            .cloned()
                            .unwrap_or(Val::None)
                    })
                    .collect()
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Saving and loading.

const FORMAT: &str = "tessera-model";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct GraphJson {
    format: String,
    version: u32,
    /// What the model computes: the source entry.
    entry: String,
    residual: Vec<String>,
    vocab: Vec<serde_json::Value>,
    max_len: usize,
    layers: Vec<LayerJson>,
    /// `(residual dimension, value)` for every output value.
    unembed: Vec<(usize, serde_json::Value)>,
    /// A numeric output: its dimension and `(number, value)` for every possible value, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unembed_numeric: Option<NumericJson>,
}

#[derive(Serialize, Deserialize)]
struct NumericJson {
    dim: usize,
    values: Vec<(f64, serde_json::Value)>,
}

#[derive(Serialize, Deserialize)]
struct LayerJson {
    heads: Vec<HeadJson>,
    mlp: Option<MlpJson>,
    /// The bilinear sublayer's size and labels (absent in models without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bilinear: Option<MlpJson>,
    #[serde(default)]
    memories: Vec<MemoryJson>,
}

#[derive(Serialize, Deserialize)]
struct MemoryJson {
    label: String,
    slots: usize,
    /// See `graph::Memory::tie` (absent: 0, exact scores).
    #[serde(default, skip_serializing_if = "is_zero")]
    tie: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Serialize, Deserialize)]
struct HeadJson {
    label: String,
    key_size: usize,
}

#[derive(Serialize, Deserialize)]
struct MlpJson {
    hidden: usize,
    labels: Vec<String>,
}

fn val_json(v: &Val) -> serde_json::Value {
    match v {
        Val::None => serde_json::Value::Null,
        Val::Bool(b) => serde_json::json!(b),
        Val::Int(i) => serde_json::json!(i),
        Val::Float(x) => serde_json::json!(x),
        Val::Str(s) => serde_json::json!(s.as_ref()),
    }
}

fn json_val(v: &serde_json::Value) -> R<Val> {
    Ok(match v {
        serde_json::Value::Null => Val::None,
        serde_json::Value::Bool(b) => Val::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Val::Int(i),
            (None, Some(x)) => Val::Float(x),
            _ => return Err(EngineError::Load(format!("graph.json: bad number {n}"))),
        },
        serde_json::Value::String(s) => Val::Str(s.as_str().into()),
        other => {
            return Err(EngineError::Load(format!(
                "graph.json: a value must be a scalar, found {other}"
            )));
        }
    })
}

/// Write a model to `dir` (created): `model.safetensors` and `graph.json`. The files are
/// written into a temporary directory first and renamed into place, so `dir` appears complete
/// or not at all.
pub fn save(model: &Model, entry: &str, dir: &Path) -> R<()> {
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let cpu = Device::Cpu;
    tensors.insert(
        "token_embed".into(),
        tensor_as(&model.token_embed, &cpu, DType::F32)?,
    );
    tensors.insert(
        "pos_embed".into(),
        tensor_as(&model.pos_embed, &cpu, DType::F32)?,
    );
    let mut layers = Vec::new();
    for (li, l) in model.layers.iter().enumerate() {
        let mut heads = Vec::new();
        for (hi, h) in l.heads.iter().enumerate() {
            tensors.insert(
                format!("layers.{li}.heads.{hi}.wq"),
                tensor_as(&h.wq, &cpu, DType::F32)?,
            );
            tensors.insert(
                format!("layers.{li}.heads.{hi}.wk"),
                tensor_as(&h.wk, &cpu, DType::F32)?,
            );
            tensors.insert(
                format!("layers.{li}.heads.{hi}.wov"),
                tensor_as(&h.wov, &cpu, DType::F32)?,
            );
            heads.push(HeadJson {
                label: h.label.clone(),
                key_size: h.wq.cols,
            });
        }
        let mlp = match &l.mlp {
            Some(m) => {
                tensors.insert(
                    format!("layers.{li}.mlp.w1"),
                    tensor_as(&m.w1, &cpu, DType::F32)?,
                );
                tensors.insert(
                    format!("layers.{li}.mlp.b1"),
                    Tensor::from_vec(
                        m.b1.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                        m.b1.len(),
                        &cpu,
                    )?,
                );
                tensors.insert(
                    format!("layers.{li}.mlp.w2"),
                    tensor_as(&m.w2, &cpu, DType::F32)?,
                );
                Some(MlpJson {
                    hidden: m.b1.len(),
                    labels: m.labels.clone(),
                })
            }
            None => None,
        };
        let bilinear = match &l.bilinear {
            Some(b) => {
                for (name, m) in [("u", &b.u), ("v", &b.v), ("w", &b.w)] {
                    tensors.insert(
                        format!("layers.{li}.bilinear.{name}"),
                        tensor_as(m, &cpu, DType::F32)?,
                    );
                }
                for (name, bias) in [("bu", &b.bu), ("bv", &b.bv)] {
                    tensors.insert(
                        format!("layers.{li}.bilinear.{name}"),
                        Tensor::from_vec(
                            bias.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                            bias.len(),
                            &cpu,
                        )?,
                    );
                }
                Some(MlpJson {
                    hidden: b.bu.len(),
                    labels: b.labels.clone(),
                })
            }
            None => None,
        };
        let mut memories = Vec::new();
        for (mi, m) in l.memories.iter().enumerate() {
            tensors.insert(
                format!("layers.{li}.memories.{mi}.keys"),
                tensor_as(&m.keys, &cpu, DType::F64)?,
            );
            tensors.insert(
                format!("layers.{li}.memories.{mi}.bias"),
                Tensor::from_vec(m.bias.clone(), m.bias.len(), &cpu)?,
            );
            tensors.insert(
                format!("layers.{li}.memories.{mi}.values"),
                tensor_as(&m.values, &cpu, DType::F32)?,
            );
            memories.push(MemoryJson {
                label: m.label.clone(),
                slots: m.bias.len(),
                tie: m.tie,
            });
        }
        layers.push(LayerJson {
            heads,
            mlp,
            bilinear,
            memories,
        });
    }
    let graph = GraphJson {
        format: FORMAT.into(),
        version: VERSION,
        entry: entry.into(),
        residual: model.residual.clone(),
        vocab: model.vocab.iter().map(val_json).collect(),
        max_len: model.max_len,
        layers,
        unembed: model
            .unembed
            .dims
            .iter()
            .map(|(d, v)| (*d, val_json(v)))
            .collect(),
        unembed_numeric: model.unembed.numeric.as_ref().map(|n| NumericJson {
            dim: n.dim,
            values: n.values.iter().map(|(x, v)| (*x, val_json(v))).collect(),
        }),
    };
    let json = serde_json::to_string_pretty(&graph).map_err(|e| EngineError::Io(e.to_string()))?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e: std::io::Error, what: &Path| {
        EngineError::Io(format!("cannot write `{}`: {e}", what.display()))
    };
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
    let written = (|| -> R<()> {
        candle_core::safetensors::save(&tensors, tmp.join("model.safetensors"))?;
        std::fs::write(tmp.join("graph.json"), json).map_err(|e| io(e, &tmp))?;
        std::fs::write(tmp.join("graph.dot"), model.to_dot()).map_err(|e| io(e, &tmp))?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| io(e, dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| io(e, dir))
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

/// Read a model written by [`save`]; every tensor is checked (present, right shape, finite).
pub fn load(dir: &Path) -> R<(Model, String)> {
    let text = std::fs::read_to_string(dir.join("graph.json"))
        .map_err(|e| EngineError::Load(format!("`{}`: {e}", dir.join("graph.json").display())))?;
    let weights = std::fs::read(dir.join("model.safetensors")).map_err(|e| {
        EngineError::Load(format!(
            "`{}`: {e}",
            dir.join("model.safetensors").display()
        ))
    })?;
    load_bytes(&text, &weights)
}

/// [`load`] from the contents of `graph.json` and `model.safetensors` (what the `model` fuzz
/// target feeds).
pub fn load_bytes(text: &str, weights: &[u8]) -> R<(Model, String)> {
    let g: GraphJson =
        serde_json::from_str(text).map_err(|e| EngineError::Load(format!("graph.json: {e}")))?;
    if g.format != FORMAT || g.version != VERSION {
        return Err(EngineError::Load(format!(
            "graph.json: format `{}` version {} (expected `{FORMAT}` version {VERSION})",
            g.format, g.version
        )));
    }
    let tensors = candle_core::safetensors::load_buffer(weights, &Device::Cpu)
        .map_err(|e| EngineError::Load(format!("model.safetensors: {e}")))?;
    let d = g.residual.len();
    let vocab = g.vocab.iter().map(json_val).collect::<R<Vec<_>>>()?;
    let dense = |name: &str, rows: usize, cols: Option<usize>| -> R<Vec<f64>> {
        let t = tensors.get(name).ok_or_else(|| {
            EngineError::Load(format!("model.safetensors has no tensor `{name}`"))
        })?;
        let shape = t.dims().to_vec();
        let ok = match cols {
            Some(c) => shape == [rows, c],
            None => shape == [rows],
        };
        if !ok {
            return Err(EngineError::Load(format!(
                "tensor `{name}` has shape {shape:?}, expected [{rows}{}]",
                cols.map(|c| format!(", {c}")).unwrap_or_default()
            )));
        }
        let data: Vec<f64> = t.flatten_all()?.to_dtype(DType::F64)?.to_vec1()?;
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(EngineError::Load(format!(
                "tensor `{name}` holds a non-finite value at index {i}"
            )));
        }
        Ok(data)
    };
    let get = |name: &str, rows: usize, cols: Option<usize>| -> R<Mat> {
        Ok(Mat::from_dense(
            rows,
            cols.unwrap_or(1),
            &dense(name, rows, cols)?,
        ))
    };
    if g.max_len == 0 || g.max_len > 1 << 20 || vocab.is_empty() {
        return Err(EngineError::Load(
            "graph.json: max_len or vocab out of range".into(),
        ));
    }
    let token_embed = get("token_embed", vocab.len() + 1, Some(d))?;
    let pos_embed = get("pos_embed", g.max_len + 1, Some(d))?;
    let mut layers = Vec::with_capacity(g.layers.len());
    for (li, l) in g.layers.iter().enumerate() {
        let mut heads = Vec::with_capacity(l.heads.len());
        for (hi, h) in l.heads.iter().enumerate() {
            heads.push(Head {
                label: h.label.clone(),
                wq: get(&format!("layers.{li}.heads.{hi}.wq"), d, Some(h.key_size))?,
                wk: get(&format!("layers.{li}.heads.{hi}.wk"), d, Some(h.key_size))?,
                wov: get(&format!("layers.{li}.heads.{hi}.wov"), d, Some(d))?,
            });
        }
        let mlp = match &l.mlp {
            Some(m) => Some(Mlp {
                labels: m.labels.clone(),
                w1: get(&format!("layers.{li}.mlp.w1"), d, Some(m.hidden))?,
                b1: dense(&format!("layers.{li}.mlp.b1"), m.hidden, None)?,
                w2: get(&format!("layers.{li}.mlp.w2"), m.hidden, Some(d))?,
            }),
            None => None,
        };
        let bilinear = match &l.bilinear {
            Some(b) => {
                let name = |n: &str| format!("layers.{li}.bilinear.{n}");
                Some(Bilinear {
                    labels: b.labels.clone(),
                    u: get(&name("u"), d, Some(b.hidden))?,
                    bu: dense(&name("bu"), b.hidden, None)?,
                    v: get(&name("v"), d, Some(b.hidden))?,
                    bv: dense(&name("bv"), b.hidden, None)?,
                    w: get(&name("w"), b.hidden, Some(d))?,
                })
            }
            None => None,
        };
        let mut memories = Vec::with_capacity(l.memories.len());
        for (mi, m) in l.memories.iter().enumerate() {
            if m.slots == 0 {
                return Err(EngineError::Load(format!(
                    "graph.json: memory {mi} of layer {li} has no slots"
                )));
            }
            if !(0.0..1.0).contains(&m.tie) {
                return Err(EngineError::Load(format!(
                    "graph.json: memory {mi} of layer {li} has tie tolerance {}, outside [0, 1)",
                    m.tie
                )));
            }
            memories.push(Memory {
                label: m.label.clone(),
                keys: get(&format!("layers.{li}.memories.{mi}.keys"), d, Some(m.slots))?,
                bias: dense(&format!("layers.{li}.memories.{mi}.bias"), m.slots, None)?,
                values: get(
                    &format!("layers.{li}.memories.{mi}.values"),
                    m.slots,
                    Some(d),
                )?,
                tie: m.tie,
            });
        }
        layers.push(Layer {
            heads,
            mlp,
            bilinear,
            memories,
        });
    }
    let numeric = match &g.unembed_numeric {
        Some(n) => {
            if n.dim >= d {
                return Err(EngineError::Load(format!(
                    "graph.json: numeric output dimension {} is outside the residual ({d})",
                    n.dim
                )));
            }
            if n.values.is_empty()
                || !g.unembed.is_empty()
                || n.values.iter().any(|(x, _)| !x.is_finite())
                || n.values.windows(2).any(|w| w[0].0 >= w[1].0)
            {
                return Err(EngineError::Load(
                    "graph.json: a numeric output needs finite values in increasing order, and no one-hot output".into(),
                ));
            }
            Some(NumericOut {
                dim: n.dim,
                values: n
                    .values
                    .iter()
                    .map(|(x, v)| Ok((*x, json_val(v)?)))
                    .collect::<R<Vec<_>>>()?,
            })
        }
        None => None,
    };
    let mut dims = Vec::with_capacity(g.unembed.len());
    for (dim, v) in &g.unembed {
        if *dim >= d {
            return Err(EngineError::Load(format!(
                "graph.json: output dimension {dim} is outside the residual ({d})"
            )));
        }
        dims.push((*dim, json_val(v)?));
    }
    Ok((
        Model {
            residual: g.residual,
            vocab,
            max_len: g.max_len,
            token_embed,
            pos_embed,
            layers,
            unembed: Unembed { dims, numeric },
        },
        g.entry,
    ))
}
