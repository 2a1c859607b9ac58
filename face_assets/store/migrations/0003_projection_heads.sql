-- Trained projection heads: every candidate is kept with its metrics; at most one promoted
-- head per pack is used by face_assignments.
CREATE TABLE projection_heads (
    id              bigserial   PRIMARY KEY,
    pack            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'candidate'
                    CHECK (status IN ('candidate', 'promoted', 'rejected', 'retired')),
    checkpoint_path text        NOT NULL,   -- under the models folder of FACE_ASSETS_HOME
    device          text        NOT NULL,
    persons         integer     NOT NULL,
    faces           integer     NOT NULL,
    threshold       real        NOT NULL,   -- person threshold calibrated in the projected space
    metrics         jsonb       NOT NULL,   -- raw / projected / incumbent on held-out persons
    history         jsonb       NOT NULL,   -- per epoch: loss, val_loss, seconds
    config          jsonb       NOT NULL,
    decision        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz
);
CREATE UNIQUE INDEX projection_heads_one_promoted ON projection_heads (pack)
    WHERE status = 'promoted';
