//! How a durable event changes the cached picture of a conversation. Pure functions: the cache
//! (`cache.rs`) loads the snapshot, calls [`apply`], and stores the result in one transaction.
//!
//! A snapshot (the protocol's `Conversation`) is exact up to its `last_seq`: it came from the
//! server at that point, and every later event is applied on top. An event at or below
//! `last_seq` is already part of it, so it changes nothing but the stored message itself; that
//! is what keeps unread counts from counting a message twice when a snapshot fetched from the
//! server races with the event stream.

use natter_protocol::{Conversation, Event, EventBody, Message, MessageId, ReadPosition, UserId};

/// What applying an event did, beyond the snapshot itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effect {
    /// A message to store (created, edited or deleted), replacing any older copy by id.
    pub message: Option<Message>,
    /// A member's read position moved.
    pub receipt: Option<(UserId, natter_protocol::Seq)>,
    /// I am no longer a member: forget the conversation.
    pub left: bool,
    /// The snapshot cannot be brought up to date from the event alone (new members' profiles,
    /// my unread count after another device read): fetch the conversation again.
    pub refetch: bool,
    /// My read position moved: recount unread messages.
    pub recount_unread: bool,
    /// A reaction to apply to the stored message, if it is stored.
    pub reaction: Option<ReactionChange>,
}

/// A `reaction_added` (`added`) or `reaction_removed` event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionChange {
    pub message_id: MessageId,
    pub user_id: UserId,
    pub emoji: String,
    pub added: bool,
}

/// Applies one event to the snapshot.
pub fn apply(conversation: &mut Conversation, event: &Event, me: UserId) -> Effect {
    let fresh = event.seq > conversation.last_seq;
    let mut effect = Effect::default();
    match &event.body {
        EventBody::ConversationCreated { .. } => {}
        EventBody::MessageCreated { message } => {
            effect.message = Some(message.clone());
            if fresh {
                conversation.last_activity_at =
                    conversation.last_activity_at.max(message.created_at);
                if message.counts_as_unread_for(me) && message.seq > conversation.read_seq {
                    conversation.unread_count += 1;
                }
                conversation.last_message = Some(message.clone());
            }
        }
        EventBody::MessageEdited { message } | EventBody::MessageDeleted { message } => {
            effect.message = Some(message.clone());
            if fresh {
                let was_unread =
                    message.would_be_unread_for(me) && message.seq > conversation.read_seq;
                if message.deleted_at.is_some() && was_unread {
                    conversation.unread_count = (conversation.unread_count - 1).max(0);
                }
            }
            // The preview shows the latest state of the last message, whatever the order.
            if let Some(last) = &mut conversation.last_message
                && last.id == message.id
            {
                *last = message.clone();
            }
        }
        EventBody::ReadReceipt { user_id, read_seq } => {
            effect.receipt = Some((*user_id, *read_seq));
            match conversation
                .read_positions
                .iter_mut()
                .find(|position| position.user_id == *user_id)
            {
                Some(position) => position.read_seq = position.read_seq.max(*read_seq),
                None => conversation.read_positions.push(ReadPosition {
                    user_id: *user_id,
                    read_seq: *read_seq,
                }),
            }
            if *user_id == me && *read_seq > conversation.read_seq {
                conversation.read_seq = *read_seq;
                effect.recount_unread = true;
            }
        }
        EventBody::MembersAdded { user_ids, .. } => {
            if fresh
                && user_ids
                    .iter()
                    .any(|id| conversation.members.iter().all(|m| m.id != *id))
            {
                effect.refetch = true;
            }
        }
        EventBody::MemberRemoved { user_id, .. } => {
            if *user_id == me {
                effect.left = true;
            } else {
                conversation.members.retain(|member| member.id != *user_id);
            }
        }
        EventBody::OwnerChanged { owner_id } => {
            if fresh {
                conversation.owner_id = Some(*owner_id);
            }
        }
        EventBody::ConversationRenamed { name } => {
            if fresh {
                conversation.name = Some(name.clone());
            }
        }
        EventBody::ReactionAdded {
            message_id,
            user_id,
            emoji,
        }
        | EventBody::ReactionRemoved {
            message_id,
            user_id,
            emoji,
        } => {
            let added = matches!(event.body, EventBody::ReactionAdded { .. });
            if let Some(last) = &mut conversation.last_message
                && last.id == *message_id
            {
                last.apply_reaction(*user_id, emoji, added);
            }
            effect.reaction = Some(ReactionChange {
                message_id: *message_id,
                user_id: *user_id,
                emoji: emoji.clone(),
                added,
            });
        }
        // From a newer server: what it changed is unknown, so the conversation is fetched anew
        // (protocol 5.3); its seq still moves the cursor.
        EventBody::Unknown => effect.refetch = fresh,
    }
    if fresh {
        conversation.last_seq = event.seq;
    }
    effect
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter_protocol::{CallEndReason, CallKind, CallRecord, ConversationKind, Seq};
    use uuid::Uuid;

    const ME: Uuid = Uuid::from_u128(1);
    const BOB: Uuid = Uuid::from_u128(2);

    fn conversation(last_seq: Seq) -> Conversation {
        Conversation {
            id: Uuid::from_u128(10),
            kind: ConversationKind::Direct,
            name: None,
            owner_id: None,
            members: Vec::new(),
            created_at: 0,
            last_activity_at: 0,
            last_seq,
            last_message: None,
            unread_count: 0,
            read_seq: 0,
            read_positions: Vec::new(),
            muted: false,
        }
    }

    fn created(seq: Seq, sender_id: UserId) -> Event {
        Event {
            conversation_id: Uuid::from_u128(10),
            seq,
            at: seq * 1000,
            body: EventBody::MessageCreated {
                message: Message {
                    id: Uuid::from_u128(100 + seq as u128),
                    conversation_id: Uuid::from_u128(10),
                    seq,
                    sender_id,
                    client_id: Uuid::now_v7(),
                    body: "hi".into(),
                    created_at: seq * 1000,
                    edited_at: None,
                    deleted_at: None,
                    call: None,
                    reply_to: None,
                    mentions: Vec::new(),
                    reactions: Vec::new(),
                    attachments: Vec::new(),
                },
            },
        }
    }

    fn call_record(seq: Seq, caller_id: UserId, end_reason: CallEndReason) -> Event {
        let mut event = created(seq, caller_id);
        if let EventBody::MessageCreated { message } = &mut event.body {
            message.body = String::new();
            message.call = Some(CallRecord {
                call_id: Uuid::from_u128(500 + seq as u128),
                caller_id,
                callee_id: if caller_id == ME { BOB } else { ME },
                kind: CallKind::Voice,
                started_at: 0,
                answered_at: None,
                ended_at: 30_000,
                duration_ms: 0,
                end_reason,
                conversation_id: Some(Uuid::from_u128(10)),
            });
        }
        event
    }

    #[test]
    fn only_calls_i_missed_count_as_unread() {
        let mut snapshot = conversation(1);
        apply(
            &mut snapshot,
            &call_record(2, BOB, CallEndReason::Missed),
            ME,
        );
        assert_eq!(snapshot.unread_count, 1, "a missed call from Bob");
        apply(
            &mut snapshot,
            &call_record(3, BOB, CallEndReason::Completed),
            ME,
        );
        apply(
            &mut snapshot,
            &call_record(4, BOB, CallEndReason::Declined),
            ME,
        );
        apply(
            &mut snapshot,
            &call_record(5, ME, CallEndReason::Missed),
            ME,
        );
        assert_eq!(
            snapshot.unread_count, 1,
            "answered, declined and my own calls are not unread"
        );
    }

    #[test]
    fn messages_from_others_count_as_unread_once() {
        let mut snapshot = conversation(1);
        apply(&mut snapshot, &created(2, BOB), ME);
        apply(&mut snapshot, &created(3, ME), ME);
        assert_eq!(snapshot.unread_count, 1);
        assert_eq!(snapshot.last_seq, 3);
        assert_eq!(snapshot.last_activity_at, 3000);
    }

    #[test]
    fn an_event_the_snapshot_already_includes_changes_nothing_but_the_message() {
        let mut snapshot = conversation(5);
        snapshot.unread_count = 1;
        let effect = apply(&mut snapshot, &created(4, BOB), ME);
        assert_eq!(snapshot.unread_count, 1);
        assert_eq!(snapshot.last_seq, 5);
        assert!(effect.message.is_some());
    }

    #[test]
    fn deleting_an_unread_message_lowers_the_count() {
        let mut snapshot = conversation(1);
        apply(&mut snapshot, &created(2, BOB), ME);
        let mut deleted = created(2, BOB);
        let EventBody::MessageCreated { message } = deleted.body else {
            unreachable!("built as created")
        };
        deleted.seq = 3;
        deleted.body = EventBody::MessageDeleted {
            message: Message {
                body: String::new(),
                deleted_at: Some(3000),
                ..message
            },
        };
        apply(&mut snapshot, &deleted, ME);
        assert_eq!(snapshot.unread_count, 0);
        assert_eq!(
            snapshot.last_message.and_then(|m| m.deleted_at),
            Some(3000),
            "the preview shows the tombstone"
        );
    }

    #[test]
    fn my_own_receipt_moves_my_read_position_and_asks_for_a_recount() {
        let mut snapshot = conversation(3);
        let receipt = Event {
            conversation_id: snapshot.id,
            seq: 4,
            at: 0,
            body: EventBody::ReadReceipt {
                user_id: ME,
                read_seq: 3,
            },
        };
        let effect = apply(&mut snapshot, &receipt, ME);
        assert_eq!(snapshot.read_seq, 3);
        assert!(effect.recount_unread);
        assert_eq!(effect.receipt, Some((ME, 3)));
    }

    fn reaction(seq: Seq, message_seq: Seq, user_id: UserId, emoji: &str, added: bool) -> Event {
        let message_id = Uuid::from_u128(100 + message_seq as u128);
        let emoji = emoji.to_owned();
        Event {
            conversation_id: Uuid::from_u128(10),
            seq,
            at: seq * 1000,
            body: if added {
                EventBody::ReactionAdded {
                    message_id,
                    user_id,
                    emoji,
                }
            } else {
                EventBody::ReactionRemoved {
                    message_id,
                    user_id,
                    emoji,
                }
            },
        }
    }

    #[test]
    fn reactions_change_the_message_and_the_preview_not_the_unread_count() {
        let mut snapshot = conversation(1);
        apply(&mut snapshot, &created(2, BOB), ME);
        let effect = apply(&mut snapshot, &reaction(3, 2, ME, "👍", true), ME);
        assert_eq!(
            effect.reaction,
            Some(ReactionChange {
                message_id: Uuid::from_u128(102),
                user_id: ME,
                emoji: "👍".into(),
                added: true
            })
        );
        apply(&mut snapshot, &reaction(4, 2, BOB, "👍", true), ME);
        apply(&mut snapshot, &reaction(5, 2, BOB, "🎉", true), ME);
        apply(&mut snapshot, &reaction(6, 2, ME, "👍", false), ME);
        let last = snapshot.last_message.clone().expect("a last message");
        assert_eq!(
            last.reactions
                .iter()
                .map(|r| (r.emoji.as_str(), r.user_ids.clone()))
                .collect::<Vec<_>>(),
            [("👍", vec![BOB]), ("🎉", vec![BOB])]
        );
        assert_eq!(snapshot.unread_count, 1, "a reaction is not a message");
        assert_eq!(snapshot.last_seq, 6);
    }

    #[test]
    fn an_unknown_kind_moves_the_cursor_and_asks_for_the_conversation() {
        let mut snapshot = conversation(3);
        let unknown = Event {
            conversation_id: snapshot.id,
            seq: 4,
            at: 0,
            body: EventBody::Unknown,
        };
        assert!(apply(&mut snapshot, &unknown, ME).refetch);
        assert_eq!(snapshot.last_seq, 4);
        assert!(!apply(&mut snapshot, &unknown, ME).refetch, "already seen");
    }
}
