//! `natter://` links, registered by the bundles (the deep-link plugin's config in
//! tauri.conf.json): what a link asks for, and following it in the running app.
//!
//! - `natter://conversation/<id>` opens that conversation;
//! - `natter://user/<username>` opens the direct conversation with that person;
//! - `natter://call/<username>` (voice) or `natter://call/<username>?kind=video` opens it and
//!   asks whether to call. A link is one click on a web page away, so it never starts a call
//!   by itself;
//! - `natter://invite?server=<url>&code=<code>` opens the sign-up form with the invite filled in
//!   (when nobody is signed in; otherwise the page says to sign out first), after asking
//!   whether to use that server when it is not the one chosen.
//!
//! On Linux and Windows a link starts the app with the link as its one argument; the
//! single-instance plugin hands it to the app already running and exits. On macOS the system
//! delivers it to the running app. A link that arrives before anyone is signed in waits until
//! someone is.

use natter_protocol::{CallKind, ConversationId, limits};
use serde::Serialize;
use tauri::{AppHandle, Manager, Url};
use tokio::sync::Mutex;

use crate::{
    desktop::{Desktop, IpcError},
    page_events::{self, OpenConversation},
};

pub const SCHEME: &str = "natter";

/// What a link asks the app to do.
#[derive(Clone, PartialEq, Eq)]
pub enum Link {
    Conversation(ConversationId),
    User(String),
    Call { username: String, kind: CallKind },
    Invite { code: String, server: Option<Url> },
}

/// An invite's code is a secret until it is used: it is never logged.
impl std::fmt::Debug for Link {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Link::Conversation(id) => formatter.debug_tuple("Conversation").field(id).finish(),
            Link::User(name) => formatter.debug_tuple("User").field(name).finish(),
            Link::Call { username, kind } => formatter
                .debug_struct("Call")
                .field("username", username)
                .field("kind", kind)
                .finish(),
            Link::Invite { server, .. } => formatter
                .debug_struct("Invite")
                .field("server", &server.as_ref().map(Url::as_str))
                .finish_non_exhaustive(),
        }
    }
}

/// What of a link may be logged: its scheme and what it asks (an invite's code stays out).
fn loggable(url: &Url) -> String {
    format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("not a natter:// link")]
    Scheme,
    #[error("unknown link {0:?}: natter:// links open a conversation, a user or a call")]
    Action(String),
    #[error("the link names no {0}")]
    Missing(&'static str),
    #[error("{0:?} is not a conversation id")]
    ConversationId(String),
    #[error("{0:?} is not a username")]
    Username(String),
    #[error("{0:?} is not a call kind: voice or video")]
    Kind(String),
    #[error("the invite link has no valid code")]
    Invite,
}

/// Reads a link. Usernames are compared in lower case, as the server stores them.
pub fn parse(url: &Url) -> Result<Link, LinkError> {
    if url.scheme() != SCHEME {
        return Err(LinkError::Scheme);
    }
    let action = url.host_str().unwrap_or_default();
    let target = url
        .path_segments()
        .and_then(|mut segments| segments.find(|segment| !segment.is_empty()))
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned()
        });
    match action {
        "conversation" => {
            let id = target.ok_or(LinkError::Missing("conversation"))?;
            ConversationId::parse_str(&id)
                .map(Link::Conversation)
                .map_err(|_| LinkError::ConversationId(id))
        }
        "user" => Ok(Link::User(username(target)?)),
        "call" => {
            let username = username(target)?;
            let kind = match url.query_pairs().find(|(key, _)| key == "kind") {
                None => CallKind::Voice,
                Some((_, kind)) if kind == "voice" => CallKind::Voice,
                Some((_, kind)) if kind == "video" => CallKind::Video,
                Some((_, kind)) => return Err(LinkError::Kind(kind.into_owned())),
            };
            Ok(Link::Call { username, kind })
        }
        "invite" => {
            let invite = natter_client::invites::parse(url.as_str()).ok_or(LinkError::Invite)?;
            Ok(Link::Invite {
                code: invite.code,
                server: invite.server,
            })
        }
        other => Err(LinkError::Action(other.to_owned())),
    }
}

fn username(target: Option<String>) -> Result<String, LinkError> {
    let raw = target.ok_or(LinkError::Missing("username"))?;
    let name = raw.trim().trim_start_matches('@').to_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    let length = name.chars().count();
    if (limits::USERNAME_MIN_CHARS..=limits::USERNAME_MAX_CHARS).contains(&length)
        && name.chars().all(allowed)
    {
        Ok(name)
    } else {
        Err(LinkError::Username(raw))
    }
}

/// The link waiting to be followed (only the latest counts), and whether the page listens to
/// events yet: a link that starts the app arrives long before the page is loaded.
#[derive(Default)]
pub struct PendingLink(Mutex<Pending>);

#[derive(Default)]
struct Pending {
    link: Option<Link>,
    page_listens: bool,
}

/// What the page is asked to confirm before calling (event `natter://offer-call`).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CallOffer {
    pub conversation_id: ConversationId,
    pub user_id: natter_protocol::UserId,
    pub display_name: String,
    pub kind: CallKind,
}

/// Follows the links the app was started or woken with: the window comes forward at once,
/// the rest happens once the page listens and someone is signed in.
pub fn open(app: &AppHandle, urls: Vec<Url>) {
    let Some(url) = urls.into_iter().last() else {
        return;
    };
    crate::tray::show_main_window(app);
    let link = match parse(&url) {
        Ok(link) => link,
        Err(error) => {
            tracing::warn!(link = loggable(&url), %error, "link ignored");
            return;
        }
    };
    tracing::info!(?link, "link received");
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<PendingLink>().0.lock().await.link = Some(link);
        follow_pending(&app).await;
    });
}

/// The page listens to events now: a link that came before can be followed.
#[tauri::command]
pub async fn follow_links(app: AppHandle) -> Result<(), IpcError> {
    app.state::<PendingLink>().0.lock().await.page_listens = true;
    follow_pending(&app).await;
    Ok(())
}

/// Follows the waiting link if the page listens and someone is signed in; tried again when
/// either becomes true.
pub async fn follow_pending(app: &AppHandle) {
    let client = app.state::<Desktop>().client().await.ok();
    let state = app.state::<PendingLink>();
    let link = {
        let mut pending = state.0.lock().await;
        // An invite is for signing up: it needs nobody signed in; the others need someone.
        let ready = match &pending.link {
            Some(Link::Invite { .. }) => true,
            Some(_) => client.is_some(),
            None => false,
        };
        if !pending.page_listens || !ready {
            return;
        }
        pending.link.take()
    };
    let followed = match (&link, &client) {
        (Some(Link::Invite { code, server }), _) => {
            offer_invite(app, code, server.as_ref(), client.is_some())
        }
        (Some(link), Some(client)) => follow(app, client, link).await,
        _ => Ok(()),
    };
    if let Err(error) = followed {
        tracing::warn!(?link, %error, "link not followed");
    }
}

/// What the page is told of an invite link (event `natter://invite`).
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct InviteOffer {
    pub code: String,
    /// The server the invite is for, when the link names one. The page asks before switching
    /// to it: a link from anywhere must not point the sign-in form at a stranger's server.
    pub server: Option<String>,
    /// Someone is signed in: the page says to sign out first, rather than dropping it.
    pub signed_in: bool,
}

fn offer_invite(
    app: &AppHandle,
    code: &str,
    server: Option<&Url>,
    signed_in: bool,
) -> anyhow::Result<()> {
    page_events::emit(
        app,
        &InviteOffer {
            code: code.to_owned(),
            server: server.map(|server| server.as_str().to_owned()),
            signed_in,
        },
    )?;
    Ok(())
}

async fn follow(
    app: &AppHandle,
    client: &natter_client::Client,
    link: &Link,
) -> anyhow::Result<()> {
    let (conversation_id, call) = match link {
        Link::Invite { .. } => return Ok(()),
        Link::Conversation(id) => (*id, None),
        Link::User(username) | Link::Call { username, .. } => {
            let found = client.search_users(username).await?;
            let user = found
                .into_iter()
                .find(|user| user.username.eq_ignore_ascii_case(username))
                .ok_or_else(|| anyhow::anyhow!("nobody is called {username} on this server"))?;
            let conversation = client.start_direct(user.id).await?;
            let call = match link {
                Link::Call { kind, .. } => Some(CallOffer {
                    conversation_id: conversation.id,
                    user_id: user.id,
                    display_name: user.display_name,
                    kind: *kind,
                }),
                _ => None,
            };
            (conversation.id, call)
        }
    };
    page_events::emit(app, &OpenConversation::show(conversation_id))?;
    if let Some(offer) = call {
        page_events::emit(app, &offer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(text: &str) -> Result<Link, LinkError> {
        parse(&Url::parse(text).expect("a URL"))
    }

    #[test]
    fn reads_the_three_kinds_of_link() {
        let id = ConversationId::now_v7();
        assert_eq!(
            link(&format!("natter://conversation/{id}")),
            Ok(Link::Conversation(id))
        );
        assert_eq!(
            link("natter://user/Bob.Builder"),
            Ok(Link::User("bob.builder".to_owned()))
        );
        assert_eq!(
            link("natter://call/%40bob"),
            Ok(Link::Call {
                username: "bob".to_owned(),
                kind: CallKind::Voice
            })
        );
        assert_eq!(
            link("natter://call/bob/?kind=video"),
            Ok(Link::Call {
                username: "bob".to_owned(),
                kind: CallKind::Video
            })
        );
    }

    #[test]
    fn refuses_what_it_cannot_follow() {
        assert_eq!(
            link("https://natter.example/user/bob"),
            Err(LinkError::Scheme)
        );
        assert_eq!(
            link("natter://settings/delete-account"),
            Err(LinkError::Action("settings".to_owned()))
        );
        assert_eq!(
            link("natter://conversation/"),
            Err(LinkError::Missing("conversation"))
        );
        assert_eq!(
            link("natter://conversation/not-an-id"),
            Err(LinkError::ConversationId("not-an-id".to_owned()))
        );
        assert_eq!(
            link("natter://user/b%20b"),
            Err(LinkError::Username("b b".to_owned()))
        );
        assert_eq!(
            link("natter://call/bob?kind=screen"),
            Err(LinkError::Kind("screen".to_owned()))
        );
        assert_eq!(link("natter://call"), Err(LinkError::Missing("username")));
        assert_eq!(link("natter://invite?code=%3Cb%3E"), Err(LinkError::Invite));
    }

    #[test]
    fn an_invite_link_names_its_server_and_code() {
        let server = Url::parse("https://chat.example.org/").unwrap();
        let app_link = natter_client::invites::app_link(&server, "7KQ2-M9XD-ABCD-EFGH");
        assert_eq!(
            link(&app_link),
            Ok(Link::Invite {
                code: "7KQ2-M9XD-ABCD-EFGH".to_owned(),
                server: Some(server),
            })
        );
    }
}
