#!/usr/bin/env python3
"""Tracr beside Tessera on the same machine in the same session (the compiler issue's "same
run" comparison): compile time and one jitted forward pass on a batch of 64 full-length inputs,
for the programs and lengths of `cargo bench --bench engine` (reverse, sort, hist at 5/10/20).

Setup (once): python3 -m venv /var/tmp/tracrenv && /var/tmp/tracrenv/bin/pip install tracr-pypi
Run:          /var/tmp/tracrenv/bin/python scripts/tracr_same_run.py
then, right after, RAYON_NUM_THREADS=1 cargo bench --bench engine -- sparse
"""
import random
import statistics
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
}


def median_ms(f, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def main():
    rng = random.Random(1)
    print(f"jax {jax.__version__}, devices {jax.devices()}")
    print("| program | N | Tracr compile ms (median of 3, warm) | Tracr fwd b64 ms, median (fastest) of 100 |")
    print("|---|---|---|---|")
    for name, (make, vocab) in PROGRAMS.items():
        for n in (5, 10, 20):
            compile_once = lambda: compiling.compile_rasp_to_model(
                make(n), vocab=set(vocab), max_seq_len=n, compiler_bos="BOS")
            model = compile_once()  # warms imports and tracing
            c_med, _ = median_ms(compile_once, 3)
            batch = [model.input_encoder.encode(["BOS"] + [rng.choice(vocab) for _ in range(n)])
                     for _ in range(64)]
            tokens = jnp.array(batch)
            fwd = jax.jit(model.forward)
            fwd(model.params, tokens).unembedded_output.block_until_ready()
            f_med, f_min = median_ms(
                lambda: fwd(model.params, tokens).unembedded_output.block_until_ready(), 100)
            print(f"| {name} | {n} | {c_med:.1f} | {f_med:.3f} ({f_min:.3f}) |", flush=True)


if __name__ == "__main__":
    main()
