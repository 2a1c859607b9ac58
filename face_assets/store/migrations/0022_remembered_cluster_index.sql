-- Every clustering run asks which clusters named tracks remember (store/track_labels.py
-- remembered_clusters) to move those a run retired to their successor: partial, as the query
-- is, so it reads the few named tracks, not every track of the library.
CREATE INDEX video_tracks_remembered_cluster ON video_tracks (pack, labelled_from_cluster)
    WHERE labelled_from_cluster IS NOT NULL;
