//! Passwords: the length policy, and argon2id hashing with OWASP's parameters (19 MiB, two
//! passes, one lane). Hashing runs on the blocking pool: it is deliberately slow.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// Checks the policy: 10 to 128 characters.
pub fn check_policy(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if (MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        Ok(())
    } else {
        Err(format!("must be {MIN_LENGTH} to {MAX_LENGTH} characters"))
    }
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(
        Params::DEFAULT_M_COST,
        Params::DEFAULT_T_COST,
        Params::DEFAULT_P_COST,
        None,
    )
    .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_now(password: &[u8]) -> anyhow::Result<String> {
    Ok(argon2()?
        .hash_password(password)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?
        .to_string())
}

/// The PHC string of `password`, with a fresh salt.
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(password.expose_secret().as_bytes()))
        .await
        .context("the hashing task")?
}

/// A hash to verify against when there is no user, so that an unknown email costs the same time
/// as a wrong password.
fn dummy_hash() -> anyhow::Result<&'static str> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_now(b"no user has this password; it only takes time")?;
    Ok(DUMMY.get_or_init(|| hash))
}

/// Whether `password` matches `stored`; with no stored hash, spends the same time and says no.
pub async fn verify(password: SecretString, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(hash) => (hash.as_str(), true),
            None => (dummy_hash()?, false),
        };
        let parsed = PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("a stored password hash: {e}"))?;
        let matches = argon2()?
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok();
        Ok(matches && real)
    })
    .await
    .context("the verifying task")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_10_to_128_characters() {
        assert!(check_policy("short").is_err());
        assert!(check_policy(&"a".repeat(10)).is_ok());
        assert!(check_policy(&"ñ".repeat(128)).is_ok());
        assert!(check_policy(&"a".repeat(129)).is_err());
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash(SecretString::from("correct horse battery")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(
            verify(SecretString::from("correct horse battery"), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify(SecretString::from("wrong horse battery"), Some(hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn without_a_user_the_answer_is_no_even_for_the_dummy_password() {
        let dummy = SecretString::from("no user has this password; it only takes time");
        assert!(!verify(dummy, None).await.unwrap());
    }
}
