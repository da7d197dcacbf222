//! Key builders: the one place that knows how items are keyed. Every item of an organization
//! lives under a partition key starting `ORG#<id>`; only emails and login attempts are keyed
//! globally. Invoices, their reference codes and their index entries are spread over
//! [`SHARDS`] partition keys each (write sharding), so that a 10,000-invoice lot never puts more
//! on one key than DynamoDB's 1,000 write units a second.

use crate::invoices::Kind;

pub fn org(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub const ORG_PROFILE: &str = "ORG";

/// The organization's provider account's numbering ranges, as last read.
pub const NUMBERING_RANGES: &str = "RANGES";

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

/// How many partition keys an organization's invoices (and each of their index lists, and their
/// reference codes) spread over.
pub const SHARDS: u32 = 16;

/// An invoice's shard, from the random part of its id (a ULID's last 80 bits).
pub fn invoice_shard(invoice_id: &str) -> u32 {
    random_bits(invoice_id, SHARDS)
}

/// A new invoice id in `shard`: a ULID whose random part ends in the shard's bits, so that a
/// batch can store its invoices in groups of one shard.
pub fn new_invoice_id(shard: u32) -> String {
    let id = ulid::Ulid::generate().0;
    let shards = u128::from(SHARDS);
    ulid::Ulid(id - id % shards + u128::from(shard) % shards).to_string()
}

/// The random part of a ULID `id`, modulo `count` (0 for what is not a ULID).
fn random_bits(id: &str, count: u32) -> u32 {
    ulid::Ulid::from_string(id).map_or(0, |ulid| {
        u32::try_from(ulid.random() % u128::from(count)).unwrap_or(0)
    })
}

/// The partition of an organization's invoices of one shard.
pub fn invoices(org_id: &str, shard: u32) -> String {
    format!("ORG#{org_id}#INV#{shard:02}")
}

/// The partition of an invoice.
pub fn invoice_partition(org_id: &str, invoice_id: &str) -> String {
    invoices(org_id, invoice_shard(invoice_id))
}

/// The partition of a reference code's uniqueness item: its shard is the code's FNV-1a hash,
/// as the code is the client's and not random.
pub fn reference_partition(org_id: &str, reference_code: &str) -> String {
    let hash = reference_code.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("ORG#{org_id}#REF#{:02}", hash % SHARDS)
}

pub fn invoice(invoice_id: &str) -> String {
    format!("INV#{invoice_id}")
}

pub const INVOICE_PREFIX: &str = "INV#";

/// What a webhook event's sort key starts with.
pub const EVENT_PREFIX: &str = "EVT#";

/// A webhook delivery's sort key begins so (`store::deliveries`).
pub const DELIVERY_PREFIX: &str = "DELIVERY#";

/// The partition of a webhook event: its organization's events spread over [`SHARDS`], as
/// invoices are (one per invoice ending).
pub fn event_partition(org_id: &str, event_id: &str) -> String {
    format!("ORG#{org_id}#EVT#{:02}", invoice_shard(event_id))
}

pub fn event(event_id: &str) -> String {
    format!("{EVENT_PREFIX}{event_id}")
}

/// Credit notes are keyed as invoices are, under their own names: `ORG#<org>#CN#<shard>`,
/// `CN#<id>`, `…#CNSTATUS#<status>#<shard>`, and `CNREF#<code>` among the reference codes (a
/// note's code is unique among notes, as at Factus).
pub const CREDIT_NOTE_PREFIX: &str = "CN#";

/// The partition of a document of `kind`.
pub fn document_partition(kind: Kind, org_id: &str, id: &str) -> String {
    documents(kind, org_id, invoice_shard(id))
}

/// The partition of an organization's documents of `kind`, of one shard.
pub fn documents(kind: Kind, org_id: &str, shard: u32) -> String {
    match kind {
        Kind::Invoice => invoices(org_id, shard),
        Kind::CreditNote => format!("ORG#{org_id}#CN#{shard:02}"),
    }
}

/// The sort key of a document of `kind`.
pub fn document(kind: Kind, id: &str) -> String {
    match kind {
        Kind::Invoice => invoice(id),
        Kind::CreditNote => format!("{CREDIT_NOTE_PREFIX}{id}"),
    }
}

/// GSI1: an organization's documents of `kind` and one status, of one shard.
pub fn documents_by_status(kind: Kind, org_id: &str, status: &str, shard: u32) -> String {
    match kind {
        Kind::Invoice => by_status(org_id, status, shard),
        Kind::CreditNote => format!("ORG#{org_id}#CNSTATUS#{status}#{shard:02}"),
    }
}

/// The uniqueness item of a reference code of `kind` (in [`reference_partition`]).
pub fn document_reference(kind: Kind, reference_code: &str) -> String {
    match kind {
        Kind::Invoice => reference(reference_code),
        Kind::CreditNote => format!("CNREF#{reference_code}"),
    }
}

/// The uniqueness item of a reference code within an organization.
pub fn reference(reference_code: &str) -> String {
    format!("REF#{reference_code}")
}

/// An idempotency record: `scope` is a digest of the concrete path and the client's key.
pub fn idempotency(scope: &str) -> String {
    format!("IDEM#{scope}")
}

/// GSI1: an organization's invoices of one status, of one shard.
pub fn by_status(org_id: &str, status: &str, shard: u32) -> String {
    format!("ORG#{org_id}#STATUS#{status}#{shard:02}")
}

/// GSI2: a batch's invoices, of one shard.
pub fn by_batch(org_id: &str, batch_id: &str, shard: u32) -> String {
    format!("ORG#{org_id}#BATCH#{batch_id}#{shard:02}")
}

/// How many partitions the recovery index (GSI3) spreads over.
pub const RECOVERY_SHARDS: u32 = 8;

/// GSI3's partition of an invoice or a batch: its shard, from the random part of its id.
pub fn recovery_shard(id: &str) -> String {
    recovery_partition(random_bits(id, RECOVERY_SHARDS))
}

pub fn recovery_partition(shard: u32) -> String {
    format!("RECOVER#{shard}")
}

/// GSI3's sort key: when the invoice (or batch) is due for recovery (epoch milliseconds,
/// zero-padded so that text order is time order), then which one.
pub fn recovery_due(due_ms: i64, org_id: &str, id: &str) -> String {
    format!("{due_ms:015}#{org_id}#{id}")
}

/// The pace of an organization's batch writes.
pub const WRITE_PACE: &str = "WRITE_PACE";

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

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of `keys` each distinct key got, fewest and most.
    fn spread(keys: impl Iterator<Item = String>) -> (usize, usize, usize) {
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for key in keys {
            *counts.entry(key).or_default() += 1;
        }
        let (fewest, most) = (counts.values().min(), counts.values().max());
        (
            counts.len(),
            fewest.copied().unwrap_or(0),
            most.copied().unwrap_or(0),
        )
    }

    #[test]
    fn a_lot_of_invoices_spreads_evenly_over_every_shard() {
        let ids: Vec<String> = (0..16_000).map(|_| crate::ids::new_id()).collect();
        let (keys, fewest, most) = spread(ids.iter().map(|id| invoice_partition("org", id)));
        assert_eq!(keys, 16);
        assert!(fewest > 850 && most < 1_150, "{fewest}..{most} invoices a shard");
        let (keys, fewest, most) = spread(ids.iter().map(|id| by_status("org", "queued", invoice_shard(id))));
        assert_eq!(keys, 16);
        assert!(
            fewest > 850 && most < 1_150,
            "{fewest}..{most} index entries a shard"
        );
    }

    #[test]
    fn the_recovery_index_spreads_evenly_over_its_shards() {
        let (keys, fewest, most) = spread((0..8_000).map(|_| recovery_shard(&crate::ids::new_id())));
        assert_eq!(keys, 8);
        assert!(fewest > 850 && most < 1_150, "{fewest}..{most} entries a shard");
    }

    #[test]
    fn an_invoice_id_made_for_a_shard_is_in_it_and_still_time_ordered() {
        for shard in 0..SHARDS {
            let id = new_invoice_id(shard);
            assert!(crate::ids::is_id(&id));
            assert_eq!(invoice_shard(&id), shard);
        }
        let (earlier, _) = (
            new_invoice_id(15),
            std::thread::sleep(std::time::Duration::from_millis(2)),
        );
        assert!(
            new_invoice_id(0) > earlier,
            "ids sort by time, whatever their shard"
        );
    }

    #[test]
    fn sequential_reference_codes_spread_over_every_shard() {
        let (keys, fewest, most) =
            spread((0..16_000).map(|n| reference_partition("org", &format!("FV-{n:05}"))));
        assert_eq!(keys, 16);
        assert!(fewest > 850 && most < 1_150, "{fewest}..{most} codes a shard");
    }
}
