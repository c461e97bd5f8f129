-- The client's local cache: what the last sync left, so the app shows conversations and recent
-- history at once and offline, and the outbox, so nothing written is lost before it is sent.

-- One row per conversation I am in. `snapshot` is the protocol's Conversation as JSON, kept up
-- to date by applying events; it reflects every change up to its own `last_seq`.
-- `cursor` is the realtime cursor: every event up to it has been applied.
-- `history_from_seq`: the cache holds every message with seq >= this (up to the cursor);
-- NULL when no history was loaded yet, 0 when it holds the whole history.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    snapshot TEXT NOT NULL,
    last_activity_at INTEGER NOT NULL,
    cursor INTEGER NOT NULL,
    history_from_seq INTEGER
) STRICT;

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    message TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_by_position ON messages (conversation_id, seq);

-- Read positions of members, from read_receipt events.
CREATE TABLE receipts (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    read_seq INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) STRICT;

-- Messages written but not yet stored by the server, in the order written. `failed` holds the
-- server's reason when it refused one for good; such a row stays until the user discards it.
CREATE TABLE outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failed TEXT
) STRICT;

-- Small facts about the signed-in account, such as my profile.
CREATE TABLE account (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
