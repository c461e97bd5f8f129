-- Accounts, sessions, conversations, messages and the per-conversation event log.
-- Times are Unix milliseconds; ids are UUID strings (TEXT, as the SQLite schema has them, so
-- one set of queries serves both backends).

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    status_text     TEXT NOT NULL DEFAULT '',
    avatar          BYTEA,
    avatar_version  BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash      TEXT NOT NULL UNIQUE,
    device_name     TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('direct', 'group')),
    name              TEXT,
    owner_id          TEXT REFERENCES users(id),
    direct_key        TEXT UNIQUE,
    created_at        BIGINT NOT NULL,
    last_seq          BIGINT NOT NULL DEFAULT 0,
    last_activity_at  BIGINT NOT NULL,
    last_message_id   TEXT
);

CREATE TABLE members (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_seq       BIGINT NOT NULL,
    left_seq         BIGINT,
    read_seq         BIGINT NOT NULL DEFAULT 0,
    joined_at        BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX members_by_user ON members(user_id, left_seq);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    sender_id        TEXT NOT NULL REFERENCES users(id),
    client_id        TEXT NOT NULL,
    body             TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    edited_at        BIGINT,
    deleted_at       BIGINT,
    UNIQUE (conversation_id, seq),
    UNIQUE (sender_id, client_id)
);
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', body));

CREATE TABLE events (
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,
    -- Who may see the event: members who joined at or before this seq. The event's own seq,
    -- except for an edit or delete, which reveals the message and so goes no further back
    -- than the message's seq.
    visible_from     BIGINT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
