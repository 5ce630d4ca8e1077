"""Side-by-side engine benchmarks against numpy/pandas, measured in one run on this machine.

Run: ``python -m mlmon.bench.compare.engine`` (prints a Markdown table for benches/README.md).
Ratios compare the two implementations measured back to back, which is robust to a noisy machine.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from datetime import date
from functools import partial

import numpy as np
import pandas as pd
from scipy import stats as sps

from mlmon.bench.measure import best_of, peak_extra_mib
from mlmon.core import _native as e

N = 10_000_000
rows: list[tuple[str, str, str, str]] = []


def compare(name: str, ours: Callable[[], object], theirs: Callable[[], object], label: str, n: int) -> None:
    t_ours, t_theirs = best_of(ours), best_of(theirs)
    rate = f"{n / t_ours / 1e6:,.0f} M/s" if n else f"{t_ours * 1e6:,.1f} us"
    rows.append((name, rate, f"{label}: {t_theirs / t_ours:,.1f}x", f"{t_ours * 1e3:,.3f} ms"))


def numeric() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    edges = e.BinEdges.quantile(x, 10)
    cuts = edges.cuts
    full = np.concatenate([[-np.inf], cuts, [np.inf]])
    h = e.NumericHistogram(edges)

    def searchsorted() -> object:
        return np.bincount(np.searchsorted(cuts, x, side="right"), minlength=10)

    compare("histogram f64, 10M, 10 bins", lambda: h.update(x), searchsorted, "vs searchsorted+bincount", N)
    compare(
        "histogram f64, 10M, 10 bins",
        lambda: h.update(x),
        lambda: np.histogram(x, full),
        "vs np.histogram",
        N,
    )
    x32 = x.astype(np.float32)
    compare(
        "histogram f32, 10M", lambda: h.update(x32), lambda: np.histogram(x32, full), "vs np.histogram", N
    )
    strided = np.random.default_rng(1).normal(size=3 * N)[::3]
    compare(
        "histogram strided f64 (step 3), 10M",
        lambda: h.update(strided),
        lambda: np.histogram(strided, full),
        "vs np.histogram",
        N,
    )
    mem = peak_extra_mib(lambda: h.update(x))
    rows.append(("peak extra memory, update of 10M f64 (80 MB)", f"{mem:.1f} MiB", "", ""))
    xn = x.copy()
    xn[::100] = np.nan
    probs = np.linspace(0, 1, 11)[1:-1]
    compare(
        "quantile edges, 10M with 1% NaN",
        lambda: e.BinEdges.quantile(xn, 10),
        lambda: np.nanquantile(xn, probs),
        "vs np.nanquantile",
        N,
    )


def two_d() -> None:
    rng = np.random.default_rng(2)
    xc = rng.normal(size=(1_000_000, 25))
    xf = np.asfortranarray(xc)
    hs = [e.NumericHistogram(e.BinEdges.quantile(xc[:, j], 10)) for j in range(25)]
    for order, arr in (("C", xc), ("F", xf)):
        one = best_of(partial(e.update_2d, hs, arr, threads=1), 3)
        two = best_of(partial(e.update_2d, hs, arr, threads=2), 3)
        rows.append(
            (
                f"update_2d 1M x 25 {order}-order",
                f"{25e6 / two / 1e6:,.0f} M/s (2 thr)",
                f"2 vs 1 thread: {one / two:.2f}x",
                f"{two * 1e3:.1f} ms",
            )
        )
    small = xc[:1000]
    cuts = [h.edges.cuts for h in hs]

    def numpy_small() -> object:
        return [
            np.bincount(np.searchsorted(c, small[:, j], side="right"), minlength=11)
            for j, c in enumerate(cuts)
        ]

    compare(
        "absorb 1,000 x 25 batch (service case)", lambda: e.update_2d(hs, small), numpy_small, "vs numpy", 0
    )


def categorical() -> None:
    rng = np.random.default_rng(3)
    cats = [f"cat_{i}" for i in range(50)]
    codes = rng.integers(0, 50, size=N).astype(np.int8)
    cc = e.CategoryCounts.fit_codes(codes[:1000], cats)
    compare(
        "category codes, 10M, 50 categories",
        lambda: cc.update_codes(codes, cats),
        lambda: np.bincount(codes, minlength=50),
        "vs np.bincount",
        N,
    )
    labels = np.array([f"v{i:04d}" for i in range(1000)], dtype=object)
    zipf = np.minimum(rng.zipf(1.3, size=1_000_000), 1000) - 1
    strings = labels[zipf]
    ref = e.CategoryCounts.fit(strings[:100_000])
    series = pd.Series(strings)
    compare(
        "object strings, 1M, 1,000 categories",
        lambda: ref.update(strings),
        lambda: series.value_counts(),
        "vs pandas value_counts",
        1_000_000,
    )
    ustr = strings.astype(str)
    useries = pd.Series(ustr)
    compare(
        "numpy U strings, 1M, 1,000 categories",
        lambda: ref.update(ustr),
        lambda: useries.value_counts(),
        "vs pandas value_counts",
        1_000_000,
    )


def statistics() -> None:
    rng = np.random.default_rng(4)
    pairs = [
        (rng.integers(1, 10_000, 12).astype(float), rng.integers(1, 10_000, 12).astype(float))
        for _ in range(25)
    ]

    def ours() -> object:
        return [(e.psi(a, b), e.chi_square_pooled(a, b)) for a, b in pairs]

    def scipy_way() -> object:
        out = []
        for a, b in pairs:
            p, q = a / a.sum(), b / b.sum()
            out.append(
                (np.sum((q - p) * np.log(q / p)), sps.chi2_contingency(np.vstack([a, b]), correction=False))
            )
        return out

    compare("psi + chi-square, 25 features x 12 bins", ours, scipy_way, "vs numpy+scipy", 0)


def main() -> None:
    numeric()
    two_d()
    categorical()
    statistics()
    print(
        f"Measured {date.today()} on {platform.machine()}, kernels: {e.SIMD} (runtime dispatch), "
        f"numpy {np.__version__}\n"
    )
    print("| benchmark | mlmon | ratio | mlmon time |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
