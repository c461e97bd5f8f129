//! Announcing that a user came online or went offline to everyone sharing a conversation.

use natter_protocol::{ServerFrame, UserId};

use crate::{
    contacts,
    db::Db,
    live::{Live, Outbound},
    util::now_ms,
};

/// Records and announces a change of presence. Announces the state at the time of sending,
/// so two quick changes in a row cannot leave contacts with a stale one.
pub async fn announce(db: &Db, live: &dyn Live, user_id: UserId, went_offline: bool) {
    let now = now_ms();
    if went_offline {
        let stored = db
            .execute_write(
                sqlx::query("UPDATE users SET last_seen_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(user_id.to_string()),
            )
            .await;
        if let Err(error) = stored {
            tracing::warn!(%error, "could not store last-seen time");
        }
    }
    let contacts = match contacts::list(db, user_id).await {
        Ok(contacts) => contacts,
        Err(error) => {
            tracing::warn!(%error, "could not load contacts to announce presence");
            return;
        }
    };
    let online = live.is_online(&user_id);
    let frame = ServerFrame::Presence {
        user_id,
        online,
        last_seen_at: (!online).then_some(now),
    };
    match serde_json::to_string(&frame) {
        Ok(json) => live.send_to_users(&contacts, Outbound::Frame(json.into())),
        Err(error) => tracing::error!(%error, "could not encode a presence frame"),
    }
}
