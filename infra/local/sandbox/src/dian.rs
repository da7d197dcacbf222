//! What DIAN says of a document once Factus's input validation has passed it: the NIT check digit
//! (modulo 11) behind rule FAK24, which rejects a NIT customer whose `dv` is wrong (Factus
//! computes a missing one); the notification every validated document carries (RUT01, which
//! does not invalidate it); the rejection faults inject (FAJ43b); and the catalogue's QR URL.

use serde_json::Value;

/// DIAN's environment of the sandbox's documents: 2, testing (habilitación).
pub const ENVIRONMENT: &str = "2";

/// The software PIN that takes the technical key's place in a credit note's CUDE.
pub const SOFTWARE_PIN: &str = "75315";

/// The weights of DIAN's modulo-11 check digit, from the rightmost digit on.
const WEIGHTS: [u32; 15] = [3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71];

/// The check digit (DV) of a NIT; `None` when it is not 1 to 15 digits.
pub fn check_digit(nit: &str) -> Option<u32> {
    if nit.is_empty() || nit.len() > WEIGHTS.len() {
        return None;
    }
    let mut sum = 0;
    for (digit, weight) in nit.chars().rev().zip(WEIGHTS) {
        sum += digit.to_digit(10)? * weight;
    }
    Some(match sum % 11 {
        remainder @ (0 | 1) => remainder,
        remainder => 11 - remainder,
    })
}

/// A field the API takes as text or as a number.
pub fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
    .filter(|text| !text.is_empty())
}

fn is_nit(customer: &Value) -> bool {
    text(customer, "identification_document_code").as_deref() == Some("31")
}

/// The `dv` a document shows for its customer: the one sent or the computed one for a NIT, none
/// for other identifications.
pub fn customer_dv(customer: &Value) -> Option<String> {
    if !is_nit(customer) {
        return None;
    }
    text(customer, "dv").or_else(|| {
        text(customer, "identification")
            .and_then(|nit| check_digit(&nit))
            .map(|digit| digit.to_string())
    })
}

/// DIAN's rejection of the document's customer, if any: FAK24 when a NIT's check digit is not
/// the one sent (or the NIT has none, not being digits).
pub fn rejection(customer: &Value) -> Option<(String, String)> {
    if !is_nit(customer) {
        return None;
    }
    let computed = text(customer, "identification").and_then(|nit| check_digit(&nit));
    let sent = text(customer, "dv");
    let right = match (computed, sent) {
        (Some(computed), Some(sent)) => sent == computed.to_string(),
        (Some(_), None) => true,
        (None, _) => false,
    };
    (!right).then(|| rule("FAK24", "Rechazo", "No está informado el DV del NIT"))
}

/// The notification DIAN adds to every validated document: informative, the document is valid.
pub fn notification() -> (String, String) {
    rule(
        "RUT01",
        "Notificación",
        "La validación del estado del RUT próximamente estará disponible.",
    )
}

/// The rejection the sandbox's `dian_rejection_rate` fault gives a document.
pub fn injected_rejection() -> (String, String) {
    rule(
        "FAJ43b",
        "Rechazo",
        "Nombre informado No corresponde al registrado en el RUT con respecto al Nit suminstrado.",
    )
}

/// `"Regla: FAK24, Rechazo: ..."`, under its rule's key.
fn rule(code: &str, kind: &str, text: &str) -> (String, String) {
    (code.to_owned(), format!("Regla: {code}, {kind}: {text}"))
}

/// DIAN's catalogue page of a document, which its QR code points to.
pub fn qr_url(cufe: &str) -> String {
    format!("https://catalogo-vpfe-hab.dian.gov.co/document/searchqr?documentkey={cufe}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn check_digits_follow_dians_modulo_11() {
        assert_eq!(check_digit("900373076"), Some(4));
        assert_eq!(check_digit("123456789"), Some(6));
        // DIAN's own NIT, 800.197.268-4, and Bancolombia's, 890.903.938-8.
        assert_eq!(check_digit("800197268"), Some(4));
        assert_eq!(check_digit("890903938"), Some(8));
        assert_eq!(check_digit("12A"), None);
        assert_eq!(check_digit(""), None);
    }

    #[test]
    fn a_nit_with_a_wrong_dv_is_rejected_and_a_missing_one_computed() {
        let wrong = json!({"identification_document_code": "31", "identification": "123456789", "dv": "3"});
        let (code, message) = rejection(&wrong).unwrap();
        assert_eq!(code, "FAK24");
        assert!(message.starts_with("Regla: FAK24, Rechazo: "));
        let missing = json!({"identification_document_code": "31", "identification": "123456789"});
        assert_eq!(rejection(&missing), None);
        assert_eq!(customer_dv(&missing).as_deref(), Some("6"));
        let right = json!({"identification_document_code": 31, "identification": 123456789, "dv": 6});
        assert_eq!(rejection(&right), None);
        let citizen = json!({"identification_document_code": "13", "identification": "123456789", "dv": "3"});
        assert_eq!((rejection(&citizen), customer_dv(&citizen)), (None, None));
        let letters = json!({"identification_document_code": "31", "identification": "INVALID"});
        assert!(rejection(&letters).is_some());
    }
}
