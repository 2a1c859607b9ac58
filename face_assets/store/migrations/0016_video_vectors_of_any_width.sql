-- Video vectors of any width (issue 21, after 0011 did it for the photo tables): 0010 still
-- declared video_tracks.embedding and video_faces.embedding vector(512), so a 128-d pack (dlib)
-- could not store a clip. Dropping the typmod rewrites nothing: existing 512-d rows are kept
-- as they are. Neither column has a vector index (tracks are compared in memory, per pack).
ALTER TABLE video_tracks ALTER COLUMN embedding TYPE vector;
ALTER TABLE video_faces ALTER COLUMN embedding TYPE vector;
