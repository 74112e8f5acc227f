#!/usr/bin/env python3
"""Tracr beside Tessera on the same machine in the same session (the compiler issue's "same
run" comparison): compile time and one jitted forward pass on a batch of 64 full-length inputs,
for the programs and lengths of `cargo bench --bench engine` (every program of Tracr's `lib` that
`std::rasp` has, at 5/10/20). `--only reverse,sort,hist` limits it to some programs.

Setup (once): python3 -m venv /var/tmp/tracrenv && /var/tmp/tracrenv/bin/pip install tracr-pypi
Run:          /var/tmp/tracrenv/bin/python scripts/tracr_same_run.py
then, right after, RAYON_NUM_THREADS=1 cargo bench --bench engine -- sparse
"""
import random
import statistics
import sys
import time

import jax
import jax.numpy as jnp
from tracr.compiler import compiling, lib
from tracr.rasp import rasp

PROGRAMS = {
    "reverse": (lambda n: lib.make_reverse(rasp.tokens), ["a", "b", "c", "d"]),
    # Tracr's non-unique sort needs numeric keys.
    "sort": (lambda n: lib.make_sort(rasp.tokens, rasp.tokens, max_seq_len=n, min_key=1),
             [1, 2, 3, 4, 5]),
    "hist": (lambda n: lib.make_hist(), ["a", "b", "c", "d"]),
    "length": (lambda n: lib.make_length(), ["a", "b", "c", "d"]),
    # Distinct keys: the vocabulary is 1..N and each input a permutation of it (the anchor's).
    "sort_unique": (lambda n: lib.make_sort_unique(rasp.tokens, rasp.tokens), None),
    # Tessera's std::rasp::sort_by_most_freq (Tracr's sort_freq sorts every token by its count)
    "sort_freq": (lambda n: lib.make_sort_freq(max_seq_len=n), ["a", "b", "c", "d"]),
    "frac_prevs": (lambda n: lib.make_frac_prevs(rasp.tokens == "x"), ["x", "y", "z", "w"]),
    "pair_balance": (lambda n: lib.make_pair_balance(rasp.tokens, "(", ")"), ["(", ")"]),
    "shuffle_dyck": (lambda n: lib.make_shuffle_dyck(pairs=["()"]), ["(", ")"]),
    "shuffle_dyck2": (lambda n: lib.make_shuffle_dyck2(), ["(", ")", "{", "}"]),
    "count_less_freq": (lambda n: lib.make_count_less_freq(n=2), ["a", "b", "c", "d"]),
    "shift_by": (lambda n: lib.shift_by(1, rasp.tokens), ["a", "b", "c", "d"]),
}


def median_ms(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def main():
    only = None
    if len(sys.argv) == 3 and sys.argv[1] == "--only":
        only = set(sys.argv[2].split(","))
    rng = random.Random(1)
    print(f"jax {jax.__version__}, devices {jax.devices()}")
    print("| program | N | Tracr compile ms (median of 3, warm) | Tracr fwd b64 ms, median (fastest) of 100 |")
    print("|---|---|---|---|")
    for name, (make, vocab) in PROGRAMS.items():
        if only is not None and name not in only:
            continue
        for n in (5, 10, 20):
            vs = vocab if vocab is not None else list(range(1, n + 1))
            compile_once = lambda: compiling.compile_rasp_to_model(
                make(n), vocab=set(vs), max_seq_len=n, compiler_bos="BOS")
            model = compile_once()  # warms imports and tracing
            c_med, _ = median_ms(compile_once, 3)
            if vocab is None:
                inputs = [rng.sample(vs, n) for _ in range(64)]
            else:
                inputs = [[rng.choice(vs) for _ in range(n)] for _ in range(64)]
            batch = [model.input_encoder.encode(["BOS"] + x) for x in inputs]
            tokens = jnp.array(batch)
            fwd = jax.jit(model.forward)
            fwd(model.params, tokens).unembedded_output.block_until_ready()
            f_med, f_min = median_ms(
                lambda: fwd(model.params, tokens).unembedded_output.block_until_ready(), 100)
            print(f"| {name} | {n} | {c_med:.1f} | {f_med:.3f} ({f_min:.3f}) |", flush=True)


if __name__ == "__main__":
    main()
