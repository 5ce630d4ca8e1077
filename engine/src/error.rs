//! The engine's one error type. Pure Rust: the Python bindings map each variant to an exception class
//! in `bindings/errors.rs`, so nothing here knows about Python.

use std::fmt;

/// Everything that can go wrong in the engine, with a concrete lowercase message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// Input of a type the engine cannot read (maps to `DtypeError`, a `TypeError`).
    Dtype(String),
    /// Input whose values or shape are wrong: empty reference, bad edges, length mismatch (`InputError`).
    Invalid(String),
    /// Two profiles that do not describe the same bins or categories (`SchemaMismatchError`).
    Mismatch(String),
    /// Bytes that are not a valid encoded profile (`CodecError`).
    Codec(String),
}

impl EngineError {
    /// Shorthand for [`EngineError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
    /// Shorthand for [`EngineError::Codec`].
    pub fn codec(msg: impl Into<String>) -> Self {
        Self::Codec(msg.into())
    }
    /// Shorthand for [`EngineError::Mismatch`].
    pub fn mismatch(msg: impl Into<String>) -> Self {
        Self::Mismatch(msg.into())
    }
    /// Shorthand for [`EngineError::Dtype`].
    pub fn dtype(msg: impl Into<String>) -> Self {
        Self::Dtype(msg.into())
    }
    /// The same error with `prefix: ` in front of its message (naming the feature it concerns).
    pub fn prefixed(prefix: &str, e: Self) -> Self {
        let wrap = |m: String| format!("{prefix}: {m}");
        match e {
            Self::Dtype(m) => Self::Dtype(wrap(m)),
            Self::Invalid(m) => Self::Invalid(wrap(m)),
            Self::Mismatch(m) => Self::Mismatch(wrap(m)),
            Self::Codec(m) => Self::Codec(wrap(m)),
        }
    }
    /// The message without the variant name.
    pub fn message(&self) -> &str {
        match self {
            Self::Dtype(m) | Self::Invalid(m) | Self::Mismatch(m) | Self::Codec(m) => m,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for EngineError {}

/// Result alias used across the engine.
pub type Result<T> = std::result::Result<T, EngineError>;
