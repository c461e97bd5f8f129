//! Calls on the server: the referee (pure call state), the switchboard that runs it against
//! sockets and time, the call history, the ICE servers with TURN credentials, and the embedded STUN/TURN
//! listener.

pub mod history;
pub mod referee;
pub mod relay;
pub mod signaling;
pub mod turn;
