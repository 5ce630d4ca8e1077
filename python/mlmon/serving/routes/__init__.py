"""The production API's controllers, one per file. ``/predict`` and ``/admin/model`` each get their
own body limit from the settings (see :func:`mlmon.serving.app.create_app`), so the app mounts them
through one router each."""

from mlmon.serving.routes.admin import ModelAdminController
from mlmon.serving.routes.ops import OpsController
from mlmon.serving.routes.predict import PredictController

__all__ = ["ModelAdminController", "OpsController", "PredictController"]
