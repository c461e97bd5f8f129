//! Calls on the server: the referee (pure call state) for now; call signaling over the
//! WebSocket, call history and TURN credentials build on it.

pub mod referee;
