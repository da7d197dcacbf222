//! The files of a validated document: its graphic representation (a small valid PDF 1.4 showing
//! the number, the CUFE and the total), its UBL 2.1 XML (an `Invoice`, or a `CreditNote`, with
//! the CUFE/CUDE in `cbc:UUID`), the `AttachedDocument` that wraps that XML as DIAN's container,
//! and the ZIP the email would carry (the PDF and the AttachedDocument).

use rust_decimal::Decimal;
use serde_json::Value;

use crate::accounts::Account;
use crate::clock;
use crate::dian::{self, text};
use crate::ledger::{Document, Kind};
use crate::totals::{Group, money};

/// The PDF's, the XML's and the AttachedDocument's file names.
pub fn file_names(document: &Document) -> (String, String, String) {
    let number = &document.number;
    (
        format!("{number}.pdf"),
        format!("{number}.xml"),
        format!("ad-{number}.xml"),
    )
}

fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Bill => "Factura electronica de venta",
        Kind::CreditNote => "Nota credito electronica",
    }
}

fn customer_name(document: &Document) -> String {
    text(&document.customer, "company")
        .or_else(|| text(&document.customer, "names"))
        .unwrap_or_default()
}

/// The graphic representation.
pub fn pdf(document: &Document, account: &Account) -> Vec<u8> {
    let company = &account.company;
    let (date, time) = document.issued();
    let code = &document.cufe;
    let (first, second) = code.split_at(code.len() / 2);
    let mut lines = vec![
        format!("{} {}", title(document.kind), document.number),
        format!("Emisor: {} NIT {}-{}", company.name, company.nit, company.dv),
        format!(
            "Cliente: {} {}",
            customer_name(document),
            text(&document.customer, "identification").unwrap_or_default()
        ),
        format!("Fecha de emision: {date} {time}"),
        format!("{}: {first}", document.kind.code_name()),
        format!("      {second}"),
        String::new(),
    ];
    for (item, line) in items(document).iter().zip(&document.totals.lines) {
        lines.push(format!(
            "{} x {} a {} = {}",
            money(line.quantity),
            text(item, "name").unwrap_or_default(),
            money(line.price),
            money(line.taxable)
        ));
    }
    let totals = &document.totals;
    lines.extend([
        String::new(),
        format!("Subtotal: {}", money(totals.line_extension)),
        format!("Impuestos: {}", money(totals.tax)),
        format!("Total: {}", money(totals.total)),
        dian::qr_url(code),
    ]);
    render_pdf(&lines)
}

/// A PDF string literal's bytes: WinAnsi (Latin-1 here) with `\`, `(`, `)` and what is not
/// printable ASCII escaped.
fn pdf_text(line: &str) -> String {
    let mut out = String::new();
    for character in line.chars() {
        match character {
            '\\' | '(' | ')' => {
                out.push('\\');
                out.push(character);
            }
            ' '..='~' => out.push(character),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", u32::from(character))),
            _ => out.push('?'),
        }
    }
    out
}

/// One page of text lines, with its cross-reference table.
fn render_pdf(lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 10 Tf\n14 TL\n50 760 Td\n");
    for line in lines {
        content.push_str(&format!("({}) Tj T*\n", pdf_text(line)));
    }
    content.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// XML text, escaped, without the characters XML 1.0 cannot hold.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(character),
            character if character < ' ' || matches!(character, '\u{fffe}' | '\u{ffff}') => {}
            character => out.push(character),
        }
    }
    out
}

/// A small XML writer.
struct Xml(String);

impl Xml {
    fn new() -> Self {
        Self(String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n",
        ))
    }

    fn tag(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.0.push('<');
        self.0.push_str(name);
        for (key, value) in attributes {
            self.0.push_str(&format!(" {key}=\"{}\"", escape(value)));
        }
    }

    fn open(&mut self, name: &str, attributes: &[(&str, &str)]) {
        self.tag(name, attributes);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str(&format!("</{name}>"));
    }

    fn leaf(&mut self, name: &str, attributes: &[(&str, &str)], text: &str) {
        self.tag(name, attributes);
        self.0.push_str(&format!(">{}</{name}>", escape(text)));
    }

    fn amount(&mut self, name: &str, value: Decimal) {
        self.leaf(name, &[("currencyID", "COP")], &money(value));
    }
}

const UBL_CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const UBL_CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

fn items(document: &Document) -> &[Value] {
    document
        .body
        .get("items")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A party of a document, as UBL writes it.
struct Party {
    /// `1` juridical, `2` natural.
    organization: String,
    name: String,
    /// The identification document's code (`31`: NIT).
    scheme: String,
    identification: String,
    dv: Option<String>,
    tribute: String,
}

impl Party {
    fn write(&self, xml: &mut Xml, role: &str) {
        xml.open(role, &[]);
        xml.leaf("cbc:AdditionalAccountID", &[], &self.organization);
        xml.open("cac:Party", &[]);
        xml.open("cac:PartyName", &[]);
        xml.leaf("cbc:Name", &[], &self.name);
        xml.close("cac:PartyName");
        xml.open("cac:PartyTaxScheme", &[]);
        xml.leaf("cbc:RegistrationName", &[], &self.name);
        let mut attributes = vec![("schemeAgencyID", "195"), ("schemeName", self.scheme.as_str())];
        if let Some(dv) = &self.dv {
            attributes.push(("schemeID", dv));
        }
        xml.leaf("cbc:CompanyID", &attributes, &self.identification);
        xml.open("cac:TaxScheme", &[]);
        xml.leaf("cbc:ID", &[], &self.tribute);
        let tribute = codes::name(codes::CUSTOMER_TRIBUTES, &self.tribute).unwrap_or_default();
        xml.leaf("cbc:Name", &[], tribute);
        xml.close("cac:TaxScheme");
        xml.close("cac:PartyTaxScheme");
        xml.close("cac:Party");
        xml.close(role);
    }
}

fn tax_totals(xml: &mut Xml, element: &str, groups: &[Group], names: &[codes::Code]) {
    for group in groups {
        xml.open(element, &[]);
        xml.amount("cbc:TaxAmount", group.amount());
        for (rate, base, amount) in &group.rates {
            xml.open("cac:TaxSubtotal", &[]);
            xml.amount("cbc:TaxableAmount", *base);
            xml.amount("cbc:TaxAmount", *amount);
            xml.open("cac:TaxCategory", &[]);
            xml.leaf("cbc:Percent", &[], &money(*rate));
            xml.open("cac:TaxScheme", &[]);
            xml.leaf("cbc:ID", &[], &group.code);
            xml.leaf(
                "cbc:Name",
                &[],
                codes::name(names, &group.code).unwrap_or_default(),
            );
            xml.close("cac:TaxScheme");
            xml.close("cac:TaxCategory");
            xml.close("cac:TaxSubtotal");
        }
        xml.close(element);
    }
}

/// The UBL 2.1 `Invoice` (or `CreditNote`) DIAN validated.
pub fn xml(document: &Document, account: &Account) -> String {
    let (root, namespace, type_element, type_code, line_element, quantity_element) = match document.kind {
        Kind::Bill => (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "cbc:InvoiceTypeCode",
            text(&document.body, "document").unwrap_or_else(|| "01".to_owned()),
            "cac:InvoiceLine",
            "cbc:InvoicedQuantity",
        ),
        Kind::CreditNote => (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
            "cbc:CreditNoteTypeCode",
            "91".to_owned(),
            "cac:CreditNoteLine",
            "cbc:CreditedQuantity",
        ),
    };
    let body = &document.body;
    let totals = &document.totals;
    let (date, time) = document.issued();
    let mut xml = Xml::new();
    xml.open(
        root,
        &[
            ("xmlns", namespace),
            ("xmlns:cac", UBL_CAC),
            ("xmlns:cbc", UBL_CBC),
        ],
    );
    xml.leaf("cbc:UBLVersionID", &[], "UBL 2.1");
    let customization = match document.kind {
        Kind::Bill => text(body, "operation_type").unwrap_or_else(|| "10".to_owned()),
        Kind::CreditNote => text(body, "customization_id").unwrap_or_else(|| "20".to_owned()),
    };
    xml.leaf("cbc:CustomizationID", &[], &customization);
    xml.leaf("cbc:ProfileID", &[], "DIAN 2.1");
    xml.leaf("cbc:ProfileExecutionID", &[], dian::ENVIRONMENT);
    xml.leaf("cbc:ID", &[], &document.number);
    let scheme = format!("{}-SHA384", document.kind.code_name());
    xml.leaf(
        "cbc:UUID",
        &[("schemeID", dian::ENVIRONMENT), ("schemeName", &scheme)],
        &document.cufe,
    );
    xml.leaf("cbc:IssueDate", &[], &date);
    xml.leaf("cbc:IssueTime", &[], &time);
    xml.leaf(type_element, &[], &type_code);
    if let Some(observation) = text(body, "observation") {
        xml.leaf("cbc:Note", &[], &observation);
    }
    xml.leaf("cbc:DocumentCurrencyCode", &[], "COP");
    xml.leaf("cbc:LineCountNumeric", &[], &totals.lines.len().to_string());
    if let Kind::CreditNote = document.kind {
        xml.open("cac:DiscrepancyResponse", &[]);
        xml.leaf(
            "cbc:ReferenceID",
            &[],
            document.bill_number.as_deref().unwrap_or_default(),
        );
        xml.leaf(
            "cbc:ResponseCode",
            &[],
            &text(body, "correction_concept_code").unwrap_or_default(),
        );
        xml.close("cac:DiscrepancyResponse");
        if let Some(bill) = document
            .bill_number
            .as_deref()
            .and_then(|number| account.bills.by_number(number))
        {
            xml.open("cac:BillingReference", &[]);
            xml.open("cac:InvoiceDocumentReference", &[]);
            xml.leaf("cbc:ID", &[], &bill.number);
            xml.leaf("cbc:UUID", &[("schemeName", "CUFE-SHA384")], &bill.cufe);
            xml.leaf("cbc:IssueDate", &[], &bill.issued().0);
            xml.close("cac:InvoiceDocumentReference");
            xml.close("cac:BillingReference");
        }
    }
    let company = &account.company;
    let supplier = Party {
        organization: "1".to_owned(),
        name: company.name.clone(),
        scheme: "31".to_owned(),
        identification: company.nit.clone(),
        dv: Some(company.dv.clone()),
        tribute: "01".to_owned(),
    };
    supplier.write(&mut xml, "cac:AccountingSupplierParty");
    let customer = &document.customer;
    let buyer = Party {
        organization: text(customer, "legal_organization_code").unwrap_or_default(),
        name: customer_name(document),
        scheme: text(customer, "identification_document_code").unwrap_or_default(),
        identification: text(customer, "identification").unwrap_or_default(),
        dv: dian::customer_dv(customer),
        tribute: text(customer, "tribute_code").unwrap_or_else(|| "ZZ".to_owned()),
    };
    buyer.write(&mut xml, "cac:AccountingCustomerParty");
    for detail in body
        .get("payment_details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        xml.open("cac:PaymentMeans", &[]);
        xml.leaf("cbc:ID", &[], &text(detail, "payment_form").unwrap_or_default());
        xml.leaf(
            "cbc:PaymentMeansCode",
            &[],
            &text(detail, "payment_method_code").unwrap_or_default(),
        );
        if let Some(due) = text(detail, "due_date") {
            xml.leaf("cbc:PaymentDueDate", &[], &due);
        }
        xml.close("cac:PaymentMeans");
    }
    tax_totals(&mut xml, "cac:TaxTotal", &totals.tax_groups(), codes::TAXES);
    tax_totals(
        &mut xml,
        "cac:WithholdingTaxTotal",
        &totals.withholding_groups(),
        codes::WITHHOLDINGS,
    );
    let monetary = "cac:LegalMonetaryTotal";
    xml.open(monetary, &[]);
    xml.amount("cbc:LineExtensionAmount", totals.line_extension);
    xml.amount("cbc:TaxExclusiveAmount", totals.taxable);
    xml.amount(
        "cbc:TaxInclusiveAmount",
        totals.line_extension.saturating_add(totals.tax),
    );
    xml.amount("cbc:AllowanceTotalAmount", totals.allowance);
    xml.amount("cbc:ChargeTotalAmount", totals.surcharge);
    xml.amount("cbc:PrepaidAmount", totals.prepayment);
    xml.amount("cbc:PayableAmount", totals.total);
    xml.close(monetary);
    for (index, (item, line)) in items(document).iter().zip(&totals.lines).enumerate() {
        let unit = text(item, "unit_measure_code").unwrap_or_default();
        xml.open(line_element, &[]);
        xml.leaf("cbc:ID", &[], &(index + 1).to_string());
        xml.leaf(quantity_element, &[("unitCode", &unit)], &money(line.quantity));
        xml.amount("cbc:LineExtensionAmount", line.taxable);
        if !line.discount.is_zero() {
            xml.open("cac:AllowanceCharge", &[]);
            xml.leaf("cbc:ID", &[], "1");
            xml.leaf("cbc:ChargeIndicator", &[], "false");
            xml.leaf("cbc:MultiplierFactorNumeric", &[], &money(line.discount_rate));
            xml.amount("cbc:Amount", line.discount);
            xml.amount("cbc:BaseAmount", line.gross);
            xml.close("cac:AllowanceCharge");
        }
        let groups: Vec<Group> = line
            .taxes
            .iter()
            .map(|tax| Group {
                code: tax.code.clone(),
                excluded: tax.excluded,
                rates: vec![(tax.rate, tax.base, tax.amount)],
            })
            .collect();
        tax_totals(&mut xml, "cac:TaxTotal", &groups, codes::TAXES);
        xml.open("cac:Item", &[]);
        xml.leaf("cbc:Description", &[], &text(item, "name").unwrap_or_default());
        xml.open("cac:StandardItemIdentification", &[]);
        xml.leaf(
            "cbc:ID",
            &[("schemeID", &text(item, "standard_code").unwrap_or_default())],
            &text(item, "code_reference").unwrap_or_default(),
        );
        xml.close("cac:StandardItemIdentification");
        xml.close("cac:Item");
        xml.open("cac:Price", &[]);
        xml.amount("cbc:PriceAmount", line.price);
        xml.leaf("cbc:BaseQuantity", &[("unitCode", &unit)], &money(line.quantity));
        xml.close("cac:Price");
        xml.close(line_element);
    }
    xml.close(root);
    xml.0
}

/// DIAN's `AttachedDocument`: the container of the validated XML, with DIAN's verdict.
pub fn attached_document(document: &Document, account: &Account) -> String {
    let (date, time) = document.issued();
    let validated = document.validated_at().unwrap_or(document.created_at);
    let company = &account.company;
    let mut xml = Xml::new();
    xml.open(
        "AttachedDocument",
        &[
            (
                "xmlns",
                "urn:oasis:names:specification:ubl:schema:xsd:AttachedDocument-2",
            ),
            ("xmlns:cac", UBL_CAC),
            ("xmlns:cbc", UBL_CBC),
        ],
    );
    xml.leaf("cbc:UBLVersionID", &[], "UBL 2.1");
    xml.leaf("cbc:CustomizationID", &[], "Documentos adjuntos");
    xml.leaf("cbc:ProfileID", &[], "Factura Electrónica de Venta");
    xml.leaf("cbc:ProfileExecutionID", &[], dian::ENVIRONMENT);
    xml.leaf("cbc:ID", &[], &document.number);
    xml.leaf("cbc:IssueDate", &[], &date);
    xml.leaf("cbc:IssueTime", &[], &time);
    xml.leaf("cbc:DocumentType", &[], "Contenedor de Factura Electrónica");
    xml.leaf("cbc:ParentDocumentID", &[], &document.number);
    xml.open("cac:SenderParty", &[]);
    xml.open("cac:PartyTaxScheme", &[]);
    xml.leaf("cbc:RegistrationName", &[], &company.name);
    xml.leaf(
        "cbc:CompanyID",
        &[
            ("schemeAgencyID", "195"),
            ("schemeID", &company.dv),
            ("schemeName", "31"),
        ],
        &company.nit,
    );
    xml.close("cac:PartyTaxScheme");
    xml.close("cac:SenderParty");
    xml.open("cac:ReceiverParty", &[]);
    xml.open("cac:PartyTaxScheme", &[]);
    xml.leaf("cbc:RegistrationName", &[], &customer_name(document));
    xml.leaf(
        "cbc:CompanyID",
        &[("schemeAgencyID", "195")],
        &text(&document.customer, "identification").unwrap_or_default(),
    );
    xml.close("cac:PartyTaxScheme");
    xml.close("cac:ReceiverParty");
    xml.open("cac:Attachment", &[]);
    xml.open("cac:ExternalReference", &[]);
    xml.leaf("cbc:MimeCode", &[], "text/xml");
    xml.leaf("cbc:EncodingCode", &[], "UTF-8");
    // The document's XML escapes every `>` of its text, so it holds no `]]>`.
    xml.0.push_str(&format!(
        "<cbc:Description><![CDATA[{}]]></cbc:Description>",
        self::xml(document, account)
    ));
    xml.close("cac:ExternalReference");
    xml.close("cac:Attachment");
    xml.open("cac:ParentDocumentLineReference", &[]);
    xml.leaf("cbc:LineID", &[], "1");
    xml.open("cac:DocumentReference", &[]);
    xml.leaf("cbc:ID", &[], &document.number);
    let scheme = format!("{}-SHA384", document.kind.code_name());
    xml.leaf("cbc:UUID", &[("schemeName", &scheme)], &document.cufe);
    xml.leaf("cbc:IssueDate", &[], &date);
    xml.leaf("cbc:DocumentType", &[], "ApplicationResponse");
    xml.open("cac:ResultOfVerification", &[]);
    xml.leaf(
        "cbc:ValidatorID",
        &[],
        "Unidad Especial Dirección de Impuestos y Aduanas Nacionales",
    );
    xml.leaf("cbc:ValidationResultCode", &[], "02");
    xml.leaf("cbc:ValidationDate", &[], &clock::iso_date(validated.date()));
    xml.leaf("cbc:ValidationTime", &[], &clock::issue_time(validated));
    xml.close("cac:ResultOfVerification");
    xml.close("cac:DocumentReference");
    xml.close("cac:ParentDocumentLineReference");
    xml.close("AttachedDocument");
    xml.0
}

/// CRC-32 (IEEE), as ZIP files check their entries.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A ZIP archive of `files` (name, content), stored without compression.
pub fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, content) in files {
        let offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
        let size = u32::try_from(content.len()).unwrap_or(u32::MAX);
        let name_length = u16::try_from(name.len()).unwrap_or(u16::MAX);
        let crc = crc32(content);
        // Version 2.0, UTF-8 names, stored, 1980-01-01 00:00.
        let common = |out: &mut Vec<u8>| {
            for half in [20u16, 0x0800, 0, 0, 0x21] {
                out.extend_from_slice(&half.to_le_bytes());
            }
            for word in [crc, size, size] {
                out.extend_from_slice(&word.to_le_bytes());
            }
            out.extend_from_slice(&name_length.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(content);
        directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        directory.extend_from_slice(&20u16.to_le_bytes());
        common(&mut directory);
        for half in [0u16, 0, 0] {
            directory.extend_from_slice(&half.to_le_bytes());
        }
        directory.extend_from_slice(&0u32.to_le_bytes());
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = u32::try_from(out.len()).unwrap_or(u32::MAX);
    let directory_size = u32::try_from(directory.len()).unwrap_or(u32::MAX);
    let count = u16::try_from(files.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&directory);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for half in [0u16, 0, count, count] {
        out.extend_from_slice(&half.to_le_bytes());
    }
    out.extend_from_slice(&directory_size.to_le_bytes());
    out.extend_from_slice(&directory_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::accounts::testing;
    use crate::ledger::{DianFault, Draft, submit};

    fn issued() -> (Document, Account) {
        let mut account = testing::account();
        let customer = json!({"identification_document_code": "31", "identification": "123456789",
            "legal_organization_code": "1", "company": "Alan <company> & \"Sons\" Ñandú \u{1}", "tribute_code": "ZZ"});
        let body = json!({"reference_code": "r-1", "observation": "a ]]> b", "customer": customer,
        "payment_details": [{"payment_form": "1", "payment_method_code": "10", "amount": "83300"}],
        "items": [
            {"code_reference": "A", "name": "Producto (A)", "quantity": "1.00", "price": "10000.00", "unit_measure_code": "94",
             "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}]},
            {"code_reference": "B", "name": "Producto B", "quantity": "3.00", "price": "20000.00", "unit_measure_code": "94",
             "standard_code": "999", "taxes": [{"code": "01", "rate": "19.00"}], "withholding_taxes": [{"code": "06", "rate": "2.5"}]}
        ]});
        let draft = Draft {
            reference_code: "r-1".into(),
            body,
            customer,
            bill_number: None,
            range_id: 8,
        };
        submit(&mut account, Kind::Bill, draft, DianFault::None, clock::now());
        let document = account.bills.by_reference("r-1").unwrap().clone();
        (document, account)
    }

    #[test]
    fn the_pdf_is_a_pdf_with_the_number_the_cufe_and_the_total() {
        let (document, account) = issued();
        let pdf = pdf(&document, &account);
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains(&document.number));
        assert!(text.contains(&document.cufe[..48]) && text.contains(&document.cufe[48..]));
        assert!(text.contains("Total: 83300.00"));
        assert!(text.contains("Producto \\(A\\)"));
        // Every cross-reference entry points at its object.
        let xref = pdf.windows(6).rposition(|window| window == b"\nxref\n").unwrap() + 1;
        let startxref: usize = text
            .split("startxref\n")
            .nth(1)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(startxref, xref);
        let table = String::from_utf8(pdf[xref..].to_vec()).unwrap();
        for (index, entry) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(format!("{} 0 obj", index + 1).as_bytes()),
                "{entry}"
            );
        }
    }

    #[test]
    fn the_xml_is_well_formed_ubl_with_the_number_and_the_cufe() {
        let (document, account) = issued();
        let xml = xml(&document, &account);
        let tree = roxmltree::Document::parse(&xml).unwrap();
        let root = tree.root_element();
        assert_eq!(root.tag_name().name(), "Invoice");
        assert_eq!(
            root.tag_name().namespace(),
            Some("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2")
        );
        let find = |name: &str| {
            root.children()
                .find(|node| node.tag_name().name() == name)
                .unwrap()
        };
        assert_eq!(find("UBLVersionID").text(), Some("UBL 2.1"));
        assert_eq!(find("ID").text(), Some(document.number.as_str()));
        let uuid = find("UUID");
        assert_eq!(
            (uuid.text(), uuid.attribute("schemeName")),
            (Some(document.cufe.as_str()), Some("CUFE-SHA384"))
        );
        let payable = find("LegalMonetaryTotal")
            .children()
            .find(|node| node.tag_name().name() == "PayableAmount")
            .unwrap();
        assert_eq!(payable.text(), Some("83300.00"));
        let customer = root
            .descendants()
            .find(|node| {
                node.tag_name().name() == "RegistrationName"
                    && node.text().unwrap_or_default().starts_with("Alan")
            })
            .unwrap();
        assert_eq!(customer.text(), Some("Alan <company> & \"Sons\" Ñandú "));
        assert_eq!(
            root.children()
                .filter(|node| node.tag_name().name() == "InvoiceLine")
                .count(),
            2
        );

        let attached = attached_document(&document, &account);
        let tree = roxmltree::Document::parse(&attached).unwrap();
        let description = tree
            .descendants()
            .find(|node| node.tag_name().name() == "Description")
            .unwrap();
        let inner = roxmltree::Document::parse(description.text().unwrap()).unwrap();
        assert_eq!(inner.root_element().tag_name().name(), "Invoice");
    }

    #[test]
    fn the_zip_holds_its_files() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let zip = zip(&[("a.pdf", b"%PDF-"), ("ad.xml", b"<x/>")]);
        assert!(zip.starts_with(&[0x50, 0x4b, 0x03, 0x04]));
        let end = zip.len() - 22;
        assert_eq!(&zip[end..end + 4], &[0x50, 0x4b, 0x05, 0x06]);
        assert_eq!(u16::from_le_bytes([zip[end + 10], zip[end + 11]]), 2);
        let directory = u32::from_le_bytes(zip[end + 16..end + 20].try_into().unwrap()) as usize;
        assert_eq!(&zip[directory..directory + 4], &[0x50, 0x4b, 0x01, 0x02]);
    }
}
