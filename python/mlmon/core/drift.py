"""Drift results and the severity policy: Thresholds, FeatureDrift, DriftReport, noise floor, weighting.

Turns aligned reference and current counts into per-feature scores with the engine's statistics (PSI,
pooled chi-square, Jensen-Shannon) and applies one policy: a severity is raised only when the score
crosses the threshold *and* exceeds the noise floor, the PSI that sampling noise alone reaches with 95%
probability at these sample sizes. It never counts values (``monitor`` does, through the engine) and
imports no dataframe library.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import msgspec
import numpy as np
import numpy.typing as npt

from mlmon.core import _native
from mlmon.core.exceptions import InputError
from mlmon.core.render.flat import to_csv, to_markdown
from mlmon.core.render.html import render_html
from mlmon.core.schema import FeatureKind

__all__ = [
    "SEVERITY_ORDER",
    "DriftReport",
    "FeatureDrift",
    "FeatureThresholds",
    "Severity",
    "Thresholds",
    "chi2_ppf",
    "classify",
    "explain",
    "noise_floor",
]

Severity = Literal["ok", "insufficient_data", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"ok": 0, "insufficient_data": 1, "warning": 2, "critical": 3}
"""Worst-of ordering: an unknown is worse than ok, better than a confirmed warning."""

NOISE_QUANTILE = 0.95


class FeatureThresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """PSI thresholds for one feature, overriding the model's.

    Attributes:
        warning: Score at or above which the feature is ``warning``.
        critical: Score at or above which the feature is ``critical``.
    """

    warning: float = 0.2
    critical: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.warning <= self.critical:
            raise InputError(f"thresholds need 0 <= warning <= critical, got {self.warning}, {self.critical}")


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The drift policy of a model.

    The defaults 0.2 / 0.5 are mlmon's design defaults; the bands often quoted for PSI are 0.1 (some
    shift) and 0.25 (major shift). Pass ``Thresholds(warning=0.1, critical=0.25)`` for those.

    Attributes:
        warning: PSI at or above which a feature is ``warning``.
        critical: PSI at or above which a feature is ``critical``.
        features: Per-feature overrides, e.g. a stricter threshold on a key feature.
        min_count: Fewest current non-missing values for a verdict; below it, ``insufficient_data``.
        significance: p-value under which ``FeatureDrift.significant`` is true.
    """

    warning: float = 0.2
    critical: float = 0.5
    features: dict[str, FeatureThresholds] = {}
    min_count: int = 100
    significance: float = 0.05

    def __post_init__(self) -> None:
        if not 0 <= self.warning <= self.critical:
            raise InputError(f"thresholds need 0 <= warning <= critical, got {self.warning}, {self.critical}")
        if self.min_count < 1:
            raise InputError(f"min_count must be at least 1, got {self.min_count}")

    def for_feature(self, name: str) -> FeatureThresholds:
        """The thresholds that apply to ``name`` (its override, else the model's)."""
        return self.features.get(name) or FeatureThresholds(self.warning, self.critical)


class FeatureDrift(msgspec.Struct, frozen=True, kw_only=True):
    """Drift and data quality of one feature over one window.

    Attributes:
        name: Feature name.
        kind: ``numerical`` or ``categorical``.
        method: The score that drives ``severity``: ``psi`` for both kinds, so one pair of thresholds
            means the same for every feature.
        score: PSI between reference and current proportions (engine epsilon smoothing, always finite).
        severity: ``ok``, ``warning``, ``critical`` or ``insufficient_data``, from ``score`` alone: the
            threshold it reaches, when it is also above ``noise_floor``.
        reason: Why ``severity`` is what it is, in words (``PSI 0.177 < warning 0.2``, ``all 2,000 values
            missing``...).
        noise_floor: The PSI sampling noise alone reaches with 95% probability at these sample sizes
            (``None`` when either side has no values).
        test: The test behind ``chi2``, ``p_value`` and ``significant``: ``chi_square``, the pooled 2 x k
            homogeneity test over bins or categories, for both kinds. Reported beside the score, never
            used for the severity: on large samples a negligible shift is significant.
        significant: Whether ``p_value`` is below the significance level (not a drift verdict).
        chi2: Pooled 2 x k chi-square statistic (bins or categories; sparse cells pooled).
        dof: Its degrees of freedom.
        p_value: Its p-value.
        js_distance: Jensen-Shannon distance (base 2, in [0, 1]).
        count: Current values of this feature (rows seen, missing and invalid included).
        reference_count: Reference values (missing included).
        missing_rate: Share of current values missing (absent column included).
        reference_missing_rate: The same share in the reference.
        invalid_rate: Share of current values of the wrong type (a numerical column sent as strings).
        out_of_range_rate: Share of current values outside the reference range (numerical).
        unseen_rate: Share of current values not among the reference categories (categorical).
        top_unseen: The most frequent unseen values with their (upper-bound) counts.
        quality_severity: Severity of the data-quality checks (see ``mlmon.core.quality``).
        quality_issues: Human-readable data-quality findings.
        warning_threshold: The warning threshold applied.
        critical_threshold: The critical threshold applied.
        typing: How the feature was typed at fit: ``numerical (float64)``, ``categorical (string)``,
            ``categorical (int64, declared)``...
        typing_hint: A hint when the typing looks doubtful (an integer feature binned as numbers that
            has few distinct values), else ``None``.
        labels: Display bins (intervals or categories, sparse categories pooled).
        reference_shares: Reference proportion per display bin.
        current_shares: Current proportion per display bin.
        role: ``input`` for a model input, ``output`` for one of the model's outputs (its drift is
            prediction drift; see :attr:`mlmon.Baseline.outputs`).
    """

    name: str
    kind: FeatureKind
    method: str
    score: float
    severity: Severity
    noise_floor: float | None
    significant: bool
    reason: str = ""
    test: str = "chi_square"
    chi2: float | None = None
    dof: int | None = None
    p_value: float | None = None
    js_distance: float = 0.0
    count: int = 0
    reference_count: int = 0
    missing_rate: float = 0.0
    reference_missing_rate: float = 0.0
    invalid_rate: float = 0.0
    out_of_range_rate: float | None = None
    unseen_rate: float | None = None
    top_unseen: list[tuple[str | int, int]] = []
    quality_severity: Severity = "ok"
    quality_issues: list[str] = []
    warning_threshold: float = 0.2
    critical_threshold: float = 0.5
    typing: str = ""
    typing_hint: str | None = None
    labels: list[str] = []
    reference_shares: list[float] = []
    current_shares: list[float] = []
    role: Literal["input", "output"] = "input"

    @property
    def drifted(self) -> bool:
        """Whether the severity is ``warning`` or ``critical``."""
        return self.severity in ("warning", "critical")


class DriftReport(msgspec.Struct, frozen=True, kw_only=True):
    """Drift of every feature over one window, and the model-level summary.

    Attributes:
        severity: The worst severity of any monitored column, inputs and outputs (``ok`` <
            ``insufficient_data`` < ``warning`` < ``critical``).
        score: Mean PSI over the input features, weighted by the baseline's feature importance when it has
            one (features without an importance weigh 0), else equally: a one-number trend for
            dashboards. It decides nothing; ``severity`` is the worst feature's.
        score_weighting: ``importance`` or ``equal``: how ``score`` weighed the features.
        drifted_count: Input features at ``warning`` or ``critical``.
        drifted_share: ``drifted_count`` over the number of input features.
        features: Per-column results, in baseline order: the inputs and the model's outputs (their
            ``role`` says which; :meth:`inputs` and :meth:`outputs` split them).
        prediction_severity: The worst severity of the model's outputs (``ok`` when the baseline
            records none): prediction drift.
        reference_rows: Rows in the baseline.
        current_rows: Rows in this window.
        row_start: Stream offset of the window's first row.
        row_end: Stream offset one past its last row.
        window_start: Start of the window (time windows: its boundary; else the first update).
        window_end: End of the window (time windows: its boundary; else the last update).
        missing_columns: Baseline features absent from at least one batch.
        unexpected_columns: Columns seen in batches but not in the baseline.
        quality_severity: The worst data-quality severity.
        model: Model name from the baseline.
        version: Model version from the baseline.
        thresholds: The policy applied.
        mlmon_version: Version of mlmon that computed the report.
    """

    severity: Severity
    score: float
    drifted_share: float
    features: dict[str, FeatureDrift]
    drifted_count: int = 0
    score_weighting: Literal["importance", "equal"] = "equal"
    reference_rows: int
    current_rows: int
    row_start: int = 0
    row_end: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    missing_columns: list[str] = []
    unexpected_columns: list[str] = []
    quality_severity: Severity = "ok"
    model: str | None = None
    version: str | None = None
    thresholds: Thresholds = Thresholds()
    mlmon_version: str = _native.__version__
    prediction_severity: Severity = "ok"

    def inputs(self) -> list[FeatureDrift]:
        """The model inputs' results, in baseline order."""
        return [f for f in self.features.values() if f.role == "input"]

    def outputs(self) -> list[FeatureDrift]:
        """The model outputs' results (prediction drift), in baseline order."""
        return [f for f in self.features.values() if f.role == "output"]

    def drifted(self) -> list[FeatureDrift]:
        """Features at ``warning`` or ``critical``, worst first."""
        return [f for f in self.ranked() if f.drifted]

    def ranked(self) -> list[FeatureDrift]:
        """All features sorted by severity, then score, worst first."""
        return sorted(self.features.values(), key=lambda f: (-SEVERITY_ORDER[f.severity], -f.score, f.name))

    def to_json(self) -> str:
        """The report as JSON text (``DriftReport.from_json`` reads it back)."""
        return msgspec.json.encode(self).decode()

    def to_msgpack(self) -> bytes:
        """The report as MessagePack bytes."""
        return msgspec.msgpack.encode(self)

    @classmethod
    def from_json(cls, data: str | bytes) -> DriftReport:
        """Decodes :meth:`to_json` output.

        Raises:
            msgspec.ValidationError: the JSON is not a drift report.
        """
        report: DriftReport = msgspec.json.decode(data, type=cls)
        return report

    def to_html(self, path: str | None = None) -> str:
        """A self-contained HTML page (inline CSS and SVG, no network), written to ``path`` if given.

        Returns:
            The HTML text.
        """
        html = render_html(self)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(html)
        return html

    def to_table(self, limit: int | None = None, width: int | None = None) -> Any:
        """A ``rich.table.Table`` sorted by severity and score (print it with ``rich.print``).

        Args:
            limit: Show at most this many features, the worst ones.
            width: Columns available; a narrower width than every column needs gets the compact
                layout (``None``: every column).
        """
        # rich is the slowest import in reach (table + console) and only this method needs it: deferred so
        # that ``import mlmon`` (service workers, batch jobs) never loads it.
        from mlmon.core.render.table import render_table

        return render_table(self, limit, width)

    def to_markdown(self) -> str:
        """The report as a Markdown summary and table (every feature, full values)."""
        return to_markdown(self)

    def to_csv(self) -> str:
        """One CSV row per feature with every field of :class:`FeatureDrift` but the display bins."""
        return to_csv(self)


@functools.lru_cache(maxsize=4096)
def chi2_ppf(q: float, dof: int) -> float:
    """The chi-square ``q`` quantile, inverting the engine's survival function by bisection.

    scipy would do this, but it is an optional dependency; 200 halvings of a bracket give full float
    precision, and the result is cached per ``(q, dof)``.

    Args:
        q: Probability in (0, 1).
        dof: Degrees of freedom, at least 1.

    Returns:
        ``x`` with ``P(X <= x) = q`` for ``X ~ chi2(dof)``.
    """
    if not 0 < q < 1 or dof < 1:
        raise InputError(f"chi2_ppf needs 0 < q < 1 and dof >= 1, got q={q}, dof={dof}")
    target = 1.0 - q
    lo, hi = 0.0, dof + 10.0 * math.sqrt(2.0 * dof) + 10.0
    while _native.chi2_sf(hi, dof) > target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _native.chi2_sf(mid, dof) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * (lo + hi)


def noise_floor(n_reference: int, n_current: int, bins: int) -> float:
    """The PSI sampling noise reaches with 95% probability when nothing drifted.

    Under no drift PSI is asymptotically ``(1/n_ref + 1/n_cur) * chi2(k - 1)``, so the floor is that
    factor times the chi-square 95% quantile.

    Args:
        n_reference: Non-missing reference values.
        n_current: Non-missing current values.
        bins: Cells with reference mass (``k``).

    Returns:
        The floor, or ``inf`` when either side is empty.
    """
    if n_reference <= 0 or n_current <= 0:
        return math.inf
    return (1.0 / n_reference + 1.0 / n_current) * chi2_ppf(NOISE_QUANTILE, max(bins - 1, 1))


def classify(
    score: float, floor: float, n_current: int, limits: FeatureThresholds, min_count: int
) -> Severity:
    """Applies the severity policy to one feature.

    ``insufficient_data`` when fewer than ``min_count`` current values or when the noise floor is above
    the warning threshold (noise alone could cross it); otherwise the highest threshold the score
    reaches while also exceeding the noise floor.
    """
    if n_current < min_count or floor > limits.warning:
        return "insufficient_data"
    if score > floor and score >= limits.critical:
        return "critical"
    if score > floor and score >= limits.warning:
        return "warning"
    return "ok"


def explain(score: float, floor: float, n_current: int, limits: FeatureThresholds, min_count: int) -> str:
    """The reason behind :func:`classify`'s verdict on the same arguments, in words.

    A feature with no values at all gets its reason from the caller, which knows whether they were
    missing, invalid or absent.
    """
    if n_current < min_count:
        return f"{n_current:,} values, fewer than min_count {min_count:,}"
    if floor > limits.warning:
        return f"noise floor {floor:.3g} above warning {limits.warning:g}: too few values for a verdict"
    if score >= limits.warning and score <= floor:
        return f"PSI {score:.3f} within the noise floor {floor:.3g}"
    if score >= limits.critical:
        return f"PSI {score:.3f} >= critical {limits.critical:g} (noise floor {floor:.3g})"
    if score >= limits.warning:
        return f"PSI {score:.3f} >= warning {limits.warning:g} (noise floor {floor:.3g})"
    return f"PSI {score:.3f} < warning {limits.warning:g}"


class Scores(msgspec.Struct, frozen=True):
    """The statistics of one pair of aligned count vectors."""

    score: float
    noise_floor: float
    chi2: float | None
    dof: int | None
    p_value: float | None
    js_distance: float


def scores(reference: npt.NDArray[Any], current: npt.NDArray[Any]) -> Scores:
    """PSI, noise floor, pooled chi-square and JS distance of two aligned count vectors (engine)."""
    ref = reference.astype(np.float64)
    cur = current.astype(np.float64)
    n_ref, n_cur = int(reference.sum()), int(current.sum())
    k = int(np.count_nonzero(reference))
    floor = noise_floor(n_ref, n_cur, k)
    if n_ref == 0 or n_cur == 0:
        return Scores(0.0, floor, None, None, None, 0.0)
    chi2, dof, p = _native.chi_square_pooled(ref, cur)
    return Scores(_native.psi(ref, cur), floor, chi2, dof, p, _native.js_distance(ref, cur))


def overall(features: dict[str, FeatureDrift], importance: dict[str, float]) -> tuple[float, float, Severity]:
    """Model-level ``(score, drifted_share, severity)`` of the input features: importance-weighted mean
    score when the baseline has importances (features without one weigh 0), else the plain mean."""
    values = [f for f in features.values() if f.role == "input"]
    if not values:
        return 0.0, 0.0, "ok"
    score_arr = np.array([f.score for f in values])
    weights = np.array([max(importance.get(f.name, 0.0), 0.0) for f in values])
    score = float(score_arr @ weights / weights.sum()) if weights.sum() > 0 else float(score_arr.mean())
    share = sum(f.drifted for f in values) / len(values)
    return score, share, worst_severity(values)


def worst_severity(features: Iterable[FeatureDrift]) -> Severity:
    """The worst severity among ``features`` (``ok`` for none)."""
    return max((f.severity for f in features), key=SEVERITY_ORDER.__getitem__, default="ok")
