#!/usr/bin/env python3
"""Status command of the cluster-test profile: prints running, success or failed
for a job id printed by submit.py (Snakemake's generic cluster executor contract),
and appends the answer to .snakemake/cluster-test/status.log."""

import json
import os
import sys
from pathlib import Path

SPOOL = Path(os.environ.get("CLUSTER_TEST_SPOOL", ".snakemake/cluster-test"))


def alive(pid: int, started: str | None) -> bool:
    """Whether the job's process runs: its PID names the same process (the same start
    time; PIDs are reused) and it is not a zombie (finished, not yet reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and (started is None or fields[19] == started)


def main() -> None:
    job_id = sys.argv[1]
    rc, record = SPOOL / f"{job_id}.rc", SPOOL / f"{job_id}.json"
    if not record.is_file():
        sys.exit(f"status.py: unknown job {job_id} (no {record})")
    if rc.is_file():
        state = "success" if rc.read_text().strip() == "0" else "failed"
    elif alive((job := json.loads(record.read_text()))["pid"], job.get("started")):
        state = "running"
    elif rc.is_file():  # finished between the two checks
        state = "success" if rc.read_text().strip() == "0" else "failed"
    else:  # killed without writing an exit code
        state = "failed"
    with open(SPOOL / "status.log", "a") as log:
        log.write(f"{job_id} {state}\n")
    print(state)


if __name__ == "__main__":
    main()
