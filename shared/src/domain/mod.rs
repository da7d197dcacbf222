//! Domain types that cannot hold invalid values: each is built by a `parse` that says what is
//! wrong, and after that nothing re-checks it.

pub mod batch;
pub mod batch_csv;
pub mod credit;
pub mod email;
pub mod invoice;
pub mod money;
pub mod nit;
pub mod text;
pub mod totals;
