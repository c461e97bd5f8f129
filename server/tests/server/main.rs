//! Integration tests: the real server on a loopback port, each test once on SQLite and once on
//! a PostgreSQL cluster started by the harness.

mod harness;

mod account_control;
mod accounts;
mod administration;
mod calls;
mod configuration;
mod conversations;
mod crashes;
mod exposure;
mod files;
mod floods;
mod message_features;
mod messages;
mod operations;
mod profiles;
mod realtime;
mod robustness;
mod updates;
