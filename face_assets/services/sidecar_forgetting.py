"""Forgetting a person in the tag files: the names and the sidecars we wrote that carry them,
read inside the forget's transaction, then (after it commits) the names removed from those
sidecars; tag files we did not write are listed, never modified."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from face_assets.services import tag_files
from face_assets.store import Connection, Store
from face_assets.store import face_tags as tag_store
from face_assets.store import persons as person_store
from face_assets.vision import face_tags, xmp_sidecar


@dataclass(frozen=True)
class SidecarsNaming:
    """What a forget must do to tag files, read in its transaction (before the rows go)."""

    person_ids: list[int]
    names: list[str]
    ours: list[str]  # sidecars we wrote that carry one of the names
    theirs: list[str]  # tag files (not ours) whose regions named them: listed, not modified


def sidecars_naming(conn: Connection, person_ids: list[int]) -> SidecarsNaming:
    """Inside the forget's transaction, with the persons locked: the names and the files
    that carry them (imported_regions' rows go with the persons)."""
    return SidecarsNaming(
        person_ids=person_ids,
        names=list(person_store.person_names(conn, person_ids).values()),
        ours=[rel_path for rel_path, _ in tag_store.sidecars_naming(conn, person_ids)],
        theirs=tag_store.tag_files_naming(conn, person_ids),
    )


def forget_in_sidecars(store: Store, library_root: Path | None, naming: SidecarsNaming) -> dict:
    """After a forget commits (a forget that fails or loses a race changes no file): remove
    the names from the sidecars we wrote. A sidecar that cannot be read or written is
    reported (path: reason) and its record kept, naming the ids, for a later clean."""
    cleaned: list[str] = []
    failed: dict[str, str] = {}
    if library_root is not None:
        root = Path(library_root)
        for rel_path in naming.ours:
            try:
                existing = tag_files.read_optional(root, rel_path, face_tags.MAX_XMP_BYTES)
                sha = None  # the sidecar is gone: nothing names them
                if existing is not None:
                    update = xmp_sidecar.merged_sidecar(
                        existing, [], None, None, drop_names=frozenset(naming.names)
                    )
                    if update.changed:
                        tag_files.write_sidecar(root, rel_path, update.content)
                    sha = hashlib.sha256(update.content).hexdigest()
            except (face_tags.TagsRejected, OSError) as exc:
                failed[rel_path] = str(exc)
                continue
            with store.transaction() as conn:
                tag_store.drop_from_sidecar(conn, rel_path, naming.person_ids, sha)
            cleaned.append(rel_path)
    return {
        "sidecars_cleaned": cleaned,
        "sidecars_not_cleaned": failed,
        "tag_files_naming_them": sorted(set(naming.theirs) - set(cleaned)),
    }
