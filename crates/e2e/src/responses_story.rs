//! Answering messages in the app (issue 17): Alice replies to Bob's question with the Reply
//! button, and Bob's live session receives the reply pointing at it while the app shows the
//! quote; Bob reacts from the command line and the app shows the chip with his name, Alice
//! reacts from the picker and Bob receives it; Alice mentions Bob from the suggestions; then
//! she mutes the conversation: a message without her name raises no notification, the next
//! one, which mentions her, does.

use anyhow::{Context, Result, ensure};
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::{
    harness::{Cli, UI_TIMEOUT, message_row, until_js},
    processes::{Running, focus_other_window},
};

/// Clicks an element inside the row of the newest message with text `body` (its hover tools
/// are invisible until hovered, which WebDriver cannot do; a script's click is a click).
async fn click_in_row(session: &Client, body: &str, selector: &str, what: &str) -> Result<()> {
    until_js(
        session,
        what,
        &format!(
            "const row = {}; const target = row?.querySelector({selector:?}); \
             if (target === null || target === undefined) return null; \
             target.click(); return true",
            message_row(body)
        ),
    )
    .await?;
    Ok(())
}

fn message_event(line: &str, body: &str) -> Option<Value> {
    let event: Value = serde_json::from_str(line).ok()?;
    (event["type"] == "message" && event["message"]["body"] == body).then_some(event)
}

pub async fn run(session: &Client, bob: &Cli, monitor: &mut Running) -> Result<()> {
    let conversation_id = bob.dm("alice")?;
    let mut follow = bob.follow(&conversation_id)?;

    // A reply.
    let question = "Shall we meet at six?";
    let sent: Value = serde_json::from_str(bob.run(&["send", "@alice", question])?.trim())
        .context("`natter send` printed no JSON")?;
    let question_id = sent["id"].as_str().context("no message id")?.to_owned();
    click_in_row(
        session,
        question,
        "[data-action=reply]",
        "the Reply button of Bob's question",
    )
    .await?;
    until_js(
        session,
        "the reply bar naming Bob",
        "return !document.getElementById('reply-bar').hidden \
         && document.getElementById('reply-bar-sender').textContent === 'Bob Builder'",
    )
    .await?;
    let answer = "Six works for me";
    let composer = session.find(Locator::Id("composer")).await?;
    composer.send_keys(&format!("{answer}\u{e007}")).await?;
    let received = follow.wait_for_line("Bob receiving Alice's reply", UI_TIMEOUT, |line| {
        message_event(line, answer).is_some()
    })?;
    let received = message_event(&received, answer).context("the reply's event")?;
    ensure!(
        received["message"]["reply_to"]["message_id"] == question_id.as_str()
            && received["message"]["reply_to"]["excerpt"] == question,
        "Bob's copy of the reply does not quote his question: {received}"
    );
    until_js(
        session,
        "the reply's quote in the app, and the reply bar gone",
        &format!(
            "const row = {}; \
             return row?.querySelector('.message-quote')?.textContent.includes({question:?}) \
               && document.getElementById('reply-bar').hidden",
            message_row(answer)
        ),
    )
    .await?;

    // Reactions both ways.
    let answer_id = received["message"]["id"]
        .as_str()
        .context("no id for the reply")?
        .to_owned();
    bob.run(&["react", &conversation_id, &answer_id, "🎉"])?;
    until_js(
        session,
        "Bob's 🎉 on Alice's reply, with his name on hover",
        &format!(
            "const chip = {}?.querySelector('.reaction-chip'); \
             return chip?.textContent === '🎉1' && chip.title === 'Bob Builder' \
               && !chip.classList.contains('mine')",
            message_row(answer)
        ),
    )
    .await?;
    click_in_row(
        session,
        question,
        "[data-action=react]",
        "the React button of Bob's question",
    )
    .await?;
    session
        .find(Locator::Css("#reaction-menu [data-action='👍']"))
        .await?
        .click()
        .await?;
    follow.wait_for_line("Bob seeing Alice's 👍", UI_TIMEOUT, |line| {
        message_event(line, question).is_some_and(|event| {
            event["message"]["reactions"][0]["emoji"] == "👍"
                && event["message"]["reactions"][0]["names"][0]
                    .as_str()
                    .is_some_and(|name| name != "Bob Builder")
        })
    })?;
    until_js(
        session,
        "Alice's own 👍 marked as hers",
        &format!(
            "return {}?.querySelector('.reaction-chip.mine')?.textContent === '👍1'",
            message_row(question)
        ),
    )
    .await?;

    // A mention picked from the suggestions.
    composer.send_keys("See you @bo").await?;
    until_js(
        session,
        "Bob suggested for @bo",
        "const list = document.getElementById('mention-suggestions'); \
         return !list.hidden && list.querySelector('.active')?.dataset.username === 'bob'",
    )
    .await?;
    composer.send_keys("\u{e004}").await?; // Tab takes the suggestion.
    let value = until_js(
        session,
        "the suggestion written into the composer",
        "const value = document.getElementById('composer').value; \
         return value.endsWith('@bob ') ? value : null",
    )
    .await?;
    ensure!(value == "See you @bob ", "the composer holds {value}");
    composer.send_keys("then\u{e007}").await?;
    let mention = "See you @bob then";
    follow.wait_for_line("Bob receiving the mention", UI_TIMEOUT, |line| {
        message_event(line, mention)
            .is_some_and(|event| event["message"]["mentions_me"] == true && event["alert"] == true)
    })?;

    // Muted: only a mention notifies.
    session
        .find(Locator::Id("chat-mute"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the conversation muted",
        "return document.getElementById('chat-mute').getAttribute('aria-pressed') === 'true'",
    )
    .await?;
    let _other_window = focus_other_window()?;
    until_js(
        session,
        "the app's window losing the focus",
        "return !document.hasFocus()",
    )
    .await?;
    let quiet = "a quiet message, nobody named";
    let loud = "@alice are you still coming?";
    bob.run(&["send", "@alice", quiet])?;
    bob.run(&["send", "@alice", loud])?;
    monitor.wait_for_line(
        "a Notify call on D-Bus for the message that mentions Alice",
        UI_TIMEOUT,
        |line| line.contains(&format!("string \"{loud}\"")),
    )?;
    let calls = monitor.output();
    ensure!(
        !calls.contains(quiet),
        "the muted conversation notified of a message that does not mention Alice"
    );
    until_js(
        session,
        "Alice's own mention standing out",
        &format!(
            "return {}?.querySelector('.mention-me')?.textContent === '@alice'",
            message_row(loud)
        ),
    )
    .await?;
    // Unmuted again for what follows.
    session
        .find(Locator::Id("chat-mute"))
        .await?
        .click()
        .await?;
    until_js(
        session,
        "the conversation unmuted",
        "return document.getElementById('chat-mute').getAttribute('aria-pressed') === 'false'",
    )
    .await?;
    println!(
        "desktop e2e: a reply, reactions both ways and a mention went through; muted, only the \
         mention notified"
    );
    Ok(())
}
