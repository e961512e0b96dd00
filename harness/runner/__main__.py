"""The isolated child: ``python -m harness.runner JOB.json`` runs one attempt of the job and
writes its entry to the job's ``result_path`` (:mod:`harness.runner.isolation`)."""

from __future__ import annotations

import sys

from harness.runner.isolation import _child_main

if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
