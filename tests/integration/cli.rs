//! `invoicer`, the command line, run as its users run it (the binary, its exit codes, its files)
//! against the stack: login, the sample lot submitted and watched to the end with the API's own
//! counts, invalid lines by line and column, the errors CSV fixed and sent again, each class of
//! exit code, no token in any output nor in a file others may read, and the progress bar in a
//! terminal.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

use crate::support::accounts::{Account, signup};
use crate::support::batches::HEADER;
use crate::support::invoices::get;
use crate::support::sandbox;
use crate::support::{api, local_only, unique};

/// The longest a command may take here (a bound, not a timing assertion: a lot that never ends
/// fails the test instead of hanging the suite).
const BOUND: Duration = Duration::from_secs(600);

/// The `invoicer` binary, beside this test binary's directory (`make test` builds both).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = dir.join(format!("invoicer{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "no {}: build it first (cargo build -p invoicer-cli; make test does)",
        binary.display()
    );
    binary
}

/// A user's machine: its own configuration directory, and every output the CLI gave there.
struct Machine {
    home: PathBuf,
    outputs: Vec<String>,
}

impl Machine {
    fn new() -> Self {
        let home = std::env::temp_dir().join(unique("invoicer-cli"));
        std::fs::create_dir_all(&home).unwrap();
        Self {
            home,
            outputs: Vec::new(),
        }
    }

    fn profile(&self) -> PathBuf {
        self.home.join("config/invoicer/profile.json")
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs `invoicer args` with `stdin`; answers its exit code, stdout and stderr.
    async fn run(&mut self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let mut command = tokio::process::Command::new(binary());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("INVOICER_API_URL", api(""))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes())
            .await
            .unwrap();
        drop(input);
        let Output {
            status,
            stdout,
            stderr,
        } = tokio::time::timeout(BOUND, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("invoicer {args:?} did not end"))
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        );
        self.outputs.push(format!("{stdout}{stderr}"));
        (status.code().unwrap_or(-1), stdout, stderr)
    }

    async fn login(&mut self, account: &Account) {
        let stdin = format!("{}\n", account.password);
        let (code, _, stderr) = self
            .run(&["login", "--email", &account.email, "--password-stdin"], &stdin)
            .await;
        assert_eq!(code, 0, "{stderr}");
    }

    /// The profile's tokens: neither may appear in any output.
    fn tokens(&self) -> Vec<String> {
        let profile: Value = serde_json::from_slice(&std::fs::read(self.profile()).unwrap()).unwrap();
        ["access_token", "refresh_token"]
            .iter()
            .filter_map(|name| profile[name].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/samples/batch.csv")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn login_the_sample_lot_watched_to_its_end_and_logout_with_no_token_in_sight() {
    let Some(_) = local_only("an organization connected to the sandbox") else {
        return;
    };
    let owner = signup().await;
    let mut machine = Machine::new();
    machine.login(&owner).await;
    #[cfg(unix)]
    {
        assert_eq!(mode(&machine.profile()), 0o600, "the profile is its owner's only");
        assert_eq!(mode(machine.profile().parent().unwrap()), 0o700);
    }
    let mut tokens = machine.tokens();
    let sample = sample();
    let (code, stdout, stderr) = machine
        .run(
            &["--json", "batches", "submit", sample.to_str().unwrap(), "--watch"],
            "",
        )
        .await;
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let submitted = &lines[0];
    let id = submitted["id"].as_str().unwrap();
    assert!(stderr.contains("idempotency key"), "{stderr}");
    let last = lines.last().unwrap();
    let (_, batch) = get(&owner, &format!("/v1/batches/{id}")).await;
    for count in ["status", "total", "accepted", "rejected", "failed", "pending"] {
        assert_eq!(last[count], batch[count], "{count}: {last} against {batch}");
    }
    assert_eq!(
        (submitted["total"].as_u64(), submitted["invalid_count"].as_u64()),
        (Some(150), Some(0))
    );
    assert_eq!(
        (&last["status"], &last["accepted"]),
        (&serde_json::json!("completed"), &serde_json::json!(150))
    );
    assert_eq!(code, 0, "{stderr}");

    let (code, stdout, _) = machine
        .run(&["invoices", "list", "--batch", id, "--json"], "")
        .await;
    assert_eq!(code, 0);
    assert_eq!(
        stdout.lines().count() as u64,
        batch["total"].as_u64().unwrap(),
        "every page followed"
    );

    tokens.extend(machine.tokens());
    let (code, _, stderr) = machine.run(&["logout"], "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(!machine.profile().exists(), "the profile is forgotten");
    let (code, _, stderr) = machine.run(&["invoices", "list"], "").await;
    assert_eq!(code, 2, "not logged in: {stderr}");
    for output in &machine.outputs {
        for token in &tokens {
            assert!(!output.contains(token.as_str()), "a token was printed: {output}");
        }
    }
    let refreshed = crate::support::http()
        .post(api("/v1/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": tokens.last().unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 401, "logout revoked the session");
}

#[tokio::test]
async fn invalid_lines_are_shown_by_line_and_column_and_the_errors_csv_is_fixed_and_sent_again() {
    let Some(_) = local_only("an organization connected to the sandbox") else {
        return;
    };
    let owner = signup().await;
    let mut machine = Machine::new();
    machine.login(&owner).await;
    let (good, zero, tax) = (unique("CLI-OK"), unique("CLI-ZERO"), unique("CLI-TAX"));
    let row = |reference: &str| crate::support::batches::row(reference, "SKU-1");
    // As Excel saves a "CSV UTF-8": with a byte order mark.
    let csv = format!(
        "\u{feff}{HEADER}\n{}\n{}\n{}\n",
        row(&good),
        row(&zero).replace(",Widget,2,", ",Widget,0,"),
        row(&tax).replace(",19,06:2.5", ",17,06:2.5"),
    );
    let original = machine.file("lot.csv", &csv);
    let path = original.to_str().unwrap();

    let (code, stdout, stderr) = machine
        .run(&["batches", "submit", path, "--all-or-nothing"], "")
        .await;
    assert_eq!(code, 1, "all or nothing: refused\n{stdout}{stderr}");
    assert!(
        stderr.contains("VALIDATION_ERROR") && stderr.contains("request id"),
        "{stderr}"
    );

    let (code, stdout, stderr) = machine.run(&["batches", "submit", path], "").await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 invoices stored, 2 invalid"), "{stdout}");
    let shown: Vec<&str> = stdout.lines().filter(|line| line.contains("CLI-")).collect();
    assert!(
        shown
            .iter()
            .any(|line| line.starts_with('3') && line.contains("quantity")),
        "line 3's quantity: {stdout}"
    );
    assert!(
        shown
            .iter()
            .any(|line| line.starts_with('4') && line.contains("tax_rate")),
        "line 4's tax rate: {stdout}"
    );
    let id = stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();

    // The lot's file is the one this machine submitted it from.
    let fix = machine.home.join("fix.csv");
    let (code, _, stderr) = machine
        .run(
            &[
                "batches",
                "errors",
                &id,
                "--format",
                "csv",
                "-o",
                fix.to_str().unwrap(),
            ],
            "",
        )
        .await;
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&fix).unwrap();
    let rows: Vec<&str> = written.lines().collect();
    assert_eq!(
        rows.len(),
        3,
        "the header and the two invalid invoices' rows: {written}"
    );
    assert!(rows[1].contains(&zero) && rows[2].contains(&tax), "{written}");
    // A person fixes the two cells, and sends the file again.
    let fixed = written
        .replace(",Widget,0,", ",Widget,2,")
        .replace(",17,06:2.5", ",19,06:2.5");
    std::fs::write(&fix, fixed).unwrap();
    let (code, stdout, stderr) = machine
        .run(
            &["--json", "batches", "submit", fix.to_str().unwrap(), "--watch"],
            "",
        )
        .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let first: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["total"].as_u64(), first["invalid_count"].as_u64()),
        (Some(2), Some(0))
    );
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["accepted"], 2, "{last}");
}

#[tokio::test]
async fn exit_codes_say_what_happened() {
    let owner = signup().await;
    let mut machine = Machine::new();
    let (code, _, stderr) = machine.run(&["batches", "submit"], "").await;
    assert_eq!(code, 2, "a missing argument: {stderr}");
    let (code, _, stderr) = machine
        .run(&["invoices", "get", "01JDQ7Z8X9Y0ABCDEFGHJKMNPQ"], "")
        .await;
    assert_eq!(code, 2, "not logged in: {stderr}");
    let wrong = format!("{}-wrong\n", owner.password);
    let (code, _, stderr) = machine
        .run(&["login", "--email", &owner.email, "--password-stdin"], &wrong)
        .await;
    assert_eq!(code, 1, "refused: {stderr}");
    assert!(stderr.contains("401 UNAUTHENTICATED"), "{stderr}");
    machine.login(&owner).await;
    let (code, _, stderr) = machine
        .run(&["invoices", "get", "01JDQ7Z8X9Y0ABCDEFGHJKMNPQ"], "")
        .await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("404 NOT_FOUND") && stderr.contains("request id: "),
        "{stderr}"
    );
    let (code, _, stderr) = machine
        .run(&["--api-url", "http://127.0.0.1:9", "invoices", "list"], "")
        .await;
    assert_eq!(
        code, 2,
        "the session is its own API's, never sent elsewhere: {stderr}"
    );
    let (code, _, stderr) = machine
        .run(&["--api-url", "http://api.example.co", "invoices", "list"], "")
        .await;
    assert_eq!(code, 2, "tokens travel over https only: {stderr}");
    let (code, _, stderr) = machine
        .run(
            &[
                "--api-url",
                "http://127.0.0.1:9",
                "login",
                "--email",
                &owner.email,
                "--password-stdin",
            ],
            &format!("{}\n", owner.password),
        )
        .await;
    assert_eq!(code, 3, "unreachable: {stderr}");
    let down = unavailable_api().await;
    let (code, _, stderr) = machine
        .run(
            &[
                "--json",
                "--api-url",
                &down,
                "login",
                "--email",
                &owner.email,
                "--password-stdin",
            ],
            &format!("{}\n", owner.password),
        )
        .await;
    assert_eq!(code, 3, "a 5xx: {stderr}");
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(
        error["error"]["code"], "UNAVAILABLE",
        "the API's error, as JSON: {stderr}"
    );
}

/// An API that answers every request 503, on loopback.
async fn unavailable_api() -> String {
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            r#"{"error":{"code":"UNAVAILABLE","message":"down for a moment"},"request_id":"r-1"}"#,
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[tokio::test]
async fn a_watched_lot_with_a_rejected_invoice_exits_1() {
    let Some(_) = local_only("the provider sandbox's faults") else {
        return;
    };
    let owner = signup().await;
    let mut machine = Machine::new();
    machine.login(&owner).await;
    let code = unique("CLI-REJ");
    let prefix = shared::provider::provider_reference(&owner.org_id, &code);
    sandbox::set_faults(
        serde_json::json!({"reference_prefix": prefix, "validation_error_rate": 1.0, "seed": 1}),
    )
    .await;
    let csv = format!("{HEADER}\n{}\n", crate::support::batches::row(&code, "SKU-1"));
    let lot = machine.file("rejected.csv", &csv);
    let (exit, stdout, stderr) = machine
        .run(&["batches", "submit", lot.to_str().unwrap(), "--watch"], "")
        .await;
    sandbox::clear_faults(&prefix).await;
    assert_eq!(exit, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("completed with errors: 0 accepted, 1 rejected"),
        "{stderr}"
    );
    let id = stdout
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    let (exit, _, stderr) = machine.run(&["batches", "watch", &id], "").await;
    assert_eq!(exit, 1, "watching it again: {stderr}");
}

#[cfg(unix)]
#[tokio::test]
async fn in_a_terminal_the_progress_bar_advances_and_finishes() {
    let Some(_) = local_only("an organization connected to the sandbox") else {
        return;
    };
    let owner = signup().await;
    let mut machine = Machine::new();
    machine.login(&owner).await;
    let sample = sample();
    let (code, screen) = terminal::run(
        &binary(),
        &["batches", "submit", sample.to_str().unwrap(), "--watch"],
        &[
            ("XDG_CONFIG_HOME", machine.home.join("config").to_str().unwrap()),
            ("INVOICER_API_URL", &api("")),
            ("TERM", "xterm-256color"),
        ],
    )
    .await;
    // Every drawing of the bar shows `done/total`: they rise, and the last shows the whole lot.
    let positions: Vec<(u64, u64)> = screen
        .split(|c: char| !(c.is_ascii_digit() || c == '/'))
        .filter_map(|word| {
            let (done, total) = word.split_once('/')?;
            Some((done.parse().ok()?, total.parse().ok()?))
        })
        .filter(|(_, total)| *total > 0)
        .collect();
    let (last, total) = *positions
        .last()
        .unwrap_or_else(|| panic!("no bar drawn: {screen}"));
    assert_eq!(last, total, "the bar finishes: {screen}");
    assert!(
        positions.iter().any(|(done, total)| 0 < *done && done < total),
        "the bar was drawn part way: {positions:?}"
    );
    assert!(
        positions.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "{positions:?}"
    );
    assert!(screen.contains("completed:"), "{screen}");
    assert_eq!(code, 0, "{screen}");
}

/// A program under a pseudo-terminal, as a person's shell runs it.
#[cfg(unix)]
mod terminal {
    use std::io::Read;
    use std::path::Path;

    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    /// Runs `program args` with a 24×120 terminal as its stdin, stdout and stderr; answers its
    /// exit code and everything it drew.
    pub async fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let size = rustix::termios::Winsize {
            ws_row: 24,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, size).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        let mut child = command.spawn().unwrap();
        drop(command);
        let drawn = tokio::task::spawn_blocking(move || {
            let mut master = std::fs::File::from(master);
            let mut screen = Vec::new();
            let mut buffer = [0_u8; 4096];
            // Until the program ends and its terminal closes (EIO on Linux).
            while let Ok(read) = master.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                screen.extend_from_slice(&buffer[..read]);
            }
            let code = child.wait().unwrap().code().unwrap_or(-1);
            (code, String::from_utf8_lossy(&screen).into_owned())
        });
        tokio::time::timeout(super::BOUND, drawn)
            .await
            .unwrap_or_else(|_| panic!("{} did not end", program.display()))
            .unwrap()
    }
}
