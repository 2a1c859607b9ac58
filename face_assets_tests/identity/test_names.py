"""One normal form for person names: NFC, trimmed, collapsed, visible, at most 200 chars."""

from __future__ import annotations

import unicodedata

import pytest

from face_assets.errors import InvalidNameError
from face_assets.identity.names import MAX_NAME_LENGTH, normalise_name


def test_nfc_and_nfd_are_one_name():
    nfc = unicodedata.normalize("NFC", "José")
    nfd = unicodedata.normalize("NFD", "José")
    assert nfc != nfd
    assert normalise_name(nfd) == normalise_name(nfc) == nfc


def test_spaces_of_every_kind_are_trimmed_and_collapsed():
    assert normalise_name("  Ada \t\n  Lovelace  ") == "Ada Lovelace"
    assert normalise_name("Ada\u00a0\u2003Lovelace") == "Ada Lovelace"  # NBSP, em space
    assert normalise_name("\u200bAda Lovelace\u200e") == "Ada Lovelace"  # ZWSP, LRM at ends


@pytest.mark.parametrize(
    "name", ["", "   ", "\u200b\u200b", "\u200e\u200f\u2060", "\ufeff \u00a0", "\x00\x07"]
)
def test_invisible_only_names_are_refused(name):
    with pytest.raises(InvalidNameError, match="invisible"):
        normalise_name(name)


def test_length_is_capped_after_normalisation():
    assert len(normalise_name("a" * MAX_NAME_LENGTH)) == MAX_NAME_LENGTH
    assert normalise_name(" " + "a" * MAX_NAME_LENGTH + " ") == "a" * MAX_NAME_LENGTH
    with pytest.raises(InvalidNameError, match="200"):
        normalise_name("a" * 10_000)


def test_visible_names_in_other_scripts_are_kept():
    assert normalise_name("李 小龍") == "李 小龍"
    assert normalise_name("Zoë  O'Brien-Smith") == "Zoë O'Brien-Smith"
