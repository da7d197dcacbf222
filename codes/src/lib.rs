//! The code tables of Colombian e-invoicing as Factus API v2 publishes them (its reference
//! tables, developers.factus.com.co/tablas-de-referencia): facts, kept as data, read by
//! invoicer's validation and by the provider sandbox alike. The two long lists are files in
//! `data/` (DANE's municipalities, DIAN's units of measure); the short ones are below, each with
//! the table it comes from.

/// One row of a code table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub name: &'static str,
}

const fn code(code: &'static str, name: &'static str) -> Code {
    Code { code, name }
}

/// The name of `code` in `table`.
pub fn name(table: &[Code], code: &str) -> Option<&'static str> {
    table.iter().find(|row| row.code == code).map(|row| row.name)
}

/// "Códigos de tipos de documentos de identidad".
pub const IDENTIFICATION_DOCUMENTS: &[Code] = &[
    code("11", "Registro civil"),
    code("12", "Tarjeta de identidad"),
    code("13", "Cédula de ciudadanía"),
    code("21", "Tarjeta de extranjería"),
    code("22", "Cédula de extranjería"),
    code("31", "NIT"),
    code("41", "Pasaporte"),
    code("42", "Documento de identificación extranjero"),
    code("47", "PEP"),
    code("48", "PPT (Permiso Protección Temporal)"),
    code("50", "NIT otro país"),
    code("91", "NUIP"),
];

/// "Código de tipos de organizaciones".
pub const ORGANIZATION_TYPES: &[Code] = &[code("1", "Persona Jurídica"), code("2", "Persona Natural")];

/// "Códigos de tributos clientes".
pub const CUSTOMER_TRIBUTES: &[Code] = &[code("01", "IVA"), code("ZZ", "No aplica")];

/// "Códigos de impuestos": the taxes an item may carry.
pub const TAXES: &[Code] = &[
    code("01", "IVA"),
    code("04", "INC"),
    code(
        "35",
        "Impuesto a los productos comestibles ultraprocesados industrialmente y/o con alto contenido de azúcares añadidos, sodio o grasas saturadas",
    ),
];

/// "Códigos de retenciones" (05, 06), and ReteICA (07), which the glossary's "Retención" entry
/// names beside them: the withholdings an item may report (autorretenciones).
pub const WITHHOLDINGS: &[Code] = &[
    code("05", "ReteIVA"),
    code("06", "ReteRenta"),
    code("07", "ReteICA"),
];

/// "Códigos de métodos de pago".
pub const PAYMENT_METHODS: &[Code] = &[
    code("1", "Medio de pago no definido"),
    code("10", "Efectivo"),
    code("20", "Cheque"),
    code("42", "Consignación"),
    code("47", "Transferencia"),
    code("48", "Tarjeta Crédito"),
    code("49", "Tarjeta Débito"),
    code("71", "Bonos"),
    code("72", "Vales"),
    code("ZZZ", "Otro"),
];

/// "Códigos de formas de pago".
pub const PAYMENT_FORMS: &[Code] = &[code("1", "Pago de contado"), code("2", "Pago a crédito")];

/// "Códigos de estándar de identificación del producto".
pub const PRODUCT_STANDARDS: &[Code] = &[
    code("001", "UNSPSC"),
    code("010", "GTIN"),
    code("020", "Partida Arancelaria"),
    code("999", "Estándar de adopción del contribuyente"),
];

/// "Códigos de tipos de documentos para la factura".
pub const BILL_DOCUMENTS: &[Code] = &[
    code("01", "Factura electrónica de Venta"),
    code("03", "Instrumento electrónico de transmisión - tipo 03"),
];

/// "Códigos de tipos de operación".
pub const OPERATION_TYPES: &[Code] = &[
    code("10", "Estándar"),
    code("11", "Mandatos"),
    code("12", "Transporte"),
    code("SS-CUFE", "Sector Salud - CUFE"),
    code("SS-Reporte", "Sector Salud - Reporte"),
    code("SS-SinAporte", "Sector Salud - Sin Aporte"),
    code(
        "SS-Recaudo",
        "Sector Salud - Recaudo de cuotas moderadoras o copagos",
    ),
];

/// "Códigos de corrección (notas crédito)".
pub const CREDIT_NOTE_CORRECTIONS: &[Code] = &[
    code(
        "1",
        "Devolución parcial de los bienes y/o no aceptación parcial del servicio",
    ),
    code("2", "Anulación de factura electrónica"),
    code("3", "Rebaja o descuento parcial o total"),
    code("4", "Ajuste de precio"),
    code("5", "Descuento comercial por pronto pago"),
    code("6", "Descuento comercial por volumen de ventas"),
];

/// "Códigos de tipos de operación (notas crédito)".
pub const CREDIT_NOTE_OPERATIONS: &[Code] = &[
    code("20", "Nota Crédito que referencia una factura electrónica"),
    code("22", "Nota Crédito sin referencia a una factura electrónica"),
];

/// "Códigos de tipos de documento para los rangos de numeración".
pub const NUMBERING_RANGE_DOCUMENTS: &[Code] = &[
    code("21", "Factura de Venta"),
    code("22", "Nota Crédito"),
    code("23", "Nota Débito"),
    code("24", "Documento Soporte"),
    code("25", "Nota de Ajuste Documento Soporte"),
    code("30", "Factura de talonario y de papel"),
];

/// "Responsabilidades fiscales".
pub const FISCAL_RESPONSIBILITIES: &[Code] = &[
    code("O-13", "Gran contribuyente"),
    code("O-15", "Autorretenedor"),
    code("O-23", "Agente de retención de IVA"),
    code("O-47", "Régimen simple de tributación"),
    code("R-99-PN", "No responsable"),
];

/// A municipality of DANE's DIVIPOLA list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Municipality {
    pub code: &'static str,
    pub name: &'static str,
    pub department_code: &'static str,
    pub department_name: &'static str,
}

/// The line of a data file whose first field is `code`. The files are sorted by code (byte
/// order), after their `#` comments: a binary search, with no table built in memory.
fn find(text: &'static str, code: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let line_start = |at: usize| bytes[..at].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    let line_end = |at: usize| {
        bytes[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |p| at + p)
    };
    let mut low = 0;
    while text[low..].starts_with('#') {
        low = line_end(low) + 1;
    }
    let mut high = bytes.len();
    while low < high {
        let start = line_start(low + (high - low) / 2).max(low);
        let end = line_end(start);
        let line = &text[start..end];
        match line.split('\t').next().unwrap_or_default().cmp(code) {
            std::cmp::Ordering::Equal => return Some(line),
            std::cmp::Ordering::Less => low = end + 1,
            std::cmp::Ordering::Greater => high = start,
        }
    }
    None
}

const MUNICIPALITIES: &str = include_str!("../data/municipalities.tsv");
const UNIT_MEASURES: &str = include_str!("../data/unit_measures.tsv");

/// The municipality of a five-digit DIVIPOLA code.
pub fn municipality(code: &str) -> Option<Municipality> {
    let mut fields = find(MUNICIPALITIES, code)?.split('\t');
    Some(Municipality {
        code: fields.next()?,
        name: fields.next()?,
        department_code: fields.next()?,
        department_name: fields.next()?,
    })
}

/// The name of a DIAN unit-of-measure code.
pub fn unit_measure(code: &str) -> Option<&'static str> {
    find(UNIT_MEASURES, code)?.split('\t').nth(1)
}

/// Every row of a data file.
#[cfg(test)]
fn rows(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_whole_sorted_and_read_right() {
        assert_eq!(rows(MUNICIPALITIES).count(), 1122);
        assert_eq!(rows(UNIT_MEASURES).count(), 1089);
        for text in [MUNICIPALITIES, UNIT_MEASURES] {
            let codes: Vec<&str> = rows(text).map(|row| row.split('\t').next().unwrap()).collect();
            assert!(
                codes.windows(2).all(|pair| pair[0] < pair[1]),
                "sorted, no repeats"
            );
            for code in codes {
                assert!(
                    find(text, code).unwrap().starts_with(&format!("{code}\t")),
                    "every code is found"
                );
            }
        }
        assert_eq!(unit_measure("4"), Some("spray pequeño"));
        assert_eq!(unit_measure("ZZ"), Some("mutuamente definido"));
        let bogota = municipality("11001").unwrap();
        assert_eq!((bogota.department_code, bogota.name), ("11", "Bogotá, D.c."));
        assert_eq!(municipality("68679").unwrap().name, "San Gil");
        assert!(municipality("11000").is_none());
        assert_eq!(unit_measure("94"), Some("unidad"));
        assert_eq!(unit_measure("KGM"), Some("kilogramo"));
        assert!(unit_measure("XYZ").is_none());
    }

    #[test]
    fn short_tables_answer_names() {
        assert_eq!(name(IDENTIFICATION_DOCUMENTS, "31"), Some("NIT"));
        assert_eq!(name(TAXES, "04"), Some("INC"));
        assert_eq!(name(PAYMENT_METHODS, "99"), None);
    }
}
