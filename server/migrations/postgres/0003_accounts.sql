-- Operators and people in control of accounts: admins, disabled and deleted accounts, two-factor
-- sign-in, invites, password resets, blocks, reports and the admin audit log.
-- Times are Unix milliseconds; flags are 0/1 BIGINTs (one set of queries serves both backends).

ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
-- Set while an admin has disabled the account: no sign-in, no session.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
-- Set once the account is deleted; the row stays, anonymised, so the messages it sent keep a
-- sender ("Deleted account"), as Signal, Element and Discord show them.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
-- The invite the account signed up with, if any.
ALTER TABLE users ADD COLUMN invite_id TEXT;
-- TOTP (RFC 6238): the base32 secret, set when setup starts; enabled once a code confirmed it.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
-- The last 30-second step a code was accepted for: a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_disabled ON users(disabled_at);
CREATE INDEX users_deleted ON users(deleted_at);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    -- SHA-256 of the normalised code: the code itself is shown once, when it is made.
    code_hash   TEXT NOT NULL UNIQUE,
    -- The code's first characters, so people can tell their invites apart.
    code_hint   TEXT NOT NULL,
    created_by  TEXT REFERENCES users(id) ON DELETE SET NULL,
    note        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    max_uses    BIGINT NOT NULL,
    uses        BIGINT NOT NULL DEFAULT 0,
    revoked_at  BIGINT
);
CREATE INDEX invites_by_creator ON invites(created_by, created_at);

CREATE TABLE password_resets (
    code_hash   TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE blocks (
    blocker_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_by_blocked ON blocks(blocked_id);

CREATE TABLE reports (
    id               TEXT PRIMARY KEY,
    reporter_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id       TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    -- What the message said and who sent it when it was reported: a later edit or delete
    -- does not hide it from the admins.
    sender_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_body     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    resolved_at      BIGINT,
    resolved_by      TEXT REFERENCES users(id) ON DELETE SET NULL,
    UNIQUE (reporter_id, message_id)
);
CREATE INDEX reports_by_state ON reports(resolved_at, created_at);

CREATE TABLE audit_log (
    id              TEXT PRIMARY KEY,
    at              BIGINT NOT NULL,
    -- The admin who acted; NULL for the server's console (`natter-server admin …`).
    actor_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor_name      TEXT NOT NULL,
    action          TEXT NOT NULL,
    target_user_id  TEXT REFERENCES users(id) ON DELETE SET NULL,
    -- Free-form JSON object with the action's details (never a secret).
    detail          TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log(at);
