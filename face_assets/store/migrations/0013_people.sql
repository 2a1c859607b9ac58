-- The People app (issue 23): cover faces, birthdates, "different" person pairs, "not a face"
-- tombstones and the indexes of the photos-of-A-and-B query.

-- Manual faces use faces.source = 'manual' (migration 0009).

-- The face a person is shown with (NULL: their best-quality face). A face that leaves the
-- person (unassigned, forgotten) stops being their cover: readers check it is still theirs.
ALTER TABLE persons ADD COLUMN feature_face_id bigint REFERENCES faces (id) ON DELETE SET NULL;
-- Optional: no face in a photo taken before this date is assigned or suggested to them.
ALTER TABLE persons ADD COLUMN birthdate date;

-- "X and Y are different persons": a merge suggestion answered no is never asked again.
CREATE TABLE person_pairs_different (
    person_a   bigint      NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    person_b   bigint      NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_a, person_b),
    CHECK (person_a < person_b)
);
CREATE INDEX person_pairs_different_b ON person_pairs_different (person_b);

-- "Not a face" (a statue, a poster) reuses forgetting's box tombstones: detection drops any
-- box overlapping one. The reason tells them apart; only a not-a-face tombstone can be
-- undone (from the photo's page), and the pack says which detector found the false face.
ALTER TABLE forgotten_faces ADD COLUMN reason text NOT NULL DEFAULT 'forgotten'
    CHECK (reason IN ('forgotten', 'not_a_face'));
ALTER TABLE forgotten_faces ADD COLUMN pack text;

-- Photos of A and B: each person's photos from an index-only scan, then the photos' dates.
CREATE INDEX IF NOT EXISTS faces_person_image ON faces (person_id, image_id)
    WHERE person_id IS NOT NULL;
DROP INDEX IF EXISTS faces_person;  -- the index above serves every lookup by person
CREATE INDEX IF NOT EXISTS images_taken ON images (taken_at DESC, id DESC);
