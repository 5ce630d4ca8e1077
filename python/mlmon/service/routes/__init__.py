"""The service's controllers, one per job; :data:`CONTROLLERS` is what ``create_app`` mounts."""

from mlmon.service.routes.alerts import AlertsController
from mlmon.service.routes.baselines import BaselinesController
from mlmon.service.routes.dashboard import DashboardController
from mlmon.service.routes.health import HealthController
from mlmon.service.routes.ingest import IngestController
from mlmon.service.routes.performance import LabelsController, PerformanceController
from mlmon.service.routes.reports import ReportsController

__all__ = ["CONTROLLERS"]

CONTROLLERS = [
    IngestController,
    LabelsController,
    ReportsController,
    PerformanceController,
    BaselinesController,
    AlertsController,
    HealthController,
    DashboardController,
]
