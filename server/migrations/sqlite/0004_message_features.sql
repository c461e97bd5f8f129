-- Everyday message features: replies, mentions, reactions and muting a conversation.
-- Times are Unix milliseconds; flags are 0/1 BIGINTs (one set of queries serves both backends).

-- The message a message answers (same conversation); it stays set when that one is deleted.
ALTER TABLE messages ADD COLUMN reply_to TEXT;
-- The members a message names as @username: a JSON array of user ids, NULL for none.
ALTER TABLE messages ADD COLUMN mentions TEXT;

-- One row per user and emoji on a message; a deleted message loses its reactions.
-- `seq`: the seq of the reaction_added event, the order of users within an emoji.
-- `emoji_seq`: the seq at which the emoji's entry appeared (copied while the entry has users),
-- the order of the emoji: the order a client gets by applying the events one by one.
CREATE TABLE reactions (
    message_id  TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    emoji       TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    emoji_seq   BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
);

-- The member muted the conversation: their devices do not notify unless mentioned.
ALTER TABLE members ADD COLUMN muted BIGINT NOT NULL DEFAULT 0;
