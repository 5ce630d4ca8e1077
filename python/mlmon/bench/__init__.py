"""``mlmon bench``: the benchmark suite and the capacity-planning report, in one command.

Everything it runs ships in the package (``pip install "mlmon[bench]"``): the in-process kernels
(:mod:`~mlmon.bench.kernels`, timed by :mod:`~mlmon.bench.measure`), the scaling curves with their line
fits, the store and memory figures, the service load generator (:mod:`~mlmon.bench.load`) and the peer
comparison (:mod:`~mlmon.bench.peers`: each peer tool in its own virtualenv under the cache directory,
never a dependency of mlmon), all on the workloads of :mod:`~mlmon.bench.workloads`. It writes
``<date>-<host>[-mode].json``, a Markdown summary and PNG plots into the results directory
(``./mlmon-bench-results`` by default, a checkout's ``benches/results``) and, in a checkout or with
``--docs``, ``capacity-planning.md``.
"""
