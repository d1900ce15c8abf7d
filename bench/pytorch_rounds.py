"""The round protocol every PyTorch-side bench script shares with src/bench/pytorch_side.ts.

After its warm-up a script calls serve(): for each round it waits for a newline on stdin (so the
TypeScript side can run its own round in between and the two never compete for the cores), times
one round and prints one JSON line with the throughput and what the numbers depend on.
"""
import json
import re
import sys
import time

import torch


def loaded_blas() -> str:
    """The BLAS mapped into this process (Debian's libblas.so.3 is an alternative: OpenBLAS, BLIS...)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if re.search(r"lib(open)?blas|libmkl|libblis", line)}
    except OSError:
        return "unknown"
    for pattern, name in [("mkl", "MKL"), ("openblas-pthread", "OpenBLAS (pthread)"), ("openblas-openmp", "OpenBLAS (openmp)"),
                          ("openblas", "OpenBLAS"), ("blis", "BLIS"), ("blas", "reference BLAS")]:
        if any(pattern in p for p in paths):
            return name
    return "none loaded"


def serve(rounds: int, run_round) -> None:
    """Runs `rounds` timed rounds on request; run_round() does the work and returns the images it
    processed, or (images, phases) with the seconds spent in each phase of the round."""
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": loaded_blas()}
    for _ in range(rounds):
        if not sys.stdin.readline():
            return  # the TypeScript side has gone
        start = time.perf_counter()
        done = run_round()
        seconds = time.perf_counter() - start
        images, phases = done if isinstance(done, tuple) else (done, None)
        print(json.dumps({"img_s": images / seconds, "seconds": seconds, **info, **({"phases": phases} if phases else {})}), flush=True)
