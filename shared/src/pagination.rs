//! Pages and their cursors. A cursor is opaque to clients and bound to what it pages: the
//! organization, the route and its filters (not `limit`). It is signed with a key derived from
//! the JWT key ring, so a forged, tampered or foreign cursor is a 400 `INVALID_CURSOR`.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::auth::KeyRing;
use crate::auth::keyring::Keys;
use crate::http::ApiError;
use crate::store::PageKey;

/// A cursor longer than this is not one of ours.
const MAX_CURSOR_LENGTH: usize = 2048;
/// Separates cursor signatures from every other use of the key ring's keys.
const CONTEXT: &[u8] = b"invoicer/pagination-cursor/v1";

/// One page of a list, as every list endpoint answers it.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What a cursor pages: the organization, the route, and the filters in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub org_id: String,
    pub route: &'static str,
    pub filters: Vec<(&'static str, String)>,
}

impl Scope {
    fn describe(&self) -> String {
        let filters: Vec<String> = self
            .filters
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!("{} {}?{}", self.org_id, self.route, filters.join("&"))
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// The key ring's `kid` whose derived key signed the cursor.
    k: String,
    /// The scope, as [`Scope::describe`] writes it.
    s: String,
    /// Where the next page starts.
    p: PageKey,
}

fn signing_key(master: &[u8]) -> hmac::Key {
    let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, master), CONTEXT);
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// The cursor of the page after `last`, or `None` when there is no next page.
pub async fn encode(
    keyring: &KeyRing,
    scope: &Scope,
    last: Option<PageKey>,
) -> anyhow::Result<Option<String>> {
    let Some(last) = last else { return Ok(None) };
    let keys = keyring.keys().await?;
    seal(&keys, scope, last).map(Some)
}

/// Where the page of `cursor` starts, if the cursor is ours and was made for `scope`.
pub async fn decode(keyring: &KeyRing, scope: &Scope, cursor: &str) -> Result<PageKey, ApiError> {
    let sealed = Sealed::open(cursor)?;
    let keys = keyring.keys_with(sealed.kid()).await?;
    sealed.verify(&keys, scope)
}

/// A cursor for `last`, signed with the active key of `keys`.
pub fn seal(keys: &Keys, scope: &Scope, last: PageKey) -> anyhow::Result<String> {
    let (kid, master) = keys.active();
    let payload = serde_json::to_vec(&Payload {
        k: kid.to_owned(),
        s: scope.describe(),
        p: last,
    })?;
    let tag = hmac::sign(&signing_key(master), &payload);
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    ))
}

/// A cursor taken apart, its signature not yet checked.
pub struct Sealed {
    payload: Vec<u8>,
    tag: Vec<u8>,
    parsed: Payload,
}

impl Sealed {
    /// Takes a client's cursor apart; anything that is not the shape of ours is `INVALID_CURSOR`.
    pub fn open(cursor: &str) -> Result<Self, ApiError> {
        if cursor.len() > MAX_CURSOR_LENGTH {
            return Err(ApiError::InvalidCursor);
        }
        let (payload, tag) = cursor.split_once('.').ok_or(ApiError::InvalidCursor)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ApiError::InvalidCursor)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| ApiError::InvalidCursor)?;
        let parsed = serde_json::from_slice(&payload).map_err(|_| ApiError::InvalidCursor)?;
        Ok(Self { payload, tag, parsed })
    }

    /// The `kid` of the key the cursor says signed it.
    pub fn kid(&self) -> &str {
        &self.parsed.k
    }

    /// Where the page starts, if one of `keys` signed the cursor for `scope`.
    pub fn verify(self, keys: &Keys, scope: &Scope) -> Result<PageKey, ApiError> {
        let master = keys.get(&self.parsed.k).ok_or(ApiError::InvalidCursor)?;
        hmac::verify(&signing_key(master), &self.payload, &self.tag).map_err(|_| ApiError::InvalidCursor)?;
        if self.parsed.s != scope.describe() {
            return Err(ApiError::InvalidCursor);
        }
        Ok(self.parsed.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_names_its_organization_route_and_filters() {
        let scope = Scope {
            org_id: "o1".into(),
            route: "GET /v1/invoices",
            filters: vec![("status", "queued".into())],
        };
        assert_eq!(scope.describe(), "o1 GET /v1/invoices?status=queued");
    }

    #[test]
    fn derived_keys_differ_from_their_master() {
        let master = b"0123456789abcdef0123456789abcdef";
        let direct = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, master), b"x");
        let derived = hmac::sign(&signing_key(master), b"x");
        assert_ne!(direct.as_ref(), derived.as_ref());
    }
}
