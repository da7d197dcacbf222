//! Tokens made by hand, to attack the API with: signed with the stack's own key ring (read from
//! the emulator, as only an insider could), or forged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

use super::{emulator_sdk, stack};

/// The stack's key ring: the active kid and its key.
pub async fn active_key() -> (String, Vec<u8>) {
    let secrets = aws_sdk_secretsmanager::Client::new(&emulator_sdk().await);
    let value = secrets
        .get_secret_value()
        .secret_id(stack().reference("JwtKeyRing").unwrap())
        .send()
        .await
        .unwrap();
    let ring: Map<String, Value> = serde_json::from_str(value.secret_string().unwrap()).unwrap();
    let kid = ring["active"].as_str().unwrap().to_owned();
    let key = ring[&kid].as_str().unwrap().as_bytes().to_vec();
    (kid, key)
}

/// The claims of `token`, read without verifying.
pub fn claims_of(token: &str) -> Map<String, Value> {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Signs `claims` with HS256 under `kid`.
pub fn sign(claims: &Map<String, Value>, kid: &str, key: &[u8]) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(key)).unwrap()
}

/// A token with any header, unsigned or with a made-up signature.
pub fn forge(header: &Value, claims: &Map<String, Value>, signature: &str) -> String {
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    format!(
        "{}.{}.{signature}",
        part(header),
        part(&Value::Object(claims.clone()))
    )
}
