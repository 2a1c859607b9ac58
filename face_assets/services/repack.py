"""Switching a library's model pack (`face-assets repack --to PACK`, the repack Dagster job).

Every photo is detected again with the new pack (its detector may differ), every face is
embedded and scored in the new pack's space, and each new face is matched to the old pack's
face at the same place (IoU >= CROSS_PACK_IOU, one-to-one) so the human
decisions carry over: labels and rejections copy to the new face; forgotten faces stay
forgotten, since their tombstones hold for every pack. Then the new pack's prototypes are
built from the carried labels, its faces assigned and clustered at its own calibrated
threshold and bar. Persons, names and their ids are pack-free and do not change; face ids do
(a face of another pack is another row). The old pack's faces, vectors and crops are removed
when the switch completes unless `keep_old` is set, or unless an old face with a human
decision was not found by the new detector: then the old pack is kept and those faces are
reported by id (`force` removes them anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from face_assets import media
from face_assets.services import (
    clusters,
    face_detection,
    face_embedding,
    face_scoring,
    identities,
    matching,
)
from face_assets.store import Store
from face_assets.store import repack as repack_store
from face_assets.vision import matching as boxes_matching
from face_assets.vision.models import FaceModels
from face_assets.vision.packs import pack_info

Log = Callable[[str], None]
# Two detectors draw one face differently (SCRFD's box takes in forehead and chin, dlib HOG's
# is square): measured on faces_real the same face overlaps by IoU 0.55-0.67 between
# buffalo_s and dlib_resnet, below re-detection's 0.5 margin to spare, while two faces of one
# photo almost never overlap by 0.3. Matching is one-to-one, best overlap first.
CROSS_PACK_IOU = 0.3


@dataclass
class RepackStats:
    source: str
    target: str
    months: list[str] = field(default_factory=list)
    old_faces: int = 0
    new_faces: int = 0
    matched_faces: int = 0
    labels_carried: int = 0
    rejections_carried: int = 0
    decisions_not_found: list[int] = field(default_factory=list)  # old face ids
    old_faces_removed: int = 0
    persons_with_prototypes: int = 0
    assigned: int = 0

    def add(self, part: RepackStats) -> None:
        """One month's figures into the run's (every field: counts sum, lists extend)."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, list):
                mine.extend(getattr(part, f.name))
            elif isinstance(mine, int):
                setattr(self, f.name, mine + getattr(part, f.name))

    def summary(self) -> dict:
        out = dict(self.__dict__)
        out["decisions_not_found"] = len(self.decisions_not_found)
        out["months"] = len(self.months)
        return out


def repack_month(
    store: Store, library_root: Path, models: FaceModels, source: str, month: str
) -> RepackStats:
    """One month into the new pack: detect, embed, score, carry the decisions over."""
    stats = RepackStats(source, models.pack, [month])
    face_detection.detect_faces(models, store, library_root, [month])
    face_embedding.embed_faces(models, store, [month])
    face_scoring.score_faces(store, models.pack, [month])
    with store.transaction() as conn:
        old = repack_store.month_faces(conn, month, source)
        new = repack_store.month_faces(conn, month, models.pack)
        pairs = []
        for image_id, old_faces in old.items():
            fresh = new.get(image_id, [])
            boxes = np.asarray([f[1] for f in fresh], dtype=np.float64).reshape(-1, 4)
            matched = boxes_matching.match_boxes(boxes, [f[1] for f in old_faces], CROSS_PACK_IOU)
            found = {j for _, j, _ in matched}
            pairs.extend((old_faces[j][0], fresh[i][0]) for i, j, _ in matched)
            stats.decisions_not_found.extend(
                f[0] for j, f in enumerate(old_faces) if f[2] and j not in found
            )
        stats.old_faces = sum(len(v) for v in old.values())
        stats.new_faces = sum(len(v) for v in new.values())
        stats.matched_faces = len(pairs)
        stats.labels_carried, stats.rejections_carried = repack_store.carry_decisions(conn, pairs)
    return stats


def repack(
    store: Store,
    library_root: Path,
    models: FaceModels,
    source: str,
    months: Iterable[str] | None = None,
    keep_old: bool = False,
    force: bool = False,
    log: Log | None = None,
) -> RepackStats:
    """The whole library (or the given months) from `source` into the models' pack."""
    pack_info(source)
    if source == models.pack:
        raise ValueError(f"the library is already in {source!r}; nothing to repack")
    with store.transaction() as conn:
        todo = sorted(months) if months is not None else repack_store.months_of_pack(conn, source)
    total = RepackStats(source, models.pack)
    for n, month in enumerate(todo, start=1):
        part = repack_month(store, library_root, models, source, month)
        total.add(part)
        if log:
            log(
                f"repack {source} -> {models.pack}: month {month} ({n}/{len(todo)}),"
                f" {part.new_faces} faces, {part.labels_carried} labels carried"
            )
    built = identities.refresh_prototypes(store, models.pack)
    total.persons_with_prototypes = built.persons
    rule = matching.matching_rule(store, models.pack)
    assigned = identities.assign_months(store, models.pack, total.months, rule)
    total.assigned = assigned.assigned
    clusters.recluster(store, models.pack, full=True)
    if total.decisions_not_found and not force and not keep_old:
        keep_old = True  # a human decision would be lost: keep the old pack, say so
        if log:
            log(
                f"kept {source}: {len(total.decisions_not_found)} labelled or rejected faces were"
                f" not found by {models.pack} (face ids {total.decisions_not_found[:20]});"
                " --force removes them anyway"
            )
    if not keep_old and months is None:
        with store.transaction() as conn:
            total.old_faces_removed, paths = repack_store.drop_pack(conn, source)
        media.delete_media(store.media_root, paths)  # after the commit, as ingest does
    if log:
        log(f"repack done: {total.summary()}")
    return total
