//! Numbering ranges (`rangos-de-numeracion/facturacion/`, the SDK's `numbering-ranges.ts`): each
//! account's ranges, seeded as the SDK's sandbox test found them (8: bills, DIAN's testing range
//! SETP990000000–995000000 with DIAN's published testing key; 9: credit notes, NC; 6: debit
//! notes, ND), which range a document takes, and the routes: list (paginated, filtered), show,
//! create, `PATCH {id}/current`, `PATCH {id}/toggle-status`, the software's DIAN ranges, delete.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use axum::routing::{get, patch};
use codes::NUMBERING_RANGE_DOCUMENTS;
use serde_json::{Value, json};
use time::{Date, Month, OffsetDateTime};

use crate::clock;
use crate::envelope::{self, Listing};
use crate::rules::Problem;
use crate::state::{AccountId, Shared, lock};

/// DIAN's testing range, the one associated with the sandbox's software.
struct SoftwareRange {
    resolution_number: &'static str,
    prefix: &'static str,
    from: u64,
    to: u64,
    start: (i32, Month, u8),
    end: (i32, Month, u8),
    technical_key: &'static str,
}

const DIAN_TESTING_RANGE: SoftwareRange = SoftwareRange {
    resolution_number: "18760000001",
    prefix: "SETP",
    from: 990_000_000,
    to: 995_000_000,
    start: (2019, Month::January, 19),
    end: (2030, Month::January, 19),
    technical_key: "693ff6f2a553c3646a063436fd4dd9ded0311471",
};

/// Documents whose ranges need a DIAN resolution: bills, support documents, paper bills.
const RESOLUTION_DOCUMENTS: &[&str] = &["21", "24", "30"];

const MAX_PREFIX: usize = 4;
/// The span of a range that has no DIAN resolution (credit and debit notes...).
const FREE_RANGE: (u64, u64) = (1, 999_999_999);

fn date((year, month, day): (i32, Month, u8)) -> Option<Date> {
    Date::from_calendar_date(year, month, day).ok()
}

impl SoftwareRange {
    fn terms(&self) -> Snapshot {
        Snapshot {
            prefix: self.prefix.to_owned(),
            from: self.from,
            to: self.to,
            resolution_number: Some(self.resolution_number.to_owned()),
            start_date: date(self.start),
            end_date: date(self.end),
            technical_key: Some(self.technical_key.to_owned()),
        }
    }
}

/// One numbering range.
#[derive(Clone, Debug)]
pub struct Range {
    pub id: u64,
    /// The code of "Códigos de tipos de documento para los rangos de numeración".
    pub document: String,
    /// Its prefix, span, resolution and key: what a document keeps of it.
    pub terms: Snapshot,
    /// The next number.
    pub current: u64,
    pub active: bool,
    /// Whether a document took a number from it (it can no longer be deleted).
    pub used: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a document keeps of its range (`data.numbering_range`).
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub prefix: String,
    pub from: u64,
    pub to: u64,
    pub resolution_number: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub technical_key: Option<String>,
}

impl Snapshot {
    pub fn json(&self) -> Value {
        let months = match (self.start_date, self.end_date) {
            (Some(start), Some(end)) => {
                let mut months = (end.year() - start.year()) * 12 + i32::from(u8::from(end.month()))
                    - i32::from(u8::from(start.month()));
                if end.day() < start.day() {
                    months -= 1;
                }
                json!(months)
            }
            _ => Value::Null,
        };
        json!({
            "prefix": self.prefix, "from": self.from, "to": self.to, "resolution_number": self.resolution_number,
            "start_date": self.start_date.map(clock::day_month_year),
            "end_date": self.end_date.map(clock::day_month_year),
            "months": months,
        })
    }
}

impl Range {
    /// A range of `document` with no DIAN resolution, numbered from 1.
    fn free(id: u64, document: &str, prefix: &str, now: OffsetDateTime) -> Self {
        Self {
            id,
            document: document.to_owned(),
            terms: Snapshot {
                prefix: prefix.to_owned(),
                from: FREE_RANGE.0,
                to: FREE_RANGE.1,
                resolution_number: None,
                start_date: None,
                end_date: None,
                technical_key: None,
            },
            current: 1,
            active: true,
            used: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether its numbers are used up.
    fn exhausted(&self) -> bool {
        self.current > self.terms.to
    }

    fn document_name(&self) -> &'static str {
        codes::name(NUMBERING_RANGE_DOCUMENTS, &self.document).unwrap_or_default()
    }

    fn expired(&self, today: Date) -> bool {
        self.terms.end_date.is_some_and(|end| end < today)
    }

    /// As the list shows it: `document` holds the document's name (the SDK notes the list has no
    /// `document_name`); `is_expired` and `is_active` are 1 or 0, as the docs say.
    fn row(&self, today: Date) -> Value {
        let mut row = self.json(today);
        row["document"] = json!(self.document_name());
        if let Some(row) = row.as_object_mut() {
            row.remove("document_name");
        }
        row
    }

    /// As show, create and the updates answer it.
    fn json(&self, today: Date) -> Value {
        let terms = &self.terms;
        json!({
            "id": self.id, "document": self.document, "document_name": self.document_name(), "prefix": terms.prefix,
            "from": terms.from, "to": terms.to, "current": self.current, "resolution_number": terms.resolution_number,
            "start_date": terms.start_date.map(clock::iso_date), "end_date": terms.end_date.map(clock::iso_date),
            "technical_key": terms.technical_key, "is_expired": u8::from(self.expired(today)),
            "is_active": u8::from(self.active), "deleted_at": Value::Null,
            "created_at": clock::laravel(self.created_at), "updated_at": clock::laravel(self.updated_at),
        })
    }
}

/// An account's ranges.
#[derive(Debug)]
pub struct Ranges {
    ranges: BTreeMap<u64, Range>,
}

impl Ranges {
    /// The ranges the SDK's sandbox test uses: 8 (bills), 9 (credit notes), 6 (debit notes).
    pub fn seeded(now: OffsetDateTime) -> Self {
        let dian = &DIAN_TESTING_RANGE;
        let bills = Range {
            terms: dian.terms(),
            current: dian.from + 1,
            ..Range::free(8, "21", dian.prefix, now)
        };
        let ranges = [
            bills,
            Range::free(9, "22", "NC", now),
            Range::free(6, "23", "ND", now),
        ];
        Self {
            ranges: ranges.into_iter().map(|range| (range.id, range)).collect(),
        }
    }

    pub fn get(&self, id: u64) -> Option<&Range> {
        self.ranges.get(&id)
    }

    /// The range a document of `document` takes: `numbering_range_id` if given (it must exist,
    /// be of that document, active, in force and not used up), else the only active one.
    pub fn choose(&self, document: &str, given: Option<&Value>, today: Date) -> Result<u64, Problem> {
        let problem = |message: &str| ("numbering_range_id".to_owned(), message.to_owned());
        let usable = |range: &Range| range.active && !range.expired(today) && !range.exhausted();
        let given = match given {
            None | Some(Value::Null) => None,
            Some(Value::Number(number)) => number.as_u64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            Some(_) => None,
        };
        if let Some(id) = given {
            return match self.ranges.get(&id) {
                Some(range) if range.document == document && usable(range) => Ok(id),
                Some(range) if range.document == document && range.exhausted() => Err(problem(
                    "El rango de numeración no tiene consecutivos disponibles.",
                )),
                Some(range) if range.document == document => {
                    Err(problem("El rango de numeración no está activo o está vencido."))
                }
                _ => Err(problem(
                    "El rango de numeración seleccionado no existe para este tipo de documento.",
                )),
            };
        }
        let candidates: Vec<&Range> = self
            .ranges
            .values()
            .filter(|range| range.document == document && usable(range))
            .collect();
        match candidates[..] {
            [only] => Ok(only.id),
            [] => Err(problem(
                "No hay un rango de numeración activo para este tipo de documento.",
            )),
            _ => Err(problem(
                "El campo numbering_range_id es obligatorio cuando hay más de un rango de numeración activo.",
            )),
        }
    }

    /// Takes the next number of range `id`: the number, and what the document keeps of its range.
    pub fn take(&mut self, id: u64, now: OffsetDateTime) -> Option<(String, Snapshot)> {
        let range = self.ranges.get_mut(&id).filter(|range| !range.exhausted())?;
        let number = format!("{}{}", range.terms.prefix, range.current);
        range.current += 1;
        range.used = true;
        range.updated_at = now;
        Some((number, range.terms.clone()))
    }
}

fn account_ranges<T>(shared: &Shared, account: AccountId, work: impl FnOnce(&mut Ranges) -> T) -> Option<T> {
    lock(shared)
        .account(account)
        .map(|account| work(&mut account.ranges))
}

fn not_found() -> Response {
    envelope::not_found("Rango de numeración no encontrado.")
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/numbering-ranges", get(list).post(create))
        .route("/v2/numbering-ranges/dian", get(software))
        .route("/v2/numbering-ranges/{id}", get(show).delete(delete))
        .route("/v2/numbering-ranges/{id}/current", patch(update_current))
        .route("/v2/numbering-ranges/{id}/toggle-status", patch(toggle_status))
}

async fn list(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    listing: Listing,
) -> Response {
    let today = clock::today();
    let filter = |key: &str| {
        listing
            .query
            .get(&format!("filter[{key}]"))
            .filter(|value| !value.is_empty())
    };
    let rows = account_ranges(&shared, account, |ranges| {
        ranges
            .ranges
            .values()
            .filter(|range| filter("id").is_none_or(|id| *id == range.id.to_string()))
            .filter(|range| filter("document").is_none_or(|document| *document == range.document))
            .filter(|range| {
                filter("resolution_number")
                    .is_none_or(|number| range.terms.resolution_number.as_ref() == Some(number))
            })
            .filter(|range| {
                filter("technical_key").is_none_or(|key| range.terms.technical_key.as_ref() == Some(key))
            })
            .filter(|range| {
                filter("is_active")
                    .is_none_or(|active| matches!(active.as_str(), "1" | "true") == range.active)
            })
            .map(|range| range.row(today))
            .collect::<Vec<_>>()
    });
    match rows {
        Some(rows) => listing.page(rows, |row| row),
        None => envelope::unauthenticated(),
    }
}

async fn show(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Response {
    let today = clock::today();
    let found = account_ranges(&shared, account, |ranges| {
        id.parse()
            .ok()
            .and_then(|id| ranges.get(id))
            .map(|range| range.json(today))
    });
    match found.flatten() {
        Some(range) => envelope::ok("Solicitud exitosa", range),
        None => not_found(),
    }
}

/// DIAN's ranges associated with the software.
async fn software() -> Response {
    let range = &DIAN_TESTING_RANGE;
    envelope::ok(
        "Solicitud exitosa",
        json!([{
            "resolution_number": range.resolution_number, "prefix": range.prefix,
            "from": range.from.to_string(), "to": range.to.to_string(),
            "start_date": date(range.start).map(clock::iso_date), "end_date": date(range.end).map(clock::iso_date),
            "technical_key": range.technical_key,
        }]),
    )
}

fn current_of(body: &Value) -> Option<u64> {
    match body.get("current")? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A new range from `body`, or the problems of `body`.
fn new_range(body: &Value, id: u64, now: OffsetDateTime) -> Result<Range, Vec<Problem>> {
    let mut problems = Vec::new();
    let text = |key: &str| match body.get(key) {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    let document = text("document");
    if document
        .as_deref()
        .is_none_or(|code| codes::name(NUMBERING_RANGE_DOCUMENTS, code).is_none())
    {
        problems.push((
            "document".to_owned(),
            "El valor seleccionado en document no es válido.".to_owned(),
        ));
    }
    let prefix = text("prefix").unwrap_or_default();
    if prefix.is_empty() || prefix.chars().count() > MAX_PREFIX || !prefix.chars().all(char::is_alphanumeric)
    {
        problems.push((
            "prefix".to_owned(),
            format!("El campo prefix es obligatorio, alfanumérico y de máximo {MAX_PREFIX} caracteres."),
        ));
    }
    let current = current_of(body);
    if current.is_none() {
        problems.push((
            "current".to_owned(),
            "El campo current debe ser un número entero.".to_owned(),
        ));
    }
    let needs_resolution = document
        .as_deref()
        .is_some_and(|code| RESOLUTION_DOCUMENTS.contains(&code));
    let resolution = text("resolution_number");
    if needs_resolution && resolution.is_none() {
        problems.push((
            "resolution_number".to_owned(),
            "El campo resolution_number es obligatorio para facturas y documentos soporte.".to_owned(),
        ));
    }
    let (Some(document), Some(current)) = (document, current) else {
        return Err(problems);
    };
    let mut range = Range {
        current,
        ..Range::free(id, &document, &prefix, now)
    };
    let terms = &mut range.terms;
    terms.resolution_number = needs_resolution.then_some(resolution.clone()).flatten();
    if document == "21" {
        // A bill range is one DIAN authorised for the software.
        let dian = &DIAN_TESTING_RANGE;
        if resolution
            .as_deref()
            .is_some_and(|number| number != dian.resolution_number)
        {
            problems.push((
                "resolution_number".to_owned(),
                "La resolución no está asociada al software en la DIAN.".to_owned(),
            ));
        } else if prefix != dian.prefix {
            problems.push((
                "prefix".to_owned(),
                "El prefijo no corresponde al de la resolución.".to_owned(),
            ));
        }
        *terms = Snapshot {
            prefix,
            resolution_number: terms.resolution_number.take(),
            ..dian.terms()
        };
    } else if needs_resolution {
        terms.start_date = Some(now.date());
        terms.end_date = now.date().replace_year(now.year() + 2).ok();
    }
    if !(terms.from..=terms.to).contains(&current) {
        problems.push((
            "current".to_owned(),
            format!("El campo current debe estar entre {} y {}.", terms.from, terms.to),
        ));
    }
    if problems.is_empty() {
        Ok(range)
    } else {
        Err(problems)
    }
}

async fn create(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let now = clock::now();
    let created = account_ranges(&shared, account, |ranges| -> Result<Value, Vec<Problem>> {
        let id = ranges.ranges.keys().next_back().map_or(1, |last| last + 1);
        let range = new_range(&body, id, now)?;
        let json = range.json(now.date());
        ranges.ranges.insert(id, range);
        Ok(json)
    });
    match created {
        Some(Ok(range)) => envelope::created("Rango de numeración creado con éxito", range),
        Some(Err(problems)) => envelope::invalid(&problems),
        None => envelope::unauthenticated(),
    }
}

/// Applies `change` to range `id` and answers the range, or why not.
fn update(
    shared: &Shared,
    account: AccountId,
    id: &str,
    change: impl FnOnce(&mut Range) -> Result<(), Vec<Problem>>,
) -> Response {
    let now = clock::now();
    let updated = account_ranges(shared, account, |ranges| {
        let range = id.parse().ok().and_then(|id: u64| ranges.ranges.get_mut(&id))?;
        Some(change(range).map(|()| {
            range.updated_at = now;
            range.json(now.date())
        }))
    });
    match updated.flatten() {
        Some(Ok(range)) => envelope::ok("Rango de numeración actualizado con éxito", range),
        Some(Err(problems)) => envelope::invalid(&problems),
        None => not_found(),
    }
}

async fn update_current(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    update(&shared, account, &id, |range| match current_of(&body) {
        Some(current) if (range.terms.from..=range.terms.to).contains(&current) => {
            range.current = current;
            Ok(())
        }
        _ => Err(vec![(
            "current".to_owned(),
            format!(
                "El campo current debe ser un número entero entre {} y {}.",
                range.terms.from, range.terms.to
            ),
        )]),
    })
}

async fn toggle_status(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Response {
    update(&shared, account, &id, |range| {
        range.active = !range.active;
        Ok(())
    })
}

async fn delete(
    State(shared): State<Shared>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Response {
    let deleted = account_ranges(&shared, account, |ranges| {
        let id: u64 = id.parse().ok()?;
        let used = ranges.ranges.get(&id)?.used;
        if !used {
            ranges.ranges.remove(&id);
        }
        Some(used)
    });
    match deleted.flatten() {
        Some(false) => envelope::done("Rango de numeración eliminado con éxito"),
        Some(true) => {
            envelope::conflict("El rango de numeración tiene documentos asociados y no se puede eliminar.")
        }
        None => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_take_the_only_active_range_of_their_kind_or_the_one_named() {
        let now = clock::now();
        let today = now.date();
        let mut ranges = Ranges::seeded(now);
        assert_eq!(ranges.choose("21", None, today), Ok(8));
        assert_eq!(ranges.choose("22", Some(&json!("9")), today), Ok(9));
        assert!(ranges.choose("21", Some(&json!(9)), today).is_err());
        assert!(ranges.choose("21", Some(&json!(389)), today).is_err());
        let (number, snapshot) = ranges.take(8, now).unwrap();
        assert_eq!(number, "SETP990000001");
        assert_eq!(snapshot.json()["months"], 132);
        assert_eq!(ranges.take(8, now).unwrap().0, "SETP990000002");
        let second = new_range(&json!({"document": "21", "prefix": "SETP", "resolution_number": "18760000001", "current": 990_000_500}), 10, now).unwrap();
        ranges.ranges.insert(10, second);
        assert_eq!(
            ranges.choose("21", None, today).unwrap_err().0,
            "numbering_range_id"
        );
        assert_eq!(ranges.choose("21", Some(&json!(10)), today), Ok(10));
        ranges.ranges.get_mut(&10).unwrap().active = false;
        assert!(ranges.choose("21", Some(&json!(10)), today).is_err());
        assert_eq!(ranges.choose("21", None, today), Ok(8));
    }

    #[test]
    fn a_new_range_is_checked_against_its_document() {
        let now = clock::now();
        let fields = |body: Value| {
            new_range(&body, 10, now)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|(field, _)| field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(json!({"document": "22", "prefix": "NC", "current": 1})),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(json!({"document": "21", "prefix": "SETP", "current": 984000000})),
            ["resolution_number", "current"]
        );
        assert_eq!(
            fields(json!({"document": "99", "prefix": "TOOLONG", "current": "x"})),
            ["document", "prefix", "current"]
        );
        assert_eq!(
            fields(
                json!({"document": "21", "prefix": "SETP", "resolution_number": "18760000009", "current": 990000001})
            ),
            ["resolution_number"]
        );
    }
}
