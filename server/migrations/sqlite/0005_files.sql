-- Files and pictures. Times are Unix milliseconds; flags are 0/1 BIGINTs.

-- Uploads in progress (tus 1.0): the bytes so far are staged in the data directory
-- (uploads/<id>); how many arrived is the staged file's size.
CREATE TABLE uploads (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    length         BIGINT NOT NULL,
    name           TEXT NOT NULL,
    declared_type  TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX uploads_by_owner ON uploads(owner_id);

-- Finished files. The bytes are in the file store under `blob` (their SHA-256): the same
-- content is stored once however often it is sent. An attachment belongs to at most one
-- message; deleting the message deletes its attachments, and a blob no attachment uses any
-- more is deleted from the store.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message_id      TEXT REFERENCES messages(id) ON DELETE CASCADE,
    position        BIGINT NOT NULL DEFAULT 0,
    blob            TEXT NOT NULL,
    size            BIGINT NOT NULL,
    -- The length the upload declared (a picture's stored size is less without its metadata):
    -- what HEAD answers for the finished upload.
    upload_length   BIGINT NOT NULL,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    -- Pictures: size as shown, whether it animates, and the thumbnail's blob.
    width           BIGINT,
    height          BIGINT,
    animated        BIGINT NOT NULL DEFAULT 0,
    thumbnail_blob  TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message_id, position);
CREATE INDEX attachments_by_blob ON attachments(blob);
CREATE INDEX attachments_by_thumbnail ON attachments(thumbnail_blob);
CREATE INDEX attachments_by_owner ON attachments(owner_id);
