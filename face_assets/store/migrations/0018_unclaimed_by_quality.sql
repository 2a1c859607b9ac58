-- The "Is this X?" queue asks, on every request, for the best-quality unclaimed faces of a pack
-- (store/questions.py best_unassigned_faces: UNCLAIMED_FACES, ORDER BY quality DESC, id LIMIT).
-- With only faces_unassigned (pack) and faces_quality (quality) PostgreSQL read every unclaimed
-- face of the pack and sorted them; this index hands them over in the query's order, so the
-- plan is an index scan under the LIMIT that stops after the first rows.
-- Its predicate must stay UNCLAIMED_FACES's (person_id IS NULL; test_questions checks it).
CREATE INDEX IF NOT EXISTS faces_unclaimed_quality ON faces (pack, quality DESC, id)
    WHERE person_id IS NULL;
DROP INDEX IF EXISTS faces_unassigned;  -- (pack) WHERE person_id IS NULL: the index above leads with pack
