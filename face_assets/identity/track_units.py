"""Tracks as identity units: two tracks seen in the same frame are two people (cannot-link),
like two faces of one photo, so a machine never names both after the same person."""

from __future__ import annotations

from collections.abc import Iterable


def resolve_track_assignments(
    candidates: Iterable[tuple[int, int, float]],
    cannot_link: Iterable[tuple[int, int]],
    fixed: dict[int, int],
) -> list[tuple[int, int]]:
    """(track, person) assignments from (track, person, similarity) candidates, best first,
    refusing a person already held by a cannot-linked track: a human's label (`fixed`,
    track -> person) first, then the stronger machine match."""
    partners: dict[int, set[int]] = {}
    for a, b in cannot_link:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    holder = dict(fixed)
    chosen: list[tuple[int, int]] = []
    for track, person, _ in sorted(candidates, key=lambda c: (-c[2], c[0])):
        if track in holder:
            continue
        if any(holder.get(other) == person for other in partners.get(track, ())):
            continue
        holder[track] = person
        chosen.append((track, person))
    return chosen
