"""Person names: one normal form for storing, comparing and looking them up.

Every entry point (label, rename, merge, person lookup by name, the review page) goes
through `normalise_name`, so "José" typed as NFC or as NFD (e + combining accent) is one
person, stray spaces do not make a second one, and a name made only of invisible
characters (zero-width spaces, bidi marks) is refused.
"""

from __future__ import annotations

import unicodedata

from face_assets.errors import InvalidNameError

MAX_NAME_LENGTH = 200  # issue 11: characters (code points) after normalisation
NORMAL_FORM = "NFC"  # W3C character model: NFC for text exchanged and compared
# Unicode general categories a reader cannot see: format (zero-width, bidi marks), space
# separators, control, line and paragraph separators (Unicode Standard, chapter 4.5).
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Cc", "Zl", "Zp"})


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in INVISIBLE_CATEGORIES


def normalise_name(name: str) -> str:
    """NFC, separators and controls turned into plain spaces, runs of them collapsed, invisible
    characters trimmed from both ends; InvalidNameError when nothing visible is left or the
    result is longer than MAX_NAME_LENGTH."""
    if not isinstance(name, str):
        raise InvalidNameError("a person's name must be text")
    text = unicodedata.normalize(NORMAL_FORM, name)
    # Spaces of every kind and control characters become one plain space; format characters
    # (e.g. a zero-width joiner inside a name) are kept where they sit between visible ones.
    spaced = "".join(
        " " if (c.isspace() or unicodedata.category(c) in {"Zs", "Cc", "Zl", "Zp"}) else c
        for c in text
    )
    collapsed = " ".join(spaced.split())
    start, end = 0, len(collapsed)
    while start < end and _invisible(collapsed[start]):
        start += 1
    while end > start and _invisible(collapsed[end - 1]):
        end -= 1
    clean = " ".join(collapsed[start:end].split())
    if not clean:
        raise InvalidNameError("a person's name cannot be empty or made of invisible characters")
    if len(clean) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"a person's name can have at most {MAX_NAME_LENGTH} characters (got {len(clean)})"
        )
    return clean


def is_person_id(ref: str) -> bool:
    """A person reference that is a numeric id rather than a name."""
    return ref.strip().isdigit()
