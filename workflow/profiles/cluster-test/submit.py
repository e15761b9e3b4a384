#!/usr/bin/env python3
"""Submit command of the cluster-test profile: a stand-in for sbatch on one machine.

Called by Snakemake's generic cluster executor as ``submit.py JOBSCRIPT``. Reads the
job's properties (rule, threads, resources) from the job script's ``# properties``
line as a scheduler would need them, refuses a job that does not declare
``mem_mb`` and ``runtime``, starts the job script detached in its own session and
prints the job id. Only the standard library: it runs outside the project's venv.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

SPOOL = Path(os.environ.get("CLUSTER_TEST_SPOOL", ".snakemake/cluster-test"))


def properties(jobscript: Path) -> dict:
    for line in jobscript.read_text().splitlines():
        if line.startswith("# properties = "):
            return json.loads(line[len("# properties = ") :])
    sys.exit(f"submit.py: no '# properties' line in job script {jobscript}")


def process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, field 22 of proc(5)): with
    its PID, it names the process, since PIDs are reused."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: submit.py JOBSCRIPT")
    jobscript = Path(sys.argv[1])
    props = properties(jobscript)
    resources = props.get("resources", {})
    missing = [r for r in ("mem_mb", "runtime") if r not in resources]
    if missing:
        sys.exit(
            f"submit.py: rule {props.get('rule')} declares no {', '.join(missing)}; "
            "a scheduler needs them to place the job"
        )
    SPOOL.mkdir(parents=True, exist_ok=True)
    job_id = f"{time.strftime('%H%M%S')}-{uuid.uuid4().hex[:8]}"
    out, rc = SPOOL / f"{job_id}.out", SPOOL / f"{job_id}.rc"
    # Exit code goes to <id>.rc via a rename, so status.py never reads half a file.
    wrapper = 'sh "$1" > "$2" 2>&1; echo $? > "$3.tmp"; mv "$3.tmp" "$3"'
    proc = subprocess.Popen(
        ["sh", "-c", wrapper, "job", str(jobscript), str(out), str(rc)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    record = {
        "job_id": job_id,
        "pid": proc.pid,
        "started": process_start(proc.pid),
        "rule": props.get("rule"),
        "wildcards": props.get("wildcards"),
        "threads": props.get("threads"),
        "resources": resources,
        "jobscript": jobscript.read_text(),
        "submitted": time.time(),
    }
    (SPOOL / f"{job_id}.json").write_text(json.dumps(record, indent=2))
    print(job_id)


if __name__ == "__main__":
    main()
