-- Nothing to undo: the tables keep AUTOINCREMENT. An id handed out once must not come back even
-- after a downgrade, and the earlier schema's code reads and writes these tables unchanged.
SELECT 1;
