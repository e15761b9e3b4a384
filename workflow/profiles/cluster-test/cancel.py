#!/usr/bin/env python3
"""Cancel command of the cluster-test profile: ends the process groups of the given
job ids (Snakemake calls it on Ctrl-C with the ids of its running jobs)."""

import json
import os
import signal
import sys
from pathlib import Path

SPOOL = Path(os.environ.get("CLUSTER_TEST_SPOOL", ".snakemake/cluster-test"))

for job_id in sys.argv[1:]:
    record = SPOOL / f"{job_id}.json"
    if record.is_file():
        try:
            os.killpg(json.loads(record.read_text())["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
