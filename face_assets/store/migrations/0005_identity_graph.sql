-- The sparse kNN graph of the clustered faces: each face's nearest neighbours among the faces
-- clustered with it and its graph component, so that a refresh re-clusters only the
-- components that new faces touch. Rows go with their face's embedding (ON DELETE CASCADE):
-- a face re-embedded after re-detection is new to the graph again.
-- The lists are packed numpy arrays (int64 face ids, float32 similarities; -1 pads): written
-- and read as raw bytes, ~10x faster than SQL arrays at 1M faces x 30 neighbours.
CREATE TABLE face_graph (
    face_id      bigint PRIMARY KEY REFERENCES face_embeddings (face_id) ON DELETE CASCADE,
    pack         text   NOT NULL,
    component    bigint NOT NULL,
    neighbours   bytea  NOT NULL,
    similarities bytea  NOT NULL
);
CREATE INDEX face_graph_component ON face_graph (pack, component);

-- What the last identity run of a stage saw (a digest of its inputs and parameters): a run
-- whose inputs did not change skips its work.
CREATE TABLE identity_watermarks (
    stage       text        NOT NULL,
    pack        text        NOT NULL,
    scope       text        NOT NULL,
    fingerprint text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stage, pack, scope)
);

-- Assignment compares faces with all prototypes by matrix products in batches
-- (identity/assignment.py PrototypeIndex); this index only slowed prototype writes.
DROP INDEX IF EXISTS person_prototypes_hnsw;

-- faces_image_pack (image_id, pack) serves every lookup faces_image (image_id) did; one index
-- less to maintain on each of the many face rows a clustering or assignment run rewrites.
DROP INDEX IF EXISTS faces_image;
