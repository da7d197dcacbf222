//! An accepted invoice's documents, for any role: `GET /v1/invoices/{id}/pdf` and `/xml` answer
//! a redirect to a short-lived link to the file ([`files`]); owners, admins and issuers may
//! `POST /v1/invoices/{id}/send-email` to have Factus send it to the customer, or to another
//! address ([`email`]). Before the invoice is accepted there is nothing to give: 409.

use std::time::Duration;

use lambda_http::http::Method;
use shared::auth::Caller;
use shared::bootstrap::State;
use shared::config::{Config, vars};
use shared::http::{ApiError, HandlerResult, Request, path_param};
use shared::invoices::{Invoice, Status};
use shared::provider::directory::ProviderDirectory;
use shared::provider::files::BillFile;
use shared::provider::files::Refused;
use shared::provider::in_request::refusal;
use shared::provider::{Provider, provider_reference};
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

/// The gateway sends this function the three routes (template.yaml): the method and the last
/// segment of the path say which.
pub async fn handle(state: &Documents, request: Request) -> HandlerResult {
    let path = request.uri().path().to_owned();
    match (request.method().clone(), path.rsplit('/').next()) {
        (Method::GET, Some("pdf")) => files::redirect(state, &request, BillFile::Pdf).await,
        (Method::GET, Some("xml")) => files::redirect(state, &request, BillFile::Xml).await,
        (Method::POST, Some("send-email")) => email::send(state, &request).await,
        _ => Err(ApiError::NotFound),
    }
}

/// The caller's invoice `{id}` with its number, once accepted, and its provider reference.
async fn accepted_invoice(
    state: &Documents,
    caller: &Caller,
    request: &Request,
) -> Result<(Invoice, String, String), ApiError> {
    let id = path_param(request, "id")?;
    if !shared::ids::is_id(&id) {
        return Err(ApiError::NotFound);
    }
    let invoice = state
        .services
        .store
        .get_invoice(&caller.org_id, &id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match (&invoice.state.status, invoice.state.number.clone()) {
        (Status::Accepted, Some(number)) => {
            let reference =
                provider_reference(&caller.org_id, invoice.document.input.reference_code.as_str());
            Ok((invoice, number, reference))
        }
        (status, _) => Err(ApiError::InvalidState(format!(
            "the invoice is {}: its documents exist once DIAN accepted it",
            status.as_str()
        ))),
    }
}

/// Factus has no bill of this invoice in the account that serves its organization now.
fn no_such_bill(number: &str, refused: &Refused) -> ApiError {
    tracing::warn!(
        message = refused.message,
        "Factus has no bill of an accepted invoice"
    );
    ApiError::InvalidState(format!(
        "Factus gives nothing of invoice {number} through the organization's account (the account that issued it may no longer be connected): {}",
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
