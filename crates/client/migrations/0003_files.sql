-- A queued message's files: JSON list of {path, name, size, upload, attachment}, each upload
-- recorded once started (so a restart resumes it) and its attachment id once finished.
ALTER TABLE outbox ADD COLUMN files TEXT;
