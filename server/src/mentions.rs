//! Mentions: the `@username`s of a message body that name a current member of its conversation
//! (protocol 1.5). The only thing the server reads in a body; clients notify the members named
//! even in a conversation they muted.

use natter_protocol::{ConversationId, UserId};

use crate::{error::Result, util::parse_id};

/// Characters a username is made of (protocol 1.5), lower case.
fn username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The body without its code: closed fenced blocks (lines starting with three backticks) and
/// inline code between pairs of backticks on a line. What is left is where mentions count,
/// the same rule clients style the text by.
fn outside_code(body: &str) -> Vec<&str> {
    let lines: Vec<&str> = body.split('\n').collect();
    let mut prose = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if line.starts_with("```")
            && let Some(close) = lines[index + 1..]
                .iter()
                .position(|later| later.starts_with("```"))
        {
            index += close + 2;
            continue;
        }
        // Between pairs of backticks is code; an odd backtick out, the last, is text.
        let parts: Vec<&str> = line.split('`').collect();
        prose.extend(parts.iter().step_by(2).copied());
        if parts.len().is_multiple_of(2)
            && let Some(tail) = parts.last()
        {
            prose.push(tail);
        }
        index += 1;
    }
    prose
}

/// Every `@word` that could be a username, lower-cased, in order, once each: an `@` not right
/// after a username character (so `bob@example.com` names nobody) followed by username
/// characters.
pub fn candidates(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in outside_code(body) {
        let mut previous: Option<char> = None;
        for (at, c) in text.char_indices() {
            if c == '@' && !previous.is_some_and(username_char) {
                let word: String = text[at + 1..]
                    .chars()
                    .take_while(|c| username_char(*c))
                    .map(|c| c.to_ascii_lowercase())
                    .collect();
                if !word.is_empty() && !found.contains(&word) {
                    found.push(word);
                }
            }
            previous = Some(c);
        }
    }
    found
}

/// The candidate's username among `usernames`: the whole word, or the word without the
/// punctuation that ends a sentence ("@bob." names bob unless someone is called "bob.").
fn matching<'a>(word: &str, usernames: &'a [(UserId, String)]) -> Option<&'a (UserId, String)> {
    let mut word = word;
    loop {
        if let Some(found) = usernames.iter().find(|(_, name)| name == word) {
            return Some(found);
        }
        word = word.strip_suffix(['.', '-', '_'])?;
    }
}

/// The members of `members` (id, username) that `body` mentions, once each, in order.
pub fn named(body: &str, members: &[(UserId, String)]) -> Vec<UserId> {
    let mut ids: Vec<UserId> = Vec::new();
    for word in candidates(body) {
        if let Some((id, _)) = matching(&word, members)
            && !ids.contains(id)
        {
            ids.push(*id);
        }
    }
    ids
}

/// The current members of the conversation that `body` mentions.
pub async fn resolve(
    connection: &mut sqlx::AnyConnection,
    conversation_id: ConversationId,
    body: &str,
) -> Result<Vec<UserId>> {
    if !body.contains('@') {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.id, u.username FROM members m JOIN users u ON u.id = m.user_id \
         WHERE m.conversation_id = $1 AND m.left_seq IS NULL AND u.deleted_at IS NULL",
    )
    .bind(conversation_id.to_string())
    .fetch_all(connection)
    .await?;
    let members = rows
        .into_iter()
        .map(|(id, username)| Ok((parse_id(&id)?, username)))
        .collect::<Result<Vec<_>>>()?;
    Ok(named(body, &members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn members() -> Vec<(UserId, String)> {
        ["bob", "carol", "dave.smith", "eve-"]
            .iter()
            .enumerate()
            .map(|(index, name)| (Uuid::from_u128(index as u128 + 1), (*name).to_owned()))
            .collect()
    }

    fn names(body: &str) -> Vec<String> {
        let members = members();
        named(body, &members)
            .iter()
            .map(|id| {
                members
                    .iter()
                    .find(|(member, _)| member == id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn mentions_are_members_named_with_an_at_once_each_in_order() {
        assert_eq!(
            names("@Carol and @bob, then @carol again"),
            ["carol", "bob"]
        );
        assert_eq!(
            names("hi @bob."),
            ["bob"],
            "sentence punctuation is not part of it"
        );
        assert_eq!(names("(@dave.smith)"), ["dave.smith"]);
        assert_eq!(
            names("@eve-!"),
            ["eve-"],
            "a username ending in - is still whole"
        );
        assert!(
            names("@mallory is not here").is_empty(),
            "only members count"
        );
        assert!(names("@ bob").is_empty());
    }

    #[test]
    fn addresses_and_code_name_nobody() {
        assert!(names("write to bob@example.com").is_empty());
        assert!(names("`@bob` is how you mention").is_empty());
        assert_eq!(names("`code` @bob `more`"), ["bob"]);
        assert_eq!(
            names("a lone ` then @bob"),
            ["bob"],
            "an unmatched backtick is text"
        );
        assert!(names("```\n@bob in a block\n```").is_empty());
        assert_eq!(
            names("```\nunclosed @bob"),
            ["bob"],
            "an unclosed fence is text, as clients show it"
        );
        assert_eq!(names("```\n@carol\n```\n@bob after"), ["bob"]);
    }
}
