//! Size limits the server enforces. Clients can check them before sending to give a user an
//! immediate answer; the server checks them again regardless.

/// Usernames: 3 to 32 characters of `a-z`, `0-9`, `_`, `.`, `-`, starting with a letter or digit.
/// Usernames are case-insensitive and stored in lower case.
pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 32;
/// Display names: 1 to 64 characters after trimming, no control characters.
pub const DISPLAY_NAME_MAX_CHARS: usize = 64;
/// Passwords: 8 to 1024 bytes.
pub const PASSWORD_MIN_BYTES: usize = 8;
pub const PASSWORD_MAX_BYTES: usize = 1024;
/// Device names shown in the session list: at most 64 characters.
pub const DEVICE_NAME_MAX_CHARS: usize = 64;
/// Status text: at most 140 characters.
pub const STATUS_TEXT_MAX_CHARS: usize = 140;
/// Message text: 1 to 4000 characters, at most 16 KiB of UTF-8.
pub const MESSAGE_MAX_CHARS: usize = 4000;
pub const MESSAGE_MAX_BYTES: usize = 16 * 1024;
/// Different emoji on one message (each may be used by every member); one more is refused.
pub const REACTIONS_MAX_EMOJI: usize = 20;
/// Uploads: at most this many bytes unless the server's operator says otherwise
/// (`Tus-Max-Size` on `OPTIONS /api/uploads` tells the server's figure).
pub const UPLOAD_DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;
/// Files attached to one message.
pub const ATTACHMENTS_MAX_PER_MESSAGE: usize = 10;
/// Attachment names, in bytes of UTF-8.
pub const ATTACHMENT_NAME_MAX_BYTES: usize = 255;
/// Pictures: decoded only up to this many pixels (a 12-megapixel photo is 12,000,000) and this
/// side; larger ones are kept as plain files.
pub const PICTURE_MAX_PIXELS: u64 = 50_000_000;
pub const PICTURE_MAX_SIDE: u32 = 16_384;
/// Longest side of a picture's thumbnail.
pub const THUMBNAIL_MAX_SIDE: u32 = 640;
/// Group names: 1 to 64 characters.
pub const GROUP_NAME_MAX_CHARS: usize = 64;
/// Members of one group, creator included.
pub const GROUP_MAX_MEMBERS: usize = 256;
/// Search queries: 1 to 200 characters.
pub const SEARCH_QUERY_MAX_CHARS: usize = 200;
/// Page sizes for paginated lists.
pub const PAGE_DEFAULT: u32 = 50;
pub const PAGE_MAX: u32 = 200;
/// JSON request bodies: at most 64 KiB.
pub const JSON_BODY_MAX_BYTES: usize = 64 * 1024;
/// Avatar uploads: at most 5 MiB, PNG, JPEG or WebP, at most 4096 pixels a side.
pub const AVATAR_UPLOAD_MAX_BYTES: usize = 5 * 1024 * 1024;
pub const AVATAR_MAX_SIDE: u32 = 4096;
/// Side of the square thumbnail the server stores and serves for an avatar.
pub const AVATAR_THUMBNAIL_SIDE: u32 = 256;
/// WebSocket frames from a client: at most 64 KiB.
pub const WS_FRAME_MAX_BYTES: usize = 64 * 1024;
/// Typing notices are passed on at most this often per user and conversation; more are dropped.
pub const TYPING_MIN_INTERVAL_MS: u64 = 1_000;
/// How long a typing indicator lasts unless renewed.
pub const TYPING_TTL_MS: i64 = 6_000;
/// Invites: 1 to 1000 uses, 1 to 720 hours (default 1 use, 168 hours), notes of 140 characters.
pub const INVITE_MAX_USES: u32 = 1000;
pub const INVITE_DEFAULT_HOURS: u32 = 168;
pub const INVITE_MAX_HOURS: u32 = 720;
pub const INVITE_NOTE_MAX_CHARS: usize = 140;
/// Reasons given with a report: 1 to 500 characters.
pub const REPORT_REASON_MAX_CHARS: usize = 500;
/// Password reset codes an admin makes last this long.
pub const PASSWORD_RESET_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// Recovery codes given when two-factor sign-in is turned on.
pub const RECOVERY_CODE_COUNT: usize = 10;
