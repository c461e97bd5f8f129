//! Mentions: the `@username`s of a message body that name a member (protocol 1.5), by the rule
//! the desktop app highlights them with (`ui/src/message-text.ts`): the only thing the server
//! reads in a body. Pure; `messages` asks it with the conversation's members.

use natter_protocol::UserId;

/// Characters a username is made of (protocol 1.5), lower case.
fn username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The body without its code, as the app parses it: a line that starts (after spaces) with
/// three backticks opens a block that a line of exactly three backticks closes (unclosed: text);
/// between blocks, each paragraph's inline code runs between pairs of backticks, and an empty
/// pair ends the code spans of its paragraph (the rest is text).
fn outside_code(body: &str) -> Vec<&str> {
    let lines: Vec<&str> = body.split('\n').collect();
    let mut prose = Vec::new();
    let mut paragraph_start: Option<usize> = None;
    let mut offsets = Vec::with_capacity(lines.len() + 1);
    let mut offset = 0;
    for line in &lines {
        offsets.push(offset);
        offset += line.len() + 1;
    }
    offsets.push(body.len() + 1);
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if line.trim_start().starts_with("```")
            && let Some(close) = lines[index + 1..]
                .iter()
                .position(|later| later.trim() == "```")
        {
            if let Some(start) = paragraph_start.take() {
                prose.extend(inline_prose(&body[offsets[start]..offsets[index] - 1]));
            }
            index += close + 2;
            continue;
        }
        paragraph_start.get_or_insert(index);
        index += 1;
    }
    if let Some(start) = paragraph_start {
        prose.extend(inline_prose(&body[offsets[start]..body.len()]));
    }
    prose
}

/// A paragraph's text outside its inline code spans.
fn inline_prose(paragraph: &str) -> Vec<&str> {
    let mut prose = Vec::new();
    let mut rest = paragraph;
    loop {
        let Some(open) = rest.find('`') else {
            prose.push(rest);
            return prose;
        };
        match rest[open + 1..].find('`') {
            Some(0) | None => {
                prose.push(rest);
                return prose;
            }
            Some(length) => {
                prose.push(&rest[..open]);
                rest = &rest[open + 1 + length + 1..];
            }
        }
    }
}

/// Every `@word` that could be a username, lower-cased, in order, once each: an `@` not right
/// after a username character (so `bob@example.com` names nobody) followed by username
/// characters.
pub fn candidates(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for text in outside_code(body) {
        let mut previous: Option<char> = None;
        for (at, c) in text.char_indices() {
            if c == '@' && !previous.is_some_and(|c| username_char(c) || c == '@') {
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
        assert!(names("  ```rust\n@bob in an indented block\n```").is_empty());
        assert_eq!(
            names("```\n@carol\n```rust\n@bob\n```\n@dave.smith"),
            ["dave.smith"],
            "only a bare fence closes a block"
        );
        assert!(
            names("`a\n@bob b`").is_empty(),
            "inline code runs across a paragraph's lines"
        );
        assert_eq!(
            names("`` then @bob"),
            ["bob"],
            "an empty pair ends the code spans"
        );
        assert!(names("@@bob").is_empty());
        assert_eq!(
            names("```\nunclosed @bob"),
            ["bob"],
            "an unclosed fence is text, as clients show it"
        );
        assert_eq!(names("```\n@carol\n```\n@bob after"), ["bob"]);
    }
}
