//! `invoicer batches errors`: a lot's invalid inputs as a table, as JSON lines, or as the lot's
//! own rows of its invalid invoices (read as the API reads the file), for a person to fix and
//! submit again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::api::{Api, Failure, all_pages, encoded};
use crate::batches::problem_rows;
use crate::files::{read, write_out};
use crate::output::{self, cell};
use crate::profile;

/// How `batches errors` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ErrorsFormat {
    /// One row per problem.
    Table,
    /// The invalid invoices' own rows of the lot's CSV (or entries of its JSON), to fix and
    /// submit again; without the lot's file, one CSV row per problem.
    Csv,
    /// One JSON line per invalid input, as the API lists them.
    Json,
}

/// Writes a batch's invalid inputs. For `csv`, the lot's file is `input`, or the one this
/// machine submitted the lot from.
pub async fn errors(
    api: &mut Api,
    id: &str,
    format: ErrorsFormat,
    input: Option<PathBuf>,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let batch = api.get(&format!("/v1/batches/{}", encoded(id))).await?;
    let invalid = all_pages(api, &format!("/v1/batches/{}/errors?limit=100", encoded(id))).await?;
    let recorded = invalid.len() as u64;
    if batch["invalid_count"]
        .as_u64()
        .is_some_and(|count| count > recorded)
    {
        output::note(&format!(
            "the lot had {} invalid inputs; the API keeps the first {recorded}: fix those, then the rest",
            cell(&batch["invalid_count"])
        ));
    }
    let bytes = match format {
        ErrorsFormat::Json => invalid
            .iter()
            .map(|input| format!("{input}\n"))
            .collect::<String>()
            .into_bytes(),
        ErrorsFormat::Table => {
            output::table(
                &["LINE", "REFERENCE", "FIELD", "MESSAGE"],
                &problem_rows(&invalid),
            );
            return Ok(());
        }
        ErrorsFormat::Csv => match input
            .map_or_else(|| profile::source_of(id).transpose(), |input| Ok(Some(input)))
            .map_err(Failure::Usage)?
        {
            Some(input) => {
                let bytes = read(&input)?;
                if input
                    .extension()
                    .is_some_and(|extension| extension.eq_ignore_ascii_case("json"))
                {
                    invalid_entries(&bytes, &invalid)?
                } else {
                    invalid_rows(&bytes, &invalid)?
                }
            }
            None => {
                output::note("the lot's file is not known here (--input FILE): one row per problem instead");
                let mut rows = vec![
                    ["line", "reference_code", "field", "message"]
                        .map(str::to_owned)
                        .to_vec(),
                ];
                rows.extend(problem_rows(&invalid));
                csv_of(
                    b',',
                    rows.iter()
                        .map(|row| csv::StringRecord::from(row.clone()).into_byte_record()),
                )?
            }
        },
    };
    write_out(out, &bytes)
}

/// Records as CSV, separated by `delimiter`.
fn csv_of(delimiter: u8, records: impl Iterator<Item = csv::ByteRecord>) -> Result<Vec<u8>, Failure> {
    let failed = |error: String| Failure::Failed(format!("writing the CSV: {error}"));
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_writer(Vec::new());
    for record in records {
        writer
            .write_byte_record(&record)
            .map_err(|error| failed(error.to_string()))?;
    }
    writer.into_inner().map_err(|error| failed(error.to_string()))
}

/// The header and the rows of the lot's CSV that belong to an invalid invoice (by its
/// reference code, or by the records its problems name), as they were written. The file is read
/// as the API reads it: a UTF-8 BOM dropped, `;` between cells when the header has more of them
/// than commas, column names trimmed and in any case, records counted from the header's 1.
fn invalid_rows(bytes: &[u8], invalid: &[Value]) -> Result<Vec<u8>, Failure> {
    let references: BTreeSet<&str> = invalid
        .iter()
        .filter_map(|input| input["reference_code"].as_str())
        .collect();
    let mut lines: BTreeSet<u64> = invalid
        .iter()
        .filter_map(|input| input["line"].as_u64())
        .collect();
    for input in invalid {
        let problems = input["errors"].as_array().into_iter().flatten();
        lines.extend(problems.filter_map(|problem| problem["line"].as_u64()));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let header = bytes.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let count = |wanted: u8| header.iter().filter(|byte| **byte == wanted).count();
    let delimiter = if count(b';') > count(b',') { b';' } else { b',' };
    let broken = |error: csv::Error| Failure::Usage(format!("reading the lot's CSV: {error}"));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header = reader.byte_headers().map_err(broken)?.clone();
    let reference_column = header
        .iter()
        .position(|name| name.trim_ascii().eq_ignore_ascii_case(b"reference_code"))
        .ok_or_else(|| {
            Failure::Usage("the lot's CSV has no reference_code column: is it the lot's file?".to_owned())
        })?;
    let mut kept = vec![header];
    for record in reader.byte_records() {
        let record = record.map_err(broken)?;
        let line = record.position().map_or(0, |position| position.record() + 1);
        let reference = record
            .get(reference_column)
            .and_then(|cell| std::str::from_utf8(cell).ok())
            .map(str::trim);
        if lines.contains(&line) || reference.is_some_and(|code| references.contains(code)) {
            kept.push(record);
        }
    }
    csv_of(delimiter, kept.into_iter())
}

/// The lot's JSON's invalid invoices, as a lot of their own, each exactly as it was written.
fn invalid_entries(bytes: &[u8], invalid: &[Value]) -> Result<Vec<u8>, Failure> {
    #[derive(serde::Deserialize)]
    struct Lot<'a> {
        #[serde(borrow)]
        invoices: Vec<&'a serde_json::value::RawValue>,
    }
    let lot: Lot<'_> = serde_json::from_slice(bytes)
        .map_err(|error| Failure::Usage(format!("reading the lot's JSON: {error}")))?;
    let picked: Vec<&str> = invalid
        .iter()
        .filter_map(|input| input["index"].as_u64())
        .filter_map(|index| lot.invoices.get(usize::try_from(index).ok()?))
        .map(|invoice| invoice.get())
        .collect();
    Ok(format!("{{\"invoices\": [\n{}\n]}}\n", picked.join(",\n")).into_bytes())
}
