//! The invoice's customer (adquiriente): its identification document (our names, each mapped to
//! DIAN's code), its check digit when it is a NIT, whether it is a company or a person (which
//! decides whether `name` is a company name or a person's names at the provider), and a
//! municipality from DANE's DIVIPOLA list.

use serde::{Deserialize, Serialize};

use super::{MAX_ADDRESS, MAX_NAME, code, digits, optional_text};
use crate::domain::email::Email;
use crate::domain::nit::{Nit, NitError};
use crate::domain::text::bounded;
use crate::json::{Json, Object, as_number_text};
use crate::validation::Problems;

/// A type of identification document, by the name clients send; [`Self::dian_code`] is DIAN's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdentificationType {
    #[serde(rename = "NIT")]
    Nit,
    #[serde(rename = "CC")]
    CitizenCard,
    #[serde(rename = "CE")]
    ForeignerCard,
    #[serde(rename = "TI")]
    IdentityCard,
    #[serde(rename = "PP")]
    Passport,
    #[serde(rename = "NIT_FOREIGN")]
    ForeignNit,
    #[serde(rename = "RC")]
    CivilRegistry,
    #[serde(rename = "TE")]
    ForeignerIdentityCard,
    #[serde(rename = "DIE")]
    ForeignDocument,
    #[serde(rename = "PEP")]
    SpecialPermit,
    #[serde(rename = "PPT")]
    TemporaryProtectionPermit,
    #[serde(rename = "NUIP")]
    Nuip,
}

impl IdentificationType {
    /// Our name, DIAN's code ("Códigos de tipos de documentos de identidad"), and the type.
    pub const ALL: [(&'static str, &'static str, IdentificationType); 12] = [
        ("NIT", "31", Self::Nit),
        ("CC", "13", Self::CitizenCard),
        ("CE", "22", Self::ForeignerCard),
        ("TI", "12", Self::IdentityCard),
        ("PP", "41", Self::Passport),
        ("NIT_FOREIGN", "50", Self::ForeignNit),
        ("RC", "11", Self::CivilRegistry),
        ("TE", "21", Self::ForeignerIdentityCard),
        ("DIE", "42", Self::ForeignDocument),
        ("PEP", "47", Self::SpecialPermit),
        ("PPT", "48", Self::TemporaryProtectionPermit),
        ("NUIP", "91", Self::Nuip),
    ];

    fn row(self) -> (&'static str, &'static str) {
        Self::ALL
            .iter()
            .find(|(_, _, kind)| *kind == self)
            .map_or(("NIT", "31"), |(name, code, _)| (name, code))
    }

    fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(name, _, _)| *name == text)
            .map(|(_, _, kind)| *kind)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(name, _, _)| *name).collect();
                format!("must be one of {}", names.join(", "))
            })
    }

    pub fn as_str(self) -> &'static str {
        self.row().0
    }

    /// DIAN's code of the document type, as Factus takes it (`identification_document_code`).
    pub fn dian_code(self) -> &'static str {
        self.row().1
    }

    /// Documents whose numbers are digits only.
    fn is_numeric(self) -> bool {
        matches!(
            self,
            Self::CitizenCard | Self::IdentityCard | Self::CivilRegistry | Self::Nuip
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LegalOrganization {
    Company,
    Person,
}

impl LegalOrganization {
    /// DIAN's code ("Código de tipos de organizaciones"): 1 persona jurídica, 2 persona natural.
    pub fn dian_code(self) -> &'static str {
        match self {
            Self::Company => "1",
            Self::Person => "2",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub identification_type: IdentificationType,
    pub identification: String,
    /// The NIT's check digit; only for `NIT`.
    pub dv: Option<String>,
    pub legal_organization: LegalOrganization,
    /// A company's name (razón social) or a person's names, as `legal_organization` says.
    pub name: String,
    pub email: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// DIVIPOLA, five digits.
    pub municipality_code: Option<String>,
}

/// The identification number (and check digit) for its document type.
fn identification(
    kind: Option<IdentificationType>,
    number: Option<&str>,
    dv: Option<&str>,
    (number_path, dv_path): (&str, &str),
    problems: &mut Problems,
) -> (Option<String>, Option<String>) {
    let (Some(kind), Some(number)) = (kind, number) else {
        return (None, None);
    };
    if kind == IdentificationType::Nit {
        let Some(dv) = dv else {
            problems.add(dv_path, "is required for a NIT");
            return (None, None);
        };
        return match Nit::parse(number, dv) {
            Ok(nit) => (Some(nit.number().to_owned()), Some(nit.dv().to_string())),
            Err(NitError::Number(message)) => {
                problems.add(number_path, message);
                (None, None)
            }
            Err(NitError::CheckDigit(message)) => {
                problems.add(dv_path, message);
                (None, None)
            }
        };
    }
    let parsed = if kind.is_numeric() {
        digits(number, 3, 15)
    } else {
        code(number, 20)
    };
    (parsed.map_err(|m| problems.add(number_path, m)).ok(), None)
}

pub(super) fn parse_customer(value: &Json, path: &str, problems: &mut Problems) -> Option<Customer> {
    let mut customer = Object::read(value, path, problems)?;
    let identification_type = customer.parsed("identification_type", problems, IdentificationType::parse);
    let paths = (customer.path_of("identification"), customer.path_of("dv"));
    let number = customer.required_str("identification", problems).map(str::trim);
    let dv = customer
        .optional("dv")
        .and_then(|dv| as_number_text(dv, &paths.1, problems))
        .filter(|dv| !dv.is_empty());
    let (identification, dv) =
        identification(identification_type, number, dv, (&paths.0, &paths.1), problems);
    let legal_organization = customer.parsed("legal_organization", problems, |text| match text {
        "company" => Ok(LegalOrganization::Company),
        "person" => Ok(LegalOrganization::Person),
        _ => Err("must be company or person"),
    });
    let name = customer.parsed("name", problems, |name| bounded(name, MAX_NAME));
    let email = customer.parsed("email", problems, Email::parse);
    let address = optional_text(&mut customer, "address", MAX_ADDRESS, problems);
    let phone_path = customer.path_of("phone");
    let phone = optional_text(&mut customer, "phone", 20, problems).filter(|phone| {
        let valid = phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
        if !valid {
            problems.add(&phone_path, "must hold only digits, spaces and + - ( )");
        }
        valid
    });
    let municipality_path = customer.path_of("municipality_code");
    let municipality_code = customer
        .optional_str("municipality_code", problems)
        .filter(|code| !code.is_empty())
        .and_then(|code| match codes::municipality(code) {
            Some(municipality) => Some(municipality.code.to_owned()),
            None => {
                problems.add(
                    &municipality_path,
                    "must be a municipality's five-digit code of DANE's DIVIPOLA list (11001 is Bogotá)",
                );
                None
            }
        });
    customer.finish(problems);
    Some(Customer {
        identification_type: identification_type?,
        identification: identification?,
        dv,
        legal_organization: legal_organization?,
        name: name?,
        email: email?.to_string(),
        address,
        phone,
        municipality_code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_names_map_to_dians_codes_of_the_table() {
        for (name, code, kind) in IdentificationType::ALL {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.dian_code(), code);
            assert!(
                codes::name(codes::IDENTIFICATION_DOCUMENTS, code).is_some(),
                "{code}"
            );
        }
        assert_eq!(
            codes::IDENTIFICATION_DOCUMENTS.len(),
            IdentificationType::ALL.len()
        );
        for organization in [LegalOrganization::Company, LegalOrganization::Person] {
            assert!(codes::name(codes::ORGANIZATION_TYPES, organization.dian_code()).is_some());
        }
    }
}
