//! An accepted invoice's or credit note's documents, for any role: `GET /v1/invoices/{id}/pdf`
//! and `/xml` (and `/v1/credit-notes/{id}/...`) answer a redirect to a short-lived link to the
//! file ([`files`]); owners, admins and issuers may `POST .../send-email` to have Factus send it
//! to the customer, or to another address ([`email`]). Before DIAN accepted it there is nothing
//! to give: 409.

use std::time::Duration;

use lambda_http::http::Method;
use shared::auth::Caller;
use shared::bootstrap::State;
use shared::config::{Config, vars};
use shared::http::{ApiError, HandlerResult, Request, path_param};
use shared::invoices::{Invoice, Kind, Status};
use shared::provider::directory::ProviderDirectory;
use shared::provider::files::BillFile;
use shared::provider::files::Refused;
use shared::provider::in_request::refusal;
use shared::provider::{Provider, ProviderRef};
use shared::services::Services;

mod email;
mod files;

/// What this function holds: the common services, the accounts that serve organizations, and
/// the documents bucket.
pub struct Documents {
    services: Services,
    providers: ProviderDirectory,
    kept: files::Kept,
}

impl State for Documents {
    fn build(sdk: &shared::aws::SdkConfig, config: &Config) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(config.number(vars::PROVIDER_TIMEOUT_SECONDS, 10)?);
        let services = Services::build(sdk, config)?;
        Ok(Self {
            providers: ProviderDirectory::from_config(sdk, config, services.store.clone(), timeout)?,
            kept: files::Kept::new(sdk, config.documents_bucket()?),
            services,
        })
    }
}

/// The gateway sends this function six routes (template.yaml): the method and the last segment
/// of the path say which, its first segments whose document.
pub async fn handle(state: &Documents, request: Request) -> HandlerResult {
    let path = request.uri().path().to_owned();
    match (request.method().clone(), path.rsplit('/').next()) {
        (Method::GET, Some("pdf")) => files::redirect(state, &request, BillFile::Pdf).await,
        (Method::GET, Some("xml")) => files::redirect(state, &request, BillFile::Xml).await,
        (Method::POST, Some("send-email")) => email::send(state, &request).await,
        _ => Err(ApiError::NotFound),
    }
}

/// The kind of document a request's path names.
fn kind_of(request: &Request) -> Kind {
    if request.uri().path().starts_with("/v1/credit-notes/") {
        Kind::CreditNote
    } else {
        Kind::Invoice
    }
}

/// What the API calls a document of `kind`.
fn noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "invoice",
        Kind::CreditNote => "credit note",
    }
}

/// The caller's invoice (or credit note) `{id}` with its number, once DIAN accepted it (an
/// annulled invoice was), and its provider reference.
async fn accepted_document(
    state: &Documents,
    caller: &Caller,
    request: &Request,
) -> Result<(Invoice, String, ProviderRef), ApiError> {
    let id = path_param(request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    let kind = kind_of(request);
    let document = state
        .services
        .store
        .get_document(kind, &caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match (&document.state.status, document.state.number.clone()) {
        (Status::Accepted | Status::Annulled, Some(number)) => {
            let reference = ProviderRef::of(&document);
            Ok((document, number, reference))
        }
        (status, _) => Err(ApiError::InvalidState(format!(
            "the {} is {}: its documents exist once DIAN accepted it",
            noun(kind),
            status.as_str()
        ))),
    }
}

/// Factus has no document of this number in the account that serves its organization now.
fn no_such_bill(number: &str, refused: &Refused) -> ApiError {
    tracing::warn!(
        message = refused.message,
        "Factus has no document of an accepted invoice or credit note"
    );
    ApiError::InvalidState(format!(
        "Factus gives nothing of document {number} through the organization's account (the account that issued it may no longer be connected): {}",
        refused.message
    ))
}

/// The account that serves the caller's organization.
async fn provider_of(state: &Documents, org_id: &str) -> Result<std::sync::Arc<Provider>, ApiError> {
    state
        .providers
        .of(org_id)
        .await
        .map_err(refusal)?
        .ok_or(ApiError::ProviderNotConfigured)
}
