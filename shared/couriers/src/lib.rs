//! Carriers' tracking payloads, read into shopflow's tracking vocabulary,
//! and how each carrier's calls to us are authenticated. One module per
//! carrier; no network I/O here, so the functions that fetch or receive
//! payloads stay the only place that talks to carriers.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod canada_post;
pub mod chit_chats;
pub mod dhl;
pub mod usps;

mod error;
mod instant;
mod news;
mod payload;
mod text;

pub use error::{AuthError, ParseError};
pub use news::ParcelNews;
