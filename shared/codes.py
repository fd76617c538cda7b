"""Organisation codes in one form: Unicode NFC.

"ĐÔNG-SƠN" typed on one keyboard and on another can be two different code-point sequences
(precomposed "Ơ" or "O" + combining horn) that look the same; every code entering a service (a
body, a query, a path, a file) is normalised to NFC, so look-alike codes are one organisation."""
from __future__ import annotations

import unicodedata

from marshmallow import fields


def normalize_code(value: str) -> str:
    return unicodedata.normalize("NFC", value)


class OrgCode(fields.String):
    """A string field whose value is NFC-normalised before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return normalize_code(text)
