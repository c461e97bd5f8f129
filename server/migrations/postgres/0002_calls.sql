-- The call history, and the link from the message that records a call in the two users'
-- direct conversation. Times are Unix milliseconds.

CREATE TABLE calls (
    id               TEXT PRIMARY KEY,
    caller_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    callee_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('voice', 'video')),
    started_at       BIGINT NOT NULL,
    answered_at      BIGINT,
    ended_at         BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    end_reason       TEXT NOT NULL
        CHECK (end_reason IN ('completed', 'missed', 'declined', 'busy', 'cancelled', 'failed')),
    conversation_id  TEXT REFERENCES conversations(id) ON DELETE SET NULL
);
CREATE INDEX calls_by_caller ON calls(caller_id, started_at);
CREATE INDEX calls_by_callee ON calls(callee_id, started_at);

-- The record as the call ended (it never changes after), as JSON, so a message reads without
-- a join; `call_end_reason` lets unread counts skip the calls the reader did not miss.
ALTER TABLE messages ADD COLUMN call TEXT;
ALTER TABLE messages ADD COLUMN call_end_reason TEXT;
