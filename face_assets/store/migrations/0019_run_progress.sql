-- Where a long Dagster run stands (issue 20): the video harvest writes its figures here as it
-- goes (clips done, frames sampled, faces embedded, tracks), so GET /jobs/{id} answers progress
-- whichever way the run was launched (webserver, instance, sensor); the Dagster event log only
-- says it at the end. One row per run, replaced as it advances; rows of old runs are pruned
-- (store/run_progress.py RUN_PROGRESS_KEEP_DAYS).
CREATE TABLE run_progress (
    run_id     text        PRIMARY KEY,
    job_name   text        NOT NULL,
    progress   jsonb       NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_progress_updated ON run_progress (updated_at);
