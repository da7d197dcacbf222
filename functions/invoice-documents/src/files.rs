//! `GET /v1/invoices/{id}/pdf` and `/xml` (and a credit note's): the file is fetched from Factus
//! once (a call on the account's rate budget), kept in the documents bucket under its
//! organization and document (`invoices/…` or `credit-notes/…`), and
//! answered with a redirect to a presigned link valid for a few minutes, so no document passes
//! through Lambda's 6 MB response limit, and a second download costs Factus nothing.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use shared::auth::{Caller, Permission};
use shared::http::{HandlerResult, Request};
use shared::invoices::Kind;
use shared::provider::files::BillFile;
use shared::provider::in_request::{calls_within, refusal};

use crate::Documents;

/// How long a link to a file works.
const LINK_LIFETIME: Duration = Duration::from_secs(300);

/// The documents bucket.
pub struct Kept {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Kept {
    pub fn new(sdk: &shared::aws::SdkConfig, bucket: &str) -> Self {
        // An endpoint of its own (the local emulator) serves buckets by path, not by host name.
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: bucket.to_owned(),
        }
    }

    async fn has(&self, key: &str) -> anyhow::Result<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) => Err(aws_sdk_s3::Error::from(error).into()),
        }
    }

    async fn put(&self, key: &str, file: BillFile, bytes: Vec<u8>, name: &str) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(file.content_type())
            .content_disposition(format!("inline; filename=\"{name}\""))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(aws_sdk_s3::Error::from)?;
        Ok(())
    }

    async fn link(&self, key: &str) -> anyhow::Result<String> {
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(PresigningConfig::expires_in(LINK_LIFETIME)?)
            .await
            .map_err(aws_sdk_s3::Error::from)?;
        Ok(presigned.uri().to_owned())
    }
}

pub async fn redirect(state: &Documents, request: &Request, file: BillFile) -> HandlerResult {
    let caller = Caller::authorize(request, &state.services.tokens, Permission::Read).await?;
    let (document, number, reference) = crate::accepted_document(state, &caller, request).await?;
    let folder = match document.kind() {
        Kind::Invoice => "invoices",
        Kind::CreditNote => "credit-notes",
    };
    let key = format!("{folder}/{}/{}.{}", caller.org_id, document.id, file.extension());
    if !state.kept.has(&key).await? {
        let provider = crate::provider_of(state, &caller.org_id).await?;
        let calls = calls_within(request, state.providers.call_timeout());
        let bytes = provider
            .download(&calls, &number, &reference, file)
            .await
            .map_err(refusal)?
            .map_err(|refused| crate::no_such_bill(&number, &refused))?;
        let name = format!("{number}.{}", file.extension());
        state.kept.put(&key, file, bytes, &name).await?;
    }
    shared::http::redirect(&state.kept.link(&key).await?)
}
