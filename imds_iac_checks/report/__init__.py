"""Report writers: one module per output format, each a ``write(result, out, options)``."""

from __future__ import annotations

FORMATS = ("text", "json")
