"""``mlmon bench``: the benchmark suite and the capacity-planning report, in one command.

Runs from a source checkout (it needs the repository's ``benches/`` directory): pytest-benchmark for the
in-process kernels, the service load generator, the peer comparison (each peer tool in its own
virtualenv under the cache directory, never a dependency of mlmon), the scaling curves with their line
fits, and the store and memory figures; writes ``benches/results/<date>-<host>.json``, a Markdown
summary beside it, PNG plots and ``docs/capacity-planning.md``.
"""
