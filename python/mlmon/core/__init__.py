"""The library core: schema, baselines, monitors, windows, drift and quality statistics, input adapters.

Everything ``from mlmon import ...`` exports is defined here; the subsystems (``batch``, ``store``,
``report``, ``service``, ``serving``, ``deploy``, ``bench``, the CLI) are built on it. The core imports no
subsystem (an import-linter contract in ``pyproject.toml`` keeps it so) and reaches the Rust engine only
through :mod:`mlmon.core._native`. This file imports nothing, so importing one core module loads only
what that module needs.
"""
