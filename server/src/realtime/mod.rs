//! The realtime shell: the WebSocket session of one client ([`socket`]) and the presence
//! announcements it makes ([`presence`]). Who is connected, and the fan-out to them, is
//! `crate::hub`, below the domain modules, which reach it only as `crate::live::Live`.

pub mod presence;
pub mod socket;
