-- A queued message may answer another: the original's id, sent with it as `reply_to`.
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
