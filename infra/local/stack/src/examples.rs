//! What the integration tests and the bench send to a stack: the documented example invoice,
//! CSV batch rows, fresh names and NITs, and the files of `events/` with their placeholders
//! (`${ACCESS_TOKEN}`, `${REFRESH_TOKEN}`, `${EMAIL}`, `${PASSWORD}`, `${UNIQUE}`, `${ORG_ID}`,
//! `${INVOICE_ID}`, `${BATCH_ID}`) filled.

use serde_json::{Value, json};

/// A name no other run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::generate().to_string().to_lowercase())
}

/// The documented example invoice, with `reference_code`.
pub fn invoice(reference_code: &str) -> Value {
    json!({
        "reference_code": reference_code,
        "payment_form": "credit",
        "payment_due_date": "2026-12-31",
        "payment_method_code": "10",
        "numbering_range_id": 8,
        "currency": "COP",
        "observation": "optional",
        "customer": {
            "identification_type": "NIT", "identification": "900123456", "dv": "8",
            "legal_organization": "company", "name": "ACME SAS", "email": "ap@acme.co",
            "address": "Cra 7 # 71-21", "phone": "3001234567", "municipality_code": "11001"
        },
        "items": [{
            "code_reference": "SKU-1", "name": "Widget", "quantity": "2", "price": "10000.00",
            "discount_rate": "0", "tax_rate": "19", "unit_measure": "94", "is_excluded": false,
            "withholding_taxes": [{"code": "06", "rate": "2.5"}]
        }]
    })
}

/// The header of the CSV batches below.
pub const CSV_HEADER: &str = "reference_code,payment_form,customer_identification_type,customer_identification,customer_dv,customer_legal_organization,customer_name,customer_email,item_code,item_name,quantity,price,tax_rate,withholding_taxes";

/// One valid CSV row: an item `item` of invoice `reference`.
pub fn csv_row(reference: &str, item: &str) -> String {
    format!("{reference},cash,NIT,900123456,8,company,ACME SAS,ap@acme.co,{item},Widget,2,10000.00,19,06:2.5")
}

/// A valid CSV of `count` one-row invoices named `<prefix>-<n>`.
pub fn csv(prefix: &str, count: usize) -> String {
    let rows: Vec<String> = (0..count)
        .map(|n| csv_row(&format!("{prefix}-{n:05}"), "SKU-1"))
        .collect();
    format!("{CSV_HEADER}\n{}\n", rows.join("\n"))
}

/// A valid NIT and its check digit, different each call.
pub fn nit() -> (String, String) {
    let number = format!("9{:08}", ulid::Ulid::generate().random() % 100_000_000);
    let dv = shared::domain::nit::check_digit(&number).map_or_else(String::new, |dv| dv.to_string());
    (number, dv)
}

/// What the placeholders of `events/` stand for.
#[derive(Clone, Debug, Default)]
pub struct Placeholders {
    pub access_token: String,
    pub refresh_token: String,
    pub email: String,
    pub password: String,
    pub org_id: String,
    pub invoice_id: String,
    pub batch_id: String,
}

impl Placeholders {
    /// `text` with every placeholder filled (`${UNIQUE}` with a fresh name).
    pub fn fill(&self, text: &str) -> String {
        text.replace("${ACCESS_TOKEN}", &self.access_token)
            .replace("${REFRESH_TOKEN}", &self.refresh_token)
            .replace("${EMAIL}", &self.email)
            .replace("${PASSWORD}", &self.password)
            .replace("${UNIQUE}", &unique("evt"))
            .replace("${INVOICE_ID}", &self.invoice_id)
            .replace("${ORG_ID}", &self.org_id)
            .replace("${BATCH_ID}", &self.batch_id)
    }
}
