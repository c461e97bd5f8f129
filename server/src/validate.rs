//! Field rules shared by every endpoint. Each function returns the cleaned value or a
//! validation error naming the field.

use natter_protocol::limits::*;

use crate::error::{Error, Result};

pub fn username(raw: &str) -> Result<String> {
    let name = raw.trim().to_lowercase();
    let length = name.chars().count();
    if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&length) {
        return Err(Error::validation(format!(
            "username must be {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters"
        )));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if !name.chars().all(allowed) || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Error::validation(
            "username may contain only a-z, 0-9, '_', '.', '-' and must start with a letter or digit",
        ));
    }
    Ok(name)
}

/// A short single-line text: trimmed, no control characters, within `max_chars`.
fn single_line(field: &str, raw: &str, min_chars: usize, max_chars: usize) -> Result<String> {
    let text = raw.trim();
    let length = text.chars().count();
    if length < min_chars || length > max_chars {
        return Err(Error::validation(if min_chars == 0 {
            format!("{field} must be at most {max_chars} characters")
        } else {
            format!("{field} must be {min_chars} to {max_chars} characters")
        }));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(text.to_owned())
}

pub fn display_name(raw: &str) -> Result<String> {
    single_line("display_name", raw, 1, DISPLAY_NAME_MAX_CHARS)
}

pub fn status_text(raw: &str) -> Result<String> {
    single_line("status_text", raw, 0, STATUS_TEXT_MAX_CHARS)
}

pub fn group_name(raw: &str) -> Result<String> {
    single_line("name", raw, 1, GROUP_NAME_MAX_CHARS)
}

pub fn device_name(raw: Option<&str>) -> Result<String> {
    match raw.map(str::trim) {
        None | Some("") => Ok("Unnamed device".to_owned()),
        Some(name) => single_line("device_name", name, 1, DEVICE_NAME_MAX_CHARS),
    }
}

pub fn password(raw: &str) -> Result<()> {
    if !(PASSWORD_MIN_BYTES..=PASSWORD_MAX_BYTES).contains(&raw.len()) {
        return Err(Error::validation(format!(
            "password must be {PASSWORD_MIN_BYTES} to {PASSWORD_MAX_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Message text keeps its inner whitespace and newlines but must have something visible.
/// Line breaks are stored as LF: text pasted on Windows (CR LF) or from old Mac files (CR)
/// would otherwise be refused for its control characters.
pub fn message_body(raw: &str) -> Result<String> {
    let normalised;
    let raw = if raw.contains('\r') {
        normalised = raw.replace("\r\n", "\n").replace('\r', "\n");
        normalised.as_str()
    } else {
        raw
    };
    if raw.len() > MESSAGE_MAX_BYTES || raw.chars().count() > MESSAGE_MAX_CHARS {
        return Err(Error::PayloadTooLarge(format!(
            "body must be at most {MESSAGE_MAX_CHARS} characters and {MESSAGE_MAX_BYTES} bytes"
        )));
    }
    if raw.trim().is_empty() {
        return Err(Error::validation("body must not be empty"));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::validation(
            "body must not contain control characters other than newline and tab",
        ));
    }
    Ok(raw.to_owned())
}

/// One emoji as Unicode lists it, a skin tone included, in its fully qualified form: `❤` and
/// `❤️` are the same reaction.
pub fn reaction_emoji(raw: &str) -> Result<&'static str> {
    emojis::get(raw)
        .or_else(|| emojis::get(&format!("{raw}\u{fe0f}")))
        .map(emojis::Emoji::as_str)
        .ok_or_else(|| Error::validation("a reaction must be one emoji"))
}

pub fn page_limit(raw: Option<u32>) -> Result<i64> {
    match raw {
        None => Ok(PAGE_DEFAULT as i64),
        Some(limit) if (1..=PAGE_MAX).contains(&limit) => Ok(limit as i64),
        Some(_) => Err(Error::validation(format!("limit must be 1 to {PAGE_MAX}"))),
    }
}

/// A search of accounts by name, as the directory and the admins' user list do it: the
/// `LIKE` patterns for "username starts with" and "display name contains" (the query lower-cased,
/// its wildcards escaped for `ESCAPE '\'`), and the username to continue after.
pub struct NameSearch {
    pub username_prefix: String,
    pub display_name_part: String,
    pub after: String,
}

pub fn name_search(query: Option<&str>, cursor: Option<&str>) -> Result<NameSearch> {
    let query = query.unwrap_or("").trim().to_lowercase();
    if query.chars().count() > SEARCH_QUERY_MAX_CHARS {
        return Err(Error::validation("query is too long"));
    }
    let cursor = cursor.unwrap_or("");
    if query.chars().chain(cursor.chars()).any(char::is_control) || cursor.len() > 64 {
        return Err(Error::validation(
            "query and cursor must be short text without control characters",
        ));
    }
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok(NameSearch {
        username_prefix: format!("{escaped}%"),
        display_name_part: format!("%{escaped}%"),
        after: cursor.to_owned(),
    })
}

/// Splits a search query into plain words (letters and digits), so that no user input ever
/// reaches a full-text query parser as syntax.
pub fn search_terms(raw: &str) -> Result<Vec<String>> {
    if raw.chars().count() > SEARCH_QUERY_MAX_CHARS {
        return Err(Error::validation(format!(
            "query must be at most {SEARCH_QUERY_MAX_CHARS} characters"
        )));
    }
    let terms: Vec<String> = raw
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(16)
        .map(str::to_lowercase)
        .collect();
    if terms.is_empty() {
        return Err(Error::validation(
            "query must contain at least one letter or digit",
        ));
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_line_breaks_are_stored_as_lf() {
        assert_eq!(
            message_body("one\r\ntwo\rthree\n").unwrap(),
            "one\ntwo\nthree\n"
        );
        assert!(message_body("\r\n\r\n").is_err(), "still blank");
        assert!(message_body("bell\u{7}").is_err());
    }

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(username(" Alice_1 ").unwrap(), "alice_1");
        assert!(username("al").is_err());
        assert!(username("_alice").is_err());
        assert!(username("alice smith").is_err());
        assert!(username("ålice").is_err());
    }

    #[test]
    fn message_bodies_keep_newlines_and_refuse_blank_or_huge() {
        assert_eq!(message_body("a\nb").unwrap(), "a\nb");
        assert!(message_body("  \n ").is_err());
        assert!(message_body("a\u{0}b").is_err());
        assert!(message_body(&"x".repeat(MESSAGE_MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn search_terms_drop_query_syntax() {
        assert_eq!(
            search_terms("\"hello\" OR wor*ld NEAR(").unwrap(),
            vec!["hello", "or", "wor", "ld", "near"]
        );
        assert!(search_terms("*** ---").is_err());
    }
}
