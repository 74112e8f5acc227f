//! A CPU forward pass that touches only the nonzero weights.
//!
//! Compiled models are almost all zeros: `reverse` at max_len 20 has 21,665 dense parameters and
//! 554 nonzero ones, and its residual rows are one-hots and a few numbers. [`SparseEngine`]
//! stores every matrix as lists of `(column, weight)` per input row and visits only the rows a
//! matrix reads, skips zero inputs, scores a query against a key over the key's nonzero columns
//! only, treats keys with identical key and value rows as one group with a count (one-hot keys
//! over a small vocabulary: a handful of groups however long the input), and moves values only
//! into the columns a head writes. MLP units held off by a large negative bias unless one input
//! (a one-hot) is on, as the compiler's maps fused with a head's decoding are, are computed only
//! at positions where that input is nonzero, once a per-sequence bound (each other input's range
//! over the positions) proves them zero elsewhere. Positions whose query rows are equal attend
//! once per head, and an MLP that reads at most 64 residual columns computes its output once
//! per distinct input across the batch (a cache that is switched off when fewer than half of its
//! first 64 lookups hit; compiled width, aggregate and mean heads attend exactly, so equal
//! inputs give bit-equal values and the caches hit). A head whose queries, or keys and values,
//! read only what the embeddings wrote (every first-layer head) has those rows as functions of
//! a position's token and index: within size limits they are tabled per (token, position) when
//! the engine is built, with every (query, key) score where both sides are, and a sequence's
//! attention reads the tables; where only the keys and values are tabled, each distinct query
//! input's scores against every tabled key are computed once and kept.
//! It computes in f64 what [`Model::forward`] computes, the same sums
//! up to their order (so the same residual up to rounding, and the same decoded outputs: the
//! compiled margins are many orders of magnitude above f64 rounding), without candle's
//! per-operation cost. The candle [`crate::Engine`] remains the engine for the GPU.

use crate::{EngineError, R};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tessera_compiler::graph::{Mat, Memory, Model, Unembed, apply_memories, decode_output};
use tessera_lang::value::Val;

/// The most key groups a head looks for before it treats every key as its own.
const MAX_GROUPS: usize = 16;

/// A generic head with at least this many key groups scores each query over the groups its
/// columns reach ([`Core::scores_by_column`]).
const BY_COLUMN_GROUPS: usize = 12;

/// A matrix as `(column, weight)` lists per row, for `y += x·M` over the nonzero `x[r]`.
#[derive(Debug, Clone)]
struct Rows {
    rows: Vec<Vec<(usize, f64)>>,
    /// The rows with a nonzero weight: a head or MLP reads a few residual dimensions of many.
    used: Vec<usize>,
}

impl Rows {
    fn new(m: &Mat) -> Rows {
        let mut rows = vec![Vec::new(); m.rows];
        for (r, c, v) in m.entries() {
            if let Some(row) = rows.get_mut(r) {
                row.push((c, v));
            }
        }
        Rows::from_rows(rows)
    }

    fn from_rows(rows: Vec<Vec<(usize, f64)>>) -> Rows {
        let used = (0..rows.len()).filter(|&r| !rows[r].is_empty()).collect();
        Rows { rows, used }
    }

    /// `y += x·M` (y already sized to the columns).
    fn apply_add(&self, x: &[f64], y: &mut [f64]) {
        for &r in &self.used {
            let xr = x[r];
            if xr == 0.0 {
                continue;
            }
            for &(c, v) in &self.rows[r] {
                y[c] += xr * v;
            }
        }
    }
}

struct SparseHead {
    wq: Rows,
    wk: Rows,
    /// The value/output map onto the columns it writes (`out`), compacted.
    ov: Rows,
    out: Vec<usize>,
    dk: usize,
    /// For a head whose queries, keys and values all read only what the embeddings wrote
    /// (every first-layer head), its scores and values by token and position.
    table: Option<SlotHead>,
    /// For a head whose keys and values read only what the embeddings wrote, its key and
    /// value rows by token and position.
    kv_slots: Option<KvSlots>,
    /// For a later head whose queries read only what the embeddings wrote, its query rows by
    /// token and position.
    q_slots: Option<QSlots>,
    /// For a head whose keys and values are computed (no `table`, no `kv_slots`): its cache's
    /// index in [`Scratch::heads`] ([`Core::cached_head`]), and the columns its keys
    /// and values read and its queries read. A head with `kv_slots` has a cache of its
    /// queries alone ([`Core::slot_kv_cached`]; no `kv_reads`).
    cache: Option<usize>,
    kv_reads: Vec<usize>,
    q_reads: Vec<usize>,
    /// The key of `kv_reads` for the cache.
    kv_key: SlotKey,
    /// When the columns the key reads from the row are written by one MLP cache alone (0
    /// before it, untouched after it): that cache's index in [`Scratch::entries`], and per
    /// slot the class of the key's slot words (`kv_classes` of them). A position's key-value
    /// id is then a function of the cache entry its row took there and of its slot's class
    /// ([`HeadCache::by_entry`]).
    provenance: Option<usize>,
    kv_slot_class: Vec<u32>,
    kv_classes: usize,
}

/// A cache key over some residual columns (the nonzero (column, value bits) pairs), split when
/// every slot's embedded row is kept: the columns some block writes are read from the row
/// (`scan`), the others only embeddings write, so their pairs come with the position's
/// (token, position) slot (`pairs[start[s]..start[s + 1]]`). Empty `start`: every column is
/// in `scan`.
#[derive(Default)]
struct SlotKey {
    scan: Vec<usize>,
    pairs: Vec<u64>,
    start: Vec<u32>,
}

impl SlotKey {
    /// `cols` split by `written` (columns some block writes), over the embedded rows of
    /// `slots` slots (`rows`, `d` numbers each) when they are kept.
    fn new(cols: &[usize], written: &[bool], embedded: Option<(&[f64], usize, usize)>) -> SlotKey {
        let (scan, known): (Vec<usize>, Vec<usize>) = cols
            .iter()
            .partition(|c| written.get(**c).copied().unwrap_or(true));
        let Some((rows, slots, d)) = embedded.filter(|_| !known.is_empty()) else {
            return SlotKey {
                scan: cols.to_vec(),
                ..SlotKey::default()
            };
        };
        let mut key = SlotKey {
            scan,
            pairs: Vec::new(),
            start: vec![0],
        };
        for slot in 0..slots {
            let row = &rows[slot * d..(slot + 1) * d];
            for &c in &known {
                if row[c] != 0.0 {
                    key.pairs.extend([c as u64, row[c].to_bits()]);
                }
            }
            key.start.push(key.pairs.len() as u32);
        }
        key
    }

    /// The words slot `slot` contributes (none without a split).
    fn words(&self, slot: usize) -> &[u64] {
        match self.start.get(slot..slot + 2) {
            Some([lo, hi]) => &self.pairs[*lo as usize..*hi as usize],
            _ => &[],
        }
    }

    /// [`read_key`] of `row` (whose slot `slot()` gives) into `key`: its hash.
    #[inline(always)]
    fn read(&self, row: &[f64], slot: impl Fn() -> usize, key: &mut Vec<u64>) -> u64 {
        let words = if self.start.is_empty() {
            &[][..]
        } else {
            self.words(slot())
        };
        read_key(row, &self.scan, words, key)
    }
}

/// A head's query rows as functions of a position's token and index: an id per (token,
/// position) slot and each distinct row once (`rows[id · dk..]`).
struct QSlots {
    ids: Vec<u32>,
    /// Distinct rows.
    len: usize,
    rows: Vec<f64>,
}

impl QSlots {
    fn new(h: &SparseHead, slots: usize, row: &dyn Fn(usize, &mut Vec<f64>)) -> Option<QSlots> {
        let (ids, rows) = slot_rows(slots, h.dk, row, &|x, q| h.wq.apply_add(x, q))?;
        Some(QSlots {
            ids,
            len: rows.len(),
            rows: rows.data,
        })
    }
}

/// A head's key and value rows as functions of a position's token and index (see
/// [`SparseHead::kv_slots`]): an id per (token, position) slot, each distinct key-value row
/// once, with its key's nonzero columns.
struct KvSlots {
    ids: Vec<u32>,
    kvs: usize,
    /// Each id's key (`keys[id · dk..]`, `dk` numbers) and value (`values[id · m..]`, `m`).
    dk: usize,
    keys: Vec<f64>,
    values: Vec<f64>,
    knz: Vec<Vec<usize>>,
    /// BOS's key-value id (slot 0's), and each id's position when [`kv_positions`] gives them
    /// (set once the engine's vocabulary is known), for queries whose scores are cached
    /// ([`Core::slot_kv_cached`]).
    bos: u32,
    pos: Option<Vec<u32>>,
}

impl KvSlots {
    fn new(h: &SparseHead, slots: usize, row: &dyn Fn(usize, &mut Vec<f64>)) -> Option<KvSlots> {
        let (dk, m) = (h.dk, h.out.len());
        let (ids, rows) = slot_rows(slots, dk + m, row, &|x, kv| {
            h.wk.apply_add(x, &mut kv[..dk]);
            h.ov.apply_add(x, &mut kv[dk..]);
        })?;
        let kvs = rows.len();
        let (mut keys, mut values) = (Vec::with_capacity(kvs * dk), Vec::with_capacity(kvs * m));
        for i in 0..kvs {
            let (k, v) = rows.row(i, dk + m).split_at(dk);
            keys.extend_from_slice(k);
            values.extend_from_slice(v);
        }
        let knz = (0..kvs)
            .map(|i| (0..dk).filter(|&c| keys[i * dk + c] != 0.0).collect())
            .collect();
        let bos = *ids.first()?;
        Some(KvSlots {
            ids,
            kvs,
            dk,
            keys,
            values,
            knz,
            bos,
            pos: None,
        })
    }

    /// Query row `q`'s score against key-value id `id`: the products over the key's nonzero
    /// columns, in column order (the order every pass sums them in).
    fn score(&self, q: &[f64], id: usize) -> f64 {
        let k = &self.keys[id * self.dk..(id + 1) * self.dk];
        self.knz[id].iter().map(|&c| q[c] * k[c]).sum()
    }
}

/// Whether a key scoring `s` can weigh anything beside BOS's key scoring `floor`: a key more
/// than `-EXP_ZERO` below it weighs exactly 0 wherever BOS is (in every sequence). (A NaN
/// score stays live: the softmax then yields NaN, as over every key.)
fn can_weigh(s: f64, floor: f64) -> bool {
    let t = s - floor;
    t >= EXP_ZERO || t.is_nan()
}

/// What `fill` computes (into `width` zeros) from each (token, position) slot's embedded row
/// (`row`), numbered by first appearance: each slot's id and the distinct rows. `None` past
/// [`MAX_SLOTS`].
fn slot_rows(
    slots: usize,
    width: usize,
    row: &dyn Fn(usize, &mut Vec<f64>),
    fill: &dyn Fn(&[f64], &mut [f64]),
) -> Option<(Vec<u32>, RowIds)> {
    if slots > MAX_SLOTS {
        return None;
    }
    let mut x = Vec::new();
    let mut out = vec![0.0; width];
    let mut rows = RowIds::default();
    let mut ids = Vec::with_capacity(slots);
    for slot in 0..slots {
        row(slot, &mut x);
        out.fill(0.0);
        fill(&x, &mut out);
        ids.push(rows.id(&out));
    }
    Some((ids, rows))
}

/// A head that reads only what the embeddings wrote (every first-layer head does) has a query,
/// key and value at a position that are functions of the position's token and index. They are computed once, when the
/// engine is built: each distinct query row and key-value row gets an id, every (query, key)
/// score is tabled, and a sequence's attention is then table lookups.
struct SlotHead {
    /// Per (token, position) slot ([`Core::slot`]): the query id and key-value id.
    ids: Vec<(u32, u32)>,
    /// Query ids and key-value ids.
    queries: usize,
    kvs: usize,
    /// `scores[q · kvs + kv]`.
    scores: Vec<f64>,
    /// The value row (the head's written columns, compacted) of each key-value id.
    values: Vec<f64>,
    /// Per query id, the key-value ids that can weigh anything (`live[live_start[q]..
    /// live_start[q + 1]]`, ascending): BOS is a key of every sequence, so a key scoring more
    /// than `-EXP_ZERO` below BOS's has weight exactly 0 wherever it occurs.
    live_start: Vec<u32>,
    live: Vec<u32>,
    /// A counting head (a `width`, `length`, or a mean's count): every live key of every query
    /// scores exactly BOS's score, and only BOS's key-value id has a nonzero value row. A
    /// query's softmax is then `count(BOS) · v_BOS / z` with `z` the number of live keys
    /// present (BOS included), bit for bit; this is (BOS's key-value id, its value row).
    counting: Option<(u32, Vec<f64>)>,
    /// A head whose softmax has at most two levels per query (an `aggregate`, a `mean`, a
    /// `width` whose values are not BOS's alone): every live key but BOS scores one score
    /// `top[q]`, and BOS either scores it too (`with_bos[q]`) or at least `-EXP_ZERO` below
    /// it (weight exactly 0 wherever another live key is present). A query's softmax is then
    /// the keys' value rows summed with their counts, in id order, over their number, bit for
    /// bit; no maximum and no exponential.
    uniform: Option<Uniform>,
    /// For a two-level head whose top keys are, for every query id, exactly the keys at a
    /// range of positions `lo..hi` (every token there; a prefix for `frac_prevs`, one position
    /// for `shift_by`) and whose values are integers (sums exact in any order): each query
    /// id's range. A sequence's value rows are then summed once as prefix sums, and a query
    /// reads its range's sum as a difference of two, bit for bit the sum over its keys
    /// ([`position_ranges`]).
    ranges: Option<Vec<(u32, u32)>>,
}

/// See [`SlotHead::uniform`].
struct Uniform {
    bos: u32,
    top: Vec<f64>,
    with_bos: Vec<bool>,
}

/// The most (token, position) slots, and (query, key) scores per head, that are tabled (see
/// [`SlotHead`], [`KvSlots`], [`QSlots`]); larger models attend through the generic pass.
const MAX_SLOTS: usize = 1 << 16;
const MAX_SLOT_SCORES: usize = 1 << 18;

impl SlotHead {
    /// The tables of `h` over the embedded rows `rows(slot)`, or `None` past the size limits.
    fn new(h: &SparseHead, slots: usize, row: &dyn Fn(usize, &mut Vec<f64>)) -> Option<SlotHead> {
        let (dk, m) = (h.dk, h.out.len());
        let q = QSlots::new(h, slots, row)?;
        let kv = KvSlots::new(h, slots, row)?;
        if q.len.saturating_mul(kv.kvs) > MAX_SLOT_SCORES {
            return None;
        }
        let mut scores = Vec::with_capacity(q.len * kv.kvs);
        for qi in 0..q.len {
            let qrow = &q.rows[qi * dk..(qi + 1) * dk];
            scores.extend((0..kv.kvs).map(|ki| kv.score(qrow, ki)));
        }
        let values = kv.values;
        let ids: Vec<(u32, u32)> = q.ids.into_iter().zip(kv.ids).collect();
        // slot 0 is BOS's
        let bos = ids.first()?.1 as usize;
        let mut live_start = Vec::with_capacity(q.len + 1);
        let mut live = Vec::new();
        for qi in 0..q.len {
            live_start.push(live.len() as u32);
            let row = &scores[qi * kv.kvs..(qi + 1) * kv.kvs];
            let floor = row[bos];
            live.extend((0..kv.kvs as u32).filter(|&k| can_weigh(row[k as usize], floor)));
        }
        live_start.push(live.len() as u32);
        let counting = (0..q.len)
            .all(|qi| {
                let row = &scores[qi * kv.kvs..(qi + 1) * kv.kvs];
                live[live_start[qi] as usize..live_start[qi + 1] as usize]
                    .iter()
                    .all(|&k| row[k as usize] == row[bos])
            })
            .then(|| {
                let zero = |k: usize| values[k * m..(k + 1) * m].iter().all(|v| *v == 0.0);
                (0..kv.kvs).all(|k| k == bos || zero(k))
            })
            .filter(|&only_bos| only_bos)
            .map(|_| (bos as u32, values[bos * m..(bos + 1) * m].to_vec()));
        let uniform = uniform_levels(&scores, kv.kvs, bos, &live_start, &live);
        Some(SlotHead {
            ids,
            queries: q.len,
            kvs: kv.kvs,
            scores,
            values,
            live_start,
            live,
            counting,
            uniform,
            ranges: None,
        })
    }
}

/// The two levels of a tabled head's softmax, when every query has them (see
/// [`SlotHead::uniform`]): `scores[q · kvs + kv]`, BOS's key-value id `bos`, and each query's
/// live keys (ascending, BOS among them).
fn uniform_levels(
    scores: &[f64],
    kvs: usize,
    bos: usize,
    live_start: &[u32],
    live: &[u32],
) -> Option<Uniform> {
    let queries = live_start.len().saturating_sub(1);
    let mut top = Vec::with_capacity(queries);
    let mut with_bos = Vec::with_capacity(queries);
    for q in 0..queries {
        let row = &scores[q * kvs..(q + 1) * kvs];
        let live = &live[live_start[q] as usize..live_start[q + 1] as usize];
        let (level, bos_too) = query_level(row, live, bos)?;
        top.push(level);
        with_bos.push(bos_too);
    }
    Some(Uniform {
        bos: bos as u32,
        top,
        with_bos,
    })
}

/// One query's two levels (see [`SlotHead::uniform`]): its scores against every key-value id
/// (`row`), its live ids (`live`, BOS's id `bos` among them). The score every live key but
/// BOS has, and whether BOS has it too (else BOS is at least `-EXP_ZERO` below it); `None`
/// when the live keys have two scores (or a NaN) or BOS is above them.
fn query_level(row: &[f64], live: &[u32], bos: usize) -> Option<(f64, bool)> {
    let floor = row[bos];
    let mut level: Option<f64> = None;
    for &k in live {
        let s = row[k as usize];
        if k as usize == bos {
            continue;
        }
        match level {
            None => level = Some(s),
            Some(l) if l == s => {}
            // (two levels among the keys, or a NaN)
            Some(_) => return None,
        }
    }
    let level = level.unwrap_or(floor);
    if level.is_nan() {
        return None;
    }
    if level == floor {
        Some((level, true))
    } else if floor - level < EXP_ZERO {
        Some((level, false))
    } else {
        None
    }
}

/// The largest magnitude of an integer value that [`SlotHead::ranges`] sums: with at most
/// 2^20 positions every partial sum stays below 2^53, where f64 adds integers exactly.
const MAX_RANGE_VALUE: f64 = 1_048_576.0;

/// Each query id's range of key positions (see [`SlotHead::ranges`]), for a two-level head
/// over slots of `vocab` tokens per position: `None` unless [`kv_positions`] gives its
/// key-value ids' positions and each query's top keys are exactly those at the positions
/// `lo..hi` ([`query_range`]).
fn position_ranges(f: &SlotHead, vocab: usize, max_len: usize) -> Option<Vec<(u32, u32)>> {
    let u = f.uniform.as_ref()?;
    let kv_ids: Vec<u32> = f.ids.iter().map(|&(_, kv)| kv).collect();
    let pos = kv_positions(&kv_ids, f.kvs, &f.values, vocab, max_len)?;
    (0..f.queries)
        .map(|q| {
            let row = &f.scores[q * f.kvs..(q + 1) * f.kvs];
            query_range(row, *u.top.get(q)?, u.bos, &pos)
        })
        .collect()
}

/// Each key-value id's position (`u32::MAX`: no slot has it), given each (token, position)
/// slot's key-value id (`ids`, slot 0 BOS's, then `vocab` slots per position), when every
/// key-value id but BOS's comes from slots of one position and every value (`values`) is an
/// integer of magnitude at most [`MAX_RANGE_VALUE`]; else `None`.
fn kv_positions(
    ids: &[u32],
    kvs: usize,
    values: &[f64],
    vocab: usize,
    max_len: usize,
) -> Option<Vec<u32>> {
    let bos = *ids.first()?;
    if vocab == 0 || max_len > 1 << 20 {
        return None;
    }
    let integer = |v: &f64| v.fract() == 0.0 && v.abs() <= MAX_RANGE_VALUE;
    if !values.iter().all(integer) {
        return None;
    }
    let mut pos = vec![u32::MAX; kvs];
    for (s, &kv) in ids.iter().enumerate().skip(1) {
        let p = u32::try_from(1 + (s - 1) / vocab).ok()?;
        if kv == bos {
            return None;
        }
        match pos.get_mut(kv as usize)? {
            x if *x == u32::MAX => *x = p,
            x if *x == p => {}
            _ => return None,
        }
    }
    Some(pos)
}

/// One query's range of key positions: its scores against every key-value id (`row`), its
/// top level `top`, BOS's id `bos` and each id's position (`pos`, [`kv_positions`]). `(lo,
/// hi)` when the ids scoring `top` (BOS aside) are exactly those at positions `lo..hi` (`(1,
/// 1)` when none does); `None` when an id in that span scores otherwise.
fn query_range(row: &[f64], top: f64, bos: u32, pos: &[u32]) -> Option<(u32, u32)> {
    let at_top = |kv: usize| kv != bos as usize && row[kv] == top;
    let (mut lo, mut hi) = (u32::MAX, 0u32);
    for kv in (0..pos.len()).filter(|&kv| pos[kv] != u32::MAX && at_top(kv)) {
        lo = lo.min(pos[kv]);
        hi = hi.max(pos[kv] + 1);
    }
    if lo == u32::MAX {
        // no key above BOS's level: an empty range
        return Some((1, 1));
    }
    let inside = |kv: usize| (lo..hi).contains(&pos[kv]);
    if (0..pos.len()).any(|kv| inside(kv) && !at_top(kv)) {
        return None;
    }
    Some((lo, hi))
}

/// Rows of numbers numbered by first appearance (equal bit for bit: one id).
#[derive(Default)]
struct RowIds {
    data: Vec<f64>,
    ids: std::collections::HashMap<Vec<u64>, u32>,
}

impl RowIds {
    fn id(&mut self, row: &[f64]) -> u32 {
        let key: Vec<u64> = row.iter().map(|x| x.to_bits()).collect();
        let next = self.ids.len() as u32;
        *self.ids.entry(key).or_insert_with(|| {
            self.data.extend_from_slice(row);
            next
        })
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn row(&self, id: usize, width: usize) -> &[f64] {
        &self.data[id * width..(id + 1) * width]
    }
}

struct SparseMlp {
    /// The ungated units, numbered compactly: input weights, biases, output weights.
    w1: Rows,
    b1: Vec<f64>,
    w2: Rows,
    /// Units with a large positive input weight on one column (a one-hot that switches them
    /// on, as the compiler's maps fused with a head's decoding have), grouped by that column.
    gated: Vec<GatedUnit>,
    /// Distinct gate columns, and the gated units (indices into `gated`) of each.
    gates: Vec<(usize, Vec<usize>)>,
    /// The columns gated units read besides their gates (whose ranges the bound needs).
    bounded: Vec<usize>,
    /// Every column the MLP reads, when few enough to key a cache of its outputs by their
    /// values (`None`: computed at every position).
    reads: Option<Vec<usize>>,
    /// Every column the MLP writes.
    writes: Vec<usize>,
    /// Whether the MLP writes none of the `bounded` columns (its gating bound may then be
    /// computed after outputs were added at some positions).
    lazy_bound: bool,
}

/// An MLP reading at most this many residual columns caches its output per distinct input.
const MAX_MEMO_READS: usize = 64;

/// Cached MLP outputs per layer are dropped past this many distinct inputs.
const MAX_MEMO_ENTRIES: usize = 1 << 12;

struct GatedUnit {
    gate: usize,
    bias: f64,
    inputs: Vec<(usize, f64)>,
    outputs: Vec<(usize, f64)>,
}

/// A positive input weight at least this large (with a bias at most minus half of it) marks a
/// unit as gated by that input.
const GATE_WEIGHT: f64 = 1000.0;

impl SparseMlp {
    fn new(m: &tessera_compiler::graph::Mlp) -> SparseMlp {
        let w1 = Rows::new(&m.w1);
        let w2 = Rows::new(&m.w2);
        let units = m.b1.len();
        let mut cols: Vec<Vec<(usize, f64)>> = vec![Vec::new(); units];
        for (r, row) in w1.rows.iter().enumerate() {
            for &(c, v) in row {
                if let Some(col) = cols.get_mut(c) {
                    col.push((r, v));
                }
            }
        }
        // Ungated units keep their order, renumbered 0.. among themselves.
        let mut compact: Vec<Option<usize>> = vec![None; units];
        let mut gated = Vec::new();
        let mut by_gate: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        let (mut b1, mut w2_rows) = (Vec::new(), Vec::new());
        for (u, col) in cols.into_iter().enumerate() {
            // Gated: the largest positive input weight is large, and the bias holds the unit
            // below zero unless that input is on (a decoder's steep step on a head's number
            // is not: its bias is a threshold, and that input is never zero).
            let gate = col
                .iter()
                .filter(|(_, v)| *v >= GATE_WEIGHT)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .filter(|(_, v)| m.b1[u] <= -v / 2.0)
                .map(|(r, _)| *r);
            let outputs = w2.rows.get(u).cloned().unwrap_or_default();
            match gate {
                Some(g) => {
                    by_gate.entry(g).or_default().push(gated.len());
                    gated.push(GatedUnit {
                        gate: g,
                        bias: m.b1[u],
                        inputs: col,
                        outputs,
                    });
                }
                None => {
                    compact[u] = Some(b1.len());
                    b1.push(m.b1[u]);
                    w2_rows.push(outputs);
                }
            }
        }
        let rows = w1
            .rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|(c, v)| Some((compact.get(c).copied().flatten()?, v)))
                    .collect()
            })
            .collect();
        let bounded: Vec<usize> = gated
            .iter()
            .flat_map(|u| u.inputs.iter().map(|(r, _)| *r).filter(|r| *r != u.gate))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let w1 = Rows::from_rows(rows);
        let w2 = Rows::from_rows(w2_rows);
        let reads: Vec<usize> = w1
            .used
            .iter()
            .copied()
            .chain(gated.iter().flat_map(|u| u.inputs.iter().map(|(r, _)| *r)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let writes: Vec<usize> = w2
            .rows
            .iter()
            .flatten()
            .chain(gated.iter().flat_map(|u| u.outputs.iter()))
            .map(|(c, _)| *c)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let lazy_bound = !bounded.iter().any(|c| writes.binary_search(c).is_ok());
        SparseMlp {
            lazy_bound,
            w1,
            b1,
            w2,
            gated,
            gates: by_gate.into_iter().collect(),
            bounded,
            reads: (reads.len() <= MAX_MEMO_READS).then_some(reads),
            writes,
        }
    }

    /// Which gated units provably output 0 wherever their gate column is 0 in this sequence:
    /// their bias plus the most every other input can add (from each column's range over the
    /// sequence's positions) is below zero, with a margin far above rounding. Such a unit is
    /// computed only where its gate is nonzero, and the result is the same as computing it
    /// everywhere. The others (`always`) are computed at every position.
    fn skippable(&self, x: &[f64], d: usize, len: usize, b: &mut Scratch) {
        b.skip.clear();
        b.always.clear();
        if self.gated.is_empty() {
            return;
        }
        b.range.clear();
        b.range.resize(d, (f64::INFINITY, f64::NEG_INFINITY));
        for p in 0..len {
            for &c in &self.bounded {
                let v = x[p * d + c];
                let r = &mut b.range[c];
                *r = (r.0.min(v), r.1.max(v));
            }
        }
        for (i, u) in self.gated.iter().enumerate() {
            let mut bound = u.bias;
            for &(r, w) in &u.inputs {
                if r != u.gate {
                    let (lo, hi) = b.range[r];
                    bound += if w > 0.0 { w * hi } else { w * lo };
                }
            }
            let skip = bound < -1e-3;
            b.skip.push(skip);
            if !skip {
                b.always.push(i);
            }
        }
    }

    /// The MLP at one position: its outputs added to `out` (zero on [`Self::writes`]), `x`
    /// only read.
    fn apply(&self, x: &[f64], out: &mut [f64], b: &mut Scratch) {
        b.hidden.clear();
        b.hidden.resize(self.b1.len(), 0.0);
        self.w1.apply_add(x, &mut b.hidden);
        for (hv, bias) in b.hidden.iter_mut().zip(&self.b1) {
            *hv = (*hv + bias).max(0.0);
        }
        // Gated units: those whose gate is on here, and those that cannot be skipped.
        b.active.clear();
        let unit = |i: usize, x: &[f64]| {
            let u = &self.gated[i];
            let h: f64 = u.inputs.iter().map(|&(r, w)| x[r] * w).sum::<f64>() + u.bias;
            h.max(0.0)
        };
        if self.gated.is_empty() {
            self.w2.apply_add(&b.hidden, out);
            return;
        }
        for (g, units) in &self.gates {
            if x[*g] != 0.0 {
                for &i in units {
                    if b.skip[i] {
                        let h = unit(i, x);
                        b.active.push((i, h));
                    }
                }
            }
        }
        for &i in &b.always {
            let h = unit(i, x);
            b.active.push((i, h));
        }
        self.w2.apply_add(&b.hidden, out);
        for &(i, h) in &b.active {
            if h != 0.0 {
                for &(c, w) in &self.gated[i].outputs {
                    out[c] += h * w;
                }
            }
        }
    }
}

struct SparseBilinear {
    u: Rows,
    bu: Vec<f64>,
    v: Rows,
    bv: Vec<f64>,
    w: Rows,
}

struct SparseLayer {
    heads: Vec<SparseHead>,
    /// The residual columns the layer's heads write.
    written: Vec<usize>,
    /// Whether the heads write disjoint columns and none reads a column an earlier head of
    /// the layer writes: then they add their outputs to the residual directly (each head reads
    /// every row it needs before it writes one), not through `Scratch::delta`.
    direct: bool,
    mlp: Option<SparseMlp>,
    /// When the next layer is an MLP alone that can be computed with this layer's MLP (see
    /// [`SparseEngine::new`]): every column the two read, the key of one cache of both
    /// outputs (in order, as added). Positions whose inputs to this MLP are equal reach the
    /// next one with equal inputs to it (nothing between them), so one lookup serves both.
    chain: Option<Vec<usize>>,
    /// The key of the MLP's cache (over `chain`, or the MLP's reads).
    key: SlotKey,
    /// When the heads all attend from tables and the key's row columns are what only they
    /// write: per (token, position) slot, a class (its query ids and the key's slot words), so
    /// that positions of a sequence in one class have equal keys ([`mlp_classes`]). Empty
    /// otherwise.
    classes: Vec<u32>,
    classes_len: usize,
    /// When a later head's key ids follow this layer's MLP cache entries
    /// ([`SparseHead::provenance`]): where the pass records each position's entry.
    record: Option<usize>,
    bilinear: Option<SparseBilinear>,
    memories: Vec<Memory>,
}

/// A model prepared for the sparse CPU forward pass: its public face, with the model shared
/// with the helper threads that run parts of a batch ([`crate::helpers`]).
pub struct SparseEngine {
    core: std::sync::Arc<Core>,
    /// The most threads one batch runs on ([`Self::set_threads`]).
    threads: usize,
}

/// The prepared model and its scratches.
struct Core {
    vocab: Vec<Val>,
    max_len: usize,
    d: usize,
    token_embed: Rows,
    pos_embed: Rows,
    layers: Vec<SparseLayer>,
    unembed: Unembed,
    /// Every (token, position) slot's embedded row ([`Self::slot`]), when there are few enough.
    embedded: Option<Vec<f64>>,
    /// The columns `lo..hi` outside which every embedded row is 0 (only they are copied).
    embedded_cols: (usize, usize),
    /// A one-hot output's dimensions and values (the argmax decodes it).
    out_dims: Vec<usize>,
    out_vals: Vec<Val>,
    /// Whether the last layer's MLP is the only writer of the output columns and caches its
    /// outputs: then each cached output keeps its decoding ([`MemoEntry::decoded`]).
    decode_by_memo: bool,
    /// The number of heads with a cache of rows ([`SparseHead::cache`]).
    caches: usize,
    /// The number of MLP caches whose entries a head follows ([`SparseLayer::record`]).
    records: usize,
    /// The scratches (with their caches) kept between calls, one per part of a batch run at
    /// once ([`Self::with_scratch`]).
    pool: std::sync::Mutex<Vec<Scratch>>,
    /// The last measured time per position (BOS's included) on one thread, in ns (0: not
    /// yet measured), by which a batch is judged worth splitting ([`SPLIT_NS`]).
    cost: std::sync::atomic::AtomicU64,
}

/// A batch is split across threads only when it has at least this many positions (BOS's
/// included) per thread, and when it would take at least [`SPLIT_NS`] on one thread by the
/// engine's last measured cost per position: below either, handing pieces to a helper costs
/// about what it saves (a few microseconds).
const SPLIT_POSITIONS: usize = 128;
const SPLIT_NS: u64 = 12_000;

/// A split batch is handed out in about this many pieces per thread (taken in turn by the
/// threads, so that one that starts late or runs slow takes fewer).
const PIECES_PER_THREAD: usize = 8;

/// The threads a new engine runs a batch on: `TESSERA_THREADS` when set to a positive
/// number, else the machine's cores.
fn default_threads() -> usize {
    std::env::var("TESSERA_THREADS")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&n| n >= 1)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The most numbers of embedded rows kept per engine (slots times the residual width).
const MAX_EMBEDDED: usize = 1 << 20;

/// Reused buffers of one forward pass.
#[derive(Default)]
struct Scratch {
    x: Vec<f64>,
    delta: Vec<f64>,
    q: Vec<f64>,
    k: Vec<f64>,
    /// Nonzero key columns per position: `knz[kstart[p]..kstart[p + 1]]`.
    knz: Vec<usize>,
    kstart: Vec<usize>,
    /// A generic head's keys by column ([`Core::head`]): column `c`'s (group, key
    /// value) pairs are `by_col[col_start[c]..col_start[c + 1]]`; `stamp` marks the groups a
    /// query's columns reached (`touched`).
    col_start: Vec<usize>,
    col_next: Vec<usize>,
    by_col: Vec<(u32, f64)>,
    stamp: Vec<u64>,
    stamps: u64,
    touched: Vec<u32>,
    v: Vec<f64>,
    scores: Vec<f64>,
    acc: Vec<f64>,
    /// A representative key per group of identical keys, and the group's size.
    groups: Vec<usize>,
    count: Vec<f64>,
    hash: Vec<u64>,
    hidden: Vec<f64>,
    second: Vec<f64>,
    /// Per gated unit of the current MLP: whether it may be skipped where its gate is 0.
    skip: Vec<bool>,
    /// The gated units computed at every position (not provably off where their gate is).
    always: Vec<usize>,
    /// Gated units computed at the current position, with their activations.
    active: Vec<(usize, f64)>,
    /// Each residual column's least and greatest value over the sequence's positions.
    range: Vec<(f64, f64)>,
    /// The bilinear sublayer's output for every position (added after the MLP's).
    products: Vec<f64>,
    /// One position's MLP output (zero outside the MLP's columns between positions).
    out: Vec<f64>,
    /// Per layer, the MLP's output for each distinct input seen (in this call and earlier
    /// ones, [`Core::with_scratch`]): the nonzero (column, value bits) it reads → the
    /// nonzero (column, value) it adds.
    memo: Vec<Memo>,
    /// Per head with computed keys and values, its rows and scores by input (kept as `memo`).
    heads: Vec<HeadCache>,
    /// Per MLP key class ([`SparseLayer::classes`]): the stamp of the layer pass that last
    /// met it (`class_stamp` counts passes), the cache's generation then, and the entry.
    class_seen: Vec<(u64, u64, u32)>,
    class_stamp: u64,
    /// Per recording MLP cache ([`SparseLayer::record`]), in the current sequence: each
    /// position's cache entry (`u32::MAX`: none), and the cache's generation when every
    /// position took one (`None`: not this sequence).
    entries: Vec<(Vec<u32>, Option<u64>)>,
    key: Vec<u64>,
    /// One MLP output's nonzero (column, value) pairs, for its cache.
    delta_out: Vec<(usize, f64)>,
    /// The last few exponentials and normalisers' reciprocals ([`attend`]).
    recent: Recents,
    /// Per position of the current sequence, its output's decoding when the last MLP's cache
    /// gave it (`u32::MAX`: decode the row).
    decoded: Vec<u32>,
    /// Per head: the first query position with a given query-row hash, and each query's
    /// output (its columns of `out`), so positions with identical query rows attend once.
    qfirst: std::collections::HashMap<u64, usize, FnvBuild>,
    qres: Vec<f64>,
    /// The first position whose query and MLP output anything reads (1 in the last layer).
    from: usize,
    /// Whether the current layer's heads write the residual directly ([`SparseLayer::direct`]).
    direct: bool,
    /// Heads attending from tables: calls so far, each key-value id's last call and count in
    /// it, the sequence's key-value ids (`kv_groups`), each position's query id (`qids`), and
    /// each query id's last call and where its output is (an offset in `qres` for
    /// [`Core::slot_head`], the first position with that query for
    /// [`Core::head`]).
    calls: u64,
    kslot: Vec<(u64, u32)>,
    kv_groups: Vec<u32>,
    qids: Vec<u32>,
    qslot: Vec<(u64, usize)>,
    /// A head with position ranges ([`SlotHead::ranges`]): the sums of the value rows of
    /// positions `1..=j` (row `j`; row 0 is zeros) in the current sequence.
    prefix: Vec<f64>,
    /// A numeric output's decodings by the number's bits, direct-mapped (`u32::MAX`: empty,
    /// `u32::MAX - 1`: none), see [`Core::decode`].
    near: Vec<(u64, u32)>,
}

impl Scratch {
    /// The attention just computed (`acc`) kept as query id `q`'s output in head call `call`
    /// (later positions with that id reuse it); its offset in `qres`.
    fn keep_result(&mut self, q: usize, call: u64) -> usize {
        let off = self.qres.len();
        self.qres.extend_from_slice(&self.acc);
        self.qslot[q] = (call, off);
        off
    }

    /// Position `p`'s MLP cache entry `e` (of the cache's generation `generation`), kept for
    /// the later positions of its key class ([`SparseLayer::classes`]) and for the heads that
    /// follow the cache's entries ([`SparseLayer::record`]).
    fn note_entry(
        &mut self,
        class: Option<u32>,
        record: Option<usize>,
        p: usize,
        generation: u64,
        e: u32,
    ) {
        if let Some(c) = class {
            self.class_seen[c as usize] = (self.class_stamp, generation, e);
        }
        if let Some(r) = record {
            self.entries[r].0[p] = e;
        }
    }
}

/// One MLP's cache of outputs by input ([`Scratch::memo`]), with its hit count: a cache that
/// rarely hits (positions whose inputs all differ, as `reverse`'s) is switched off for the
/// engine's life, so it costs little where it does not help. Keys (the nonzero inputs as
/// column and value bits) and outputs are kept in flat lists, found by the key's hash.
#[derive(Default, Clone)]
struct Memo {
    /// Open addressing with linear probing: `(hash, entry + 1)` per slot (0: empty), the
    /// length a power of two at least twice the entries.
    slots: Vec<(u64, u32)>,
    /// Per entry: its key (`keys[k0..k1]`) and its output (`outputs[o0..o1]`).
    entries: Vec<MemoEntry>,
    keys: Vec<u64>,
    outputs: Vec<(usize, f64)>,
    hits: usize,
    misses: usize,
    off: bool,
    /// How many times the cache was emptied (entry indices of another generation are stale).
    generation: u64,
}

#[derive(Clone, Copy)]
struct MemoEntry {
    k0: u32,
    k1: u32,
    o0: u32,
    o1: u32,
    /// The output's decoding (an index into the unembedding's values), for the last layer's
    /// MLP when only it writes the output columns ([`Core::decode_by_memo`]).
    decoded: u32,
}

impl Memo {
    /// The first slot to probe for `hash` (its top bits after a multiply: every bit of the
    /// hash moves them).
    fn home(&self, hash: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    fn get(&self, hash: u64, key: &[u64]) -> Option<(&[(usize, f64)], u32)> {
        self.find(hash, key).map(|e| self.entry(e))
    }

    /// An entry's output and decoding.
    fn entry(&self, e: u32) -> (&[(usize, f64)], u32) {
        let entry = &self.entries[e as usize];
        let out = &self.outputs[entry.o0 as usize..entry.o1 as usize];
        (out, entry.decoded)
    }

    /// The entry whose key is `key` (of hash `hash`).
    fn find(&self, hash: u64, key: &[u64]) -> Option<u32> {
        if self.slots.len() < 2 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let (h, e) = self.slots[i];
            if e == 0 {
                return None;
            }
            if h == hash {
                let entry = &self.entries[e as usize - 1];
                let k = &self.keys[entry.k0 as usize..entry.k1 as usize];
                // (compared in line: keys are a few words, shorter than a call to `memcmp`)
                if k.len() == key.len() && k.iter().zip(key).all(|(a, b)| a == b) {
                    return Some(e - 1);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Add an entry; its index.
    fn insert(&mut self, hash: u64, key: &[u64], output: &[(usize, f64)], decoded: u32) -> u32 {
        if self.entries.len() >= MAX_MEMO_ENTRIES {
            self.clear();
        }
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            let mut slots = vec![(0, 0); (self.slots.len() * 2).max(64)];
            std::mem::swap(&mut slots, &mut self.slots);
            for (h, e) in slots.into_iter().filter(|s| s.1 != 0) {
                self.place(h, e);
            }
        }
        let (k0, o0) = (self.keys.len() as u32, self.outputs.len() as u32);
        self.keys.extend_from_slice(key);
        self.outputs.extend_from_slice(output);
        self.entries.push(MemoEntry {
            k0,
            k1: self.keys.len() as u32,
            o0,
            o1: self.outputs.len() as u32,
            decoded,
        });
        self.place(hash, self.entries.len() as u32);
        self.entries.len() as u32 - 1
    }

    /// Put `(hash, e)` in the first empty slot from `hash`'s home.
    fn place(&mut self, hash: u64, e: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i].1 != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (hash, e);
    }

    fn clear(&mut self) {
        self.generation += 1;
        self.slots.fill((0, 0));
        self.entries.clear();
        self.keys.clear();
        self.outputs.clear();
    }
}

/// A head's rows by the values of the residual columns they read (kept between calls)
/// ([`Core::cached_head`]): a head whose keys read computed columns still sees few
/// distinct inputs (one-hot values of a few categories), so each distinct key-value input gets
/// an id with its key and value rows, each distinct query input an id with its query row, and
/// each (query, key-value) score is computed once.
#[derive(Default, Clone)]
struct HeadCache {
    /// Key-value input (nonzero (column, value bits) pairs) → id, in [`MemoEntry::decoded`].
    kv_ids: Memo,
    /// Per key-value id: the key row then the value row (`dk + m` numbers).
    kv_rows: Vec<f64>,
    /// Per key-value id, its key's nonzero columns: `knz[knz_start[i]..knz_start[i + 1]]`.
    knz: Vec<u32>,
    knz_start: Vec<u32>,
    /// Query input → id (when the queries are not tabled by slot), and each id's query row.
    q_ids: Memo,
    q_rows: Vec<f64>,
    /// Per query id, its scores against key-value ids `0..scores[q].len()` (extended as the
    /// query meets newer ids).
    scores: Vec<Vec<f64>>,
    /// Per query id, the scored key-value ids that can weigh anything in a sequence whose BOS
    /// has key-value id `bos` (the first sequence's): as [`SlotHead::live`].
    live: Vec<Vec<u32>>,
    /// For a head with tabled keys and values ([`Core::slot_kv_cached`], whose
    /// `scores` cover every key-value id): per query id, its two levels and range of key
    /// positions where it has them ([`Tabled`]).
    levels: Vec<Option<(f64, bool)>>,
    ranges: Vec<Option<(u32, u32)>>,
    bos: Option<u32>,
    /// Key-value ids by (source cache entry, slot class) (see [`SparseHead::provenance`]),
    /// `u32::MAX` where not known yet, for the source cache's generation `by_entry_gen`.
    by_entry: Vec<u32>,
    by_entry_gen: u64,
    lookups: usize,
    misses: usize,
    judged: bool,
    off: bool,
}

impl HeadCache {
    /// Whether the cache is on for the next sequence: judged off after [`HEAD_TRIAL`] lookups
    /// unless at least half of them found their input; emptied when the sequence could
    /// overfill it (`full`, then it stays judged), and off when even an empty one could be.
    fn admit(&mut self, full: impl Fn(&HeadCache) -> bool) -> bool {
        if !self.off {
            let judged_off =
                !self.judged && self.lookups >= HEAD_TRIAL && self.misses * 2 > self.lookups;
            self.judged |= self.lookups >= HEAD_TRIAL;
            if !judged_off && full(self) {
                *self = HeadCache {
                    judged: self.judged,
                    ..HeadCache::default()
                };
            }
            if judged_off || full(self) {
                *self = HeadCache {
                    off: true,
                    ..HeadCache::default()
                };
            }
        }
        !self.off
    }

    fn kvs(&self) -> usize {
        self.knz_start.len().saturating_sub(1)
    }
}

/// A head's cache is judged after this many key-value lookups: it stays on if at least half of
/// them found their input (a head whose keys are positions sees new inputs at every position).
const HEAD_TRIAL: usize = 256;

/// The most key-value ids and query ids a head's cache holds (it is emptied before a sequence
/// could overfill it). No more than an id index ([`Memo`]) holds, so that one never empties
/// itself under the ids.
const MAX_HEAD_IDS: usize = MAX_MEMO_ENTRIES;

/// The nonzero (column, value bits) pairs of `row` over the columns `reads`, then the words
/// `known` (pairs known without reading the row), into `key`, and their hash.
#[inline(always)]
fn read_key(row: &[f64], reads: &[usize], known: &[u64], key: &mut Vec<u64>) -> u64 {
    let mut hash = Fnv::default();
    key.clear();
    for &c in reads {
        let v = row[c];
        if v != 0.0 {
            key.extend([c as u64, v.to_bits()]);
            std::hash::Hasher::write_u64(&mut hash, c as u64);
            std::hash::Hasher::write_u64(&mut hash, v.to_bits());
        }
    }
    for &w in known {
        key.push(w);
        std::hash::Hasher::write_u64(&mut hash, w);
    }
    std::hash::Hasher::finish(&hash)
}

/// Lookups before a cache is judged (it stays on if at least half of them hit). Caches live
/// as long as the engine, so a long trial costs little, once; a short one can misjudge a cache
/// whose first sequences are all new and switch it off for good (`sort` at 20, once warm, hits
/// 95% of its lookups, but on some first batches fewer than half of its first 64).
const MEMO_TRIAL: usize = 512;

/// FNV-1a as a [`std::hash::Hasher`] (the keys are short lists of words).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // a word at a time (a slice of u64 arrives here as its bytes)
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(w));
        }
        for b in chunks.remainder() {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(0x0100_0000_01b3);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// [`Fnv`] over `words`.
fn fnv(words: impl Iterator<Item = u64>) -> u64 {
    use std::hash::Hasher;
    let mut h = Fnv::default();
    words.for_each(|w| h.write_u64(w));
    h.finish()
}

/// How a batch part runs: checked sequences in, outputs appended (see [`Core::vals_out`]).
type Part<T> = fn(&Core, &mut dyn Iterator<Item = &[usize]>, &mut Scratch, &mut Vec<T>);

impl SparseEngine {
    pub fn new(model: &Model) -> SparseEngine {
        SparseEngine {
            core: std::sync::Arc::new(Core::new(model)),
            threads: default_threads(),
        }
    }

    /// Run a batch of token sequences; the decoded output of each (as [`crate::Engine`]).
    pub fn forward_batch(&self, batch: &[Vec<Val>]) -> R<Vec<Vec<Val>>> {
        let core = &*self.core;
        let ids = batch
            .iter()
            .enumerate()
            .map(|(s, seq)| {
                let ids = seq
                    .iter()
                    .enumerate()
                    .map(|(p, t)| {
                        core.vocab.iter().position(|v| v == t).ok_or_else(|| {
                            EngineError::Input(format!(
                                "input {s}: token `{t}` at position {p} is not in the model's \
                                 vocabulary"
                            ))
                        })
                    })
                    .collect::<R<Vec<usize>>>()?;
                core.check(s, &ids)?;
                Ok(ids)
            })
            .collect::<R<Vec<_>>>()?;
        let mut out = Vec::with_capacity(batch.len());
        self.split(&ids, Core::vals_out, &mut out);
        Ok(out)
    }

    /// The model's vocabulary: token `i` of an input to [`Self::forward_ids`] is `vocab()[i]`.
    pub fn vocab(&self) -> &[Val] {
        &self.core.vocab
    }

    /// [`Self::forward_batch`] on sequences already encoded as indices into [`Self::vocab`]
    /// (as Tracr's compiled models take them), skipping the token lookup.
    pub fn forward_ids(&self, batch: &[Vec<usize>]) -> R<Vec<Vec<Val>>> {
        for (s, seq) in batch.iter().enumerate() {
            self.core.check(s, seq)?;
        }
        let mut out = Vec::with_capacity(batch.len());
        self.split(batch, Core::vals_out, &mut out);
        Ok(out)
    }

    /// The values the output decodes to, one-hot or numeric (a numeric output's possible
    /// values, in the order of `NumericOut::values`): the outputs of [`Self::forward_ids_out`]
    /// index into them. `None` for a model without an output encoding.
    pub fn output_values(&self) -> Option<&[Val]> {
        let vals = &self.core.out_vals;
        (!vals.is_empty()).then_some(vals.as_slice())
    }

    /// [`Self::forward_ids`] with ids on the way out too: each output as its index into
    /// [`Self::output_values`] (for a numeric output, the nearest possible value's; `u32::MAX`
    /// where the number is not finite, which [`Self::forward_ids`] gives as `none`), every
    /// sequence's outputs appended to `out` in input order (one per input token). For callers
    /// that work in ids on both sides, as Tracr's jitted forward pass takes and gives arrays.
    /// On any error `out` is left as it was.
    pub fn forward_ids_out(&self, batch: &[Vec<usize>], out: &mut Vec<u32>) -> R<()> {
        if self.output_values().is_none() {
            return Err(EngineError::Input(
                "this model has no output values to give ids of: use forward_ids".into(),
            ));
        }
        for (s, seq) in batch.iter().enumerate() {
            self.core.check(s, seq)?;
        }
        out.reserve(batch.iter().map(Vec::len).sum());
        self.split(batch, Core::ids_out, out);
        Ok(())
    }

    /// The most threads one batch runs on (by default `TESSERA_THREADS`, else the machine's
    /// cores; at least 1). A batch of at least [`SPLIT_POSITIONS`] positions per thread, which
    /// the engine's last measured cost per position puts at [`SPLIT_NS`] or more on one
    /// thread, is handed out in pieces that the calling thread and idle helper threads take in
    /// turn ([`crate::helpers`]), each with its own scratch and caches; a helper that is busy
    /// or slow to start leaves its pieces to the caller. Outputs do not depend on it: every cache
    /// gives what the pass it stands for computes, bit for bit.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// See [`Self::set_threads`].
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// `part` over checked sequences (every error is found before: nothing fails here), their
    /// outputs appended to `out` in order: on the calling thread alone unless the batch is
    /// long enough to split ([`Self::set_threads`]).
    fn split<T: Send + 'static>(&self, batch: &[Vec<usize>], part: Part<T>, out: &mut Vec<T>) {
        let core = &*self.core;
        let total: usize = batch.iter().map(|s| s.len() + 1).sum();
        let threads = self.threads.min(total / SPLIT_POSITIONS);
        let cost = core.cost.load(Ordering::Relaxed);
        let worth = cost == 0 || cost.saturating_mul(total as u64) >= SPLIT_NS;
        if threads < 2 || !worth || crate::helpers::count() == 0 {
            let start = Instant::now();
            core.with_scratch(|b| part(core, &mut batch.iter().map(Vec::as_slice), b, out));
            core.measured(start, total);
            return;
        }
        let threads = threads.min(crate::helpers::count() + 1);
        let mut ids = Vec::with_capacity(total);
        let mut ends = Vec::with_capacity(batch.len());
        for seq in batch {
            ids.extend_from_slice(seq);
            ends.push(ids.len());
        }
        let shared = std::sync::Arc::new(Pieces {
            ids,
            ends,
            pieces: (threads * PIECES_PER_THREAD).min(batch.len()),
            next: AtomicUsize::new(0),
        });
        let offered: Vec<_> = (1..threads)
            .map_while(|_| {
                let (core, pieces) = (self.core.clone(), shared.clone());
                crate::helpers::offer(move || pieces.take(&core, part))
            })
            .collect();
        let start = Instant::now();
        let (mut done, positions) = shared.take(core, part);
        core.measured(start, positions);
        for o in offered {
            done.extend(o.finish().into_iter().flat_map(|(pieces, _)| pieces));
        }
        // (every piece was taken once: by the caller, or by a helper that had started)
        done.sort_unstable_by_key(|(i, _)| *i);
        out.extend(done.into_iter().flat_map(|(_, piece)| piece));
    }
}

/// A piece's number and outputs ([`Pieces::take`]).
type Piece<T> = (usize, Vec<T>);

/// A split batch ([`SparseEngine::split`]), shared with the helpers: the sequences' token ids
/// end to end (sequence `k` ends at `ends[k]`), handed out as `pieces` runs of about equal
/// numbers of sequences, the next untaken one at `next`.
struct Pieces {
    ids: Vec<usize>,
    ends: Vec<usize>,
    pieces: usize,
    next: AtomicUsize,
}

impl Pieces {
    /// Take pieces until none is left, running `part` on each with one scratch: each piece's
    /// number and outputs, and the number of positions (BOS's included) taken.
    fn take<T>(&self, core: &Core, part: Part<T>) -> (Vec<Piece<T>>, usize) {
        let n = self.ends.len();
        core.with_scratch(|b| {
            let mut done = Vec::new();
            let mut positions = 0;
            loop {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                if i >= self.pieces {
                    return (done, positions);
                }
                let seqs = i * n / self.pieces..(i + 1) * n / self.pieces;
                positions += seqs.len() + self.ends[seqs.end - 1]
                    - seqs.start.checked_sub(1).map_or(0, |j| self.ends[j]);
                let mut seqs = seqs.map(|k| {
                    let start = k.checked_sub(1).map_or(0, |j| self.ends[j]);
                    &self.ids[start..self.ends[k]]
                });
                let mut out = Vec::new();
                part(core, &mut seqs, b, &mut out);
                done.push((i, out));
            }
        })
    }
}

impl Core {
    fn new(model: &Model) -> Core {
        let layers = model
            .layers
            .iter()
            .map(|l| {
                let heads: Vec<SparseHead> = l
                    .heads
                    .iter()
                    .map(|h| {
                        let ov = Rows::new(&h.wov);
                        let out: Vec<usize> = ov
                            .rows
                            .iter()
                            .flatten()
                            .map(|(c, _)| *c)
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        let compact = Rows::from_rows(
                            ov.rows
                                .iter()
                                .map(|row| {
                                    row.iter()
                                        .map(|(c, v)| (out.binary_search(c).unwrap_or(0), *v))
                                        .collect()
                                })
                                .collect(),
                        );
                        SparseHead {
                            wq: Rows::new(&h.wq),
                            wk: Rows::new(&h.wk),
                            ov: compact,
                            out,
                            dk: h.wq.cols,
                            table: None,
                            kv_slots: None,
                            q_slots: None,
                            cache: None,
                            kv_reads: Vec::new(),
                            q_reads: Vec::new(),
                            kv_key: SlotKey::default(),
                            provenance: None,
                            kv_slot_class: Vec::new(),
                            kv_classes: 0,
                        }
                    })
                    .collect();
                let written: Vec<usize> = heads
                    .iter()
                    .flat_map(|h| h.out.iter().copied())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                SparseLayer {
                    direct: written.len() == heads.iter().map(|h| h.out.len()).sum::<usize>(),
                    heads,
                    written,
                    mlp: l.mlp.as_ref().map(SparseMlp::new),
                    chain: None,
                    key: SlotKey::default(),
                    classes: Vec::new(),
                    classes_len: 0,
                    record: None,
                    bilinear: l.bilinear.as_ref().map(|b| SparseBilinear {
                        u: Rows::new(&b.u),
                        bu: b.bu.clone(),
                        v: Rows::new(&b.v),
                        bv: b.bv.clone(),
                        w: Rows::new(&b.w),
                    }),
                    memories: l.memories.clone(),
                }
            })
            .collect();
        let mut engine = Core {
            vocab: model.vocab.clone(),
            max_len: model.max_len,
            d: model.residual.len(),
            token_embed: Rows::new(&model.token_embed),
            pos_embed: Rows::new(&model.pos_embed),
            layers,
            unembed: model.unembed.clone(),
            embedded: None,
            embedded_cols: (0, 0),
            out_dims: model.unembed.dims.iter().map(|(d, _)| *d).collect(),
            out_vals: match &model.unembed.numeric {
                Some(n) => n.values.iter().map(|(_, v)| v.clone()).collect(),
                None => model.unembed.dims.iter().map(|(_, v)| v.clone()).collect(),
            },
            decode_by_memo: false,
            caches: 0,
            records: 0,
            pool: Default::default(),
            cost: Default::default(),
        };
        engine.decode_by_memo = engine.only_last_mlp_writes_the_output();
        let slots = engine
            .vocab
            .len()
            .saturating_mul(engine.max_len)
            .saturating_add(1);
        // Every slot's embedded row, when there are few enough numbers (the slot tables below
        // are built from them, so their cost is bounded too).
        if engine.d > 0 && slots <= MAX_SLOTS && slots * engine.d <= MAX_EMBEDDED {
            let mut rows = Vec::with_capacity(slots * engine.d);
            let mut x = Vec::new();
            for slot in 0..slots {
                engine.embed_slot(slot, &mut x);
                rows.extend_from_slice(&x);
            }
            let d = engine.d;
            let nonzero = |c: &usize| (0..slots).any(|slot| rows[slot * d + c] != 0.0);
            let lo = (0..d).find(nonzero).unwrap_or(0);
            let hi = (0..d).rev().find(nonzero).map_or(lo, |c| c + 1);
            engine.embedded_cols = (lo, hi);
            engine.embedded = Some(rows);
        }
        // Heads whose queries, or keys and values, read no column an earlier block writes
        // (every first-layer head): (layer, head, queries so, keys and values so).
        let mut written = vec![false; engine.d];
        let mut from_slots = Vec::new();
        for (li, l) in engine.layers.iter().enumerate() {
            for (hi, h) in l.heads.iter().enumerate() {
                let embedded = |c: &usize| !written.get(*c).copied().unwrap_or(true);
                let q = h.wq.used.iter().all(embedded);
                let kv = h.wk.used.iter().chain(&h.ov.used).all(embedded);
                if q || kv {
                    from_slots.push((li, hi, q, kv));
                }
            }
            let mlp = l.mlp.iter().flat_map(|m| m.writes.iter());
            let bilinear = l
                .bilinear
                .iter()
                .flat_map(|b| b.w.rows.iter().flatten().map(|(c, _)| c));
            let memories = l
                .memories
                .iter()
                .flat_map(|m| m.values.entries().map(|(_, c, _)| c));
            for c in l
                .written
                .iter()
                .chain(mlp)
                .chain(bilinear)
                .copied()
                .chain(memories)
            {
                if let Some(w) = written.get_mut(c) {
                    *w = true;
                }
            }
        }
        if let Some(rows) = &engine.embedded {
            let d = engine.d;
            let row = |slot: usize, x: &mut Vec<f64>| {
                x.clear();
                x.extend_from_slice(&rows[slot * d..(slot + 1) * d]);
            };
            let mut tables = Vec::new();
            for (li, hi, q, kv) in from_slots {
                let h = &engine.layers[li].heads[hi];
                // Both sides tabled when the score table fits; else the keys and values (the
                // larger saving), else the queries.
                let first = (q && kv).then(|| SlotHead::new(h, slots, &row)).flatten();
                let kvs = (first.is_none() && kv)
                    .then(|| KvSlots::new(h, slots, &row))
                    .flatten();
                let qs = (first.is_none() && kvs.is_none() && q)
                    .then(|| QSlots::new(h, slots, &row))
                    .flatten();
                tables.push((li, hi, first, kvs, qs));
            }
            let vocab = engine.vocab.len();
            for (li, hi, mut first, mut kvs, qs) in tables {
                if let Some(f) = &mut first {
                    f.ranges = position_ranges(f, vocab, engine.max_len);
                }
                if let Some(kv) = &mut kvs {
                    kv.pos = kv_positions(&kv.ids, kv.kvs, &kv.values, vocab, engine.max_len);
                }
                let h = &mut engine.layers[li].heads[hi];
                (h.table, h.kv_slots, h.q_slots) = (first, kvs, qs);
            }
        }
        for l in &mut engine.layers {
            let mut written = std::collections::BTreeSet::new();
            for h in &l.heads {
                let reads = h.wq.used.iter().chain(&h.wk.used).chain(&h.ov.used);
                l.direct &= !reads.into_iter().any(|c| written.contains(c));
                written.extend(h.out.iter().copied());
            }
        }
        // An MLP followed by a layer that is an MLP alone caches both outputs under one key
        // ([`chain_reads`]), given what is written before it.
        let embeds = |r: &Rows| r.rows.iter().flatten().map(|(c, _)| *c).collect::<Vec<_>>();
        let mut before = vec![false; engine.d];
        let mut fresh = Vec::with_capacity(engine.layers.len());
        for c in embeds(&engine.token_embed)
            .into_iter()
            .chain(embeds(&engine.pos_embed))
        {
            if let Some(w) = before.get_mut(c) {
                *w = true;
            }
        }
        for li in 0..engine.layers.len() {
            let a = &engine.layers[li];
            let mark = |before: &mut Vec<bool>, cols: &mut dyn Iterator<Item = usize>| {
                for c in cols {
                    if let Some(w) = before.get_mut(c) {
                        *w = true;
                    }
                }
            };
            // (what only this layer's heads write: 0 before them)
            fresh.push(
                a.written
                    .iter()
                    .copied()
                    .filter(|&c| !before.get(c).copied().unwrap_or(true))
                    .collect::<Vec<usize>>(),
            );
            mark(&mut before, &mut a.written.iter().copied());
            let chain = engine
                .layers
                .get(li + 1)
                .and_then(|b| chain_reads(a, b, &before));
            let mlp = a.mlp.iter().flat_map(|m| m.writes.iter().copied());
            let bilinear = a
                .bilinear
                .iter()
                .flat_map(|b| b.w.rows.iter().flatten().map(|(c, _)| *c));
            let memories = a
                .memories
                .iter()
                .flat_map(|m| m.values.entries().map(|(_, c, _)| c));
            mark(&mut before, &mut mlp.chain(bilinear).chain(memories));
            engine.layers[li].chain = chain;
        }
        // Heads with computed keys and values get a cache of their rows by what they read;
        // cache keys take the embedding-only columns with the slot.
        let embedded = engine
            .embedded
            .as_deref()
            .map(|rows| (rows, slots, engine.d));
        for (l, fresh) in engine.layers.iter_mut().zip(&fresh) {
            let cols = l
                .chain
                .as_ref()
                .or(l.mlp.as_ref().and_then(|m| m.reads.as_ref()));
            if let Some(cols) = cols {
                l.key = SlotKey::new(cols, &written, embedded);
                (l.classes, l.classes_len) = mlp_classes(l, fresh, slots);
            }
        }
        let mut caches = 0;
        for h in engine.layers.iter_mut().flat_map(|l| &mut l.heads) {
            if h.table.is_some() {
                continue;
            }
            if h.kv_slots.is_some() {
                // its queries' scores are cached ([`Self::slot_kv_cached`])
                h.q_reads = h.wq.used.clone();
                if h.q_reads.len() <= MAX_MEMO_READS {
                    h.cache = Some(caches);
                    caches += 1;
                }
                continue;
            }
            let reads: std::collections::BTreeSet<usize> =
                h.wk.used.iter().chain(&h.ov.used).copied().collect();
            h.kv_reads = reads.into_iter().collect();
            h.q_reads = h.wq.used.clone();
            if h.kv_reads.len() <= MAX_MEMO_READS && h.q_reads.len() <= MAX_MEMO_READS {
                h.cache = Some(caches);
                caches += 1;
            }
            h.kv_key = SlotKey::new(&h.kv_reads, &written, embedded);
        }
        engine.caches = caches;
        engine.records = follow_entries(
            &mut engine.layers,
            &embeds(&engine.token_embed),
            &embeds(&engine.pos_embed),
            slots,
        );
        engine.embedded_cols = engine.embedded_reads();
        engine
    }

    /// The columns `lo..hi` of the embedded rows that are copied into a sequence's rows: the
    /// nonzero ones that something reads from a row. Tabled heads read their slots' tables
    /// instead, so a model whose embedded columns only they read (`shift_by`: one tabled head
    /// whose result is the output) copies none. Every column, with a bilinear sublayer or a
    /// memory (which read whole rows).
    fn embedded_reads(&self) -> (usize, usize) {
        let (lo, hi) = self.embedded_cols;
        if self
            .layers
            .iter()
            .any(|l| l.bilinear.is_some() || !l.memories.is_empty())
        {
            return (lo, hi);
        }
        let mut read = vec![false; self.d];
        let mut mark = |c: usize| {
            if let Some(r) = read.get_mut(c) {
                *r = true;
            }
        };
        for l in &self.layers {
            for h in &l.heads {
                let (q, kv) = match (&h.table, &h.kv_slots, &h.q_slots) {
                    (Some(_), _, _) => (false, false),
                    (None, Some(_), _) => (true, false),
                    (None, None, Some(_)) => (false, true),
                    (None, None, None) => (true, true),
                };
                if q {
                    h.wq.used.iter().for_each(|&c| mark(c));
                }
                if kv {
                    h.wk.used.iter().chain(&h.ov.used).for_each(|&c| mark(c));
                }
            }
            if let Some(m) = &l.mlp {
                m.w1.used.iter().for_each(|&c| mark(c));
                m.bounded.iter().for_each(|&c| mark(c));
                for u in &m.gated {
                    mark(u.gate);
                    u.inputs.iter().for_each(|&(c, _)| mark(c));
                }
            }
        }
        self.out_dims.iter().for_each(|&c| mark(c));
        if let Some(n) = &self.unembed.numeric {
            mark(n.dim);
        }
        let first = (lo..hi).find(|&c| read[c]);
        let last = (lo..hi).rev().find(|&c| read[c]);
        match (first, last) {
            (Some(a), Some(b)) => (a, b + 1),
            _ => (lo, lo),
        }
    }

    /// Whether the output is one-hot, its columns are zero until the last layer's MLP (no
    /// embedding, head, bilinear sublayer, memory or earlier MLP writes them) and that MLP may
    /// cache its outputs: then a position's output columns are that MLP's output there.
    fn only_last_mlp_writes_the_output(&self) -> bool {
        let out: std::collections::BTreeSet<usize> = self.out_dims.iter().copied().collect();
        let embeds = |r: &Rows| r.rows.iter().flatten().any(|(c, _)| out.contains(c));
        let Some((last, earlier)) = self.layers.split_last() else {
            return false;
        };
        self.unembed.numeric.is_none()
            && !out.is_empty()
            && last.mlp.as_ref().is_some_and(|m| m.reads.is_some())
            && !embeds(&self.token_embed)
            && !embeds(&self.pos_embed)
            && self.layers.iter().all(|l| {
                l.bilinear.is_none()
                    && l.memories.is_empty()
                    && !l.written.iter().any(|c| out.contains(c))
            })
            && earlier.iter().all(|l| {
                l.mlp
                    .as_ref()
                    .is_none_or(|m| !m.writes.iter().any(|c| out.contains(c)))
            })
    }

    /// [`Self::decode`] of a row whose output columns hold `delta`'s values (0 elsewhere): the
    /// index of the value decoded.
    fn decode_delta(&self, delta: &[(usize, f64)]) -> u32 {
        self.argmax(|d| delta.iter().find(|(c, _)| *c == d).map_or(0.0, |(_, v)| *v)) as u32
    }

    /// The output read from one residual row: [`decode_output`], with the argmax over a
    /// one-hot's dimensions done by [`Self::argmax`].
    fn decode(&self, x: &[f64], near: &mut Vec<(u64, u32)>) -> Val {
        if let Some(n) = &self.unembed.numeric {
            return self
                .numeric_index(x, near)
                .and_then(|i| n.values.get(i))
                .map_or(Val::None, |(_, v)| v.clone());
        }
        if self.out_dims.is_empty() {
            return decode_output(&self.unembed, x);
        }
        self.out_vals[self.argmax(|d| x.get(d).copied().unwrap_or(f64::NEG_INFINITY))].clone()
    }

    /// For a numeric output, the index of the possible value nearest to the row's number
    /// (`None` for a number that is not finite, which decodes to `none`). A few numbers
    /// repeat: the index found for each is kept by its bits, direct-mapped, in `near`.
    fn numeric_index(&self, x: &[f64], near: &mut Vec<(u64, u32)>) -> Option<usize> {
        let n = self.unembed.numeric.as_ref()?;
        let x = x.get(n.dim).copied().unwrap_or(f64::NAN);
        let bits = x.to_bits();
        let slot = ((bits ^ (bits >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
        if near.is_empty() {
            near.resize(1 << 10, (0, u32::MAX));
        }
        match near[slot] {
            (k, i) if k == bits && i != u32::MAX => (i != u32::MAX - 1).then_some(i as usize),
            _ => {
                let at = n.nearest_index(x);
                near[slot] = (bits, at.map_or(u32::MAX - 1, |i| i as u32));
                at
            }
        }
    }

    /// The index of the largest `value` over the output's dimensions (at least one), without
    /// branching on each comparison: the first largest wins, a NaN never does past the first.
    fn argmax(&self, value: impl Fn(usize) -> f64) -> usize {
        let mut best = 0;
        let mut top = value(self.out_dims[0]);
        for (i, &d) in self.out_dims.iter().enumerate().skip(1) {
            let v = value(d);
            let more = v > top;
            best = if more { i } else { best };
            top = if more { v } else { top };
        }
        best
    }

    /// The (token, position) slot of position `p` of a sequence (0: BOS).
    fn slot_at(&self, tokens: &[usize], p: usize) -> usize {
        match p.checked_sub(1) {
            None => self.slot(self.vocab.len(), 0),
            Some(i) => self.slot(tokens[i], p),
        }
    }

    /// The (token, position) slot of position `p` (0: BOS) holding token id `token`.
    fn slot(&self, token: usize, p: usize) -> usize {
        if p == 0 {
            0
        } else {
            1 + (p - 1) * self.vocab.len() + token
        }
    }

    /// The embedded residual row of a slot ([`Self::slot`]) into `x` (resized to the width).
    fn embed_slot(&self, slot: usize, x: &mut Vec<f64>) {
        let (row, p) = match slot.checked_sub(1) {
            None => (self.vocab.len(), 0),
            Some(s) => (s % self.vocab.len(), 1 + s / self.vocab.len()),
        };
        x.clear();
        x.resize(self.d, 0.0);
        self.embed(row, p, x);
    }

    /// Add the embedding of token row `row` (the vocabulary's size: BOS) at position `p`.
    fn embed(&self, row: usize, p: usize, x: &mut [f64]) {
        for &(c, v) in self.token_embed.rows.get(row).into_iter().flatten() {
            x[c] += v;
        }
        for &(c, v) in self.pos_embed.rows.get(p).into_iter().flatten() {
            x[c] += v;
        }
    }

    /// Record the time per position of `positions` positions run on one thread since `start`.
    fn measured(&self, start: Instant, positions: usize) {
        if let Some(ns) = (start.elapsed().as_nanos() as u64).checked_div(positions as u64) {
            self.cost.store(ns.max(1), Ordering::Relaxed);
        }
    }

    /// The decoded outputs of checked sequences ([`Self::check`]), appended to `out`.
    fn vals_out(
        &self,
        seqs: &mut dyn Iterator<Item = &[usize]>,
        b: &mut Scratch,
        out: &mut Vec<Vec<Val>>,
    ) {
        for seq in seqs {
            out.push(self.forward(seq, b));
        }
    }

    /// The output ids of checked sequences (as [`SparseEngine::forward_ids_out`]), appended
    /// to `out`.
    fn ids_out(
        &self,
        seqs: &mut dyn Iterator<Item = &[usize]>,
        b: &mut Scratch,
        out: &mut Vec<u32>,
    ) {
        let numeric = self.unembed.numeric.is_some();
        let d = self.d;
        for seq in seqs {
            self.run(seq, b);
            for p in 1..seq.len() + 1 {
                let x = &b.x[p * d..(p + 1) * d];
                out.push(match b.decoded[p] {
                    _ if numeric => self
                        .numeric_index(x, &mut b.near)
                        .map_or(u32::MAX, |i| i as u32),
                    u32::MAX => {
                        self.argmax(|c| x.get(c).copied().unwrap_or(f64::NEG_INFINITY)) as u32
                    }
                    i => i,
                });
            }
        }
    }

    /// Input `s` is one the model runs: every token id below the vocabulary size, and no
    /// longer than the model's `max_len`.
    fn check(&self, s: usize, seq: &[usize]) -> R<()> {
        if let Some(p) = seq.iter().position(|&t| t >= self.vocab.len()) {
            return Err(EngineError::Input(format!(
                "input {s}: token id {} at position {p} is not below the vocabulary size {}",
                seq[p],
                self.vocab.len()
            )));
        }
        if seq.len() > self.max_len {
            return Err(EngineError::Input(format!(
                "input {s} has {} tokens; the model was compiled for at most {}",
                seq.len(),
                self.max_len
            )));
        }
        Ok(())
    }

    /// `f` with the engine's scratch: its caches (MLP outputs by input, heads' rows by input)
    /// carry over from call to call, so later batches find what earlier ones computed. A call
    /// made while another holds it gets a fresh one.
    fn with_scratch<T>(&self, f: impl FnOnce(&mut Scratch) -> T) -> T {
        let pooled = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        let mut scratch = pooled.unwrap_or_else(|| self.scratch());
        let r = f(&mut scratch);
        if let Ok(mut p) = self.pool.lock() {
            p.push(scratch);
        }
        r
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            memo: vec![Default::default(); self.layers.len()],
            heads: vec![Default::default(); self.caches],
            entries: vec![Default::default(); self.records],
            ..Scratch::default()
        }
    }

    /// One checked sequence of token ids, decoded.
    fn forward(&self, tokens: &[usize], b: &mut Scratch) -> Vec<Val> {
        self.run(tokens, b);
        let d = self.d;
        (1..tokens.len() + 1)
            .map(|p| match b.decoded.get(p) {
                Some(&i) if i != u32::MAX => self.out_vals[i as usize].clone(),
                _ => self.decode(&b.x[p * d..(p + 1) * d], &mut b.near),
            })
            .collect()
    }

    /// One checked sequence of token ids ([`Self::check`]) through every layer: the final
    /// rows in `b.x` (`tokens.len() + 1` of them, BOS's first), and in `b.decoded` each
    /// position's output index where the last MLP's cache gave it (`u32::MAX` elsewhere).
    fn run(&self, tokens: &[usize], b: &mut Scratch) {
        let n = tokens.len();
        let d = self.d;
        let len = n + 1;
        b.x.clear();
        b.x.resize(len * d, 0.0);
        match &self.embedded {
            Some(rows) => {
                let (lo, hi) = self.embedded_cols;
                for p in 0..len {
                    let slot = self.slot_at(tokens, p);
                    b.x[p * d + lo..p * d + hi]
                        .copy_from_slice(&rows[slot * d + lo..slot * d + hi]);
                }
            }
            None => {
                for p in 0..len {
                    let row = if p == 0 {
                        self.vocab.len()
                    } else {
                        tokens[p - 1]
                    };
                    self.embed(row, p, &mut b.x[p * d..(p + 1) * d]);
                }
            }
        }
        b.decoded.clear();
        b.decoded.resize(len, u32::MAX);
        // (the caches live in `b` between sequences; taken out here so that a layer's cache
        // and the rest of `b` can be borrowed apart)
        let mut memos = std::mem::take(&mut b.memo);
        // Whether this layer's MLP ran with the previous layer's ([`SparseLayer::chain`]).
        let mut chained = false;
        for (li, layer) in self.layers.iter().enumerate() {
            // Nothing reads BOS's row after the last layer: its queries and MLP are skipped.
            b.from = usize::from(li + 1 == self.layers.len());
            // The last MLP's cached outputs keep their decoding (when it alone writes them).
            let last = self.decode_by_memo && li + 1 == self.layers.len();
            if !layer.heads.is_empty() {
                b.direct = layer.direct;
                // zero between uses: only the written columns are ever set, and taken back
                if !b.direct && b.delta.len() < len * d {
                    b.delta.resize(len * d, 0.0);
                }
                for h in &layer.heads {
                    match (&h.table, &h.kv_slots) {
                        (Some(f), _) => self.slot_head(h, f, tokens, b),
                        (None, Some(kv)) => self.slot_kv_head(h, kv, tokens, b),
                        (None, None) => {
                            if !h.cache.is_some_and(|ci| self.cached_head(h, ci, tokens, b)) {
                                self.head(h, tokens, b);
                            }
                        }
                    }
                }
                // only the columns the heads write have a delta
                for p in (0..len).filter(|_| !b.direct) {
                    let (x, dl) = (
                        &mut b.x[p * d..(p + 1) * d],
                        &mut b.delta[p * d..(p + 1) * d],
                    );
                    for &c in &layer.written {
                        x[c] += std::mem::take(&mut dl[c]);
                    }
                }
            }
            // The bilinear sublayer reads the residual the MLP reads.
            if let Some(bl) = &layer.bilinear {
                b.products.clear();
                b.products.resize(len * d, 0.0);
                for p in 0..len {
                    let x = &b.x[p * d..(p + 1) * d];
                    b.hidden.clear();
                    b.hidden.extend_from_slice(&bl.bu);
                    bl.u.apply_add(x, &mut b.hidden);
                    b.second.clear();
                    b.second.extend_from_slice(&bl.bv);
                    bl.v.apply_add(x, &mut b.second);
                    for (h, s) in b.hidden.iter_mut().zip(&b.second) {
                        *h *= s;
                    }
                    bl.w.apply_add(&b.hidden, &mut b.products[p * d..(p + 1) * d]);
                }
            }
            let mlp = layer.mlp.as_ref().filter(|_| !std::mem::take(&mut chained));
            if let Some(mlp) = mlp {
                let mut x = std::mem::take(&mut b.x);
                let mut out = std::mem::take(&mut b.out);
                // (`scratch` makes one cache per layer)
                let memo = &mut memos[li];
                // The next layer's MLP is computed with this one, under one cache lookup, when
                // the layers allow it ([`SparseLayer::chain`]) and the cache is on.
                let chain = layer
                    .chain
                    .as_ref()
                    .filter(|_| !memo.off)
                    .zip(self.layers.get(li + 1).and_then(|l| l.mlp.as_ref()));
                // (the cache's key is `layer.key`, over the chain's columns or the MLP's reads)
                let (cached, last) = match chain {
                    Some(_) => {
                        chained = true;
                        // (the next layer has no heads: BOS's row is read after it only if
                        // a layer follows)
                        b.from = usize::from(li + 2 == self.layers.len());
                        (true, self.decode_by_memo && li + 2 == self.layers.len())
                    }
                    None => (mlp.reads.is_some() && !memo.off, last),
                };
                out.clear();
                out.resize(d, 0.0);
                // The gating bound ranges over the sequence's MLP inputs: computed at the first
                // position the cache misses, when the MLP writes none of the columns it bounds
                // (outputs already added at earlier positions then leave the ranges alone).
                let mut bounded = !(mlp.lazy_bound && cached);
                if bounded {
                    mlp.skippable(&x, d, len, b);
                }
                // Positions of this sequence in one class have equal keys: the first one's
                // cache entry serves the others without a lookup.
                b.class_stamp += 1;
                if cached && b.class_seen.len() < layer.classes_len {
                    b.class_seen.resize(layer.classes_len, (0, 0, 0));
                }
                // Each position's entry, for the heads that follow this cache's entries (valid
                // when every position took one in one generation).
                let record = layer.record.filter(|_| cached && b.from == 0);
                let generation = memo.generation;
                if let Some(r) = layer.record {
                    let (at, valid) = &mut b.entries[r];
                    at.clear();
                    at.resize(len, u32::MAX);
                    *valid = None;
                }
                for p in b.from..len {
                    // Positions (of any sequence in the batch) whose inputs to this MLP are
                    // equal get equal outputs: computed once. (A unit skipped by the gating
                    // bound is zero wherever it is skipped, so the cache does not depend on it.)
                    let caching = cached && !memo.off;
                    let mut hash = 0;
                    let mut class = None;
                    if caching {
                        let slot = || self.slot_at(tokens, p);
                        let mut known = None;
                        if layer.classes_len > 0 {
                            let c = layer.classes[slot()];
                            let seen = b.class_seen[c as usize];
                            if seen.0 == b.class_stamp && seen.1 == memo.generation {
                                known = Some(seen.2);
                            }
                            class = Some(c);
                        }
                        let found = match known {
                            Some(e) => Some(e),
                            None => {
                                hash = layer.key.read(&x[p * d..(p + 1) * d], slot, &mut b.key);
                                memo.find(hash, &b.key)
                            }
                        };
                        if let Some(e) = found {
                            b.note_entry(class, record, p, memo.generation, e);
                            let (delta, decoded) = memo.entry(e);
                            // (After the last MLP only the decoding is read: its row is left.)
                            if last {
                                b.decoded[p] = decoded;
                            } else {
                                let row = &mut x[p * d..(p + 1) * d];
                                for &(c, v) in delta {
                                    row[c] += v;
                                }
                            }
                            memo.hits += 1;
                            continue;
                        }
                        memo.misses += 1;
                    }
                    if !bounded {
                        mlp.skippable(&x, d, len, b);
                        bounded = true;
                    }
                    let row = &mut x[p * d..(p + 1) * d];
                    b.delta_out.clear();
                    // (a chained MLP has no gated units: it needs no bound)
                    for m in std::iter::once(mlp).chain(chain.map(|(_, next)| next)) {
                        m.apply(row, &mut out, b);
                        for &c in &m.writes {
                            let v = std::mem::take(&mut out[c]);
                            if !caching {
                                row[c] += v;
                            } else if v != 0.0 {
                                row[c] += v;
                                b.delta_out.push((c, v));
                            }
                        }
                    }
                    if !caching {
                        continue;
                    }
                    let decoded = if last {
                        b.decoded[p] = self.decode_delta(&b.delta_out);
                        b.decoded[p]
                    } else {
                        u32::MAX
                    };
                    let e = memo.insert(hash, &b.key, &b.delta_out, decoded);
                    b.note_entry(class, record, p, memo.generation, e);
                    // judged once: at least half the lookups must hit
                    if memo.hits + memo.misses == MEMO_TRIAL && memo.hits * 2 < MEMO_TRIAL {
                        memo.off = true;
                        memo.clear();
                    }
                }
                if let Some(r) = record {
                    let (at, valid) = &mut b.entries[r];
                    if memo.generation == generation && at.iter().all(|&e| e != u32::MAX) {
                        *valid = Some(generation);
                    }
                }
                b.out = out;
                b.x = x;
            }
            if layer.bilinear.is_some() {
                for (x, y) in b.x.iter_mut().zip(&b.products) {
                    *x += y;
                }
            }
            if !layer.memories.is_empty() {
                for p in 1..len {
                    apply_memories(&layer.memories, &mut b.x[p * d..(p + 1) * d]);
                }
            }
        }
        b.memo = memos;
    }

    /// A tabled head's softmax attention ([`SlotHead`]), added to `b.delta` (to the residual
    /// `b.x` when `direct`, see [`SparseLayer::direct`]): keys with the same key-value id are
    /// one group with a count, in the order of their ids (so equal groups sum alike in every
    /// sequence), and each distinct query id attends once.
    fn slot_head(&self, h: &SparseHead, f: &SlotHead, tokens: &[usize], b: &mut Scratch) {
        let (d, m, len) = (self.d, h.out.len(), tokens.len() + 1);
        b.calls += 1;
        let call = b.calls;
        b.kslot.resize(b.kslot.len().max(f.kvs), (0, 0));
        b.qids.clear();
        b.kv_groups.clear();
        for p in 0..len {
            let (q, kv) = f.ids[self.slot_at(tokens, p)];
            group_key(&mut b.kslot, &mut b.kv_groups, call, kv);
            b.qids.push(q);
        }
        // (put in id order when first attended over, see below)
        let mut sorted = false;
        b.qslot.resize(b.qslot.len().max(f.queries), (0, 0));
        b.acc.resize(m, 0.0);
        b.qres.clear();
        b.prefix.clear();
        for p in b.from..len {
            let q = b.qids[p];
            let off = match b.qslot[q as usize] {
                (c, off) if c == call => off,
                _ => {
                    let row = &f.scores[q as usize * f.kvs..(q as usize + 1) * f.kvs];
                    let live = &f.live
                        [f.live_start[q as usize] as usize..f.live_start[q as usize + 1] as usize];
                    if let Some((bos, vb)) = &f.counting {
                        // every live key present weighs 1 per key; only BOS's value counts
                        let z: u32 = live
                            .iter()
                            .map(|&kv| match b.kslot[kv as usize] {
                                (c, count) if c == call => count,
                                _ => 0,
                            })
                            .sum();
                        let w = f64::from(b.kslot[*bos as usize].1);
                        for (a, v) in b.acc.iter_mut().zip(vb) {
                            *a = 0.0 + w * v;
                        }
                        normalise(&mut b.acc, f64::from(z), &mut b.recent.recips);
                    } else {
                        let u = f.uniform.as_ref();
                        let q = q as usize;
                        let query = Tabled {
                            row,
                            live: Some(live),
                            level: u.map(|u| (u.top[q], u.with_bos[q])),
                            range: f.ranges.as_ref().map(|r| r[q]),
                            bos: u.map_or(0, |u| u.bos),
                            values: &f.values,
                        };
                        let kv_at = |p: usize| f.ids[self.slot_at(tokens, p)].1 as usize;
                        attend_tabled(&query, kv_at, len, m, call, b, &mut sorted);
                    }
                    b.keep_result(q as usize, call)
                }
            };
            let rows = if b.direct { &mut b.x } else { &mut b.delta };
            add_output(&h.out, &b.qres[off..], &mut rows[p * d..(p + 1) * d]);
        }
    }

    /// A head whose key and value rows come from their (token, position) tables
    /// ([`KvSlots`]): keys grouped by id (in id order), each query row computed from the
    /// residual and each distinct one attending once, added to `b.delta`.
    fn slot_kv_head(&self, h: &SparseHead, kv: &KvSlots, tokens: &[usize], b: &mut Scratch) {
        if h.cache
            .is_some_and(|ci| self.slot_kv_cached(h, kv, ci, tokens, b))
        {
            return;
        }
        let (d, dk, m, len) = (self.d, h.dk, h.out.len(), tokens.len() + 1);
        self.group_kv_slots(kv, tokens, b);
        b.kv_groups.sort_unstable();
        b.q.clear();
        b.q.resize(len * dk, 0.0);
        for p in b.from..len {
            h.wq.apply_add(&b.x[p * d..(p + 1) * d], &mut b.q[p * dk..(p + 1) * dk]);
        }
        b.acc.resize(m, 0.0);
        b.qfirst.clear();
        b.qres.clear();
        b.qres.resize(len * m, 0.0);
        for qi in b.from..len {
            // A query row equal to an earlier one attends to the same keys alike.
            if let Some(r) = earlier_query(b, qi, dk) {
                self.reuse_output(h, b, qi, r);
                continue;
            }
            let qrow = &b.q[qi * dk..(qi + 1) * dk];
            b.scores.clear();
            b.scores
                .extend(b.kv_groups.iter().map(|&id| kv.score(qrow, id as usize)));
            let group = |g: usize| {
                let id = b.kv_groups[g] as usize;
                (f64::from(b.kslot[id].1), &kv.values[id * m..(id + 1) * m])
            };
            attend(
                b.scores.len(),
                |g| b.scores[g],
                group,
                &mut b.acc,
                &mut b.recent,
            );
            self.emit(h, b, qi);
        }
    }

    /// A new head call over a [`KvSlots`] head's keys: each position's key-value id counted in
    /// its group (`b.kslot`, `b.kv_groups` in order of first appearance); the call's number.
    fn group_kv_slots(&self, kv: &KvSlots, tokens: &[usize], b: &mut Scratch) -> u64 {
        b.calls += 1;
        let call = b.calls;
        b.kslot.resize(b.kslot.len().max(kv.kvs), (0, 0));
        b.kv_groups.clear();
        for p in 0..=tokens.len() {
            let id = kv.ids[self.slot_at(tokens, p)];
            group_key(&mut b.kslot, &mut b.kv_groups, call, id);
        }
        call
    }

    /// A [`KvSlots`] head through its cache of queries ([`HeadCache`], its key-value part
    /// unused): each distinct query input (the values of the columns the query reads) gets an
    /// id with its scores against every key-value id, its live ids, levels and range, and
    /// each query id of the sequence attends once ([`attend_tabled`], as a [`SlotHead`]'s
    /// queries do). False, having written nothing, when the cache is off (then
    /// [`Self::slot_kv_head`] attends): judged off after [`HEAD_TRIAL`] lookups unless at least
    /// half of them found their input, or when one sequence could overfill it.
    fn slot_kv_cached(
        &self,
        h: &SparseHead,
        kv: &KvSlots,
        ci: usize,
        tokens: &[usize],
        b: &mut Scratch,
    ) -> bool {
        let (d, dk, m, len) = (self.d, h.dk, h.out.len(), tokens.len() + 1);
        let Some(c) = b.heads.get_mut(ci) else {
            return false;
        };
        // (this sequence adds at most `len` query ids, each with a row of `kvs` scores)
        let full = |c: &HeadCache| {
            let queries = c.levels.len() + len;
            queries > MAX_HEAD_IDS || queries.saturating_mul(kv.kvs) > MAX_SLOT_SCORES
        };
        if !c.admit(full) {
            return false;
        }
        // Each position's query id (found before anything is written).
        b.qids.clear();
        for p in 0..len {
            if p < b.from {
                b.qids.push(u32::MAX);
                continue;
            }
            c.lookups += 1;
            let x = &b.x[p * d..(p + 1) * d];
            let hash = read_key(x, &h.q_reads, &[], &mut b.key);
            let q = match c.q_ids.get(hash, &b.key) {
                Some((_, q)) => q,
                None => {
                    c.misses += 1;
                    let q = c.levels.len() as u32;
                    c.q_ids.insert(hash, &b.key, &[], q);
                    b.q.clear();
                    b.q.resize(dk, 0.0);
                    h.wq.apply_add(x, &mut b.q);
                    let qrow = &b.q[..dk];
                    let row: Vec<f64> = (0..kv.kvs).map(|id| kv.score(qrow, id)).collect();
                    let floor = row[kv.bos as usize];
                    let live: Vec<u32> = (0..kv.kvs as u32)
                        .filter(|&k| can_weigh(row[k as usize], floor))
                        .collect();
                    let level = query_level(&row, &live, kv.bos as usize);
                    let range = level
                        .zip(kv.pos.as_ref())
                        .and_then(|((top, _), pos)| query_range(&row, top, kv.bos, pos));
                    c.scores.push(row);
                    c.live.push(live);
                    c.levels.push(level);
                    c.ranges.push(range);
                    q
                }
            };
            b.qids.push(q);
        }
        // (taken out of `b` while the queries attend, put back after)
        let c = std::mem::take(c);
        let call = self.group_kv_slots(kv, tokens, b);
        // (put in id order when first attended over)
        let mut sorted = false;
        b.qslot.resize(b.qslot.len().max(c.levels.len()), (0, 0));
        b.acc.resize(m, 0.0);
        b.qres.clear();
        b.prefix.clear();
        let kv_at = |p: usize| kv.ids[self.slot_at(tokens, p)] as usize;
        for p in b.from..len {
            let q = b.qids[p] as usize;
            let off = match b.qslot[q] {
                (cl, off) if cl == call => off,
                _ => {
                    // (a live list that keeps most ids is not worth walking)
                    let live = &c.live[q];
                    let query = Tabled {
                        row: &c.scores[q],
                        live: (live.len() * 2 <= kv.kvs).then_some(&live[..]),
                        level: c.levels[q],
                        range: c.ranges[q],
                        bos: kv.bos,
                        values: &kv.values,
                    };
                    attend_tabled(&query, kv_at, len, m, call, b, &mut sorted);
                    b.keep_result(q, call)
                }
            };
            let rows = if b.direct { &mut b.x } else { &mut b.delta };
            add_output(&h.out, &b.qres[off..], &mut rows[p * d..(p + 1) * d]);
        }
        b.heads[ci] = c;
        true
    }

    /// Position `qi` gets the output of head `h` that position `r` got (equal query rows).
    fn reuse_output(&self, h: &SparseHead, b: &mut Scratch, qi: usize, r: usize) {
        let (d, m) = (self.d, h.out.len());
        let out = if b.direct { &mut b.x } else { &mut b.delta };
        let out = &mut out[qi * d..(qi + 1) * d];
        for (j, c) in h.out.iter().enumerate() {
            let v = b.qres[r * m + j];
            b.qres[qi * m + j] = v;
            out[*c] += v;
        }
    }

    /// Query `qi`'s scores over the groups its nonzero columns reach ([`Scratch::by_col`]), in
    /// `b.scores`, those groups in `b.touched` (ascending). Each score sums the same nonzero
    /// products, in the same column order, as the full dot product. True when the groups it
    /// did not reach (score 0) have weight 0: some reached score is above `-EXP_ZERO` or every
    /// group was reached; false otherwise (then the caller scores every group).
    fn scores_by_column(&self, b: &mut Scratch, qi: usize, dk: usize) -> bool {
        b.stamps += 1;
        let stamp = b.stamps;
        b.touched.clear();
        let qrow = &b.q[qi * dk..(qi + 1) * dk];
        for (c, &qc) in qrow.iter().enumerate() {
            if qc == 0.0 {
                continue;
            }
            for &(g, kv) in &b.by_col[b.col_start[c]..b.col_start[c + 1]] {
                let gi = g as usize;
                if b.stamp[gi] == stamp {
                    b.scores[gi] += qc * kv;
                } else {
                    b.stamp[gi] = stamp;
                    b.scores[gi] = qc * kv;
                    b.touched.push(g);
                }
            }
        }
        let mx = b
            .touched
            .iter()
            .map(|&g| b.scores[g as usize])
            .fold(f64::NEG_INFINITY, f64::max);
        if b.touched.len() < b.groups.len() && (mx.is_nan() || mx <= -EXP_ZERO) {
            return false;
        }
        b.touched.sort_unstable();
        true
    }

    /// A head with computed keys and values, through its cache of rows by input
    /// ([`HeadCache`]): each position's key-value id (and query id) is found by the values of
    /// the columns it reads; keys are grouped by id (in id order) and each distinct query id
    /// attends once, over the ids its live list keeps (as [`Self::slot_head`]). False when
    /// the cache is off (then [`Self::head`] attends).
    fn cached_head(&self, h: &SparseHead, ci: usize, tokens: &[usize], b: &mut Scratch) -> bool {
        let (d, dk, m, len) = (self.d, h.dk, h.out.len(), tokens.len() + 1);
        let Some(c) = b.heads.get_mut(ci) else {
            return false;
        };
        // Whether this sequence could overfill the cache (it adds at most `len` key-value
        // ids, and `len` query ids when queries are not tabled).
        let full = |c: &HeadCache| {
            let queries = h.q_slots.as_ref().map_or(c.scores.len() + len, |qs| qs.len);
            c.kvs() + len > MAX_HEAD_IDS
                || queries > MAX_HEAD_IDS
                || queries.saturating_mul(c.kvs() + len) > MAX_SLOT_SCORES
        };
        if !c.admit(full) {
            return false;
        }
        b.calls += 1;
        let call = b.calls;
        b.qids.clear();
        b.kv_groups.clear();
        let mut bos = 0;
        // The cache entries this sequence's rows took where the key columns were written, when
        // the ids follow them ([`SparseHead::provenance`]).
        let entries = h
            .provenance
            .and_then(|r| b.entries.get(r))
            .and_then(|(at, valid)| valid.map(|g| (at, g)));
        if let Some((_, g)) = entries.filter(|(_, g)| c.by_entry_gen != *g) {
            c.by_entry.clear();
            c.by_entry_gen = g;
        }
        for p in 0..len {
            let x = &b.x[p * d..(p + 1) * d];
            c.lookups += 1;
            let slot = || self.slot_at(tokens, p);
            let follow = entries
                .map(|(at, _)| at[p] as usize * h.kv_classes + h.kv_slot_class[slot()] as usize);
            let known = follow
                .and_then(|i| c.by_entry.get(i).copied())
                .filter(|&id| id != u32::MAX);
            let hash = match known {
                Some(_) => 0,
                None => h.kv_key.read(x, slot, &mut b.key),
            };
            let id = match known.or_else(|| c.kv_ids.get(hash, &b.key).map(|(_, id)| id)) {
                Some(id) => id,
                None => {
                    c.misses += 1;
                    let id = c.kvs() as u32;
                    c.kv_ids.insert(hash, &b.key, &[], id);
                    let start = c.kv_rows.len();
                    c.kv_rows.resize(start + dk + m, 0.0);
                    let row = &mut c.kv_rows[start..];
                    h.wk.apply_add(x, &mut row[..dk]);
                    h.ov.apply_add(x, &mut row[dk..]);
                    if c.knz_start.is_empty() {
                        c.knz_start.push(0);
                    }
                    c.knz
                        .extend((0..dk as u32).filter(|&j| row[j as usize] != 0.0));
                    c.knz_start.push(c.knz.len() as u32);
                    b.kslot.resize(b.kslot.len().max(id as usize + 1), (0, 0));
                    id
                }
            };
            if let Some(i) = follow.filter(|_| known.is_none()) {
                if c.by_entry.len() <= i {
                    c.by_entry.resize(i + 1, u32::MAX);
                }
                c.by_entry[i] = id;
            }
            if p == 0 {
                bos = id;
            }
            group_key(&mut b.kslot, &mut b.kv_groups, call, id);
            if p < b.from {
                b.qids.push(u32::MAX);
                continue;
            }
            let q = match &h.q_slots {
                Some(qs) => qs.ids[self.slot_at(tokens, p)],
                None => {
                    let hash = read_key(x, &h.q_reads, &[], &mut b.key);
                    match c.q_ids.get(hash, &b.key) {
                        Some((_, q)) => q,
                        None => {
                            let q = c.scores.len() as u32;
                            c.q_ids.insert(hash, &b.key, &[], q);
                            let start = c.q_rows.len();
                            c.q_rows.resize(start + dk, 0.0);
                            h.wq.apply_add(x, &mut c.q_rows[start..]);
                            c.scores.push(Vec::new());
                            c.live.push(Vec::new());
                            q
                        }
                    }
                }
            };
            b.qids.push(q);
        }
        // (put in id order when first attended over, see below)
        let mut sorted = false;
        let (queries, q_rows) = match &h.q_slots {
            Some(qs) => (qs.len, &qs.rows),
            None => (c.scores.len(), &c.q_rows),
        };
        c.scores.resize(queries, Vec::new());
        c.live.resize(queries, Vec::new());
        let floor = *c.bos.get_or_insert(bos);
        // (the live lists hold for sequences whose BOS has the first sequence's key-value id)
        let same_bos = floor == bos;
        let kvs = c.kvs();
        b.qslot.resize(b.qslot.len().max(queries), (0, 0));
        b.acc.resize(m, 0.0);
        b.qres.clear();
        for p in b.from..len {
            let q = b.qids[p] as usize;
            let off = match b.qslot[q] {
                (cl, off) if cl == call => off,
                _ => {
                    // Scores against the ids this query has not met yet (in the column order
                    // of the generic pass), and which of them can weigh anything.
                    let (row, live) = (&mut c.scores[q], &mut c.live[q]);
                    let qrow = &q_rows[q * dk..(q + 1) * dk];
                    let old = row.len();
                    for kv in old..kvs {
                        let k = &c.kv_rows[kv * (dk + m)..kv * (dk + m) + dk];
                        let nz = &c.knz[c.knz_start[kv] as usize..c.knz_start[kv + 1] as usize];
                        row.push(nz.iter().map(|&j| qrow[j as usize] * k[j as usize]).sum());
                    }
                    let base = row[floor as usize];
                    live.extend(
                        (old as u32..kvs as u32).filter(|&kv| can_weigh(row[kv as usize], base)),
                    );
                    let groups = query_groups(
                        same_bos.then_some(&live[..]),
                        &b.kslot,
                        call,
                        &mut b.kv_groups,
                        &mut b.touched,
                        &mut sorted,
                    );
                    let score = |g: usize| row[groups[g] as usize];
                    let group = |g: usize| {
                        let kv = groups[g] as usize;
                        let start = kv * (dk + m) + dk;
                        (f64::from(b.kslot[kv].1), &c.kv_rows[start..start + m])
                    };
                    attend(groups.len(), score, group, &mut b.acc, &mut b.recent);
                    // (as `Scratch::keep_result`, which `c`'s borrow of `b` rules out here)
                    let off = b.qres.len();
                    b.qres.extend_from_slice(&b.acc);
                    b.qslot[q] = (call, off);
                    off
                }
            };
            let rows = if b.direct { &mut b.x } else { &mut b.delta };
            add_output(&h.out, &b.qres[off..], &mut rows[p * d..(p + 1) * d]);
        }
        true
    }

    /// One head's softmax attention over the `len` positions of `b.x`, added to `b.delta`.
    fn head(&self, h: &SparseHead, tokens: &[usize], b: &mut Scratch) {
        let (d, len) = (self.d, tokens.len() + 1);
        let (dk, m) = (h.dk, h.out.len());
        b.calls += 1;
        let call = b.calls;
        b.qids.clear();
        b.q.clear();
        b.q.resize(len * dk, 0.0);
        b.k.clear();
        b.k.resize(len * dk, 0.0);
        b.v.clear();
        b.v.resize(len * m, 0.0);
        b.knz.clear();
        b.kstart.clear();
        for p in 0..len {
            let x = &b.x[p * d..(p + 1) * d];
            match &h.q_slots {
                Some(qs) => {
                    let id = qs.ids[self.slot_at(tokens, p)];
                    b.q[p * dk..(p + 1) * dk]
                        .copy_from_slice(&qs.rows[id as usize * dk..(id as usize + 1) * dk]);
                    b.qids.push(id);
                }
                None => h.wq.apply_add(x, &mut b.q[p * dk..(p + 1) * dk]),
            }
            h.wk.apply_add(x, &mut b.k[p * dk..(p + 1) * dk]);
            h.ov.apply_add(x, &mut b.v[p * m..(p + 1) * m]);
            b.kstart.push(b.knz.len());
            let krow = &b.k[p * dk..(p + 1) * dk];
            b.knz.extend((0..dk).filter(|&c| krow[c] != 0.0));
        }
        b.kstart.push(b.knz.len());
        // Keys with the same key row and value row (one-hot keys: one per value) are one group
        // with a count: the softmax sums `count · exp(s) · v` over groups instead of keys.
        b.groups.clear();
        b.count.clear();
        b.hash.clear();
        let limit = MAX_GROUPS.min(len / 2);
        for kj in 0..len {
            let h = b.knz[b.kstart[kj]..b.kstart[kj + 1]]
                .iter()
                .map(|&c| (c as u64) ^ b.k[kj * dk + c].to_bits().rotate_left(17))
                .chain(b.v[kj * m..(kj + 1) * m].iter().map(|x| x.to_bits()));
            let h = fnv(h);
            let same = |i: usize| {
                let g = b.groups[i];
                b.hash[i] == h
                    && b.k[g * dk..(g + 1) * dk] == b.k[kj * dk..(kj + 1) * dk]
                    && b.v[g * m..(g + 1) * m] == b.v[kj * m..(kj + 1) * m]
            };
            match (0..b.groups.len()).find(|&i| same(i)) {
                Some(i) => b.count[i] += 1.0,
                None if b.groups.len() < limit => {
                    b.groups.push(kj);
                    b.count.push(1.0);
                    b.hash.push(h);
                }
                None => {
                    // many distinct keys (positions): one group per key
                    b.groups.clear();
                    b.groups.extend(0..len);
                    b.count.clear();
                    b.count.resize(len, 1.0);
                    break;
                }
            }
        }
        let groups = b.groups.len();
        b.scores.resize(groups, 0.0);
        b.acc.resize(m, 0.0);
        b.qfirst.clear();
        b.qres.clear();
        b.qres.resize(len * m, 0.0);
        // With many groups, each group's key columns are listed by column, so that a query
        // (one-hot, as the compiled equality heads' are) reaches only the groups that share
        // one of its columns.
        // (Only finite keys: a zero query column times an infinite key is NaN in the full
        // dot product, a product the columns' lists never form.)
        let by_col = groups >= BY_COLUMN_GROUPS
            && b.groups.iter().all(|&kj| {
                b.knz[b.kstart[kj]..b.kstart[kj + 1]]
                    .iter()
                    .all(|&c| b.k[kj * dk + c].is_finite())
            });
        if by_col {
            b.col_start.clear();
            b.col_start.resize(dk + 1, 0);
            for &kj in &b.groups {
                for &c in &b.knz[b.kstart[kj]..b.kstart[kj + 1]] {
                    b.col_start[c + 1] += 1;
                }
            }
            for c in 0..dk {
                b.col_start[c + 1] += b.col_start[c];
            }
            b.by_col.clear();
            b.by_col.resize(b.col_start[dk], (0, 0.0));
            b.col_next.clear();
            b.col_next.extend_from_slice(&b.col_start[..dk]);
            for (gi, &kj) in b.groups.iter().enumerate() {
                for &c in &b.knz[b.kstart[kj]..b.kstart[kj + 1]] {
                    b.by_col[b.col_next[c]] = (gi as u32, b.k[kj * dk + c]);
                    b.col_next[c] += 1;
                }
            }
            b.stamp.resize(b.stamp.len().max(groups), 0);
        }
        if let Some(qs) = &h.q_slots {
            b.qslot.resize(b.qslot.len().max(qs.len), (0, 0));
        }
        for qi in b.from..len {
            // A query row equal to an earlier one attends to the same keys alike: found by its
            // id when queries come from their tables, else by its hash.
            let earlier = if h.q_slots.is_some() {
                let slot = &mut b.qslot[b.qids[qi] as usize];
                let r = (slot.0 == call).then_some(slot.1);
                *slot = (call, r.unwrap_or(qi));
                r
            } else {
                earlier_query(b, qi, dk)
            };
            if let Some(r) = earlier {
                self.reuse_output(h, b, qi, r);
                continue;
            }
            let reached = by_col && self.scores_by_column(b, qi, dk);
            let group = |g: usize| {
                let kj = b.groups[g];
                (b.count[g], &b.v[kj * m..(kj + 1) * m])
            };
            if reached {
                // Every group the query did not reach scores 0, more than `-EXP_ZERO` below
                // the largest: weight 0, so the softmax runs over the groups it reached (in
                // group order, as over all of them).
                let (touched, scores) = (&b.touched, &b.scores);
                attend(
                    touched.len(),
                    |i| scores[touched[i] as usize],
                    |i| group(touched[i] as usize),
                    &mut b.acc,
                    &mut b.recent,
                );
            } else {
                let qrow = &b.q[qi * dk..(qi + 1) * dk];
                for (gi, &kj) in b.groups.iter().enumerate() {
                    let krow = &b.k[kj * dk..(kj + 1) * dk];
                    b.scores[gi] = b.knz[b.kstart[kj]..b.kstart[kj + 1]]
                        .iter()
                        .map(|&c| qrow[c] * krow[c])
                        .sum();
                }
                attend(groups, |g| b.scores[g], group, &mut b.acc, &mut b.recent);
            }
            self.emit(h, b, qi);
        }
    }

    /// Position `qi`'s output of head `h` (`b.acc`), kept for later equal queries
    /// ([`Self::reuse_output`]) and added to `b.delta`.
    fn emit(&self, h: &SparseHead, b: &mut Scratch, qi: usize) {
        let (d, m) = (self.d, h.out.len());
        let out = if b.direct { &mut b.x } else { &mut b.delta };
        let out = &mut out[qi * d..(qi + 1) * d];
        for (j, (c, &v)) in h.out.iter().zip(&b.acc).enumerate() {
            b.qres[qi * m + j] = v;
            out[*c] += v;
        }
    }
}

/// The key columns of one cache of layer `a`'s MLP and the next layer `b`'s ([`SparseLayer::chain`]),
/// when `b` is an MLP alone that can be computed with `a`'s: no bilinear sublayer or memories
/// in either, no heads in `b`, no gated units in `b`'s MLP (its gating bound would range over
/// the whole sequence), and `b`'s MLP writes none of the columns `a`'s bound reads. `before`:
/// the columns something before `a`'s MLP writes; `b`'s reads of `a`'s outputs outside them
/// are 0 before `a`'s MLP and left out.
fn chain_reads(a: &SparseLayer, b: &SparseLayer, before: &[bool]) -> Option<Vec<usize>> {
    let (first, next) = (a.mlp.as_ref()?, b.mlp.as_ref()?);
    let (r1, r2) = (first.reads.as_ref()?, next.reads.as_ref()?);
    let alone = |l: &SparseLayer| l.bilinear.is_none() && l.memories.is_empty();
    if !(alone(a)
        && alone(b)
        && b.heads.is_empty()
        && next.gated.is_empty()
        && !next.writes.iter().any(|c| first.bounded.contains(c)))
    {
        return None;
    }
    let zero = |c: &usize| {
        !before.get(*c).copied().unwrap_or(true) && first.writes.binary_search(c).is_ok()
    };
    let reads: std::collections::BTreeSet<usize> = r1
        .iter()
        .copied()
        .chain(r2.iter().copied().filter(|c| !zero(c)))
        .collect();
    (reads.len() <= MAX_MEMO_READS).then(|| reads.into_iter().collect())
}

/// One query of a head whose key-value ids are tabled by slot ([`SlotHead`], or [`KvSlots`]
/// with the query's scores cached, [`Core::slot_kv_cached`]): its scores against every
/// key-value id (`row`), its live ids (`live`), its two levels (the top score and whether BOS
/// has it, [`query_level`]) and its range of key positions ([`query_range`], only with
/// levels) where it has them, BOS's id (`bos`, read with levels) and the ids' value rows.
/// Without `live` the query attends over every key group of the sequence.
struct Tabled<'a> {
    row: &'a [f64],
    live: Option<&'a [u32]>,
    level: Option<(f64, bool)>,
    range: Option<(u32, u32)>,
    bos: u32,
    values: &'a [f64],
}

/// A tabled query's softmax over the current head call's keys (`call`; their groups in
/// `b.kslot` and `b.kv_groups`, `kv_at(p)` position `p`'s key-value id) into `b.acc` (`m`
/// numbers), bit for bit the softmax over every key of the sequence (`len` positions, BOS's
/// first): a range's sum (one key's row, or a difference of two prefix sums, `b.prefix`, summed
/// once per call), the top-level keys' rows summed with their counts (no maximum and no
/// exponential), or [`attend`] over the live keys present.
fn attend_tabled(
    t: &Tabled,
    kv_at: impl Fn(usize) -> usize,
    len: usize,
    m: usize,
    call: u64,
    b: &mut Scratch,
    sorted: &mut bool,
) {
    match (t.level, t.range) {
        (Some((_, with_bos)), Some((lo, hi))) => {
            let hi = (hi as usize).min(len);
            let lo = (lo as usize).clamp(1, hi.max(1));
            let mut z = (hi - lo.min(hi)) as u32;
            if z == 1 {
                // one key: its value row
                let kv = kv_at(lo);
                // (`0.0 + v`, as the sum over keys starts: no negative zero)
                for (a, v) in b.acc.iter_mut().zip(&t.values[kv * m..(kv + 1) * m]) {
                    *a = 0.0 + v;
                }
            }
            // more: a difference of two prefix sums
            if z > 1 && b.prefix.is_empty() {
                b.prefix.resize(len * m, 0.0);
                for j in 1..len {
                    let kv = kv_at(j);
                    let (done, rest) = b.prefix.split_at_mut(j * m);
                    let v = &t.values[kv * m..(kv + 1) * m];
                    for ((s, p), v) in rest[..m].iter_mut().zip(&done[(j - 1) * m..]).zip(v) {
                        *s = p + v;
                    }
                }
            }
            if z > 1 {
                let (a, c) = (
                    &b.prefix[(lo - 1) * m..lo * m],
                    &b.prefix[(hi - 1) * m..hi * m],
                );
                for ((acc, a), c) in b.acc.iter_mut().zip(a).zip(c) {
                    *acc = c - a;
                }
            } else if z == 0 {
                b.acc.fill(0.0);
            }
            if z == 0 || with_bos {
                // BOS beside them, or alone when no key above it is present
                let bos = t.bos as usize;
                z += 1;
                for (a, v) in b.acc.iter_mut().zip(&t.values[bos * m..(bos + 1) * m]) {
                    *a += v;
                }
            }
            normalise(&mut b.acc, f64::from(z), &mut b.recent.recips);
        }
        (level, _) => {
            let kvs = query_groups(
                t.live,
                &b.kslot,
                call,
                &mut b.kv_groups,
                &mut b.touched,
                sorted,
            );
            if let Some((top, with_bos)) = level {
                // the keys at the top level (BOS among them or not), in id order
                b.acc.fill(0.0);
                let mut z = 0u32;
                for &kv in kvs {
                    let at_top = if kv == t.bos {
                        with_bos
                    } else {
                        t.row[kv as usize] == top
                    };
                    if !at_top {
                        continue;
                    }
                    let count = b.kslot[kv as usize].1;
                    z += count;
                    let w = f64::from(count);
                    let v = &t.values[kv as usize * m..(kv as usize + 1) * m];
                    for (a, v) in b.acc.iter_mut().zip(v) {
                        *a += w * v;
                    }
                }
                if z == 0 {
                    // no key above BOS is present: BOS alone
                    let bos = t.bos as usize;
                    let count = b.kslot[bos].1;
                    z = count;
                    let w = f64::from(count);
                    for (a, v) in b.acc.iter_mut().zip(&t.values[bos * m..(bos + 1) * m]) {
                        *a += w * v;
                    }
                }
                normalise(&mut b.acc, f64::from(z), &mut b.recent.recips);
            } else {
                let score = |g: usize| t.row[kvs[g] as usize];
                let group = |g: usize| {
                    let kv = kvs[g] as usize;
                    (f64::from(b.kslot[kv].1), &t.values[kv * m..(kv + 1) * m])
                };
                attend(kvs.len(), score, group, &mut b.acc, &mut b.recent);
            }
        }
    }
}

/// The key-value ids one query of head call `call` attends over, in id order: the sequence's
/// ids its live list keeps (the others weigh 0 whatever else the sequence holds), when there is
/// a list and it is under [`LIVE_SCAN`] times the sequence's groups; else every group of the
/// sequence (`kv_groups`, put in id order at the first such query of the call: `sorted`).
fn query_groups<'g>(
    live: Option<&[u32]>,
    kslot: &[(u64, u32)],
    call: u64,
    kv_groups: &'g mut [u32],
    touched: &'g mut Vec<u32>,
    sorted: &mut bool,
) -> &'g [u32] {
    match live {
        Some(live) if live.len() < LIVE_SCAN * kv_groups.len() => {
            touched.clear();
            touched.extend(live.iter().filter(|&&kv| kslot[kv as usize].0 == call));
            touched
        }
        _ => {
            if !*sorted {
                kv_groups.sort_unstable();
                *sorted = true;
            }
            kv_groups
        }
    }
}

/// A query attends over the sequence's keys its live list keeps (found by walking the list)
/// unless the list is this many times longer than the sequence's key groups (then over every
/// group, put in id order once per head call): walking a list is cheaper per entry than
/// attending over a group, and most groups a list drops are not attended at all.
const LIVE_SCAN: usize = 4;

/// Per (token, position) slot, the class of its MLP key within a sequence, and how many
/// classes ([`SparseLayer::classes`]): when every head of the layer attends from tables and
/// every column the key reads from the row is one only these heads write (0 before them), a
/// position's key is a function of its query id in each head (equal ids attend alike in one
/// sequence) and of its slot's key words; slots with the same of both are one class. No
/// classes (an empty list) otherwise, or when there are more than half as many as slots.
fn mlp_classes(l: &SparseLayer, fresh: &[usize], slots: usize) -> (Vec<u32>, usize) {
    let tables: Option<Vec<&SlotHead>> = l.heads.iter().map(|h| h.table.as_ref()).collect();
    let Some(tables) = tables.filter(|t| !t.is_empty()) else {
        return (Vec::new(), 0);
    };
    let split = l.key.start.len() == slots + 1;
    if !(split || l.key.start.is_empty()) || !l.key.scan.iter().all(|c| fresh.contains(c)) {
        return (Vec::new(), 0);
    }
    let mut ids: std::collections::HashMap<(Vec<u32>, &[u64]), u32> = Default::default();
    let classes = (0..slots)
        .map(|slot| {
            let queries = tables.iter().map(|t| t.ids[slot].0).collect();
            let words = l.key.words(slot);
            let next = ids.len() as u32;
            *ids.entry((queries, words)).or_insert(next)
        })
        .collect();
    // (classes of about one slot each, as when a query id names the position, never serve a
    // second position: not worth their lookups)
    if ids.len() * 2 > slots {
        return (Vec::new(), 0);
    }
    (classes, ids.len())
}

/// The most (cache entry, slot class) pairs a head's [`HeadCache::by_entry`] may span.
const MAX_BY_ENTRY: usize = 1 << 20;

/// Mark the cached heads whose key columns read from the row are written by one MLP cache
/// alone ([`SparseHead::provenance`]): every such column has that MLP (or the MLP chained
/// into its cache's pass) as its only writer anywhere (no embedding, head, other MLP,
/// bilinear sublayer or memory), in a layer before the head's. Returns how many caches record
/// their entries.
fn follow_entries(
    layers: &mut [SparseLayer],
    token_embed: &[usize],
    pos_embed: &[usize],
    slots: usize,
) -> usize {
    const MLP: u8 = 1;
    let mut writers: std::collections::HashMap<usize, Vec<(usize, u8)>> = Default::default();
    for &c in token_embed.iter().chain(pos_embed) {
        writers.entry(c).or_default().push((0, 0));
    }
    for (li, l) in layers.iter().enumerate() {
        let mut add = |c: usize, kind: u8| writers.entry(c).or_default().push((li, kind));
        l.written.iter().for_each(|&c| add(c, 0));
        l.mlp
            .iter()
            .flat_map(|m| &m.writes)
            .for_each(|&c| add(c, MLP));
        if let Some(b) = &l.bilinear {
            b.w.rows.iter().flatten().for_each(|(c, _)| add(*c, 0));
        }
        for m in &l.memories {
            m.values.entries().for_each(|(_, c, _)| add(c, 0));
        }
    }
    let mut records = 0;
    for li in 0..layers.len() {
        for hi in 0..layers[li].heads.len() {
            let h = &layers[li].heads[hi];
            if h.cache.is_none() || h.kv_key.scan.is_empty() {
                continue;
            }
            // the cache whose pass computes column `c` (an MLP chained into the previous
            // layer's cache is computed in that pass)
            let source = |c: &usize| match writers.get(c).map(Vec::as_slice) {
                Some([(l, MLP)]) if *l < li => Some(match *l {
                    0 => 0,
                    l if layers[l - 1].chain.is_some() => l - 1,
                    l => l,
                }),
                _ => None,
            };
            let sources: Option<Vec<usize>> = h.kv_key.scan.iter().map(source).collect();
            let Some(m) = sources
                .filter(|s| s.windows(2).all(|w| w[0] == w[1]))
                .map(|s| s[0])
            else {
                continue;
            };
            let mut ids: std::collections::HashMap<&[u64], u32> = Default::default();
            let key = &h.kv_key;
            let class: Vec<u32> = (0..slots)
                .map(|slot| {
                    let words = key.words(slot);
                    let next = ids.len() as u32;
                    *ids.entry(words).or_insert(next)
                })
                .collect();
            let classes = ids.len().max(1);
            if classes.saturating_mul(MAX_MEMO_ENTRIES) > MAX_BY_ENTRY {
                continue;
            }
            let record = match layers[m].record {
                Some(r) => r,
                None => {
                    records += 1;
                    layers[m].record = Some(records - 1);
                    records - 1
                }
            };
            let h = &mut layers[li].heads[hi];
            h.provenance = Some(record);
            h.kv_slot_class = class;
            h.kv_classes = classes;
        }
    }
    records
}

/// Below this, `e^t` is 0 in f64 (it underflows below about −745.13). Compiled width, aggregate
/// and mean heads put every key they do not select at least `β/2 ≥ 750` below the largest
/// score, so most keys have a weight of exactly 0, skipped without calling `exp` (whose
/// underflow path is slow); other heads' weights are computed as ever.
const EXP_ZERO: f64 = -746.0;

/// A head's output (`values`, for the columns `cols`) added to one row (of the residual or of
/// the delta, see [`SparseLayer::direct`]).
fn add_output(cols: &[usize], values: &[f64], row: &mut [f64]) {
    for (c, v) in cols.iter().zip(values) {
        row[*c] += v;
    }
}

/// Count a key with key-value id `kv` in its group for head call `call` (`kslot[kv]`: the
/// id's last call and count in it; a new group in `kv_groups` at its first key).
fn group_key(kslot: &mut [(u64, u32)], kv_groups: &mut Vec<u32>, call: u64, kv: u32) {
    let g = &mut kslot[kv as usize];
    if g.0 == call {
        g.1 += 1;
    } else {
        *g = (call, 1);
        kv_groups.push(kv);
    }
}

/// An earlier position (of the current head call) whose query row in `b.q` equals position
/// `qi`'s, found by the row's hash (`b.qfirst` keeps the first position of each hash).
fn earlier_query(b: &mut Scratch, qi: usize, dk: usize) -> Option<usize> {
    let qrow = &b.q[qi * dk..(qi + 1) * dk];
    let hq = fnv(qrow
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .flat_map(|(c, v)| [c as u64, v.to_bits()]));
    match b.qfirst.get(&hq) {
        Some(&r) if b.q[r * dk..(r + 1) * dk] == *qrow => Some(r),
        Some(_) => None,
        None => {
            b.qfirst.insert(hq, qi);
            None
        }
    }
}

/// Softmax attention over `n` groups of keys: group `g` has score `score(g)` and
/// `group(g) = (number of keys, value row)`. `acc` becomes `Σ w·v / Σ w` with
/// `w = count · e^{score − max}` (weights that underflow to 0 skipped). Compiled heads give
/// most keys one of a few scores (selected, not selected, BOS), so the last few exponentials
/// are remembered instead of recomputed.
fn attend<'v>(
    n: usize,
    score: impl Fn(usize) -> f64,
    group: impl Fn(usize) -> (f64, &'v [f64]),
    acc: &mut [f64],
    recent: &mut Recents,
) {
    let mx = (0..n)
        .map(&score)
        .fold(f64::NEG_INFINITY, |a, s| if s > a { s } else { a });
    let mut z = 0.0;
    acc.fill(0.0);
    for g in 0..n {
        let t = score(g) - mx;
        if t < EXP_ZERO {
            continue;
        }
        let (count, v) = group(g);
        // (1 at the largest score; weights below `EXP_ZERO` were skipped above)
        let w = if t == 0.0 {
            1.0
        } else {
            recent.exps.get(t, f64::exp)
        } * count;
        z += w;
        if w == 0.0 {
            continue;
        }
        for (a, v) in acc.iter_mut().zip(v) {
            *a += w * v;
        }
    }
    normalise(acc, z, &mut recent.recips);
}

/// `acc / z`, the end of [`attend`]. Divisions that cannot change a value are skipped (exact
/// attention often selects one key, and one-hot values are mostly 0): `a / 1` is `a`, and
/// `±0 / z` is `±0` for a positive `z` (not for a NaN one).
fn normalise(acc: &mut [f64], z: f64, recips: &mut Recent) {
    if z == 1.0 {
        return;
    }
    let keep_zeros = z > 0.0;
    for a in acc.iter_mut() {
        if keep_zeros && *a == 0.0 {
            continue;
        }
        // (a width's BOS value is 1: `1 / z` is remembered per `z`)
        *a = if *a == 1.0 {
            recips.get(z, |z| 1.0 / z)
        } else {
            *a / z
        };
    }
}

/// A softmax's last few exponentials (by exponent) and normalisers' reciprocals, kept across
/// queries and heads: a compiled head's few score gaps recur at every position.
#[derive(Default)]
struct Recents {
    exps: Recent,
    recips: Recent,
}

/// The last few values of a function of one number, by argument: a softmax's exponentials
/// and normalisers repeat (a few distinct scores, small integer counts). A NaN argument is
/// never found (`NaN == NaN` is false), so it is computed each time.
struct Recent {
    seen: [(f64, f64); 4],
    next: usize,
}

impl Default for Recent {
    fn default() -> Recent {
        Recent {
            seen: [(f64::NAN, 0.0); 4],
            next: 0,
        }
    }
}

impl Recent {
    fn get(&mut self, x: f64, f: impl Fn(f64) -> f64) -> f64 {
        if let Some((_, y)) = self.seen.iter().find(|(s, _)| *s == x) {
            return *y;
        }
        let y = f(x);
        self.seen[self.next] = (x, y);
        self.next = (self.next + 1) % self.seen.len();
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_compiler::ast_to_ir;
    use tessera_compiler::ir_to_graph::ir_to_graph;
    use tessera_compiler::opt::{OptLimits, optimize};
    use tessera_lang::interp::EntryArgs;
    use tessera_lang::program::{Program, TableLoader};

    fn compile(entry: &str, vocab: &[&str], max_len: usize) -> Model {
        let (p, _) = Program::load("<t>", "", &TableLoader(tessera_stdlib::MODULES));
        let def = p.resolve_str(entry).expect("exists");
        let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
        let (ir, _) = optimize(&ir, &OptLimits::default());
        let vocab: Vec<Val> = vocab.iter().map(|t| Val::from_token(t)).collect();
        ir_to_graph(&ir, &vocab, max_len).expect("compiles")
    }

    /// `count` seeded inputs over token ids `0..4`, input `i` of length `i % (max_len + 1)`.
    fn seeded_ids(seed: u64, count: usize, max_len: usize) -> Vec<Vec<usize>> {
        let mut s = 0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (0..count)
            .map(|i| {
                (0..i % (max_len + 1))
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        (s % 4) as usize
                    })
                    .collect()
            })
            .collect()
    }

    /// A batch split across threads ([`SparseEngine::split`]) gives what the calling thread
    /// alone gives, bit for bit and in order, through each entry point; an input that cannot
    /// run, wherever it sits, gives the same error either way and leaves `out` as it was.
    #[test]
    fn split_batches_give_what_one_thread_gives() {
        let vocab = ["a", "b", "c", "d"];
        for (entry, n) in [
            ("std::rasp::sort_by_most_freq", 8),
            ("std::rasp::reverse", 12),
            ("std::rasp::frac_prevs", 10),
        ] {
            let model = compile(entry, &vocab, n);
            let mut one = SparseEngine::new(&model);
            one.set_threads(1);
            let mut split = SparseEngine::new(&model);
            split.set_threads(8);
            // inputs of every length up to n, long enough in all to be split
            let batch = seeded_ids(0, 300, n);
            let total: usize = batch.iter().map(|q| q.len() + 1).sum();
            assert!(total >= 2 * SPLIT_POSITIONS, "{entry}");
            for _ in 0..3 {
                let want = one.forward_ids(&batch).expect("runs");
                assert_eq!(split.forward_ids(&batch).expect("runs"), want, "{entry}");
                let vals: Vec<Vec<Val>> = batch
                    .iter()
                    .map(|q| q.iter().map(|&t| one.vocab()[t].clone()).collect())
                    .collect();
                assert_eq!(split.forward_batch(&vals).expect("runs"), want, "{entry}");
                let (mut a, mut b) = (vec![7], vec![7]);
                one.forward_ids_out(&batch, &mut a).expect("runs");
                split.forward_ids_out(&batch, &mut b).expect("runs");
                assert_eq!(a, b, "{entry}");
                assert_eq!(a.len(), 1 + batch.iter().map(Vec::len).sum::<usize>());
            }
            // a helper took pieces (with a scratch of its own) in some batch: it may be busy
            // with another test's, or asleep, at any one
            let scratches = || split.core.pool.lock().map_or(0, |p| p.len());
            for _ in 0..500 {
                if crate::helpers::count() == 0 || scratches() >= 2 {
                    break;
                }
                split.forward_ids(&batch).expect("runs");
            }
            assert!(crate::helpers::count() == 0 || scratches() >= 2, "{entry}");
            // a bad input late in the batch: the same error, `out` untouched
            for bad in [vec![4], vec![0; n + 1]] {
                let mut batch = batch.clone();
                batch[250] = bad;
                let e1 = one.forward_ids(&batch).map(|_| ()).unwrap_err().to_string();
                let e2 = split
                    .forward_ids(&batch)
                    .map(|_| ())
                    .unwrap_err()
                    .to_string();
                assert_eq!(e1, e2);
                assert!(e1.contains("input 250"), "{e1}");
                let mut out = vec![1, 2];
                assert!(split.forward_ids_out(&batch, &mut out).is_err());
                assert_eq!(out, [1, 2]);
            }
        }
        // One engine shared by four threads at once (each call takes a scratch of its own;
        // the helper serves one split at a time, the others run alone): the same outputs.
        let model = compile("std::rasp::sort_by_most_freq", &vocab, 8);
        let mut one = SparseEngine::new(&model);
        one.set_threads(1);
        let mut shared = SparseEngine::new(&model);
        shared.set_threads(2);
        let batches: Vec<Vec<Vec<usize>>> = (1..5).map(|t| seeded_ids(t, 200, 8)).collect();
        let want: Vec<_> = batches
            .iter()
            .map(|b| one.forward_ids(b).expect("runs"))
            .collect();
        std::thread::scope(|scope| {
            for (b, w) in batches.iter().zip(&want) {
                let shared = &shared;
                scope.spawn(move || {
                    for _ in 0..5 {
                        assert_eq!(&shared.forward_ids(b).expect("runs"), w);
                    }
                });
            }
        });
    }

    /// `sort`'s last head finds its key ids by the entry of the MLP cache that wrote its key
    /// columns ([`SparseHead::provenance`]); when that cache is emptied (as when it fills up),
    /// its entries are numbered afresh and the head must forget what it learnt by entry.
    #[test]
    fn ids_that_follow_cache_entries_are_forgotten_when_the_cache_is_emptied() {
        let vocab = ["a", "b", "c", "d", "e"];
        let model = compile("std::rasp::sort", &vocab, 5);
        let engine = SparseEngine::new(&model);
        let follows = engine.core.layers.iter().flat_map(|l| &l.heads);
        assert!(follows.filter(|h| h.provenance.is_some()).count() == 1);
        // every input of length 5 over the first three tokens, then the same reversed
        let all: Vec<Vec<Val>> = (0..3usize.pow(5))
            .map(|i| {
                (0..5)
                    .map(|k| Val::from_token(vocab[i / 3usize.pow(k) % 3]))
                    .collect()
            })
            .collect();
        let check = |batch: &[Vec<Val>]| {
            let got = engine.forward_batch(batch).expect("runs");
            for (input, out) in batch.iter().zip(&got) {
                assert_eq!(out, &model.forward(input).expect("runs"), "{input:?}");
            }
        };
        check(&all);
        let mut emptied = 0;
        if let Ok(mut pool) = engine.core.pool.lock() {
            for memo in pool.iter_mut().flat_map(|s| &mut s.memo) {
                memo.clear();
                emptied += 1;
            }
        }
        assert!(emptied > 0);
        let reversed: Vec<Vec<Val>> = all.iter().rev().cloned().collect();
        check(&reversed);
    }

    /// A head whose keys and values are tabled by slot ([`KvSlots`]) and whose queries are
    /// computed (a histogram, decoded by an MLP) attends through its cache of queries
    /// ([`Core::slot_kv_cached`]): at two score levels, over one position (an
    /// aggregate: a row, or BOS's default where the position is past the end) or a prefix of
    /// positions (a mean: a difference of prefix sums); every input up to length 6 gives the
    /// reference pass's output, in two batches whose second meets every query cached.
    #[test]
    fn computed_queries_over_tabled_keys_attend_from_their_cache() {
        let vocab = ["a", "b", "c"];
        for (body, want) in [
            (
                "aggregate(select(indices, hist(xs), ==), xs, default: none)",
                (0, 1),
            ),
            (
                "mean(select(indices, hist(xs), <), numeric(xs == \"a\"))",
                (1, 6),
            ),
        ] {
            let src = format!("use std::rasp::{{hist}};\nfn main(xs) = {body}\n");
            let (p, diags) = Program::load("<t>", &src, &TableLoader(tessera_stdlib::MODULES));
            assert!(diags.is_empty(), "{diags:?}");
            let def = p.resolve_str("main").expect("exists");
            let ir = ast_to_ir(&p, def, &EntryArgs::default()).expect("lowers");
            let (ir, _) = optimize(&ir, &OptLimits::default());
            let vals: Vec<Val> = vocab.iter().map(|t| Val::from_token(t)).collect();
            let model = ir_to_graph(&ir, &vals, 6).expect("compiles");
            let mut engine = SparseEngine::new(&model);
            // (one scratch sees both batches)
            engine.set_threads(1);
            let heads = engine.core.layers.iter().flat_map(|l| &l.heads);
            let cached: Vec<usize> = heads
                .filter(|h| h.kv_slots.as_ref().is_some_and(|kv| kv.pos.is_some()))
                .filter_map(|h| h.cache)
                .collect();
            assert_eq!(cached.len(), 1, "{body}");
            let all: Vec<Vec<Val>> = (0..=6u32)
                .flat_map(|n| {
                    (0..3usize.pow(n)).map(move |i| {
                        (0..n)
                            .map(|k| Val::from_token(vocab[i / 3usize.pow(k) % 3]))
                            .collect()
                    })
                })
                .collect();
            for batch in [&all[..], &all[all.len() / 2..]] {
                let got = engine.forward_batch(batch).expect("runs");
                for (input, out) in batch.iter().zip(&got) {
                    assert_eq!(
                        out,
                        &model.forward(input).expect("runs"),
                        "{body}: {input:?}"
                    );
                }
            }
            // the queries' ranges: the least and greatest number of positions in one
            let pool = engine.core.pool.lock().expect("not poisoned");
            let c = &pool.first().expect("a scratch is kept").heads[cached[0]];
            assert!(!c.off && c.levels.iter().all(Option::is_some), "{body}");
            let sizes = c.ranges.iter().map(|r| r.map(|(lo, hi)| hi - lo));
            let sizes: Vec<u32> = sizes.collect::<Option<_>>().expect("every query a range");
            let spread = (sizes.iter().min().copied(), sizes.iter().max().copied());
            assert_eq!(spread, (Some(want.0), Some(want.1)), "{body}");
        }
    }

    /// First-layer width heads attend by counting ([`SlotHead::counting`]); a first-layer
    /// aggregate (`shift_by`'s: its keys carry the values) does not, but attends at two score
    /// levels ([`SlotHead::uniform`]), as a mean does.
    #[test]
    fn width_heads_attend_by_counting() {
        // a property of each tabled head of `entry` compiled at max_len 5
        fn tabled<T>(entry: &str, vocab: &[&str], f: impl Fn(&SlotHead) -> T) -> Vec<T> {
            let engine = SparseEngine::new(&compile(entry, vocab, 5));
            let tables = engine.core.layers.iter().flat_map(|l| &l.heads);
            tables.filter_map(|h| h.table.as_ref()).map(f).collect()
        }
        let counting = |entry: &str, vocab: &[&str]| tabled(entry, vocab, |t| t.counting.is_some());
        let vocab = ["a", "b", "c", "d", "e"];
        assert_eq!(counting("std::rasp::sort", &vocab), [true, true]);
        assert_eq!(counting("std::rasp::hist", &vocab), [true]);
        assert_eq!(counting("std::rasp::shift_by", &vocab), [false]);
        // every tabled head here has two score levels; a `best`'s ranking has more
        let uniform = |entry: &str, vocab: &[&str]| tabled(entry, vocab, |t| t.uniform.is_some());
        assert_eq!(uniform("std::rasp::shift_by", &vocab), [true]);
        assert_eq!(uniform("std::rasp::frac_prevs", &["x", "y"]), [true]);
        assert_eq!(uniform("std::pointer::argmax", &["1", "2", "3"]), [false]);
        // prefix means read their ranges of positions as differences of prefix sums, shifts
        // their one position's value row
        let ranges = |entry: &str, vocab: &[&str]| tabled(entry, vocab, |t| t.ranges.clone());
        let prefixes = ranges("std::rasp::frac_prevs", &["x", "y"]);
        assert_eq!(prefixes.len(), 1);
        let prefixes = prefixes[0].as_ref().expect("frac_prevs has ranges");
        assert!(
            prefixes.iter().any(|&(lo, hi)| (lo, hi) == (1, 6)),
            "{prefixes:?}"
        );
        assert!(prefixes.iter().all(|&(lo, hi)| lo == 1 && hi <= 6));
        assert!(ranges("std::rasp::pair_balance", &["(", ")"])[0].is_some());
        let shifted = ranges("std::rasp::shift_by", &vocab);
        let shifted = shifted[0].as_ref().expect("shift_by has ranges");
        assert!(shifted.iter().all(|&(lo, hi)| hi <= lo + 1), "{shifted:?}");
    }
}
