//! The realtime half of the server: who is connected ([`hub`]), the WebSocket session of one
//! client ([`socket`]), and presence announcements ([`presence`]).

pub mod hub;
pub mod presence;
pub mod socket;
