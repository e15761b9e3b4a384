"""Run the operational tests N times in a row beside a CPU-bound process, to find flaky ones.

The operational tests start processes, servers and clusters (SLURM, PostgreSQL and
``mlflow server``, concurrent writers, kill -9 and Ctrl-C, headless Chromium); a race
in one of them shows up as a run that fails by chance, more often on a loaded machine.
Each run is ``python -m pytest`` with CI=true (a skip fails), its output kept in a log;
one line per run, then a summary. Exits 1 if any run failed. CI does not run this.

    .venv/bin/python benchmarks/stress_operational.py [--runs 10] [--no-load] [-k EXPR] [PATH ...]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPERATIONAL = [  # every test of these modules is marked slow; and the browser tests
    *(f"tests/test_{m}.py" for m in ("slurm", "scaling", "tracking", "damage", "workflow")),
    "tests/test_report.py::test_report_reads_well_in_headless_chromium",
    "tests/test_report.py::test_workflow_ends_with_the_report_and_snakemake_report",
]


def failed_ids(log: Path) -> list[str]:
    """The ids pytest's short summary (-ra) names as failed or in error."""
    lines = log.read_text(errors="replace").splitlines()
    return [line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10, help="runs in a row (default 10)")
    p.add_argument("--no-load", action="store_true", help="no CPU-bound process beside the tests")
    p.add_argument("-k", help="pytest -k expression")
    p.add_argument("paths", nargs="*", help="pytest paths or node ids (default: the operational tests)")
    args = p.parse_args()
    cmd = [sys.executable, "-m", "pytest", *(args.paths or OPERATIONAL), *(["-k", args.k] if args.k else [])]
    env = {**os.environ, "CI": "true"}
    logs = Path(tempfile.mkdtemp(prefix="stress-operational-"))
    load = None if args.no_load else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    failures = 0
    try:
        for n in range(1, args.runs + 1):
            log = logs / f"run{n:02d}.log"
            start = time.perf_counter()
            with open(log, "w") as out:
                # its own session: Ctrl-C reaches it once, from here, and it cleans up (/etc/slurm)
                proc = subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
                try:
                    rc = proc.wait()
                except KeyboardInterrupt:
                    proc.send_signal(signal.SIGINT)
                    proc.wait()
                    raise
            failed = failed_ids(log)
            failures += rc != 0
            verdict = "passed" if rc == 0 else f"FAILED (exit {rc}, log {log})"
            print(
                f"run {n}/{args.runs}: {verdict} in {time.perf_counter() - start:.1f} s"
                + (f": {', '.join(failed)}" if failed else ""),
                flush=True,
            )
    finally:
        if load is not None:
            load.kill()
            load.wait()
    print(f"{args.runs} runs: {args.runs - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
