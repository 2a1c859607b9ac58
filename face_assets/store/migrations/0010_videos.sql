-- Videos (issue 20, seed 004's faces harvest): clips, their face tracks and the faces kept.
-- A track is one identity unit: its quality-weighted mean embedding is what identities match,
-- so a two-minute clip is one item, not fifty near-identical faces.

CREATE TABLE videos (
    id            bigserial   PRIMARY KEY,
    rel_path      text        NOT NULL UNIQUE,
    byte_size     bigint      NOT NULL,
    mtime_ns      bigint      NOT NULL,
    duration_s    real,
    fps           real,
    frame_count   integer,
    width         integer,                        -- upright, after the rotation flag
    height        integer,
    codec         text,
    rotation      integer,                        -- display rotation flag, degrees
    taken_at      timestamp   NOT NULL,           -- container creation time, else file mtime
    time_source   text        NOT NULL CHECK (time_source IN ('container', 'mtime')),
    month         text        NOT NULL,           -- partition key YYYY-MM (library.month_of)
    status        text        NOT NULL,           -- 'ok' or a reason code (vision/video.py)
    status_detail text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX videos_month ON videos (month);

-- Which clips a pack harvested, with which run config: a re-run with the same config and an
-- unchanged file does nothing; a changed config or file replaces that clip's tracks.
CREATE TABLE video_harvests (
    video_id     bigint      NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    pack         text        NOT NULL,
    params       jsonb       NOT NULL,
    faces        integer     NOT NULL,
    tracks       integer     NOT NULL,
    rejected     jsonb       NOT NULL,            -- rejection_reason -> count
    frames_read  integer     NOT NULL,
    truncated    boolean     NOT NULL DEFAULT false,
    harvested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, pack)
);

CREATE TABLE video_tracks (
    id           bigserial   PRIMARY KEY,
    video_id     bigint      NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    pack         text        NOT NULL,
    track_index  integer     NOT NULL,            -- the tracker's id inside the clip
    first_frame  integer     NOT NULL,
    last_frame   integer     NOT NULL,
    face_count   integer     NOT NULL,
    embedding    vector(512) NOT NULL,            -- quality-weighted normalised mean
    person_id    bigint      REFERENCES persons (id) ON DELETE CASCADE,  -- forget: see store/videos.py
    assignment_method text   CHECK (assignment_method IN ('human', 'auto')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (video_id, pack, track_index),
    CHECK ((person_id IS NULL) = (assignment_method IS NULL))
);
CREATE INDEX video_tracks_person ON video_tracks (person_id);

-- Faces kept after gating and volume control (at most max_crops_per_track per track).
CREATE TABLE video_faces (
    id            bigserial   PRIMARY KEY,
    track_id      bigint      NOT NULL REFERENCES video_tracks (id) ON DELETE CASCADE,
    video_id      bigint      NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    frame_idx     integer     NOT NULL,
    time_s        real        NOT NULL,
    bbox          real[]      NOT NULL,           -- x1, y1, x2, y2 in upright frame pixels
    landmarks     real[]      NOT NULL,           -- 5 points, x/y interleaved
    det_score     real        NOT NULL,
    quality       real        NOT NULL,
    blur_variance real        NOT NULL,
    yaw_deg       real        NOT NULL,
    embedding     vector(512) NOT NULL,
    crop_path     text        NOT NULL,           -- aligned 112x112 crop (.npy) under media
    thumb_path    text        NOT NULL,           -- aligned thumb_size JPEG under media
    UNIQUE (track_id, frame_idx)
);
CREATE INDEX video_faces_video ON video_faces (video_id);

-- Forgotten tracks: the clip and the frames and boxes of a forgotten person's faces (no
-- pixels, no embedding, no name); a re-harvest drops any face overlapping one.
CREATE TABLE forgotten_video_faces (
    id         bigserial   PRIMARY KEY,
    video_id   bigint      NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    frame_idx  integer     NOT NULL,
    bbox       real[]      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forgotten_video_faces_video ON forgotten_video_faces (video_id);
