//! The AWS SDK configuration, loaded once per container.
//!
//! `aws-config` reads region, credentials and `AWS_ENDPOINT_URL` from the environment, which is
//! how the same binary talks to DynamoDB, SQS and Secrets Manager in AWS and to the emulator of
//! the local stack. Clients built from one [`SdkConfig`] share its HTTP connection pool.

pub use aws_config::SdkConfig;

/// Loads the shared SDK configuration from the environment (region, credentials, endpoint).
pub async fn load() -> SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
