-- Two people reviewing at once never corrupt a name (issue 18).

-- A face with a person has no cluster, always: clusters hold only unclaimed faces, so a
-- split or a clustering run racing a label can never leave a labelled face in a cluster
-- (the statement fails instead, and the service retries or refuses it).
UPDATE faces SET cluster_id = NULL WHERE person_id IS NOT NULL AND cluster_id IS NOT NULL;
ALTER TABLE faces ADD CONSTRAINT faces_person_or_cluster
    CHECK (person_id IS NULL OR cluster_id IS NULL);

-- One tombstone per forgotten box: a forget repeated (or two at once) adds none.
DELETE FROM forgotten_faces a USING forgotten_faces b
    WHERE a.image_id = b.image_id AND a.bbox = b.bbox AND a.id > b.id;
CREATE UNIQUE INDEX forgotten_faces_box ON forgotten_faces (image_id, bbox);
