"""The verb table itself: every verb reaches a handler and can show its own -h, without a
store (the parser is built as `face-assets` builds it)."""

from __future__ import annotations

import argparse

import pytest

from face_assets.cli import build_parser


def _verbs() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (verbs,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(verbs.choices)


def test_every_verb_has_a_handler_and_a_help_page():
    verbs = _verbs()
    assert {"add-face", "label", "backfill", "serve"} <= set(verbs)
    no_handler = [name for name, verb in verbs.items() if not callable(verb.get_default("func"))]
    assert not no_handler
    for name, verb in verbs.items():  # a help page that fails to format is a traceback at -h
        assert verb.format_help().startswith(f"usage: face-assets {name}"), name


def test_add_face_takes_a_box_of_four_numbers(capsys):
    args = build_parser().parse_args(["add-face", "123", "40", "60", "90", "110", "Ada"])
    assert (args.asset, args.x, args.y, args.w, args.h, args.name) == (123, 40, 60, 90, 110, "Ada")
    with pytest.raises(SystemExit) as refused:  # argparse's usage error, not a TypeError
        build_parser().parse_args(["add-face", "123", "40"])
    assert refused.value.code == 2
    assert "the following arguments are required: Y, W, H, name" in capsys.readouterr().err
