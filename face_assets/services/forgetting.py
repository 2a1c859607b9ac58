"""Forgetting a person: their biometric data and name deleted everywhere this product writes
them, in one transaction, with media files, projection-head checkpoints and the names in the
XMP sidecars we wrote removed after it (a forget that fails or loses a race changes no file).

The decision which other faces are the same face (a box of another pack overlapping one of
the person's by vision.matching's rule) is made here; the store reads and deletes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from face_assets import media
from face_assets.services import person_photos
from face_assets.services.labels import person_ref
from face_assets.services.sidecar_forgetting import (
    SidecarsNaming,
    forget_in_sidecars,
    sidecars_naming,
)
from face_assets.store import Connection, Store, at_rest
from face_assets.store import forgetting as forget_store
from face_assets.store import heads as head_store
from face_assets.store import label_events as event_store
from face_assets.store import persons as person_store
from face_assets.vision import matching


def _erase(conn: Connection, person_id: int) -> forget_store.Forgotten | None:
    """Delete the person, its merged aliases, their faces and every face of any pack that
    overlaps one of them (the same face is the same biometric data; a face a human labelled
    as somebody else stays theirs). None when the person is already gone (a forget at the
    same moment won)."""
    person_ids = forget_store.lock_person_and_aliases(conn, person_id)
    if not person_ids:
        return None
    own = forget_store.faces_of(conn, person_ids)
    boxes_of: dict[int, list[list[float]]] = defaultdict(list)
    for _, image_id, bbox in own:
        boxes_of[image_id].append(bbox)
    twins = [
        face_id
        for face_id, image_id, bbox in forget_store.possible_twins(conn, list(boxes_of), person_ids)
        if matching.overlapping([bbox], boxes_of[image_id], matching.SAME_FACE_IOU)[0]
    ]
    return forget_store.erase(conn, person_ids, own, twins)


def scrub_at_rest(store: Store) -> dict:
    """Make the last forgets true on disk: the touched tables and indexes rewritten, the
    statistics rewritten, the WAL that held the rows checkpointed away (see store.at_rest).
    On an external server a role that is not a superuser cannot checkpoint or rewrite
    pg_statistic: the answer says so, and the README says what the operator must do."""
    started = time.perf_counter()
    with store.outside_transaction() as conn:
        rewritten, skipped = at_rest.rewrite_tables(conn)
        statistics = at_rest.rewrite_statistics(conn)
        wal = at_rest.drop_old_wal(conn)
        recycle = at_rest.wal_recycling(conn)
    return {
        "tables_rewritten": rewritten,
        "tables_skipped": skipped,
        "statistics_rewritten": statistics,
        "wal_checkpointed": wal,
        "wal_recycle": recycle,
        "seconds": round(time.perf_counter() - started, 3),
        "complete": not skipped and statistics and wal and recycle == "off",
    }


def _heads_trained_on(store: Store, person_ids: list[int]) -> list[head_store.HeadUse]:
    """Heads that learnt from these persons: recorded ones, and for heads trained before
    persons were recorded, those whose checkpoint lists them (or cannot be read)."""
    with store.transaction() as conn:
        candidates = head_store.heads_possibly_trained_on(conn, person_ids)
    used = []
    for use in candidates:
        if use.person_ids is not None:
            used.append(use)
            continue
        checkpoint = store.home_path / use.checkpoint_path
        if not checkpoint.exists():
            continue
        from face_assets.identity.head_checkpoint import load_checkpoint  # torch: only when needed

        try:
            head, _ = load_checkpoint(checkpoint)
        except (OSError, ValueError, RuntimeError):
            used.append(use)  # unreadable: it may hold their faces, retire it
            continue
        if set(head.persons_used) & set(person_ids):
            used.append(use)
    return used


def forget_person(
    store: Store, ref: str, library_root: Path | None = None, at_once: bool = True
) -> dict:
    """Delete a person's biometric data and name everywhere this product writes them.

    Faces (their embeddings, crops, thumbnails), the same faces found by other packs,
    prototypes, rejections, the person and the names merged into it; names in the audit
    log; projection heads that learnt from their faces (checkpoints deleted, heads retired,
    their automatic assignments released; with the promoted head retired, assignments use
    raw ArcFace until a new head passes the gate). Box tombstones (no pixels, no name) stop
    any detector size or pack from finding the faces again. Dagster's event log holds ids
    and counts only. With the library root, after the commit, the name is removed from the
    XMP sidecars we wrote (export-tags; one that cannot be rewritten is reported in
    sidecars_not_cleaned); tag files of others that named them are listed, not modified. The
    review page's cached previews of their photos go too.
    With `at_once` (the default), the disk is scrubbed right after the commit
    (scrub_at_rest); without it the caller must call scrub_at_rest itself.

    Two forgets of one person at once: the second waits for the first's row lock, then finds
    nobody and answers LookupError (one tombstone per box, one audit event).
    """
    with store.transaction() as conn:
        person = person_store.find_person(conn, person_ref(ref))
    heads = _heads_trained_on(store, [person.id])
    head_ids = [h.id for h in heads]

    def work(
        conn: Connection,
    ) -> tuple[forget_store.Forgotten, int, list[str], list[str], SidecarsNaming]:
        locked = forget_store.lock_person_and_aliases(conn, person.id)
        if not locked:
            # Forgotten meanwhile: nothing more to delete, log or count.
            raise LookupError(f"no person {person.id} (already forgotten)")
        tag_files = sidecars_naming(conn, locked)  # before the rows naming them go
        video_media = forget_store.forget_person_tracks(conn, person.id)  # before the person
        previews = person_photos.person_previews(conn, person.id)  # photo previews the pages cached
        gone = _erase(conn, person.id)
        assert gone is not None  # locked above
        released = head_store.retire_for_forget(conn, head_ids) if head_ids else 0
        event_store.log_event(conn, "forget", person.id, None, gone.faces)
        return gone, released, video_media, previews, tag_files

    gone, released, video_media, previews, tag_files = store.run(work)
    # After the commit: a crash before it deletes nothing that is still referenced.
    removed = media.delete_media(store.media_root, gone.media_paths + video_media + previews)
    checkpoints = 0
    for use in heads:
        path = Path(store.home_path / use.checkpoint_path)
        if path.exists():
            path.unlink()
            checkpoints += 1
    tags = forget_in_sidecars(store, library_root, tag_files)
    promoted = [h.id for h in heads if h.status == "promoted"]
    scrubbed = scrub_at_rest(store) if at_once else None
    return {
        "person_id": person.id,
        "faces_deleted": gone.faces,
        "video_faces_deleted": len(video_media) // 2,
        "other_pack_faces_deleted": gone.overlapping_faces,
        "aliases_deleted": len(gone.person_ids) - 1,
        "prototypes_deleted": gone.prototypes,
        "rejections_deleted": gone.rejections,
        "files_deleted": removed,
        "tombstones": gone.tombstones,
        "audit_events_scrubbed": gone.events_scrubbed,
        "heads_retired": head_ids,
        "checkpoints_deleted": checkpoints,
        "auto_assignments_released": released,
        "promoted_head_retired": promoted[0] if promoted else None,
        **tags,
        "at_rest": scrubbed,
        "remains": (
            "box tombstones (image id + box, no pixels, no name) and audit rows with ids only"
            + (
                "; no promoted projection head: assignments use raw ArcFace until"
                " `face-assets train` promotes a new one"
                if promoted
                else ""
            )
        ),
    }
