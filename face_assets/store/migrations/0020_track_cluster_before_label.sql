-- A track a human names leaves its cluster (store/track_labels.py); the cluster it was in is kept
-- with the label, so taking the name back (the review queue's undo of a track's yes) gives the
-- track its cluster place again instead of leaving it in none until the next clustering run.
-- Set only while the track holds a human label (assignment_method = 'human').
ALTER TABLE video_tracks ADD COLUMN labelled_from_cluster text;
