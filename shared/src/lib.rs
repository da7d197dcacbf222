//! What every invoicer function shares: configuration, AWS clients, telemetry, the HTTP glue
//! (one error type, request parsing, responses) and lossless JSON reading.
//!
//! Functions stay thin: their `main.rs` builds clients once through [`aws`] and [`config`], and
//! their handlers speak [`http`]'s types so that errors look the same on every route.

pub mod aws;
pub mod config;
pub mod http;
pub mod json;
pub mod telemetry;
pub mod validation;
