//! Access and refresh tokens: HS256 JWTs with a `kid`, signed by the key ring's active key.
//!
//! Verification pins the algorithm to HS256 and checks signature, `kid`, `iss`, `aud`, `exp`
//! and the token type; whatever fails, the answer is the same 401.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keyring::{KeyRing, Keys};
use super::roles::Role;
use crate::http::{ApiError, Request, read_json};
use crate::json::Object;
use crate::validation::Problems;

pub const ISSUER: &str = "invoicer";
pub const AUDIENCE: &str = "invoicer-api";
/// Access tokens live 15 minutes.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// Refresh tokens live 7 days.
pub const REFRESH_TTL_SECONDS: i64 = 7 * 24 * 60 * 60;
/// Clock skew tolerated on `exp`.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of both token types. A refresh token also names its family (`fam`): the chain of
/// refresh tokens of one login, revoked together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub role: Role,
    pub typ: TokenType,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}

impl Claims {
    fn new(typ: TokenType, user_id: &str, org_id: &str, role: Role, issued_at: i64, jti: &str) -> Self {
        let ttl = match typ {
            TokenType::Access => ACCESS_TTL_SECONDS,
            TokenType::Refresh => REFRESH_TTL_SECONDS,
        };
        Self {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: user_id.to_owned(),
            org: org_id.to_owned(),
            role,
            typ,
            iat: issued_at,
            exp: issued_at + ttl,
            jti: jti.to_owned(),
            fam: None,
        }
    }
}

/// What a login, signup or refresh answers.
#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// The refresh token of a pair, as the family record remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub family: String,
    pub jti: String,
    pub issued_at: i64,
}

/// The largest body a refresh or logout request may have.
const MAX_REFRESH_BODY_BYTES: usize = 16 * 1024;

/// The refresh token of a `{"refresh_token": "..."}` body (refresh and logout).
pub fn refresh_token_in(request: &Request) -> Result<String, ApiError> {
    let body = read_json(request, MAX_REFRESH_BODY_BYTES)?;
    let mut problems = Problems::new();
    let token = Object::read(&body, "", &mut problems).and_then(|mut root| {
        let token = root
            .required_str("refresh_token", &mut problems)
            .map(str::to_owned);
        root.finish(&mut problems);
        token
    });
    match token {
        Some(token) if problems.is_empty() => Ok(token),
        _ => Err(ApiError::Validation(problems.into_errors())),
    }
}

/// Signs and verifies tokens with the key ring.
pub struct Tokens {
    keyring: Arc<KeyRing>,
}

impl Tokens {
    pub fn new(keyring: Arc<KeyRing>) -> Self {
        Self { keyring }
    }

    pub fn keyring(&self) -> &KeyRing {
        &self.keyring
    }

    /// Signs `claims` with the active key.
    pub async fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        sign_with(&*self.keyring.keys().await?, claims)
    }

    /// A new access token and the given refresh token of a family, both for one user.
    pub async fn pair(
        &self,
        user_id: &str,
        org_id: &str,
        role: Role,
        refresh: &RefreshToken,
        now: i64,
    ) -> anyhow::Result<TokenPair> {
        let access = Claims::new(
            TokenType::Access,
            user_id,
            org_id,
            role,
            now,
            &crate::ids::new_id(),
        );
        let mut refresh_claims = Claims::new(
            TokenType::Refresh,
            user_id,
            org_id,
            role,
            refresh.issued_at,
            &refresh.jti,
        );
        refresh_claims.fam = Some(refresh.family.clone());
        Ok(TokenPair {
            access_token: self.sign(&access).await?,
            refresh_token: self.sign(&refresh_claims).await?,
            token_type: "Bearer",
            expires_in: ACCESS_TTL_SECONDS,
        })
    }

    /// The claims of a valid token of type `expected`; any flaw is 401 `UNAUTHENTICATED`.
    pub async fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, ApiError> {
        let kid = signing_kid(token)?;
        let keys = self.keyring.keys_with(&kid).await?;
        verify_signed_by(&keys, &kid, token, expected)
    }
}

/// `claims` signed with the active key of `keys`.
pub fn sign_with(keys: &Keys, claims: &Claims) -> anyhow::Result<String> {
    let (kid, key) = keys.active();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    Ok(jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(key),
    )?)
}

/// The `kid` an HS256 token names in its header; any other token is 401 `UNAUTHENTICATED`.
pub fn signing_kid(token: &str) -> Result<String, ApiError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| ApiError::Unauthenticated)?;
    if header.alg != Algorithm::HS256 {
        return Err(ApiError::Unauthenticated);
    }
    header.kid.ok_or(ApiError::Unauthenticated)
}

/// The claims of `token`, if one of `keys` signed it and it is a valid token of type `expected`.
pub fn verify_with(keys: &Keys, token: &str, expected: TokenType) -> Result<Claims, ApiError> {
    verify_signed_by(keys, &signing_kid(token)?, token, expected)
}

/// [`verify_with`], the header's `kid` read already.
fn verify_signed_by(keys: &Keys, kid: &str, token: &str, expected: TokenType) -> Result<Claims, ApiError> {
    let key = keys.get(kid).ok_or(ApiError::Unauthenticated)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation)
        .map_err(|_| ApiError::Unauthenticated)?
        .claims;
    if claims.typ != expected || (expected == TokenType::Refresh && claims.fam.is_none()) {
        return Err(ApiError::Unauthenticated);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_carry_exactly_the_documented_fields() {
        let claims = Claims::new(TokenType::Access, "u1", "o1", Role::Issuer, 1_000, "j1");
        let json = serde_json::to_value(&claims).unwrap();
        let mut names: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            ["aud", "exp", "iat", "iss", "jti", "org", "role", "sub", "typ"]
        );
        assert_eq!(json["exp"], 1_000 + ACCESS_TTL_SECONDS);
        assert_eq!(json["typ"], "access");
    }

    #[test]
    fn a_refresh_token_lives_seven_days() {
        let claims = Claims::new(TokenType::Refresh, "u1", "o1", Role::Owner, 0, "j1");
        assert_eq!(claims.exp, 7 * 24 * 3600);
    }
}
