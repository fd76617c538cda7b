"""The search form of names, one definition for every service."""
from __future__ import annotations

from unidecode import unidecode


def fold(text: str) -> str:
    """No diacritics, lower case, single spaces ("Phường  Đông Sơn" → "phuong dong son"), so that
    "dong son" finds "Đông Sơn"."""
    return " ".join(unidecode(text or "").lower().split())
