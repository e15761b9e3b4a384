"""Seeds per second of training, one core, float64.

Symmetry net for the paper's 1,425 sweeps and the family-tree net for its 1,500
sweeps, 1 seed alone and 1,000 seeds at once (no early stopping).

    .venv/bin/python benchmarks/bench_training.py [--family-seeds 1000]
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # one core, before NumPy loads BLAS

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from backprop86.config import load, resolve  # noqa: E402
from backprop86.experiments import train_seeds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def bench(settings: dict, n_seeds: int) -> float:
    start = time.perf_counter()
    train_seeds(settings, range(n_seeds))
    return n_seeds / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--symmetry-seeds", type=int, default=1000)
    p.add_argument("--family-seeds", type=int, default=1000)
    args = p.parse_args()
    config = load(ROOT / "config" / "config.yaml")
    cases = [
        ("symmetry", 1425, [1, args.symmetry_seeds]),
        ("family_trees", 1500, [1, args.family_seeds]),
    ]
    print(f"{'experiment':14s} {'sweeps':>6s} {'seeds':>6s} {'seeds/s':>9s}")
    for name, sweeps, counts in cases:
        settings = {**resolve(config, name), "max_sweeps": sweeps, "stop_at": None}
        for n in counts:
            print(f"{name:14s} {sweeps:6d} {n:6d} {bench(settings, n):9.1f}", flush=True)


if __name__ == "__main__":
    main()
