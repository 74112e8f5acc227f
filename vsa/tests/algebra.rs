//! The algebra of every model, checked on random vectors: binding inverts, dissimilarity of
//! bound and permuted vectors, bundles resemble their members, cleanup finds noisy items (batch
//! equal to single), the resonator factors products, codebooks are reproducible.

use tessera_vsa::cleanup::Threshold;
use tessera_vsa::resonator::{self, Outcome, ResonatorOptions};
use tessera_vsa::{Codebook, Hv, Model, Rng, Space};

const D: usize = 2_000;

fn spaces() -> Vec<Space> {
    Model::ALL
        .iter()
        .map(|&m| Space::new(m, D, 11).unwrap())
        .collect()
}

fn null(s: &Space) -> f64 {
    s.null_similarity().0
}

#[test]
fn bind_unbind_and_dissimilarity() {
    for s in spaces() {
        let (a, b) = (s.symbol("X", "a"), s.symbol("X", "b"));
        let ab = s.bind(&a, &b).unwrap();
        let back = s.unbind(&ab, &b).unwrap();
        let sim = s.similarity(&back, &a).unwrap();
        assert!(
            sim > 0.999,
            "{:?}: unbind(bind(a,b),b) ~ a, got {sim}",
            s.model()
        );
        if matches!(s.model(), Model::Map | Model::Bsc) {
            assert_eq!(back, a, "{:?}: exact inverse", s.model());
        }
        for v in [&a, &b] {
            let x = s.similarity(&ab, v).unwrap();
            assert!(
                (x - null(&s)).abs() < 0.1,
                "{:?}: bound is dissimilar, got {x}",
                s.model()
            );
        }
        // Binding commutes.
        let ba = s.bind(&b, &a).unwrap();
        assert!(s.similarity(&ab, &ba).unwrap() > 0.999);
    }
}

#[test]
fn permutation_is_invertible_and_dissimilar() {
    for s in spaces() {
        let a = s.symbol("X", "a");
        let p = s.permute(&a, 3).unwrap();
        assert!((s.similarity(&p, &a).unwrap() - null(&s)).abs() < 0.1);
        assert_eq!(s.permute(&p, -3).unwrap(), a);
        assert_eq!(s.permute(&a, D as i64).unwrap(), a);
        // Permutation distributes over elementwise binding (not over HRR's circular
        // convolution, where shifting one operand shifts the product).
        if s.model() == Model::Hrr {
            continue;
        }
        let b = s.symbol("X", "b");
        let lhs = s.permute(&s.bind(&a, &b).unwrap(), 5).unwrap();
        let rhs = s
            .bind(&s.permute(&a, 5).unwrap(), &s.permute(&b, 5).unwrap())
            .unwrap();
        assert!(s.similarity(&lhs, &rhs).unwrap() > 0.999, "{:?}", s.model());
    }
}

#[test]
fn bsc_permutation_on_odd_dimensions() {
    for dim in [1, 63, 64, 65, 130, 1000] {
        let s = Space::new(Model::Bsc, dim, 3).unwrap();
        let a = s.symbol("X", "a");
        for k in [0, 1, 2, 64, 65, -7] {
            let p = s.permute(&a, k).unwrap();
            assert_eq!(s.permute(&p, -k).unwrap(), a, "dim {dim} k {k}");
            let (ca, cp) = (s.components(&a).unwrap(), s.components(&p).unwrap());
            for (i, c) in ca.iter().enumerate().take(dim) {
                let j = (i as i64 + k).rem_euclid(dim as i64) as usize;
                assert_eq!(*c, cp[j]);
            }
        }
    }
}

#[test]
fn bundles_resemble_members() {
    for s in spaces() {
        let items: Vec<Hv> = (0..5).map(|i| s.symbol("X", &i.to_string())).collect();
        let refs: Vec<&Hv> = items.iter().collect();
        let b = s.bundle(&refs).unwrap();
        let other = s.symbol("Y", "other");
        for v in &items {
            let m = s.similarity(&b, v).unwrap() - null(&s);
            let o = s.similarity(&b, &other).unwrap() - null(&s);
            assert!(
                m > 0.1 && m > o + 0.1,
                "{:?}: member {m} vs other {o}",
                s.model()
            );
        }
        // A bundle of one is the item itself.
        let one = s.bundle(&[&items[0]]).unwrap();
        assert!(s.similarity(&one, &items[0]).unwrap() > 0.99999);
        assert!(s.bundle(&[]).is_err());
    }
}

#[test]
fn codebooks_are_reproducible_and_spaces_checked() {
    let a = Space::new(Model::Bsc, 1000, 7).unwrap();
    let b = Space::new(Model::Bsc, 1000, 7).unwrap();
    let c = Space::new(Model::Bsc, 1000, 8).unwrap();
    assert_eq!(a.symbol("Color", "red"), b.symbol("Color", "red"));
    assert_ne!(a.symbol("Color", "red"), c.symbol("Color", "red"));
    let m = Space::new(Model::Map, 1000, 7).unwrap();
    assert!(a.bind(&a.symbol("C", "x"), &m.symbol("C", "x")).is_err());
    let short = Space::new(Model::Bsc, 500, 7).unwrap();
    assert!(
        a.similarity(&a.symbol("C", "x"), &short.symbol("C", "x"))
            .is_err()
    );
    assert!(Space::new(Model::Map, 0, 1).is_err());
    assert!(Space::new(Model::Map, tessera_vsa::MAX_DIM + 1, 1).is_err());
}

fn flip(s: &Space, v: &Hv, frac: f64, rng: &mut Rng) -> Hv {
    // Noise: flip (MAP, BSC) or rotate by a random phase (FHRR) / add noise (HRR) a fraction of
    // the components, by binding with a vector that is mostly identity.
    let comps = s.components(v).unwrap();
    let d = comps.len();
    match v {
        Hv::Bsc(_) => {
            let mut w = vec![0u64; d.div_ceil(64)];
            for i in 0..d {
                let bit = (comps[i] > 0.5) ^ (rng.next_f64() < frac);
                w[i / 64] |= u64::from(bit) << (i % 64);
            }
            Hv::Bsc(tessera_vsa::BscVec::from_words(d, w).unwrap())
        }
        Hv::Map(_) => Hv::Map(
            tessera_vsa::MapVec::from_bipolar(
                comps
                    .iter()
                    .map(|&c| {
                        if rng.next_f64() < frac {
                            -c as i8
                        } else {
                            c as i8
                        }
                    })
                    .collect(),
            )
            .unwrap(),
        ),
        Hv::Fhrr(_) => {
            let angles: Vec<f32> = comps
                .iter()
                .map(|&a| {
                    if rng.next_f64() < frac {
                        (rng.next_f64() * std::f64::consts::TAU) as f32
                    } else {
                        a as f32
                    }
                })
                .collect();
            Hv::Fhrr(tessera_vsa::FhrrVec::from_angles(&angles))
        }
        Hv::Hrr(_) => Hv::Hrr(
            tessera_vsa::HrrVec::from_real(
                comps
                    .iter()
                    .map(|&c| (c + (rng.gaussian() * frac / (d as f64).sqrt())) as f32)
                    .collect(),
            )
            .unwrap(),
        ),
    }
}

#[test]
fn cleanup_finds_noisy_items_and_batch_equals_single() {
    let mut rng = Rng::new(5);
    for s in spaces() {
        let names: Vec<String> = (0..200).map(|i| format!("s{i}")).collect();
        let book = Codebook::new(&s, "Book", &names).unwrap();
        let truth: Vec<usize> = (0..13).map(|_| rng.below(200) as usize).collect();
        let queries: Vec<Hv> = truth
            .iter()
            .map(|&i| flip(&s, &book.vectors()[i], 0.3, &mut rng))
            .collect();
        let batch = book.memory().nearest_batch(&queries).unwrap();
        for ((q, &t), b) in queries.iter().zip(&truth).zip(&batch) {
            let one = book.memory().nearest(q).unwrap().unwrap();
            assert_eq!(one.index, t, "{:?}", s.model());
            assert_eq!(Some(one), *b, "{:?}: batch == single", s.model());
            let top = book.memory().top_k(q, 3).unwrap();
            assert_eq!(top[0], one);
            assert!(top[1].similarity <= top[0].similarity);
            let z = book.memory().z_score(one.similarity);
            assert!(z > 8.0, "{:?}: z {z}", s.model());
        }
        // The batched top-k and thresholds give what one query at a time gives.
        let memory = book.memory();
        for k in [0, 1, 3, 200, 500] {
            let tops = memory.top_k_batch(&queries, k).unwrap();
            assert_eq!(tops.len(), queries.len());
            for (q, top) in queries.iter().zip(&tops) {
                assert_eq!(*top, memory.top_k(q, k).unwrap(), "{:?} k={k}", s.model());
                assert_eq!(top.len(), k.min(200));
            }
        }
        let mut noisy = queries.clone();
        noisy.push(s.symbol("Other", "y"));
        for t in [
            Threshold::Z(8.0),
            Threshold::Similarity(0.9),
            Threshold::Z(-100.0),
        ] {
            let above = memory.nearest_above_batch(&noisy, t).unwrap();
            for (q, a) in noisy.iter().zip(&above) {
                assert_eq!(
                    *a,
                    memory.nearest_above(q, t).unwrap(),
                    "{:?} {t:?}",
                    s.model()
                );
            }
            if t == Threshold::Z(8.0) {
                assert!(above[..queries.len()].iter().all(Option::is_some));
                assert!(
                    above[queries.len()].is_none(),
                    "{:?}: an unrelated query",
                    s.model()
                );
            }
        }
        // An unrelated query stays near chance.
        let other = s.symbol("Other", "x");
        let hit = book.memory().nearest(&other).unwrap().unwrap();
        assert!(book.memory().z_score(hit.similarity) < 5.0);
    }
}

#[test]
fn resonator_factors_products_in_every_model() {
    for s in spaces() {
        let books: Vec<Codebook> = ["A", "B", "C"]
            .iter()
            .map(|n| {
                let names: Vec<String> = (0..15).map(|i| format!("{n}{i}")).collect();
                Codebook::new(&s, n, &names).unwrap()
            })
            .collect();
        let refs: Vec<&Codebook> = books.iter().collect();
        let mut rng = Rng::new(9);
        let mut problems = Vec::new();
        let mut truth = Vec::new();
        for _ in 0..10 {
            let idx: Vec<usize> = (0..3).map(|_| rng.below(15) as usize).collect();
            let mut p = books[0].vectors()[idx[0]].clone();
            for f in 1..3 {
                p = s.bind(&p, &books[f].vectors()[idx[f]]).unwrap();
            }
            problems.push(p);
            truth.push(idx);
        }
        let out =
            resonator::factor_batch(&s, &problems, &refs, &ResonatorOptions::default()).unwrap();
        for (f, t) in out.iter().zip(&truth) {
            assert_eq!(&f.indices, t, "{:?}", s.model());
            assert_eq!(f.outcome, Outcome::Converged);
            assert!(f.fit > 0.99);
        }
    }
}

#[test]
fn resonator_rejects_bad_problems() {
    let s = Space::new(Model::Map, 500, 1).unwrap();
    let a = Codebook::new(&s, "A", &["x".to_string()]).unwrap();
    let empty = Codebook::new(&s, "E", &[]).unwrap();
    let p = s.symbol("A", "x");
    let opts = ResonatorOptions::default();
    assert!(resonator::factor(&s, &p, &[&a], &opts).is_err());
    assert!(resonator::factor(&s, &p, &[&a, &empty], &opts).is_err());
    let other = Space::new(Model::Bsc, 500, 1).unwrap();
    assert!(resonator::factor(&s, &other.symbol("A", "x"), &[&a, &a], &opts).is_err());
}

#[test]
fn hrr_exact_and_approximate_inverses() {
    use tessera_vsa::{Hrr, Vsa};
    let h = Hrr::new(1024);
    let mut rng = Rng::new(4);
    let (a, b) = (h.random(&mut rng), h.random(&mut rng));
    let ab = h.bind(&a, &b);
    // Unitary atoms: the involution is the exact inverse, so both unbindings agree.
    let exact = h.unbind(&ab, &b);
    let approx = h.unbind_approx(&ab, &b);
    assert!(h.similarity(&exact, &a) > 0.9999);
    assert!(h.similarity(&approx, &a) > 0.9999);
    assert!(h.similarity(&h.bind(&b, &h.involution(&b)), &h.unbind(&b, &b)) > 0.9999);
    // On a noisy key (a bundle), the approximate inverse still recovers the filler.
    let c = h.random(&mut rng);
    let key = h.bundle(&[&b, &c, &a], &a);
    let rec = h.bind(&key, &a);
    assert!(h.similarity(&h.unbind_approx(&rec, &key), &a) > 0.3);
}

#[test]
fn batched_kernels_equal_single_calls() {
    use tessera_vsa::{Map, Vsa};
    let m = Map::new(300);
    let mut rng = Rng::new(8);
    let a: Vec<_> = (0..5).map(|_| m.random(&mut rng)).collect();
    let b: Vec<_> = (0..5).map(|_| m.random(&mut rng)).collect();
    let mut out = vec![m.zero(); 5];
    m.unbind_batch(&a, &b, &mut out);
    for i in 0..5 {
        assert_eq!(out[i], m.unbind(&a[i], &b[i]));
    }
    m.permute_batch(&a, 7, &mut out);
    for i in 0..5 {
        assert_eq!(out[i], m.permute(&a[i], 7));
    }
    let groups: Vec<Vec<&tessera_vsa::MapVec>> = (0..5)
        .map(|i| vec![&a[i], &b[i], &a[(i + 1) % 5]])
        .collect();
    let refs: Vec<&[&tessera_vsa::MapVec]> = groups.iter().map(|g| g.as_slice()).collect();
    m.bundle_batch(&refs, &a[0], &mut out);
    for i in 0..5 {
        assert_eq!(out[i], m.bundle(&groups[i], &a[0]));
    }
}

/// Real-valued cleanup: a query exactly as close to two items (in exact arithmetic) goes to the
/// first of them, whichever order it was built in; an item closer by more than the tolerance
/// wins wherever it stands.
#[test]
fn real_cleanup_gives_exact_ties_to_the_first_item() {
    for model in [Model::Hrr, Model::Fhrr] {
        let s = Space::new(model, 256, 9).unwrap();
        let names: Vec<String> = ["p", "q", "r", "t"].iter().map(|n| n.to_string()).collect();
        let book = Codebook::new(&s, "B", &names).unwrap();
        let v = book.vectors();
        let memory = book.memory();
        for (x, y) in [(0, 2), (2, 0), (1, 3), (3, 1)] {
            let q = s.bundle(&[&v[x], &v[y]]).unwrap();
            let hit = memory.nearest(&q).unwrap().unwrap();
            assert_eq!(hit.index, x.min(y), "{model:?}: {x} + {y}");
            let batch = memory.nearest_batch(std::slice::from_ref(&q)).unwrap();
            assert_eq!(batch[0], Some(hit));
            // Weighted towards the later item: it wins.
            let q = s.bundle(&[&v[x], &v[y], &v[x.max(y)]]).unwrap();
            let hit = memory.nearest(&q).unwrap().unwrap();
            assert_eq!(hit.index, x.max(y), "{model:?}: {x} + {y} + {}", x.max(y));
        }
    }
}
