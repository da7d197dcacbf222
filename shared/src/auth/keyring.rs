//! The JWT key ring: HS256 keys by `kid`, one of them active for signing, kept in a Secrets
//! Manager secret as `{"active": "<kid>", "<kid>": "<key>", ...}`.
//!
//! A container reads it once and caches it; it reads it again after the cache's time to live,
//! or when a token names a `kid` it does not know (at most once per 30 s, so forged `kid`s
//! cannot make every request call Secrets Manager). When Secrets Manager fails, the last keys
//! serve on for up to 15 minutes past their time to live (a read is tried again every 5 s, and
//! given 2 s while they could serve); with no keys at all the error is [`KeysUnavailable`], a 503
//! `UNAVAILABLE`. Key material never reaches a log or an error message: it lives in
//! `SecretSlice`s and `Debug` shows the `kid`s only.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use secrecy::{ExposeSecret, SecretSlice};
use tokio::sync::Mutex;

/// Keys shorter than this are refused: HS256 wants at least 256 bits.
const MIN_KEY_BYTES: usize = 32;
/// How often an unknown `kid` may trigger a re-read.
const UNKNOWN_KID_RELOAD_INTERVAL: Duration = Duration::from_secs(30);
/// How long past their time to live the last keys serve while Secrets Manager fails.
const STALE_GRACE: Duration = Duration::from_secs(15 * 60);
/// How long after a failed read the next one waits.
const FAILED_READ_PAUSE: Duration = Duration::from_secs(5);
/// How long a read may take while cached keys could serve instead (the read holds the cache).
const READ_WITH_FALLBACK_TIMEOUT: Duration = Duration::from_secs(2);

/// The key ring cannot be read and no keys recent enough are cached.
#[derive(Debug, thiserror::Error)]
#[error("the JWT key ring cannot be read: {0:#}")]
pub struct KeysUnavailable(anyhow::Error);

/// One version of the key ring.
pub struct Keys {
    active: String,
    keys: BTreeMap<String, SecretSlice<u8>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("active", &self.active)
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keys {
    /// Reads the secret's JSON. Errors name what is wrong, never a key.
    pub fn parse(secret: &str) -> anyhow::Result<Self> {
        let document: BTreeMap<String, String> = serde_json::from_str(secret)
            .map_err(|_| anyhow::anyhow!("the key ring secret is not a JSON object of strings"))?;
        let mut keys = BTreeMap::new();
        let mut active = None;
        for (name, value) in document {
            if name == "active" {
                active = Some(value);
            } else if value.len() < MIN_KEY_BYTES {
                anyhow::bail!("key {name} of the key ring is shorter than {MIN_KEY_BYTES} bytes");
            } else {
                keys.insert(name, SecretSlice::from(value.into_bytes()));
            }
        }
        let active = active.context("the key ring names no active key")?;
        anyhow::ensure!(
            keys.contains_key(&active),
            "the key ring's active key {active} is not in it"
        );
        Ok(Self { active, keys })
    }

    /// The `kid` and key that sign new tokens.
    pub fn active(&self) -> (&str, &[u8]) {
        let key = self
            .keys
            .get(&self.active)
            .map(|k| k.expose_secret())
            .unwrap_or_default();
        (&self.active, key)
    }

    /// The key named `kid`, when the ring has it.
    pub fn get(&self, kid: &str) -> Option<&[u8]> {
        self.keys.get(kid).map(|k| k.expose_secret())
    }
}

struct Cache {
    keys: Option<(Arc<Keys>, Instant)>,
    last_unknown_kid_reload: Option<Instant>,
    last_failed_read: Option<Instant>,
}

/// The key ring of one container.
pub struct KeyRing {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    ttl: Duration,
    cache: Mutex<Cache>,
}

impl KeyRing {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: &str, ttl: Duration) -> Self {
        Self {
            client,
            secret_id: secret_id.to_owned(),
            ttl,
            cache: Mutex::new(Cache {
                keys: None,
                last_unknown_kid_reload: None,
                last_failed_read: None,
            }),
        }
    }

    /// The current keys, read again once the cache is older than its time to live.
    pub async fn keys(&self) -> Result<Arc<Keys>, KeysUnavailable> {
        let mut cache = self.cache.lock().await;
        match &cache.keys {
            Some((keys, loaded)) if loaded.elapsed() < self.ttl => Ok(keys.clone()),
            _ => self.reload(&mut cache).await,
        }
    }

    /// The keys, read again first if they lack `kid` and no such re-read happened lately.
    pub async fn keys_with(&self, kid: &str) -> Result<Arc<Keys>, KeysUnavailable> {
        let keys = self.keys().await?;
        if keys.get(kid).is_some() {
            return Ok(keys);
        }
        let mut cache = self.cache.lock().await;
        let recently = cache
            .last_unknown_kid_reload
            .is_some_and(|at| at.elapsed() < UNKNOWN_KID_RELOAD_INTERVAL);
        if recently {
            return Ok(keys);
        }
        cache.last_unknown_kid_reload = Some(Instant::now());
        tracing::info!(kid, "a token names an unknown key: reading the key ring again");
        self.reload(&mut cache).await
    }

    /// Reads the ring into the cache; when that fails, the cached keys while they are recent
    /// enough.
    async fn reload(&self, cache: &mut Cache) -> Result<Arc<Keys>, KeysUnavailable> {
        let paused = cache
            .last_failed_read
            .is_some_and(|at| at.elapsed() < FAILED_READ_PAUSE);
        let read = if paused {
            Err(anyhow::anyhow!(
                "the last read failed less than {FAILED_READ_PAUSE:?} ago"
            ))
        } else if cache
            .keys
            .as_ref()
            .is_some_and(|(_, loaded)| loaded.elapsed() < self.ttl + STALE_GRACE)
        {
            tokio::time::timeout(READ_WITH_FALLBACK_TIMEOUT, self.read())
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("Secrets Manager did not answer in time")))
        } else {
            self.read().await
        };
        match read {
            Ok(keys) => {
                cache.keys = Some((keys.clone(), Instant::now()));
                cache.last_failed_read = None;
                Ok(keys)
            }
            Err(error) => {
                if !paused {
                    cache.last_failed_read = Some(Instant::now());
                    tracing::warn!(error = format!("{error:#}"), "the key ring cannot be read");
                }
                match &cache.keys {
                    Some((keys, loaded)) if loaded.elapsed() < self.ttl + STALE_GRACE => Ok(keys.clone()),
                    _ => Err(KeysUnavailable(error)),
                }
            }
        }
    }

    async fn read(&self) -> anyhow::Result<Arc<Keys>> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(aws_sdk_secretsmanager::Error::from)
            .context("reading the JWT key ring from Secrets Manager")?;
        Ok(Arc::new(Keys::parse(
            output
                .secret_string()
                .context("the key ring secret has no string")?,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "0123456789abcdef0123456789abcdef-one";
    const K2: &str = "0123456789abcdef0123456789abcdef-two";

    #[test]
    fn the_ring_signs_with_its_active_key_and_knows_the_others() {
        let keys = Keys::parse(&format!(r#"{{"active":"k2","k1":"{K1}","k2":"{K2}"}}"#)).unwrap();
        assert_eq!(keys.active(), ("k2", K2.as_bytes()));
        assert_eq!(keys.get("k1"), Some(K1.as_bytes()));
        assert_eq!(keys.get("k3"), None);
    }

    #[test]
    fn a_broken_ring_is_refused_without_showing_a_key() {
        let cases = [
            format!(r#"{{"k1":"{K1}"}}"#),
            format!(r#"{{"active":"k9","k1":"{K1}"}}"#),
            r#"{"active":"k1","k1":"short-key"}"#.to_owned(),
            format!(r#"{{"active":"k1","k1":"{K1}","n":5}}"#),
            "not json".to_owned(),
        ];
        for secret in cases {
            let error = Keys::parse(&secret).unwrap_err().to_string();
            assert!(!error.contains(K1) && !error.contains("short-key"), "{error}");
        }
    }

    #[test]
    fn debug_output_shows_kids_not_keys() {
        let keys = Keys::parse(&format!(r#"{{"active":"k1","k1":"{K1}"}}"#)).unwrap();
        let shown = format!("{keys:?}");
        assert!(shown.contains("k1") && !shown.contains(K1), "{shown}");
    }
}
