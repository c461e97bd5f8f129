//! Natter's media engine: devices (real and synthetic), codecs, and WebRTC calls.
//!
//! No Tauri and no server types here: the client core drives the engine, the desktop app and
//! the command-line client render and play what it gives them.

pub mod codec;
pub mod devices;
pub mod engine;
pub mod frame;
pub mod jitter;
pub mod ring;
pub mod scale;
pub mod stamp;
pub mod synthetic;
pub mod tone;

pub use frame::{AudioFrame, FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE, VideoFrame, now_us};
