//! The black-box integration suite: one test binary that drives the local stack as clients,
//! queues and operators would. `make test` starts the stack and points `INVOICER_STACK` at it;
//! with `make dev` running, `cargo test -p integration-tests` attaches to that stack instead.
//!
//! Tests share one stack and run in parallel, so each works on its own data.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should fail loudly"
)]

mod auth;
mod batches;
mod chaos;
mod cli;
mod credit_notes;
mod documents;
mod emulator;
mod events;
mod health;
mod invoices;
mod logs;
mod organization;
mod provider;
mod provider_accounts;
mod provisioning;
mod roles;
mod rotation;
mod routing;
mod sandbox_contract;
mod security;
mod submission;
mod support;
mod webhooks;
