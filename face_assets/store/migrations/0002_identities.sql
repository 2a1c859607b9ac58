-- Human labelling: an audit log that also versions the labels, rejected assignments, and
-- tombstones of forgotten faces so that re-detection never brings them back.

CREATE TABLE label_events (
    id         bigserial   PRIMARY KEY,
    operation  text        NOT NULL,   -- label, merge, split, unassign, forget, rename, hide
    person_id  bigint,                 -- no foreign key: forgotten persons keep their audit row
    cluster_id text,
    face_count integer     NOT NULL DEFAULT 0,
    detail     jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A human said "this face is not that person": auto-assignment must not propose it again.
CREATE TABLE face_rejections (
    face_id    bigint      NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    person_id  bigint      NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (face_id, person_id)
);

-- Boxes of forgotten faces (no pixels, no embedding): detection skips them.
CREATE TABLE suppressed_faces (
    image_id   bigint      NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    pack       text        NOT NULL,
    bbox_x     integer     NOT NULL,
    bbox_y     integer     NOT NULL,
    bbox_w     integer     NOT NULL,
    bbox_h     integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, pack, bbox_x, bbox_y, bbox_w, bbox_h)
);

ALTER TABLE faces ADD COLUMN clustered_at timestamptz;
CREATE INDEX faces_unassigned ON faces (pack) WHERE person_id IS NULL;
