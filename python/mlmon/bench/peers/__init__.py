"""The peer comparison: each tool's drift job on the fixed workload, in its own virtualenv.

The job scripts are package data in ``jobs/`` (``_harness.py`` plus one ``<tool>_job.py`` per tool): they
run by file path with the peer's interpreter, where mlmon is not installed, and load the workload from
``mlmon/bench/workloads/pipeline.py`` by its path.
"""

from mlmon.bench.peers.runner import JOBS_DIR, PEERS, Installer, PeerSpec, run_peer

__all__ = ["JOBS_DIR", "PEERS", "Installer", "PeerSpec", "run_peer"]
