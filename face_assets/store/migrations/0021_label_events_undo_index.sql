-- Whether a naming was undone already (store/label_events.py UNDONE_SQL) is asked of the undo
-- events by the event they name, detail->>'event': without an index every undo (and every
-- undo form shown) scans the whole audit log, which only grows. Partial, as the query is: only
-- undo events carry that key.
CREATE INDEX label_events_undo_of ON label_events ((detail->>'event'))
    WHERE operation = 'undo_label';
