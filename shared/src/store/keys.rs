//! Key builders: the one place that knows how items are keyed. Every item of an organization
//! lives under `ORG#<id>`; only emails and login attempts are keyed globally.

pub fn org(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub const ORG_PROFILE: &str = "ORG";

pub fn user(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const USER_PREFIX: &str = "USER#";

pub fn session(family: &str) -> String {
    format!("SESSION#{family}")
}

pub fn email(email: &str) -> String {
    format!("EMAIL#{email}")
}

pub const EMAIL: &str = "EMAIL";

pub fn login(email: &str) -> String {
    format!("LOGIN#{email}")
}

pub const LOGIN: &str = "LOGIN";

pub fn invoice(invoice_id: &str) -> String {
    format!("INV#{invoice_id}")
}

pub const INVOICE_PREFIX: &str = "INV#";

/// The uniqueness item of a reference code within an organization.
pub fn reference(reference_code: &str) -> String {
    format!("REF#{reference_code}")
}

/// An idempotency record: `scope` is a digest of the concrete path and the client's key.
pub fn idempotency(scope: &str) -> String {
    format!("IDEM#{scope}")
}

/// GSI1: an organization's invoices of one status.
pub fn by_status(org_id: &str, status: &str) -> String {
    format!("ORG#{org_id}#STATUS#{status}")
}

/// GSI2: a batch's invoices.
pub fn by_batch(org_id: &str, batch_id: &str) -> String {
    format!("ORG#{org_id}#BATCH#{batch_id}")
}

/// How many partitions the recovery index (GSI3) spreads over.
pub const RECOVERY_SHARDS: u32 = 8;

/// GSI3's partition of an invoice or a batch: its shard, from the random last character of its
/// id.
pub fn recovery_shard(id: &str) -> String {
    let last = id.bytes().last().map_or(0, u32::from);
    recovery_partition(last % RECOVERY_SHARDS)
}

pub fn recovery_partition(shard: u32) -> String {
    format!("RECOVER#{shard}")
}

/// GSI3's sort key: when the invoice (or batch) is due for recovery (epoch milliseconds,
/// zero-padded so that text order is time order), then which one.
pub fn recovery_due(due_ms: i64, org_id: &str, id: &str) -> String {
    format!("{due_ms:015}#{org_id}#{id}")
}

pub fn batch(batch_id: &str) -> String {
    format!("BATCH#{batch_id}")
}

pub const BATCH_PREFIX: &str = "BATCH#";

/// An invalid input of a batch, in input order.
pub fn batch_error(batch_id: &str, sequence: usize) -> String {
    format!("ERR#{batch_id}#{sequence:06}")
}

pub fn batch_errors_prefix(batch_id: &str) -> String {
    format!("ERR#{batch_id}#")
}

/// The items of one provider account (not of an organization: one account may serve many).
pub fn provider_account(account: &str) -> String {
    format!("PROVIDER#{account}")
}

/// The rate budget of a provider account.
pub const BUDGET: &str = "BUDGET";
