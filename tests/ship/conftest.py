"""The shipping tests reuse the service tests' helpers (start_service, free_port, service_env)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
