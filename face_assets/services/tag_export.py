"""Export our names as XMP face regions (`face-assets export-tags`): our human labels as MWG
face regions in an XMP sidecar next to each photo, merged into an existing sidecar, never
written into a photo; a dry run lists what would change. The sidecars written are recorded,
so forgetting a person removes their name from exactly those files (sidecar_forgetting)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from face_assets.services import tag_files
from face_assets.store import Store
from face_assets.store import face_tags as tag_store
from face_assets.vision import face_tags, xmp_sidecar


@dataclass(frozen=True)
class SidecarChange:
    sidecar: str
    added: list[str]
    removed: list[str]
    existed: bool


def _sidecar_for(root: Path, rel_path: str) -> tuple[str, bytes | None]:
    """The sidecar to merge into (an existing one, preferred order), else photo.jpg.xmp."""
    for candidate in tag_files.sidecar_candidates(rel_path):
        data = tag_files.read_optional(root, candidate, face_tags.MAX_XMP_BYTES)
        if data is not None:
            return candidate, data
    return tag_files.sidecar_candidates(rel_path)[0], None


def export_tags(
    store: Store,
    library_root: Path,
    pack: str,
    months: list[str] | None = None,
    dry_run: bool = False,
) -> dict:
    """Our human labels as MWG face regions in XMP sidecars (never in the photos)."""
    root = Path(library_root)
    changes: list[SidecarChange] = []
    refused: Counter = Counter()
    with store.transaction() as conn:
        named = tag_store.named_faces_by_image(conn, pack, months)
        images = {i.image_id: i for i in tag_store.images_for_tags(conn, pack, months)}
    for image_id, faces in sorted(named.items()):
        image = images.get(image_id)
        if image is None or not image.width or not image.height:
            continue
        regions = [
            face_tags.TagRegion(
                (
                    f.bbox[0] / image.width,
                    f.bbox[1] / image.height,
                    f.bbox[2] / image.width,
                    f.bbox[3] / image.height,
                ),
                f.name,
                face_tags.ORIGIN_MWG,
            )
            for f in faces
        ]
        try:
            sidecar, existing = _sidecar_for(root, image.paths[0])
            update = xmp_sidecar.merged_sidecar(existing, regions, image.width, image.height)
        except face_tags.TagsRejected as exc:
            refused[exc.reason] += 1
            continue
        if not update.changed:
            continue
        changes.append(SidecarChange(sidecar, update.added, update.removed, existing is not None))
        if dry_run:
            continue
        tag_files.write_sidecar(root, sidecar, update.content)
        with store.transaction() as conn:
            tag_store.record_sidecar(
                conn,
                sidecar,
                image_id,
                [f.person_id for f in faces],
                hashlib.sha256(update.content).hexdigest(),
            )
    return {
        "dry_run": dry_run,
        "sidecars_changed": len(changes),
        "sidecars_merged": sum(c.existed for c in changes),
        "refused": dict(refused),
        "changes": [
            {"sidecar": c.sidecar, "added": c.added, "removed": c.removed} for c in changes
        ],
    }
