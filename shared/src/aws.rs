//! The AWS SDK configuration, loaded once per container, and the clients built from it.
//!
//! `aws-config` reads region, credentials and `AWS_ENDPOINT_URL` from the environment, which is
//! how the same binary talks to DynamoDB, SQS and Secrets Manager in AWS and to the emulator of
//! the local stack. Clients built from one [`SdkConfig`] share its HTTP connection pool, and
//! count the requests they send (see [`Invocation`]).
//!
//! Their TLS trusts the roots of Amazon Trust Services only, which sign every AWS endpoint
//! (`aws_roots.pem`: Amazon Root CA 1-4 and the Starfield root that cross-signs them). The
//! system's store trusts far more than AWS needs, and reading it (hundreds of files) cost each
//! cold start about 4 ms.

use std::sync::atomic::{AtomicU64, Ordering};

pub use aws_config::SdkConfig;
use aws_smithy_http_client::HttpClientError;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

const AWS_ROOT_CERTIFICATES: &str = include_str!("aws_roots.pem");

/// Loads the shared SDK configuration from the environment (region, credentials, endpoint).
pub async fn load() -> SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match https_client() {
        Ok(client) => loader.http_client(client),
        Err(error) => {
            tracing::warn!(%error, "the AWS roots cannot be read: trusting the system's store");
            loader
        }
    }
    .load()
    .await
}

/// An HTTPS client (rustls on aws-lc) that trusts the AWS roots only.
fn https_client() -> Result<SharedHttpClient, HttpClientError> {
    let roots = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOT_CERTIFICATES.as_bytes());
    let context = TlsContext::builder().with_trust_store(roots).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https())
}

pub fn dynamodb(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .interceptor(CallCounter(&DYNAMODB_CALLS))
        .interceptor(crate::write_ledger::WriteLedger);
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::from(sdk).interceptor(CallCounter(&SQS_CALLS));
    aws_sdk_sqs::Client::from_conf(config.build())
}

pub fn secrets_manager(sdk: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config =
        aws_sdk_secretsmanager::config::Builder::from(sdk).interceptor(CallCounter(&SECRETS_MANAGER_CALLS));
    aws_sdk_secretsmanager::Client::from_conf(config.build())
}

static DYNAMODB_CALLS: AtomicU64 = AtomicU64::new(0);
static SQS_CALLS: AtomicU64 = AtomicU64::new(0);
static SECRETS_MANAGER_CALLS: AtomicU64 = AtomicU64::new(0);

/// The requests this process sent to AWS so far (retries included), by service. A Lambda
/// process serves one invocation at a time, so the difference across an invocation is its own:
/// every invocation's last log line says it (what `make bench` adds up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Calls {
    dynamodb: u64,
    sqs: u64,
    secrets_manager: u64,
}

impl Calls {
    fn so_far() -> Self {
        Self {
            dynamodb: DYNAMODB_CALLS.load(Ordering::Relaxed),
            sqs: SQS_CALLS.load(Ordering::Relaxed),
            secrets_manager: SECRETS_MANAGER_CALLS.load(Ordering::Relaxed),
        }
    }

    /// The calls made since `earlier`.
    fn since(self, earlier: Self) -> Self {
        Self {
            dynamodb: self.dynamodb.saturating_sub(earlier.dynamodb),
            sqs: self.sqs.saturating_sub(earlier.sqs),
            secrets_manager: self.secrets_manager.saturating_sub(earlier.secrets_manager),
        }
    }
}

/// One invocation's clock and AWS calls, from its start: its last log line says both.
#[derive(Debug)]
pub struct Invocation {
    started: std::time::Instant,
    calls: Calls,
}

impl Invocation {
    pub fn start() -> Self {
        Self {
            started: std::time::Instant::now(),
            calls: Calls::so_far(),
        }
    }

    /// Logs the invocation's last line: `message`, the HTTP `status` if any, how long it took
    /// and the AWS calls it made.
    pub fn finish(self, message: &str, status: Option<u16>) {
        let calls = Calls::so_far().since(self.calls);
        tracing::info!(
            status,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            dynamodb_calls = calls.dynamodb,
            sqs_calls = calls.sqs,
            secrets_manager_calls = calls.secrets_manager,
            "{message}"
        );
    }
}

/// Counts each request a client transmits, on its service's counter.
#[derive(Debug)]
struct CallCounter(&'static AtomicU64);

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
