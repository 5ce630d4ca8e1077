"""The generated data and jobs every part of the benchmark measures (one copy, shared by ``mlmon bench``,
the ``python -m mlmon.bench.compare.*`` scripts and the pytest-benchmark suites in a checkout's
``benches/``).

* :mod:`~mlmon.bench.workloads.pipeline`: the fixed 25-feature drift workload and the hand-written
  numpy/pandas/scipy job. It imports only numpy, pandas and scipy, because the peer jobs load it by file
  path inside the peers' own virtualenvs, where mlmon is not installed.
* :mod:`~mlmon.bench.workloads.curves`: the jobs of the scaling curves and the memory figures.
* :mod:`~mlmon.bench.workloads.engine`: the inputs of the engine kernels.
* :mod:`~mlmon.bench.workloads.batch`: the Parquet history of the batch path.
"""
