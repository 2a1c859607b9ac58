-- Tracks as identity units in clustering and review (issue 20): an unassigned track is ONE
-- member of a face cluster (its quality-weighted mean), so naming the cluster names the whole
-- track; "not this person" on a track is remembered so the track is never proposed again.

ALTER TABLE video_tracks ADD COLUMN cluster_id text;
CREATE INDEX video_tracks_cluster ON video_tracks (cluster_id);

CREATE TABLE video_track_rejections (
    track_id   bigint      NOT NULL REFERENCES video_tracks (id) ON DELETE CASCADE,
    person_id  bigint      NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (track_id, person_id)
);
