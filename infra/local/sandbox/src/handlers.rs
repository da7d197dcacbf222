//! The routes bills and credit notes share, each bound to its [`Kind`]: create
//! (`.../validate`), list, show, the PDF, XML and AttachedDocument downloads, the email content,
//! send-email and delete by reference. A create runs the faults of its reference, Factus's input
//! validation (422, nothing persisted), then the document's life (`ledger`): 201 with the
//! document, 422 with DIAN's rejection (persisted), or 409 (a pending document blocks the
//! account, or the reference was already validated).

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::Date;

use crate::accounts::Account;
use crate::auth;
use crate::clock;
use crate::credit_notes;
use crate::dian::text;
use crate::documents;
use crate::envelope::{self, Listing};
use crate::faults::Fault;
use crate::ledger::{self, Deletion, DianFault, Document, Draft, Kind, Submission};
use crate::rules::Problem;
use crate::state::{AccountId, Shared, lock};
use crate::views;

/// How long a "timed out" create holds its answer: longer than any client waits.
const HELD_ANSWER: Duration = Duration::from_secs(60);

/// How many times a day a document may be emailed.
const EMAILS_A_DAY: usize = 2;

/// The routes of `kind` under `base` (`/v2/bills`), its delete at `delete_path`.
pub fn routes(kind: Kind, base: &str, delete_path: &str) -> Router<Shared> {
    let file = |file: File| {
        get(
            move |shared: State<Shared>, account: Extension<AccountId>, number: Path<String>| {
                download(kind, file, shared, account, number)
            },
        )
    };
    Router::new()
        .route(
            &format!("{base}/validate"),
            post(
                move |shared: State<Shared>, account: Extension<AccountId>, body: Bytes| {
                    create(kind, shared, account, body)
                },
            ),
        )
        .route(
            base,
            get(
                move |shared: State<Shared>, account: Extension<AccountId>, listing: Listing| {
                    list(kind, shared, account, listing)
                },
            ),
        )
        .route(
            &format!("{base}/{{number}}"),
            get(
                move |shared: State<Shared>, account: Extension<AccountId>, number: Path<String>| {
                    show(kind, shared, account, number)
                },
            ),
        )
        .route(&format!("{base}/{{number}}/download-pdf"), file(File::Pdf))
        .route(&format!("{base}/{{number}}/download-xml"), file(File::Xml))
        // `descargar-xml.md` writes the route with a trailing slash.
        .route(&format!("{base}/{{number}}/download-xml/"), file(File::Xml))
        .route(
            &format!("{base}/{{number}}/download-attached-document-xml"),
            file(File::AttachedDocument),
        )
        .route(
            &format!("{base}/{{number}}/email-content"),
            get(
                move |shared: State<Shared>, account: Extension<AccountId>, number: Path<String>| {
                    email_content(kind, shared, account, number)
                },
            ),
        )
        .route(
            &format!("{base}/{{number}}/send-email"),
            post(
                move |shared: State<Shared>,
                      account: Extension<AccountId>,
                      number: Path<String>,
                      body: Bytes| { send_email(kind, shared, account, number, body) },
            ),
        )
        .route(
            delete_path,
            delete(
                move |shared: State<Shared>, account: Extension<AccountId>, reference: Path<String>| {
                    remove(kind, shared, account, reference)
                },
            ),
        )
}

/// The problem a `validation_error_rate` fault gives a create.
fn injected_problem() -> Problem {
    (
        "customer.identification".to_owned(),
        "El campo customer.identification no es válido.".to_owned(),
    )
}

async fn create(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reference = body
        .get("reference_code")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let (fault, latency, limit) = {
        let mut sandbox = lock(&shared);
        let (fault, latency) = sandbox.faults.draw(&reference);
        (fault, latency, sandbox.rate_limit)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = match fault {
        Fault::PaymentRequired => envelope::payment_required(),
        Fault::ServerError => envelope::unavailable(),
        Fault::RateLimited => {
            lock(&shared).stats.injected_rate_limited += 1;
            auth::too_many(limit, 1)
        }
        Fault::ValidationError => envelope::invalid(&[injected_problem()]),
        Fault::None | Fault::Timeout | Fault::DianSlow | Fault::DianRejection => {
            let dian = match fault {
                Fault::DianSlow => DianFault::Slow,
                Fault::DianRejection => DianFault::Rejection,
                _ => DianFault::None,
            };
            decide(kind, &shared, account, body, &reference, dian)
        }
    };
    if fault == Fault::Timeout {
        // Persisted and validated, but answered too late: what a client cannot tell from a lost
        // request.
        tokio::time::sleep(HELD_ANSWER).await;
    }
    answer
}

/// Validates and submits a create, under the lock.
fn decide(
    kind: Kind,
    shared: &Shared,
    account: AccountId,
    body: Value,
    reference: &str,
    dian: DianFault,
) -> Response {
    let now = clock::now();
    let mut sandbox = lock(shared);
    let Some((account, stats)) = sandbox.account_and_stats(account) else {
        return envelope::unauthenticated();
    };
    let draft = match prepare(kind, account, body, reference, now.date()) {
        Ok(draft) => draft,
        Err(problems) => return envelope::invalid(&problems),
    };
    let noun = kind.noun();
    let submission = ledger::submit(account, kind, draft, dian, now);
    let document = account.ledger(kind).by_reference(reference);
    match (submission, document) {
        (Submission::Answered { validated }, Some(document)) => {
            if validated {
                *stats.issued.entry(reference.to_owned()).or_default() += 1;
                stats
                    .issuers
                    .insert(reference.to_owned(), account.company.nit.clone());
            }
            tracing::info!(%reference, number = %document.number, state = document.pending().unwrap_or("validated"), "{noun} answered");
            let message = if document.is_validated() {
                format!("Documento con el código de referencia {reference} registrado y validado con éxito")
            } else {
                format!("Documento con el código de referencia {reference} registrado con éxito")
            };
            envelope::created(&message, views::document(document, account))
        }
        (Submission::Rejected, Some(document)) => {
            tracing::info!(%reference, number = %document.number, "{noun} rejected by DIAN");
            let errors: Vec<Problem> = document
                .errors()
                .as_object()
                .into_iter()
                .flatten()
                .map(|(rule, message)| (rule.clone(), message.as_str().unwrap_or_default().to_owned()))
                .collect();
            envelope::validation("El documento contiene errores de validación", &errors)
        }
        (Submission::Blocked { pending }, _) => {
            tracing::info!(%reference, %pending, "create blocked by a pending document");
            envelope::conflict(&format!(
                "Se encontró una {noun} pendiente por enviar a la DIAN. Elimínela o reenvíela con su mismo reference_code antes de crear un nuevo documento."
            ))
        }
        (Submission::Used, _) => envelope::conflict(&format!(
            "El código de referencia {reference} ya fue usado en una {noun} validada por la DIAN."
        )),
        (Submission::Exhausted, _) | (_, None) => envelope::invalid(&[(
            "numbering_range_id".to_owned(),
            "El rango de numeración no tiene consecutivos disponibles.".to_owned(),
        )]),
    }
}

/// Factus's input validation of a create: the body's rules, its numbering range, and for a
/// credit note the bill it references.
fn prepare(
    kind: Kind,
    account: &Account,
    body: Value,
    reference: &str,
    today: Date,
) -> Result<Draft, Vec<Problem>> {
    let mut problems = kind.check(&body);
    let range = account
        .ranges
        .choose(kind.range_document(), body.get("numbering_range_id"), today);
    if let Err(problem) = &range
        && !problems.iter().any(|(field, _)| field == &problem.0)
    {
        problems.push(problem.clone());
    }
    let (customer, bill_number) = match kind {
        Kind::Bill => (body.get("customer").cloned().unwrap_or(Value::Null), None),
        Kind::CreditNote => credit_notes::resolve(account, &body, &mut problems),
    };
    match range {
        Ok(range_id) if problems.is_empty() => Ok(Draft {
            reference_code: reference.to_owned(),
            body,
            customer,
            bill_number,
            range_id,
        }),
        _ => Err(problems),
    }
}

/// The list's filters (`listar-y-filtrar.md`, `ver-filtrar.md`). Text filters match a part of
/// the field, without regard to case, as Laravel's `LIKE` filters do: a client looking for one
/// reference must still check the rows it gets.
fn matches(document: &Document, query: &HashMap<String, String>) -> bool {
    let filter = |key: &str| {
        query
            .get(&format!("filter[{key}]"))
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    };
    let contains = |field: Option<String>, wanted: &str| {
        field.is_some_and(|field| field.to_lowercase().contains(&wanted.to_lowercase()))
    };
    let customer = &document.customer;
    let names = || {
        [text(customer, "names"), text(customer, "company")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let day = |key: &str| {
        query
            .get(&format!("filter[created_at][{key}]"))
            .filter(|day| !day.is_empty())
            .map(|day| (clock::iso_date(document.created_at.date()), day.trim().to_owned()))
    };
    filter("identification").is_none_or(|wanted| contains(text(customer, "identification"), wanted))
        && filter("names").is_none_or(|wanted| contains(Some(names()), wanted))
        && filter("number").is_none_or(|wanted| contains(Some(document.number.clone()), wanted))
        && filter("prefix").is_none_or(|wanted| document.range.prefix.eq_ignore_ascii_case(wanted))
        && filter("reference_code")
            .is_none_or(|wanted| contains(Some(document.reference_code.clone()), wanted))
        && filter("status").is_none_or(|wanted| matches!(wanted, "1" | "true") == document.is_validated())
        && day("start_date").is_none_or(|(created, start)| created >= start)
        && day("end_date").is_none_or(|(created, end)| created <= end)
}

/// Runs `work` on the account, under the lock.
fn with_account(
    shared: &Shared,
    account: AccountId,
    work: impl FnOnce(&mut Account) -> Response,
) -> Response {
    match lock(shared).account(account) {
        Some(account) => work(account),
        None => envelope::unauthenticated(),
    }
}

async fn list(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    listing: Listing,
) -> Response {
    with_account(&shared, account, |account| {
        // Newest first.
        let documents: Vec<&Document> = account
            .ledger(kind)
            .iter()
            .rev()
            .filter(|document| matches(document, &listing.query))
            .collect();
        listing.page(documents, |document| views::row(document, account))
    })
}

fn not_found(kind: Kind) -> Response {
    envelope::not_found(&format!("No se encontró la {} solicitada.", kind.noun()))
}

async fn show(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(number): Path<String>,
) -> Response {
    with_account(&shared, account, |account| {
        match account.ledger(kind).by_number(&number) {
            Some(document) => envelope::ok("Solicitud exitosa", views::document(document, account)),
            None => not_found(kind),
        }
    })
}

/// Runs `work` on the account if its document `number` is validated.
fn with_validated(
    kind: Kind,
    shared: &Shared,
    account: AccountId,
    number: &str,
    work: impl FnOnce(&mut Account) -> Response,
) -> Response {
    with_account(shared, account, |account| {
        match account.ledger(kind).by_number(number) {
            Some(document) if document.is_validated() => work(account),
            Some(_) => envelope::conflict(&format!(
                "La {} {number} no ha sido validada por la DIAN.",
                kind.noun()
            )),
            None => not_found(kind),
        }
    })
}

/// Answers `answer` from the validated document `number` of the account.
fn from_validated(
    kind: Kind,
    shared: &Shared,
    account: AccountId,
    number: &str,
    answer: impl FnOnce(&Document, &Account) -> Response,
) -> Response {
    with_validated(kind, shared, account, number, |account| {
        match account.ledger(kind).by_number(number) {
            Some(document) => answer(document, account),
            None => not_found(kind),
        }
    })
}

#[derive(Clone, Copy)]
enum File {
    Pdf,
    Xml,
    AttachedDocument,
}

async fn download(
    kind: Kind,
    file: File,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(number): Path<String>,
) -> Response {
    from_validated(kind, &shared, account, &number, |document, account| {
        let (pdf_name, xml_name, attached_name) = documents::file_names(document);
        let data = match file {
            File::Pdf => {
                json!({"file_name": pdf_name, "pdf_base_64_encoded": STANDARD.encode(documents::pdf(document, account))})
            }
            File::Xml => {
                json!({"file_name": xml_name, "xml_base_64_encoded": STANDARD.encode(documents::xml(document, account))})
            }
            File::AttachedDocument => json!({
                "file_name": attached_name,
                "xml_base_64_encoded": STANDARD.encode(documents::attached_document(document, account)),
            }),
        };
        envelope::ok("Solicitud exitosa", data)
    })
}

async fn email_content(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(number): Path<String>,
) -> Response {
    from_validated(kind, &shared, account, &number, |document, account| {
        let (pdf_name, _, attached_name) = documents::file_names(document);
        let pdf = documents::pdf(document, account);
        let attached = documents::attached_document(document, account);
        let zip = documents::zip(&[(&pdf_name, &pdf), (&attached_name, attached.as_bytes())]);
        let type_code = match kind {
            Kind::Bill => "01",
            Kind::CreditNote => "91",
        };
        let company = &account.company;
        // DIAN's subject: NIT; issuer; number; document type; trade name; line of business.
        let subject = format!(
            "{};{};{number};{type_code};{};",
            company.nit, company.name, company.name
        );
        envelope::ok(
            "Solicitud exitosa",
            json!({"subject": subject, "attached_document": STANDARD.encode(zip)}),
        )
    })
}

fn email_problem(body: &Value) -> Option<Problem> {
    let email = text(body, "email");
    let valid = email.as_deref().is_some_and(|email| {
        email.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
    });
    let message = match email {
        None => "El campo email es obligatorio.",
        Some(_) if !valid => "El campo email debe ser una dirección de correo válida.",
        Some(_) => return None,
    };
    Some(("email".to_owned(), message.to_owned()))
}

async fn send_email(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(number): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(problem) = email_problem(&body) {
        return envelope::invalid(&[problem]);
    }
    let today = clock::today();
    with_validated(kind, &shared, account, &number, |account| {
        let Some(document) = account.ledger_mut(kind).by_number_mut(&number) else {
            return not_found(kind);
        };
        if document.emails.iter().filter(|day| **day == today).count() >= EMAILS_A_DAY {
            return envelope::conflict(&format!(
                "La {} {number} ya se envió {EMAILS_A_DAY} veces hoy por correo.",
                kind.noun()
            ));
        }
        document.emails.push(today);
        envelope::done("Correo enviado con éxito")
    })
}

async fn remove(
    kind: Kind,
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(reference): Path<String>,
) -> Response {
    let mut sandbox = lock(&shared);
    let Some((account, stats)) = sandbox.account_and_stats(account) else {
        return envelope::unauthenticated();
    };
    let noun = kind.noun();
    match account.ledger_mut(kind).delete(&reference) {
        Deletion::Deleted => {
            *stats.deleted.entry(reference.clone()).or_default() += 1;
            tracing::info!(%reference, "{noun} deleted");
            envelope::done(&format!(
                "Documento con el código de referencia {reference} eliminado con éxito"
            ))
        }
        Deletion::Validated => envelope::conflict(&format!(
            "La {noun} con el código de referencia {reference} ya fue validada por la DIAN y no se puede eliminar."
        )),
        Deletion::NotFound => envelope::not_found(&format!(
            "No se encontró una {noun} con el código de referencia {reference}."
        )),
    }
}
