-- Seed 000's face-embedding jobs (issue 22): durable (a restart loses no queued job), run in
-- priority order (higher first, FIFO within a priority), cancellable, kept for a stated time.
CREATE TABLE embedding_jobs (
    id          uuid        PRIMARY KEY,
    seq         bigserial   NOT NULL,          -- arrival order: FIFO within a priority
    status      text        NOT NULL DEFAULT 'queued'
                CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    priority    smallint    NOT NULL CHECK (priority BETWEEN 0 AND 10),
    normalize   boolean     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    output      jsonb,
    error       text
);
CREATE INDEX embedding_jobs_queued ON embedding_jobs (priority DESC, seq) WHERE status = 'queued';
CREATE INDEX embedding_jobs_finished ON embedding_jobs (finished_at) WHERE finished_at IS NOT NULL;

-- The uploaded files until the job has run (deleted with it; their bytes are never kept
-- after the output is written).
CREATE TABLE embedding_job_files (
    job_id    uuid    NOT NULL REFERENCES embedding_jobs (id) ON DELETE CASCADE,
    idx       integer NOT NULL,
    file_name text    NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (job_id, idx)
);
