"""Data-quality checks, computed from the counts of the same pass as drift.

Four checks per feature, each with its own warning and critical level (``QualityThresholds``):

* missing: the current missing rate minus the reference's (an absent column counts as missing);
* invalid: the share of values of the wrong type (a numerical column that arrives as strings);
* out of range: the share of numerical values outside the reference ``[min, max]`` (about ``2 / n_ref``
  when nothing changed, so a few percent is already a signal);
* unseen: the share of categorical values never seen in the reference.

The quality severity is reported beside the drift severity, never folded into it: a drift gate should
not fail because a column gained 1% nulls unless the team asks for it. Imports no dataframe library.
"""

from __future__ import annotations

import msgspec

from mlmon.core.drift import SEVERITY_ORDER, Severity
from mlmon.core.exceptions import InputError

__all__ = ["QualityThresholds", "assess"]


class QualityThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Levels of the data-quality checks, as shares in [0, 1].

    Attributes:
        missing_warning: Rise of the missing rate over the reference's that warns.
        missing_critical: Rise that is critical.
        invalid_warning: Invalid share that warns (any by default).
        invalid_critical: Invalid share that is critical.
        out_of_range_warning: Out-of-range share that warns.
        out_of_range_critical: Out-of-range share that is critical.
        unseen_warning: Unseen-category share that warns.
        unseen_critical: Unseen-category share that is critical.
    """

    missing_warning: float = 0.05
    missing_critical: float = 0.20
    invalid_warning: float = 0.0
    invalid_critical: float = 0.01
    out_of_range_warning: float = 0.05
    out_of_range_critical: float = 0.20
    unseen_warning: float = 0.01
    unseen_critical: float = 0.10

    def __post_init__(self) -> None:
        for check in ("missing", "invalid", "out_of_range", "unseen"):
            warn, crit = getattr(self, f"{check}_warning"), getattr(self, f"{check}_critical")
            if not 0 <= warn <= crit:
                raise InputError(f"quality thresholds need 0 <= {check}_warning <= {check}_critical")


def _level(value: float, warning: float, critical: float) -> Severity:
    # Nothing wrong is ok even when a level is 0 ("any"); a falling missing rate is not an issue.
    if value <= 0:
        return "ok"
    if value >= critical:
        return "critical"
    return "warning" if value >= warning else "ok"


def assess(
    *,
    missing_rate: float,
    reference_missing_rate: float,
    invalid_rate: float,
    out_of_range_rate: float | None,
    unseen_rate: float | None,
    limits: QualityThresholds,
) -> tuple[Severity, list[str]]:
    """Runs the four checks on one feature's rates.

    Returns:
        The worst severity and one message per check that is not ``ok``.
    """
    checks: list[tuple[str, float, float, float, str]] = [
        ("missing", missing_rate - reference_missing_rate, limits.missing_warning, limits.missing_critical,
         f"missing rate {missing_rate:.1%} (reference {reference_missing_rate:.1%})"),
        ("invalid", invalid_rate, limits.invalid_warning, limits.invalid_critical,
         f"{invalid_rate:.1%} invalid values (wrong type)"),
    ]  # fmt: skip  # a table: one check per row (name, value, warning, critical, message)
    if out_of_range_rate is not None:
        message = f"{out_of_range_rate:.1%} outside the reference range"
        checks.append(("out_of_range", out_of_range_rate, limits.out_of_range_warning,
                       limits.out_of_range_critical, message))  # fmt: skip  # a row of the table above
    if unseen_rate is not None:
        checks.append(("unseen", unseen_rate, limits.unseen_warning, limits.unseen_critical,
                       f"{unseen_rate:.1%} unseen categories"))  # fmt: skip  # a row of the table above
    worst: Severity = "ok"
    issues: list[str] = []
    for _check, value, warn, crit, message in checks:
        level = _level(value, warn, crit)
        if level != "ok":
            issues.append(f"{level}: {message}")
            worst = max(worst, level, key=SEVERITY_ORDER.__getitem__)
    return worst, issues
