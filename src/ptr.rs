//! Neural meets symbolic: the compiled pointer program `std::pointer::sort_pointers` against
//! the pointer network's sort targets, and as the teacher of a pointer network (distillation).

use crate::{CompiledModel, Error, Session};
use tessera_engine::ptrnet::{Example, Rng};
use tessera_lang::value::Val;

/// `std::pointer::sort_pointers`, compiled for keys `0..q` and inputs of at most `n` tokens.
pub struct SortProgram {
    model: CompiledModel,
    q: usize,
}

impl SortProgram {
    pub fn new(q: usize, n: usize) -> Result<SortProgram, Error> {
        let vocab: Vec<String> = (0..q).map(|k| k.to_string()).collect();
        let vocab: Vec<&str> = vocab.iter().map(String::as_str).collect();
        let model = Session::stdlib().compile("std::pointer::sort_pointers", &vocab, n, &[])?;
        Ok(SortProgram { model, q })
    }

    /// The compiled model's pointer rows for examples whose values are `k / q` (run with candle,
    /// batched).
    pub fn pointers(&self, examples: &[Example]) -> Result<Vec<Vec<usize>>, Error> {
        let inputs: Vec<String> = examples
            .iter()
            .map(|e| {
                e.x.iter()
                    .map(|&v| {
                        ((v * self.q as f32).round() as usize)
                            .min(self.q - 1)
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let outs = self.model.exec(&refs, false)?;
        outs.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| match v {
                        Val::Int(k) if k >= 0 => Ok(k as usize),
                        other => Err(Error::program(format!(
                            "the program gave `{other}` as a pointer"
                        ))),
                    })
                    .collect()
            })
            .collect()
    }
}

/// How often the compiled pointers equal the pointer network's targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub n: usize,
    pub compared: usize,
    pub agreed: usize,
    pub distinct_keys: bool,
}

/// Draws `samples` inputs of `n` keys from `0..q` (all distinct when `distinct`), and compares
/// the compiled program's pointers with the stable-argsort targets the pointer network learns.
pub fn compare(n: usize, samples: usize, distinct: bool, seed: u64) -> Result<Comparison, Error> {
    let q = if distinct { 2 * n } else { n.max(2) };
    let prog = SortProgram::new(q, n)?;
    let mut rng = Rng::new(seed);
    let mut examples = Vec::with_capacity(samples);
    for _ in 0..samples {
        let keys: Vec<usize> = if distinct {
            let mut pool: Vec<usize> = (0..q).collect();
            for i in (1..q).rev() {
                pool.swap(i, rng.below(i + 1));
            }
            pool.truncate(n);
            pool
        } else {
            (0..n).map(|_| rng.below(q)).collect()
        };
        let x: Vec<f32> = keys.iter().map(|&k| k as f32 / q as f32).collect();
        let mut target: Vec<usize> = (0..n).collect();
        target.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
        examples.push(Example { x, n, target });
    }
    let mut agreed = 0;
    for chunk in examples.chunks(256) {
        let got = prog.pointers(chunk)?;
        agreed += chunk
            .iter()
            .zip(&got)
            .filter(|(e, g)| e.target == **g)
            .count();
    }
    Ok(Comparison {
        n,
        compared: samples,
        agreed,
        distinct_keys: distinct,
    })
}
