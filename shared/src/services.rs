//! What most API functions hold, built once per container: the table and the token service
//! (whose key ring is read lazily, on the first request that needs it).

use std::sync::Arc;

use crate::auth::{KeyRing, Tokens};
use crate::aws::SdkConfig;
use crate::bootstrap::State;
use crate::config::Config;
use crate::store::Store;

pub struct Services {
    pub store: Store,
    pub tokens: Tokens,
}

impl Services {
    pub fn keyring(&self) -> &KeyRing {
        self.tokens.keyring()
    }
}

impl State for Services {
    fn build(sdk: &SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let keyring = KeyRing::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            config.jwt_secret_id()?,
            config.key_ring_cache(),
        );
        Ok(Self {
            store: Store::new(sdk, config.table_name()?),
            tokens: Tokens::new(Arc::new(keyring)),
        })
    }
}
