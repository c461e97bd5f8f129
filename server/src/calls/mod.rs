//! Calls on the server: the referee (pure call state) and the ICE servers with TURN credentials
//! handed to clients; call signaling over the WebSocket and call history build on them.

pub mod referee;
pub mod turn;
