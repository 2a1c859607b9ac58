-- face_graph kept every clustered face's kNN list and graph component so that a refresh could
-- re-cluster whole components. A refresh now asks pgvector for the new faces' neighbours and
-- goes on from the sums of the clusters they reach, so nothing read the lists any more (a full
-- run at 1M faces spent 12 s writing them). What is left is the one fact still used: which
-- embeddings were clustered. A face without a row is new to the next refresh; rows go with
-- their embedding (ON DELETE CASCADE), so a re-embedded face is new again.
DROP INDEX IF EXISTS face_graph_component;
ALTER TABLE face_graph DROP COLUMN component, DROP COLUMN neighbours, DROP COLUMN similarities;
ALTER TABLE face_graph RENAME TO clustered_faces;

-- The assignment write re-checks, per face, that no human named the same person elsewhere in
-- the photo; with this small index (human labels only) that probe never depends on how fresh
-- the planner's statistics of faces are.
CREATE INDEX IF NOT EXISTS faces_human_photo ON faces (image_id, person_id)
    WHERE assignment_method = 'human';
