//! Bills (`facturas/`, the SDK's `bills.ts`): the shared document routes under `/v2/bills`,
//! deleted at `/v2/bills/destroy/reference/{reference_code}`, and the RADIAN events of a bill:
//! `GET /v2/bills/{number}/radian/events` and `POST /v2/bills/{number}/radian/events/{event_type}`
//! (`eventos-de-facturas.md`, `aceptacion-tacita.md`). DIAN's order of events holds: the
//! acknowledgement (030) first, the receipt of the goods (032) before a claim (031) or an
//! acceptance (033, 034), one outcome only, and tacit acceptance only for bills on credit.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::clock;
use crate::cufe::sha384_hex;
use crate::dian::{self, text};
use crate::envelope;
use crate::handlers;
use crate::ledger::{Document, Event, Kind};
use crate::rules::Problem;
use crate::state::{AccountId, Shared, lock};

/// "Códigos de eventos".
const EVENTS: &[(&str, &str)] = &[
    ("030", "Acuse de recibo de Factura Electrónica de Venta"),
    ("031", "Reclamo de la Factura Electrónica de Venta"),
    ("032", "Recibo del bien y/o prestación del servicio"),
    ("033", "Aceptación expresa"),
    ("034", "Aceptación tácita"),
];

/// "Códigos de conceptos de reclamo".
const CLAIM_CONCEPTS: &[&str] = &["01", "02", "03", "04"];

const OUTCOMES: &[&str] = &["031", "033", "034"];

pub fn routes() -> Router<Shared> {
    handlers::routes(
        Kind::Bill,
        "/v2/bills",
        "/v2/bills/destroy/reference/{reference_code}",
    )
    .route("/v2/bills/{number}/radian/events", get(events))
    .route("/v2/bills/{number}/radian/events/{event_type}", post(emit))
}

fn event_json(event: &Event) -> Value {
    let name = EVENTS
        .iter()
        .find(|(code, _)| *code == event.code)
        .map(|(_, name)| *name);
    json!({
        "number": event.number, "cude": event.cude, "event_code": event.code, "event_name": name,
        "effective_date": clock::iso_date(event.at.date()),
        "effective_time": format!("{:02}:{:02}:{:02}", event.at.hour(), event.at.minute(), event.at.second()),
    })
}

fn events_json(document: &Document) -> Value {
    document.events.iter().map(event_json).collect()
}

fn not_found() -> Response {
    envelope::not_found("No se encontró la factura solicitada.")
}

async fn events(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(number): Path<String>,
) -> Response {
    let mut sandbox = lock(&shared);
    let document = sandbox
        .account(account)
        .and_then(|account| account.bills.by_number(&number));
    match document {
        Some(document) => envelope::ok("Solicitud exitosa", events_json(document)),
        None => not_found(),
    }
}

/// What keeps `code` from being emitted on `document` now, if anything.
fn refusal(document: &Document, code: &str, body: &Value) -> Option<Problem> {
    let has = |code: &str| document.events.iter().any(|event| event.code == code);
    let problem = |field: &str, message: &str| Some((field.to_owned(), message.to_owned()));
    if !EVENTS.iter().any(|(known, _)| *known == code) {
        return problem("event_type", "El valor seleccionado en event_type no es válido.");
    }
    for field in ["identification", "first_name", "last_name"] {
        if text(body, field).is_none() {
            return problem(field, &format!("El campo {field} es obligatorio."));
        }
    }
    let document_code = text(body, "identification_document_code");
    if document_code.is_none_or(|code| codes::name(codes::IDENTIFICATION_DOCUMENTS, &code).is_none()) {
        return problem(
            "identification_document_code",
            "El valor seleccionado en identification_document_code no es válido.",
        );
    }
    if code == "031"
        && !text(body, "claim_concept_code").is_some_and(|concept| CLAIM_CONCEPTS.contains(&concept.as_str()))
    {
        return problem(
            "claim_concept_code",
            "El campo claim_concept_code es obligatorio para un reclamo.",
        );
    }
    let credit = document
        .body
        .get("payment_details")
        .and_then(Value::as_array)
        .is_some_and(|details| {
            details
                .iter()
                .any(|detail| text(detail, "payment_form").as_deref() == Some("2"))
        });
    if has(code) {
        problem("event_type", "El evento ya fue registrado para esta factura.")
    } else if code != "030" && !has("030") {
        problem("event_type", "La factura no tiene acuse de recibo (030).")
    } else if code != "030" && code != "032" && !has("032") {
        problem(
            "event_type",
            "La factura no tiene recibo del bien o prestación del servicio (032).",
        )
    } else if OUTCOMES.contains(&code) && OUTCOMES.iter().any(|outcome| has(outcome)) {
        problem("event_type", "La factura ya fue reclamada o aceptada.")
    } else if code == "034" && !credit {
        problem(
            "event_type",
            "La aceptación tácita solo aplica a facturas a crédito.",
        )
    } else {
        None
    }
}

async fn emit(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path((number, code)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let now = clock::now();
    let mut sandbox = lock(&shared);
    let Some(account) = sandbox.account(account) else {
        return envelope::unauthenticated();
    };
    let nit = account.company.nit.clone();
    let Some(document) = account.bills.by_number_mut(&number) else {
        return not_found();
    };
    if !document.is_validated() {
        return envelope::conflict(&format!("La factura {number} no ha sido validada por la DIAN."));
    }
    if let Some(problem) = refusal(document, &code, &body) {
        return envelope::invalid(&[problem]);
    }
    let sequence = document.events.len() + 1;
    let event_number = format!("EV{sequence:03}-{number}");
    let (date, time) = (clock::iso_date(now.date()), clock::issue_time(now));
    let identification = text(&body, "identification").unwrap_or_default();
    let cude = sha384_hex(&format!(
        "{event_number}{date}{time}{nit}{identification}{code}{number}{}{}",
        document.cufe,
        dian::SOFTWARE_PIN
    ));
    document.events.push(Event {
        number: event_number,
        cude,
        code,
        at: now,
    });
    envelope::created("Evento registrado con éxito", events_json(document))
}
