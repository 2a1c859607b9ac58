-- A refresh no longer re-clusters whole graph components (it continues average linkage from
-- the clusters new faces reach, each by its sum vector), so nothing looks faces up by
-- component any more: the index only cost writes (1M rows in a full run). The column stays:
-- a face with a graph row has been clustered (refreshes treat the others as new).
DROP INDEX IF EXISTS face_graph_component;
COMMENT ON COLUMN face_graph.component IS
    'graph component (smallest face id) when the row was written: by a full run, or for a new face by the refresh that added it (its cluster)';

-- The assignment write re-checks, per face, that no human named the same person elsewhere in
-- the photo; with this small index (human labels only) that probe never depends on how fresh
-- the planner's statistics of faces are.
CREATE INDEX IF NOT EXISTS faces_human_photo ON faces (image_id, person_id)
    WHERE assignment_method = 'human';
