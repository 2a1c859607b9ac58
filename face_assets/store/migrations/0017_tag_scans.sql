-- What each import of face tags last read for a photo (review round 2): the photo's content
-- hash and the (path, size, mtime) of the files its tags may come from (the photo itself for
-- embedded XMP, its two sidecar names, its folder's .picasa.ini and the root's contacts.xml).
-- An ingest run skips a photo whose hash and files are unchanged instead of re-reading them.
-- No name and no face is kept here: forgetting a person leaves nothing behind in it.
CREATE TABLE tag_scans (
    image_id       bigint      NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    pack           text        NOT NULL,   -- regions are matched to this pack's faces
    sha256         text        NOT NULL,   -- the photo's content hash at the scan
    tag_files      jsonb       NOT NULL,   -- [[path, size, mtime_ns]]; size/mtime null: absent
    regions_known  integer     NOT NULL,   -- named regions the files held, all recorded
    scanned_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, pack)
);
