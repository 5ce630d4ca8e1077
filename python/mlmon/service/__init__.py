"""mlmon's drift service: a Litestar app that ingests feature batches exactly once, computes drift over
stored windows, alerts and exports Prometheus metrics.

Start it with ``mlmon serve`` (or ``python -m mlmon.service``); build it in-process with
:func:`create_app`. Importing this package reads no environment and opens nothing.
"""

from mlmon.service.app import create_app
from mlmon.service.settings import Settings

__all__ = ["Settings", "create_app"]
