"""The peer job scripts (package data: run by file path with each peer's own interpreter, never
imported by mlmon; the package marker lets the type checker follow their imports of ``_harness``)."""
