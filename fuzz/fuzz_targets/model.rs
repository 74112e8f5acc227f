//! The model loader: the data is `graph.json \0 model.safetensors`. Whatever the bytes, loading
//! ends with a model or an error that displays (never a panic); a model that loads runs a
//! one- and a two-token input through the reference forward pass, the sparse engine (one
//! engine for every call, as its caches carry over) and the candle engine, each ending with
//! outputs or an error, and both inputs as ids through the sparse engine's ids-out pass.
//! Seeds (`fuzz/seeds/model`) include a model with bilinear sublayers and tie-tolerant
//! memories (hrr), one with a numeric output, and a compiled `sort` (a head with computed
//! keys, two chained MLPs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    let Some(cut) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let Ok(json) = std::str::from_utf8(&data[..cut]) else {
        return;
    };
    let weights = &data[cut + 1..];
    let (model, _entry) = match tessera_engine::load_bytes(json, weights) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let Some(first) = model.vocab.first().cloned() else {
        return;
    };
    let last = model.vocab.last().cloned().unwrap_or_else(|| first.clone());
    // one sparse engine for every input: its caches carry over from call to call
    let sparse = tessera_engine::SparseEngine::new(&model);
    for input in [vec![first.clone()], vec![first, last]] {
        match model.forward(&input) {
            Ok(out) => assert!(out.len() <= input.len() + 1),
            Err(e) => {
                let _ = e.to_string();
            }
        }
        if let Err(e) = sparse.forward_batch(&[input.clone(), input.clone()]) {
            let _ = e.to_string();
        }
        match tessera_engine::device(false)
            .and_then(|dev| tessera_engine::Engine::new(&model, &dev))
            .and_then(|eng| eng.forward_batch(&[input]))
        {
            Ok(_) => {}
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    // ids in and out: every output an index into the output values
    let ids = vec![vec![0], vec![0, model.vocab.len() - 1]];
    let mut out = Vec::new();
    match sparse.forward_ids_out(&ids, &mut out) {
        Ok(()) => {
            let values = sparse.output_values().map_or(0, <[_]>::len);
            assert!(out.len() == 3 && out.iter().all(|&i| (i as usize) < values));
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(out.is_empty());
        }
    }
});
