"""Training speed, one core, float64, side by side with another checkout.

    .venv/bin/python benchmarks/bench_training.py [--against DIR] [--repeats 3] [--family-seeds 1000]
                                                  [--config FILE]

prints, for this checkout and (with ``--against``) another one, e.g. the
commit before a change in a temporary checkout (``git worktree add /tmp/base
HEAD~1``):

(a) fixed sweeps: the symmetry net for the paper's 1,425 sweeps and the
    family-tree net for its 1,500, one seed alone and 1,000 at once, no
    early stopping;
(b) the real workload: every configuration of ``config/config.yaml`` (or
    ``--config``, e.g. the other checkout's, when its loader cannot read this
    one's) with its own budget and stopping rule, seeds 0..seeds-1: seed-sweeps
    computed and needed, and CPU seconds;
(c) a yardstick: an idiomatic per-seed NumPy loop (one seed, its own arrays,
    the 6-2-1 symmetry net for 1,425 sweeps), measured in the same process
    before every measurement, so that every figure is also given as a
    ratio to it, comparable across machines.

Every measurement runs in a fresh process, with the two checkouts
interleaved; times are CPU seconds of that process, medians over repeats.
"""

import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # one core, before NumPy loads BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SWEEPS = 1425


def reference_seed(seed: int, sweeps: int = REFERENCE_SWEEPS) -> float:
    """The yardstick: one seed of the 6-2-1 symmetry net, batch backprop with
    momentum written the plain way, one set of arrays per seed. Returns E."""
    X = np.array([[(v >> (5 - i)) & 1 for i in range(6)] for v in range(64)], dtype=float)
    d = np.all(X == X[:, ::-1], axis=1).astype(float)[:, None]
    rng = np.random.default_rng(seed)
    W1, b1 = rng.uniform(-0.3, 0.3, (6, 2)), rng.uniform(-0.3, 0.3, 2)
    W2, b2 = rng.uniform(-0.3, 0.3, (2, 1)), rng.uniform(-0.3, 0.3, 1)
    vel = [np.zeros_like(p) for p in (W1, b1, W2, b2)]
    for _ in range(sweeps):
        h = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))
        y = 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))
        dy = (y - d) * y * (1.0 - y)
        dh = (dy @ W2.T) * h * (1.0 - h)
        grads = (X.T @ dh, dh.sum(axis=0), h.T @ dy, dy.sum(axis=0))
        for v, p, g in zip(vel, (W1, b1, W2, b2), grads):
            v *= 0.9
            v -= 0.1 * g
            p += v
    return float(0.5 * np.sum((y - d) ** 2))


def cpu(fn):
    """``fn()`` and the CPU seconds it took."""
    start = time.process_time()
    value = fn()
    return value, time.process_time() - start


def computed_seed_sweeps(learning, arch, sweeps_run: np.ndarray) -> int:
    """Seed-sweeps an older core computes, which trains seeds in fixed blocks:
    every seed of a block until the block's slowest stops. (This core's seeds
    leave the computation as they stop: it computes just what is needed.)"""
    size = learning.SEEDS_PER_CHUNK if learning.seeds_last(arch) else learning.SEEDS_FIRST_CHUNK
    blocks = [sweeps_run[lo : lo + size] for lo in range(0, len(sweeps_run), size)]
    return int(sum(len(b) * (b.max() + 1) for b in blocks))


def worker(case: str, config_file: Path) -> dict:
    """One measurement, in this process, of the checkout on ``sys.path``."""
    from backprop86 import learning
    from backprop86.config import configurations, load, resolve
    from backprop86.experiments import train_seeds

    _, reference = cpu(lambda: reference_seed(0))
    config = load(config_file)
    kind, *rest = case.split(":")
    if kind == "fixed":
        experiment, sweeps, n = rest[0], int(rest[1]), int(rest[2])
        settings = {**resolve(config, experiment), "max_sweeps": sweeps, "stop_at": None}
        _, seconds = cpu(lambda: train_seeds(settings, range(n)))
        return {"cpu": seconds, "reference": reference, "seed_sweeps": n * (sweeps + 1)}
    out = {"cpu": 0.0, "reference": reference, "needed": 0, "computed": 0, "configurations": {}}
    for experiment in config["experiments"]:
        for configuration in configurations(config, experiment):
            settings = resolve(config, experiment, configuration)
            run, seconds = cpu(lambda s=settings: train_seeds(s, range(s["seeds"])))
            needed = int(np.sum(run.result.sweeps_run + 1))
            computed = needed
            if hasattr(learning, "SEEDS_PER_CHUNK"):  # an older core, which trains seeds in fixed blocks
                sweeps_run = run.result.sweeps_run
                if settings["task"] in ("symmetry", "family_trees"):
                    from backprop86.experiments import build_task

                    computed = computed_seed_sweeps(learning, build_task(settings).arch, sweeps_run)
                else:  # its iterative nets trained every seed until the slowest stopped
                    computed = int(len(sweeps_run) * (sweeps_run.max() + 1))
            out["configurations"][f"{experiment}/{configuration}"] = {
                "cpu": seconds,
                "needed": needed,
                "computed": computed,
            }
            out["cpu"] += seconds
            out["needed"] += needed
            out["computed"] += computed
    return out


def measure(src: Path, case: str, config_file: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    r = subprocess.run(
        [sys.executable, __file__, "--worker", case, "--config", str(config_file)],
        env=env,
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(f"measurement {case} in {src} failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", type=Path, help="another checkout of the project, measured side by side")
    p.add_argument("--repeats", type=int, default=3, help="runs of each measurement (medians are shown)")
    p.add_argument("--family-seeds", type=int, default=1000, help="seeds of the 1,000-seed family-tree case")
    p.add_argument("--skip-workload", action="store_true", help="leave out (b)")
    p.add_argument(
        "--config",
        type=Path,
        default=ROOT / "config" / "config.yaml",
        help="the config both checkouts train (default: this checkout's config/config.yaml)",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.config)))
        return
    trees = {"this": ROOT}
    if args.against:
        trees["against"] = args.against.resolve()
    cases = [f"fixed:symmetry:1425:{n}" for n in (1, 1000)]
    cases += [f"fixed:family_trees:1500:{n}" for n in (1, args.family_seeds)]
    if not args.skip_workload:
        cases.append("workload")
    results: dict = {case: {name: [] for name in trees} for case in cases}
    for _ in range(args.repeats):
        for case in cases:
            for name, src in trees.items():  # interleaved, so both see the same machine
                results[case][name].append(measure(src, case, args.config.resolve()))
                print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
    ref = statistics.median(r["reference"] for c in results.values() for runs in c.values() for r in runs)
    print(
        f"(c) yardstick: one seed, 6-2-1 symmetry net, {REFERENCE_SWEEPS} sweeps, per-seed NumPy loop: "
        f"{ref * 1e3:.1f} ms CPU = {ref / (REFERENCE_SWEEPS + 1) * 1e6:.1f} us a seed-sweep (median)\n"
    )
    names = list(trees)
    print("(a) fixed sweeps: CPU seconds; in () per seed-sweep relative to (c)'s")
    print(
        f"{'net':14s} {'sweeps':>6s} {'seeds':>6s} "
        + " ".join(f"{n:>20s}" for n in names)
        + ("  this/against" if len(names) == 2 else "")
    )
    for case in cases[:-1] if not args.skip_workload else cases:
        _, experiment, sweeps, n = case.split(":")
        cells, secs = [], []
        for name in names:
            runs = results[case][name]
            s = med(runs, "cpu")
            rel = statistics.median(
                r["cpu"] / r["reference"] * (REFERENCE_SWEEPS + 1) / r["seed_sweeps"] for r in runs
            )
            secs.append(s)
            cells.append(f"{s:9.2f} s ({rel:5.2f}x)")
        ratio = f"  {secs[0] / secs[1]:10.2f}" if len(names) == 2 else ""
        print(f"{experiment:14s} {sweeps:>6s} {n:>6s} " + " ".join(f"{c:>20s}" for c in cells) + ratio)
    if args.skip_workload:
        return
    print(f"\n(b) the real workload: every configuration of {args.config}, its own budget and stopping rule")
    runs = {name: results["workload"][name] for name in names}
    first = runs[names[0]][0]["configurations"]
    header = f"{'configuration':36s} {'needed':>10s}"
    for name in names:
        header += f" {name + ' computed':>17s} {name + ' CPU s':>12s}"
    print(header)
    for cfg in first:
        line = f"{cfg:36s} {first[cfg]['needed']:10d}"
        for name in names:
            line += f" {runs[name][0]['configurations'][cfg]['computed']:17d}"
            line += f" {statistics.median(r['configurations'][cfg]['cpu'] for r in runs[name]):12.2f}"
        print(line)
    total = f"{'total':36s} {runs[names[0]][0]['needed']:10d}"
    for name in names:
        total += f" {runs[name][0]['computed']:17d} {med(runs[name], 'cpu'):12.2f}"
    print(total)
    for name in names:
        rel = statistics.median(r["cpu"] / r["reference"] for r in runs[name])
        print(f"{name}: total CPU {med(runs[name], 'cpu'):.1f} s = {rel:.0f} yardsticks (c)")
    if len(names) == 2:
        rel = [statistics.median(r["cpu"] / r["reference"] for r in runs[n]) for n in names]
        print(f"against/this, in yardsticks: {rel[1] / rel[0]:.2f}x")


if __name__ == "__main__":
    main()
