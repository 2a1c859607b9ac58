-- Model packs of any width (issue 21): vectors lose their fixed 512 so a 128-d pack (dlib) and
-- a 512-d pack (ArcFace) share the tables, and each pack gets its own HNSW index: a partial
-- expression index over `embedding::vector(width)` WHERE pack = that pack. A query that names
-- the pack and casts to its width walks only that pack's graph, so nothing is ever compared
-- across packs and no pack's neighbours crowd out another's (one shared index did).
-- Dropping a typmod rewrites nothing: existing 512-d rows are kept as they are, with no
-- re-embedding; the per-pack indexes are built from the rows already stored.
DROP INDEX IF EXISTS face_embeddings_hnsw;
ALTER TABLE face_embeddings ALTER COLUMN embedding TYPE vector;
ALTER TABLE person_prototypes ALTER COLUMN embedding TYPE vector;

-- The packs are read into arrays first: an index cannot be built while a loop's cursor is
-- still reading the same table.
DO $$
DECLARE
    packs  text[];
    widths integer[];
BEGIN
    SELECT array_agg(pack ORDER BY pack), array_agg(width ORDER BY pack) INTO packs, widths
    FROM (SELECT pack, min(vector_dims(embedding)) AS width
          FROM face_embeddings GROUP BY pack) AS stored;
    FOR i IN 1 .. coalesce(array_length(packs, 1), 0) LOOP
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON face_embeddings USING hnsw'
            ' ((embedding::vector(%s)) vector_cosine_ops) WHERE pack = %L',
            'face_embeddings_hnsw_' || packs[i], widths[i], packs[i]
        );
    END LOOP;
END
$$;
