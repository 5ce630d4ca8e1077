"""The one import path to the Rust engine: every module of mlmon reaches ``mlmon._engine`` through here.

``mlmon._engine`` is the compiled extension (its stubs and docstrings are ``mlmon/_engine.pyi``); this
module re-exports exactly the names the stubs declare, so a rename or a missing symbol in the engine
fails here, at one line, rather than in whichever public module touched it first. A ruff rule
(``flake8-tidy-imports.banned-api`` in ``pyproject.toml``) refuses ``mlmon._engine`` imports anywhere
else in the package. It imports nothing of mlmon but the extension.
"""

from mlmon._engine import (
    DEFAULT_EPS,
    FORMAT_VERSION,
    SIMD,
    BinEdges,
    CategoryCounts,
    CodecError,
    DtypeError,
    IngestReader,
    InputError,
    MlmonError,
    NumericHistogram,
    Profile,
    QuantileSketch,
    SchemaMismatchError,
    __version__,
    chi2_sf,
    chi_square_contingency,
    chi_square_gof,
    chi_square_pooled,
    decode_profile,
    encode_profile,
    fit_numeric,
    hellinger,
    js_distance,
    kl_divergence,
    psi,
    update_2d,
    wasserstein,
)

__all__ = [
    "DEFAULT_EPS",
    "FORMAT_VERSION",
    "SIMD",
    "BinEdges",
    "CategoryCounts",
    "CodecError",
    "DtypeError",
    "IngestReader",
    "InputError",
    "MlmonError",
    "NumericHistogram",
    "Profile",
    "QuantileSketch",
    "SchemaMismatchError",
    "__version__",
    "chi2_sf",
    "chi_square_contingency",
    "chi_square_gof",
    "chi_square_pooled",
    "decode_profile",
    "encode_profile",
    "fit_numeric",
    "hellinger",
    "js_distance",
    "kl_divergence",
    "psi",
    "update_2d",
    "wasserstein",
]
