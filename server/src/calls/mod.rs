//! Calls on the server: the referee (pure call state), the switchboard that runs it against
//! sockets and time, the call history, and the ICE servers with TURN credentials.

pub mod history;
pub mod referee;
pub mod signaling;
pub mod turn;
