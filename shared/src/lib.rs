//! What every invoicer function shares: configuration, AWS clients, telemetry, the HTTP glue
//! (one error type, request parsing, responses) and lossless JSON reading.
//!
//! Functions stay thin: their `main.rs` builds clients once through [`aws`] and [`config`], and
//! their handlers speak [`http`]'s types so that errors look the same on every route.

pub mod auth;
pub mod aws;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod credit_notes;
pub mod domain;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod invoice_pages;
pub mod invoices;
pub mod json;
pub mod metrics;
pub mod numbering;
pub mod organization;
pub mod pagination;
pub mod provider;
pub mod queue;
pub mod services;
pub mod store;
pub mod submission;
pub mod telemetry;
pub mod validation;
pub mod webhooks;
pub mod write_ledger;

/// Re-exported so that functions wrap passwords and keys in the same types `shared` takes.
pub use secrecy;
