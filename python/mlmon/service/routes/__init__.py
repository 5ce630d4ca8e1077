"""The service's controllers, one per area; :data:`CONTROLLERS` is what ``create_app`` mounts."""

from mlmon.service.routes.dashboard import DashboardController
from mlmon.service.routes.drift import DriftController
from mlmon.service.routes.health import HealthController
from mlmon.service.routes.ingest import IngestController
from mlmon.service.routes.models import ModelsController

__all__ = ["CONTROLLERS"]

CONTROLLERS = [IngestController, DriftController, ModelsController, HealthController, DashboardController]
