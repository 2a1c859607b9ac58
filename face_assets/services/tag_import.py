"""Import the face tags a library already has (on ingest, after embeddings, and
`face-assets import-tags`).

Each named region of a photo's XMP (embedded, `photo.jpg.xmp`, `photo.xmp`) or of its folder's
`.picasa.ini` is matched to a detected face by box overlap (vision.matching's rule, as
re-detection); the face becomes a human label of the named person. A region no detected face
overlaps becomes an imported face (source 'imported': landmarks from the detector run on the
region, else from the box), embedded from its crop and labelled. Imported labels are human
labels: prototypes are rebuilt at once and no machine overwrites them. A region already read
changes nothing; a region gone from its file is reported, its label kept. A face already
labelled by a human as someone else is left alone (counted as a conflict). Regions on a
forgotten face's tombstone are skipped: a tag never brings back a forgotten person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from face_assets.identity.names import normalise_name
from face_assets.library import read_library_file
from face_assets.services import manual_faces, tag_files
from face_assets.services.face_scoring import score_faces
from face_assets.services.identities import rebuild_prototypes
from face_assets.services.progress import Log
from face_assets.services.stored_crops import write_new_face_media
from face_assets.store import Store
from face_assets.store import face_tags as tag_store
from face_assets.store import faces as face_store
from face_assets.store import label_events as event_store
from face_assets.store import labels as label_store
from face_assets.store import persons as person_store
from face_assets.vision import face_tags, matching
from face_assets.vision.decode import ImageRejected, decode_image
from face_assets.vision.models import FaceModels

# Embedded XMP is searched in the photo's first bytes only: JPEG's APP1, PNG's iTXt before the
# pixels, TIFF/DNG and HEIF writers put it near the start (ours: exiftool-written files), so a
# run over a month reads 1 MiB per photo, not the photo (the whole photo only for a region
# that needs a new face's crop).
EMBEDDED_XMP_WINDOW = 1024 * 1024


@dataclass
class ImportStats:
    images: int = 0
    tag_files: int = 0
    regions_read: int = 0
    matched: int = 0
    created: int = 0
    already_imported: int = 0
    unnamed: int = 0
    conflicts: int = 0  # the face is a human label of someone else: left alone
    forgotten: int = 0  # on a forgotten face's tombstone: skipped
    removed_in_file: int = 0  # read earlier, gone from the file now: label kept
    scored: int = 0  # imported faces given their quality (the clustering gate reads it)
    # photos whose hash and tag files are as the last import read them: not read again (their
    # recorded regions are counted in already_imported)
    skipped_unchanged: int = 0
    unreadable: Counter = field(default_factory=Counter)
    persons: set = field(default_factory=set)

    def metadata(self) -> dict:
        return {
            "images": self.images,
            "tag_files": self.tag_files,
            "regions_read": self.regions_read,
            "matched": self.matched,
            "created": self.created,
            "already_imported": self.already_imported,
            "unnamed": self.unnamed,
            "conflicts": self.conflicts,
            "forgotten_skipped": self.forgotten,
            "removed_in_file": self.removed_in_file,
            "imported_faces_scored": self.scored,
            "skipped_unchanged": self.skipped_unchanged,
            "unreadable": dict(self.unreadable),
            "persons": len(self.persons),
        }


class _PicasaCache:
    """Each folder's .picasa.ini parsed once per run (and stat'ed once)."""

    def __init__(self, root: Path, stats: ImportStats) -> None:
        self.root, self.stats = root, stats
        self.folders: dict[str, dict[str, list[face_tags.TagRegion]]] = {}
        self.contacts: dict[str, str] | None = None
        self.stamps: dict[str, tuple[str, int | None, int | None]] = {}

    def stamp(self, rel_path: str) -> tuple[str, int | None, int | None]:
        if rel_path not in self.stamps:
            self.stamps[rel_path] = tag_files.file_stamp(self.root, rel_path)
        return self.stamps[rel_path]

    def _contacts(self) -> dict[str, str]:
        if self.contacts is None:
            self.contacts = {}
            try:
                data = tag_files.read_optional(
                    self.root, tag_files.PICASA_CONTACTS, face_tags.MAX_PICASA_BYTES
                )
                if data:
                    self.contacts = face_tags.picasa_contacts(data)
            except face_tags.TagsRejected as exc:
                self.stats.unreadable[exc.reason] += 1
        return self.contacts

    def regions(self, rel_path: str) -> tuple[str, list[face_tags.TagRegion]]:
        folder = Path(rel_path).parent.as_posix()
        ini_path = tag_files.picasa_ini(rel_path)
        if folder not in self.folders:
            self.folders[folder] = {}
            try:
                data = tag_files.read_optional(self.root, ini_path, face_tags.MAX_PICASA_BYTES)
                if data:
                    self.stats.tag_files += 1
                    self.folders[folder] = face_tags.picasa_regions(data, self._contacts())
            except face_tags.TagsRejected as exc:
                self.stats.unreadable[exc.reason] += 1
        return ini_path, self.folders[folder].get(Path(rel_path).name, [])


def _tag_regions(
    root: Path, image: tag_store.TagImage, data: bytes, picasa: _PicasaCache, stats: ImportStats
) -> list[tuple[str, face_tags.TagRegion]]:
    """(tag file, region) of every face region the photo's tag files hold."""
    found: list[tuple[str, face_tags.TagRegion]] = []
    rel_path = image.paths[0]
    try:
        packet = face_tags.embedded_xmp(data)
        if packet is not None:
            stats.tag_files += 1
            found += [(rel_path, r) for r in face_tags.xmp_regions(packet)]
    except face_tags.TagsRejected as exc:
        stats.unreadable[exc.reason] += 1
    for candidate in tag_files.sidecar_candidates(rel_path):
        try:
            sidecar = tag_files.read_optional(root, candidate, face_tags.MAX_XMP_BYTES)
            if sidecar is not None:
                stats.tag_files += 1
                found += [(candidate, r) for r in face_tags.xmp_regions(sidecar)]
        except face_tags.TagsRejected as exc:
            stats.unreadable[exc.reason] += 1
    ini_path, regions = picasa.regions(rel_path)
    found += [(ini_path, r) for r in regions]
    return found


def _tag_files(
    root: Path, image: tag_store.TagImage, picasa: _PicasaCache
) -> tuple[tuple[str, int | None, int | None], ...]:
    """The stamps of every file the photo's tags may come from (stat only, nothing read)."""
    rel_path = image.paths[0]
    own = [
        tag_files.file_stamp(root, p) for p in (rel_path, *tag_files.sidecar_candidates(rel_path))
    ]
    return (
        *own,
        picasa.stamp(tag_files.picasa_ini(rel_path)),
        picasa.stamp(tag_files.PICASA_CONTACTS),
    )


def import_tags(
    models: FaceModels,
    store: Store,
    library_root: Path,
    months: list[str] | None = None,
    log: Log | None = None,
) -> ImportStats:
    """Read the face tags of the detected photos (of these months, or all) into human labels.

    A photo whose hash and tag files (size, mtime) are as the last run read them is skipped: an
    ingest run re-reads only what changed. A run that left a region unresolved (a conflict, an
    unreadable file) records no scan for that photo, so the next run tries it again."""
    stats = ImportStats()
    root = Path(library_root)
    picasa = _PicasaCache(root, stats)
    with store.transaction() as conn:
        images = tag_store.images_for_tags(conn, models.pack, months)
        ids = [i.image_id for i in images]
        imported = tag_store.imported_regions(conn, ids)
        scans = tag_store.tag_scans(conn, models.pack, ids)
    created_months: set[str] = set()
    scanned: dict[int, tag_store.TagScan] = {}
    for image in images:
        files = _tag_files(root, image, picasa)  # stamped before reading: a later edit is seen
        last = scans.get(image.image_id)
        if last is not None and (last.sha256, last.tag_files) == (image.sha256, files):
            stats.skipped_unchanged += 1
            stats.already_imported += last.regions_known
            continue
        try:
            head = tag_files.read_head(root, image.paths[0], EMBEDDED_XMP_WINDOW)
        except (ImageRejected, OSError):
            continue
        before = (stats.conflicts, stats.unnamed, sum(stats.unreadable.values()))
        regions = _tag_regions(root, image, head, picasa, stats)
        seen = imported.get(image.image_id, {})
        if not regions and not seen:
            if sum(stats.unreadable.values()) == before[2]:
                scanned[image.image_id] = tag_store.TagScan(image.sha256, files, 0)
            continue
        stats.images += 1
        present = {(r.origin, path, r.key) for path, r in regions}
        stats.removed_in_file += len(set(seen) - present)
        fresh = [(p, r) for p, r in regions if (r.origin, p, r.key) not in seen]
        stats.already_imported += len(regions) - len(fresh)
        stats.regions_read += len(regions)
        if fresh:
            created_before = stats.created
            try:
                _import_image(models, store, root, image, fresh, stats)
            except ImageRejected as exc:  # the photo changed or broke since it was detected
                stats.unreadable[exc.reason] += 1
            if stats.created > created_before:
                created_months.add(image.month)
        unnamed = stats.unnamed - before[1]
        if (stats.conflicts, sum(stats.unreadable.values())) == (before[0], before[2]):
            scanned[image.image_id] = tag_store.TagScan(image.sha256, files, len(regions) - unnamed)
        if log:
            log(f"{image.paths[0]}: {len(regions)} regions")
    if scanned:
        with store.transaction() as conn:
            tag_store.record_tag_scans(conn, models.pack, scanned)
    if created_months:  # every caller (the asset, `import-tags`) gets scored imported faces
        stats.scored = score_faces(store, models.pack, sorted(created_months)).faces
    if stats.persons:
        with store.transaction() as conn:
            rebuild_prototypes(conn, models.pack, sorted(stats.persons))
            event_store.log_event(
                conn,
                "import_tags",
                None,
                None,
                stats.matched + stats.created,
                {"persons": len(stats.persons)},  # ids and counts only: no names in the log
            )
    return stats


def _import_image(
    models: FaceModels,
    store: Store,
    root: Path,
    image: tag_store.TagImage,
    regions: list[tuple[str, face_tags.TagRegion]],
    stats: ImportStats,
) -> None:
    """One photo's new regions, in one transaction."""
    pixels = None
    created: list[tuple[int, np.ndarray]] = []  # (face id, aligned crop), embedded in one batch
    with store.transaction() as conn:
        faces = tag_store.image_faces(conn, image.image_id, models.pack)
        for tag_path, region in regions:
            box = region.pixels(image.width, image.height)
            if image.forgotten and matching.overlapping([box], image.forgotten)[0]:
                stats.forgotten += 1
                tag_store.record_region(
                    conn, image.image_id, region.origin, tag_path, region.box, region.key,
                    None, None, "skipped",
                )  # fmt: skip
                continue
            if not region.name:
                stats.unnamed += 1
                continue
            try:
                name = normalise_name(region.name)
            except ValueError:
                stats.unreadable["tags_invalid_name"] += 1
                continue
            person, _ = person_store.person_by_name(conn, name)
            if person.status != "active":
                stats.conflicts += 1
                continue
            pairs = matching.match_boxes([box], [f.bbox for f in faces], matching.SAME_FACE_IOU)
            if pairs:
                face = faces[pairs[0][1]]
                if face.method == "human" and face.person_id != person.id:
                    stats.conflicts += 1  # a human's decision is never overwritten
                    outcome, face_id = "skipped", face.face_id
                else:
                    rejected = label_store.rejections(conn, [face.face_id])
                    if person.id in rejected.get(face.face_id, ()):
                        stats.conflicts += 1
                        outcome, face_id = "skipped", face.face_id
                    else:
                        label_store.label_faces(conn, [face.face_id], person.id)
                        stats.matched += 1
                        stats.persons.add(person.id)
                        outcome, face_id = "matched", face.face_id
            else:
                if pixels is None:
                    data = read_library_file(root, image.paths[0])
                    pixels = decode_image(data, name=image.paths[0])
                face_id, crop = _create_face(conn, models, store, image, pixels.bgr, box)
                created.append((face_id, crop))
                label_store.label_faces(conn, [face_id], person.id)
                faces.append(tag_store.ImageFace(face_id, box, person.id, "human"))
                stats.created += 1
                stats.persons.add(person.id)
                outcome = "created"
            tag_store.record_region(
                conn, image.image_id, region.origin, tag_path, region.box, region.key,
                face_id, person.id, outcome,
            )  # fmt: skip
        if created:
            ids, crops = zip(*created, strict=True)
            face_store.store_embeddings(conn, list(ids), models.pack, models.embed(list(crops)))


def _create_face(
    conn, models: FaceModels, store: Store, image, bgr: np.ndarray, box
) -> tuple[int, np.ndarray]:
    """An imported face from a region: crop, thumbnail and row; the caller embeds the photo's
    new crops in one model batch (a tagged group photo is one call, not one per region)."""
    face, _ = manual_faces.refined_face(models, bgr, box)  # a drawn face's rule
    bbox, landmarks, score = face.bbox, face.landmarks, face.det_score
    crop = models.align(bgr, landmarks)  # the pack's own aligner and crop size
    key, crop_path, thumb_path = write_new_face_media(
        store.media_root, image.sha256, models.pack, bgr, bbox, crop
    )
    face_id = face_store.insert_undetected_face(
        conn, image.image_id, models.pack, image.month, bbox, key, landmarks, score,
        crop_path, thumb_path, "imported",
    )  # fmt: skip
    return face_id, crop
