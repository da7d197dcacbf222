//! The local stack of invoicer: the whole system on one machine, without an AWS account or
//! Docker. It reads `template.yaml`, creates its tables, queues and secrets in an AWS emulator,
//! runs every function's own binary on the Lambda Runtime API, serves the HTTP API as API
//! Gateway would, and feeds the functions' queues to them as Lambda's SQS event source does.
//! Nothing here knows a function by name: the template is the only source.

pub mod cors;
pub mod examples;
pub mod faults;
pub mod functions;
pub mod gateway;
pub mod poller;
pub mod processes;
pub mod provision;
pub mod schedule;
pub mod stack;
pub mod state;
pub mod template;
