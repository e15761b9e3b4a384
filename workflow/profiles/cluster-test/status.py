#!/usr/bin/env python3
"""Status command of the cluster-test profile: prints running, success or failed
for a job id printed by submit.py (Snakemake's generic cluster executor contract),
and appends the answer to .snakemake/cluster-test/status.log."""

import json
import os
import sys
from pathlib import Path

SPOOL = Path(os.environ.get("CLUSTER_TEST_SPOOL", ".snakemake/cluster-test"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a finished child not yet reaped is a zombie: not running
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def main() -> None:
    job_id = sys.argv[1]
    rc, record = SPOOL / f"{job_id}.rc", SPOOL / f"{job_id}.json"
    if not record.is_file():
        sys.exit(f"status.py: unknown job {job_id} (no {record})")
    if rc.is_file():
        state = "success" if rc.read_text().strip() == "0" else "failed"
    elif alive(json.loads(record.read_text())["pid"]):
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
