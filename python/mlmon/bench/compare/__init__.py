"""Side-by-side comparison scripts whose Markdown output goes in a checkout's ``benches/README.md``:
``python -m mlmon.bench.compare.engine``, ``.pipeline`` and ``.batch``. ``mlmon bench`` does not run
them; it measures the same workloads in its kernels step."""
