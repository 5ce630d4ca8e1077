"""Delayed ground truth in the service: labels in by request id (:mod:`.join`), the model's performance
out, realized and estimated, per window and over a range (:mod:`.view`), and the checks that alert on
a drop (:mod:`.watch`)."""

from __future__ import annotations

from mlmon.service.labels.join import LabelsBody, LabelsResponse, post_labels
from mlmon.service.labels.view import PerformanceResponse, WindowPerformance, performance_of, read_performance

__all__ = [
    "LabelsBody",
    "LabelsResponse",
    "PerformanceResponse",
    "WindowPerformance",
    "performance_of",
    "post_labels",
    "read_performance",
]
