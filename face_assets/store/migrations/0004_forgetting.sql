-- Forgetting that stays forgotten, re-detection that never duplicates (issue 11).

-- Tombstones of forgotten faces: the exact box, per image, for every model pack. Detection
-- drops any new box overlapping one (IoU, face_assets/vision/matching.py), whatever the
-- detector size or pack, so a forgotten person never comes back with moved pixels.
CREATE TABLE forgotten_faces (
    id         bigserial   PRIMARY KEY,
    image_id   bigint      NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    bbox       real[]      NOT NULL,   -- x1, y1, x2, y2 (no pixels, no embedding, no name)
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forgotten_faces_image ON forgotten_faces (image_id);
INSERT INTO forgotten_faces (image_id, bbox)
    SELECT DISTINCT image_id, ARRAY[bbox_x, bbox_y, bbox_x + bbox_w, bbox_y + bbox_h]::real[]
    FROM suppressed_faces;
DROP TABLE suppressed_faces;

-- Faces are matched by overlap, not by integer box: a re-detected face keeps its row even
-- when its box moved by a pixel, so the exact-box key is no longer an identity.
ALTER TABLE faces DROP CONSTRAINT IF EXISTS faces_image_id_pack_bbox_x_bbox_y_bbox_w_bbox_h_key;
CREATE INDEX IF NOT EXISTS faces_image_pack ON faces (image_id, pack);

-- Which persons' faces trained a head, so forgetting a person retires the heads that learnt
-- from them (NULL on heads trained before this column: their checkpoint is read instead).
ALTER TABLE projection_heads ADD COLUMN person_ids bigint[];

-- Names never stay in the audit log: earlier label/merge/rename events kept them in detail.
UPDATE label_events SET detail = detail - 'name' - 'source_name' - 'from'
    WHERE detail ?| ARRAY['name', 'source_name', 'from'];
