//! `invoicer`, the command line of the invoicer API: log in, send a lot of invoices and watch it
//! to the end, fetch what came out. A client of the public API only: whatever it does, any API
//! client can do.

mod api;
mod batches;
mod errors;
mod files;
mod invoices;
mod output;
mod profile;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::api::{Api, Failure};

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the API refused (a 4xx), or a watched batch ended with \
invoices rejected or failed; 2 not a valid use (or not logged in); 3 the API could not be reached, or answered \
5xx, after retries; 130 Ctrl-C. Reads and idempotent writes are retried with backoff on 429 and 5xx.";
/// The exit codes of a command that reads or writes one thing.
const CALL_EXIT_CODES: &str = "Exit codes: 0 done; 1 the API refused (a 4xx: its code, message, details and \
request id are printed); 2 not a valid use, a file that cannot be read or written, or not logged in; 3 the API \
could not be reached, or answered 5xx, after retries.";
const SUBMIT_EXIT_CODES: &str = "Exit codes: 0 the lot was taken (even with invalid inputs); with --watch, and \
every invoice of it was accepted; 1 the API refused it (422: nothing valid, or --all-or-nothing and something \
invalid), or, with --watch, it ended with invoices rejected or failed; 2 not a valid use, or not logged in; 3 the \
API could not be reached, or answered 5xx, after retries (watching: for ten minutes); 130 Ctrl-C while watching.";
const WATCH_EXIT_CODES: &str = "Exit codes: 0 every invoice of the lot was accepted; 1 it ended with invoices \
rejected or failed (or it failed), or the API refused; 2 not a valid use, or not logged in; 3 the API could not \
be reached, or answered 5xx, for ten minutes; 130 Ctrl-C (the lot goes on).";

#[derive(Parser)]
#[command(
    name = "invoicer",
    version,
    about = "The invoicer API from the command line: send lots of invoices, watch them, fetch what came out",
    after_help = EXIT_CODES
)]
struct Cli {
    /// The API's base URL; by default the one `invoicer login` used.
    #[arg(long, env = "INVOICER_API_URL", global = true)]
    api_url: Option<String>,
    /// Print JSON for scripts: one document, or one line per item of a list.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in; the session is kept in a profile only you can read (invoicer/profile.json in
    /// the configuration directory), and refreshed as needed.
    #[command(after_help = CALL_EXIT_CODES)]
    Login {
        #[arg(long)]
        email: String,
        /// Read the password from the first line of stdin (else it is asked for, unechoed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Log out: the session is revoked and the profile forgotten.
    #[command(after_help = CALL_EXIT_CODES)]
    Logout,
    /// Lots of invoices in one upload.
    #[command(subcommand)]
    Batches(BatchCommand),
    /// Invoices one by one.
    #[command(subcommand)]
    Invoices(InvoiceCommand),
}

#[derive(Subcommand)]
enum BatchCommand {
    /// Upload a lot (.csv, one row per item, or .json `{"invoices":[...]}`); prints what was
    /// stored and every problem of the invalid inputs (line, column, message). Exit 0 when the
    /// API took the lot (even with invalid lines), 1 when it refused it.
    #[command(after_help = SUBMIT_EXIT_CODES)]
    Submit {
        file: PathBuf,
        /// Store nothing unless every invoice is valid.
        #[arg(long)]
        all_or_nothing: bool,
        /// Sending the same lot with the same key stores it once (one is made, and printed, when
        /// not given).
        #[arg(long)]
        idempotency_key: Option<String>,
        /// The CSV's encoding (by default UTF-8 if it reads as such, else Windows-1252).
        #[arg(long, value_enum)]
        encoding: Option<batches::Encoding>,
        /// Then watch it to the end (see `watch`).
        #[arg(long)]
        watch: bool,
    },
    /// Watch a lot until it ends: a progress bar of accepted, rejected, failed and pending, the
    /// rate and the expected end (with --json, one line each time it moves). Ctrl-C stops the
    /// watching, never the lot. Exit 0 when every invoice was accepted, 1 otherwise.
    #[command(after_help = WATCH_EXIT_CODES)]
    Watch { id: String },
    /// A lot's invalid inputs. `--format csv` writes the invalid invoices' own rows of the
    /// lot's file (or entries of a .json lot), to fix and submit again.
    #[command(after_help = CALL_EXIT_CODES)]
    Errors {
        id: String,
        #[arg(long, value_enum, default_value = "table")]
        format: errors::ErrorsFormat,
        /// The lot's file (by default the one this machine submitted it from).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Where to write csv or json (default stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum InvoiceCommand {
    /// Send one invoice (a JSON InvoiceInput), under an idempotency key.
    #[command(after_help = CALL_EXIT_CODES)]
    Create {
        file: PathBuf,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// One invoice, with the provider's errors if it was rejected.
    #[command(after_help = CALL_EXIT_CODES)]
    Get { id: String },
    /// Every invoice, newest first (all pages).
    #[command(after_help = CALL_EXIT_CODES)]
    List {
        #[arg(long, value_enum)]
        status: Option<invoices::Status>,
        /// Only this lot's.
        #[arg(long)]
        batch: Option<String>,
    },
    /// Send a failed invoice again, or a rejected one corrected (--file).
    #[command(after_help = CALL_EXIT_CODES)]
    Retry {
        id: String,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Download an accepted invoice's PDF.
    #[command(after_help = CALL_EXIT_CODES)]
    Pdf {
        id: String,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Download an accepted invoice's XML (the invoice in law).
    #[command(after_help = CALL_EXIT_CODES)]
    Xml {
        id: String,
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            output::note(&format!("error: {error}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::failure(&failure, json);
            ExitCode::from(failure.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let json = cli.json;
    let fresh = matches!(cli.command, Command::Login { .. } | Command::Logout);
    let mut api = Api::new(cli.api_url, fresh)?;
    match cli.command {
        Command::Login {
            email,
            password_stdin,
        } => {
            let password = password(password_stdin)?;
            api.login(&email, &password).await?;
            output::note(&format!("logged in to {} as {email}", api.base()));
            Ok(())
        }
        Command::Logout => {
            let email = api.logout().await?;
            output::note(&format!(
                "logged out{}",
                email.map(|e| format!(" ({e})")).unwrap_or_default()
            ));
            Ok(())
        }
        Command::Batches(command) => match command {
            BatchCommand::Submit {
                file,
                all_or_nothing,
                idempotency_key,
                encoding,
                watch,
            } => {
                let id =
                    batches::submit(&mut api, &file, all_or_nothing, idempotency_key, encoding, json).await?;
                if watch {
                    batches::watch(&mut api, &id, json).await?;
                }
                Ok(())
            }
            BatchCommand::Watch { id } => batches::watch(&mut api, &id, json).await,
            BatchCommand::Errors {
                id,
                format,
                input,
                output,
            } => {
                let format = if json { errors::ErrorsFormat::Json } else { format };
                errors::errors(&mut api, &id, format, input, output.as_deref()).await
            }
        },
        Command::Invoices(command) => match command {
            InvoiceCommand::Create {
                file,
                idempotency_key,
            } => invoices::create(&mut api, &file, idempotency_key, json).await,
            InvoiceCommand::Get { id } => invoices::get(&mut api, &id, json).await,
            InvoiceCommand::List { status, batch } => {
                invoices::list(&mut api, status, batch.as_deref(), json).await
            }
            InvoiceCommand::Retry { id, file } => invoices::retry(&mut api, &id, file.as_deref(), json).await,
            InvoiceCommand::Pdf { id, output } => invoices::document(&mut api, &id, "pdf", &output).await,
            InvoiceCommand::Xml { id, output } => invoices::document(&mut api, &id, "xml", &output).await,
        },
    }
}

/// The idempotency key given (1-255 printable ASCII characters, as the API takes them), or a
/// new one, printed: sending the same request again with it cannot make it twice.
fn idempotency_key(given: Option<String>) -> Result<String, Failure> {
    match given {
        Some(key) if (1..=255).contains(&key.len()) && key.bytes().all(|byte| byte.is_ascii_graphic()) => {
            Ok(key)
        }
        Some(_) => Err(Failure::Usage(
            "--idempotency-key takes 1 to 255 printable ASCII characters".to_owned(),
        )),
        None => {
            let key = ulid::Ulid::generate().to_string();
            output::note(&format!(
                "idempotency key {key}: sent again with --idempotency-key {key}, it cannot be stored twice"
            ));
            Ok(key)
        }
    }
}

/// The password: stdin's first line, or asked for without echo.
fn password(from_stdin: bool) -> Result<String, Failure> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|error| Failure::Usage(format!("reading the password: {error}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        rpassword::prompt_password("password: ").map_err(|error| {
            Failure::Usage(format!(
                "no terminal to ask the password on ({error}): use --password-stdin"
            ))
        })?
    };
    if password.is_empty() {
        return Err(Failure::Usage("the password is empty".to_owned()));
    }
    Ok(password)
}
