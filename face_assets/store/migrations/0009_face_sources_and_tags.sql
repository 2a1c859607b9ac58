-- A real family library (issue 19): faces not found by the detector, and the face tags people
-- already have (XMP/MWG regions, Microsoft Photo regions, Picasa) read and written back.

-- Where a face came from: the detector, a person drawing it in the review page (a face the
-- detector missed), or a tag region read from the photo's XMP / Picasa file. Only detected
-- faces are removed when a re-detection no longer finds them.
ALTER TABLE faces ADD COLUMN source text NOT NULL DEFAULT 'detected'
    CHECK (source IN ('detected', 'manual', 'imported'));

-- Each face region read from a tag file, once: a re-import of the same region changes nothing,
-- and a region that disappeared from its file is reported, never silently unlabelled. No name
-- is kept here (the person row holds it), so forgetting a person leaves none behind.
CREATE TABLE imported_regions (
    id          bigserial   PRIMARY KEY,
    image_id    bigint      NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    origin      text        NOT NULL CHECK (origin IN ('mwg', 'mp', 'picasa')),
    tag_path    text        NOT NULL,   -- library-relative file the region was read from
    region      real[]      NOT NULL,   -- normalised x1, y1, x2, y2 (0..1, upright photo)
    region_key  text        NOT NULL,   -- the region rounded to 1e-4: its identity in that file
    face_id     bigint      REFERENCES faces (id) ON DELETE SET NULL,
    person_id   bigint      REFERENCES persons (id) ON DELETE CASCADE,
    outcome     text        NOT NULL CHECK (outcome IN ('matched', 'created', 'skipped')),
    imported_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (image_id, origin, tag_path, region_key)
);
CREATE INDEX imported_regions_person ON imported_regions (person_id);
CREATE INDEX imported_regions_face ON imported_regions (face_id);

-- XMP sidecars this product wrote (export-tags): which persons' names each carries, so that
-- forgetting a person removes the name from exactly these files and lists the others.
CREATE TABLE written_sidecars (
    rel_path    text        PRIMARY KEY,   -- library-relative sidecar path (photo.jpg.xmp)
    image_id    bigint      REFERENCES images (id) ON DELETE SET NULL,
    person_ids  bigint[]    NOT NULL DEFAULT '{}',
    sha256      text        NOT NULL,      -- content as we last wrote it
    written_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX written_sidecars_persons ON written_sidecars USING gin (person_ids);
