//! The VSA kernels on arbitrary parameters: spaces of any model and a small dimension, vectors
//! and codebooks drawn from the data, every operation (including cleanup and the resonator):
//! never a panic, and the algebraic laws that are exact hold; batched cleanup (nearest, top-k,
//! thresholds) equals one query at a time.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tessera_vsa::cleanup::Threshold;
use tessera_vsa::resonator::{ResonatorOptions, factor};
use tessera_vsa::{Codebook, Model, Rng, Space};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::remember(data);
    if data.len() < 8 {
        return;
    }
    let model = Model::ALL[usize::from(data[0]) % 4];
    let dim = 1 + (usize::from(data[1]) << 2 | usize::from(data[2]) % 4);
    let seed = u64::from(data[3]);
    let Ok(space) = Space::new(model, dim, seed) else {
        return;
    };
    let mut rng = Rng::new(u64::from(data[4]) << 8 | u64::from(data[5]));
    let n = 1 + usize::from(data[6]) % 6;
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let Ok(book) = Codebook::new(&space, "B", &names) else {
        return;
    };
    let a = space.random(&mut rng);
    let b = space.random(&mut rng);
    let k = i64::from(data[7] as i8) * 1_000_003;
    let ab = space.bind(&a, &b).expect("same space");
    let back = space.unbind(&ab, &b).expect("same space");
    if matches!(model, Model::Map | Model::Bsc) {
        assert_eq!(back, a);
    }
    let p = space.permute(&a, k).expect("same space");
    assert_eq!(space.permute(&p, -k).expect("same space"), a);
    let bundle = space.bundle(&[&a, &b, &p]).expect("same space");
    let s = space.similarity(&bundle, &a).expect("same space");
    assert!(s.is_finite() && (-1.0001..=1.0001).contains(&s));
    let queries = vec![a.clone(), b.clone(), bundle.clone()];
    let batch = book.memory().nearest_batch(&queries).expect("same space");
    for (q, hit) in queries.iter().zip(batch) {
        assert_eq!(book.memory().nearest(q).expect("same space"), hit);
    }
    let kk = usize::from(data[6]);
    let tops = book.memory().top_k_batch(&queries, kk).expect("same space");
    for (q, top) in queries.iter().zip(&tops) {
        assert_eq!(&book.memory().top_k(q, kk).expect("same space"), top);
        assert_eq!(top.len(), kk.min(n));
    }
    let t = Threshold::Z(f64::from(data[7] as i8) / 8.0);
    let above = book.memory().nearest_above_batch(&queries, t).expect("same space");
    for (q, hit) in queries.iter().zip(above) {
        assert_eq!(book.memory().nearest_above(q, t).expect("same space"), hit);
    }
    if n >= 2 {
        let prod = space
            .bind(&book.vectors()[0], &book.vectors()[n - 1])
            .expect("same space");
        let opts = ResonatorOptions {
            max_iters: Some(50),
            ..ResonatorOptions::default()
        };
        let _ = factor(&space, &prod, &[&book, &book], &opts);
    }
    // Another space's vectors are errors, not panics.
    let other = Space::new(Model::ALL[(usize::from(data[0]) + 1) % 4], dim, seed).expect("ok");
    assert!(space.bind(&a, &other.random(&mut rng)).is_err());
});
