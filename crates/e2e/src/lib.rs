//! Harness for the Natter desktop app under test: the end-to-end test (`natter-e2e`) and the
//! desktop benchmark (`natter-desktop-bench`) drive the real app through tauri-driver.

pub mod account_story;
pub mod call_story;
pub mod files_story;
pub mod harness;
pub mod links_story;
pub mod measure;
pub mod media;
pub mod processes;
pub mod reach_story;
pub mod responses_story;
pub mod slow_upgrades;
pub mod update_story;
