//! The Markdown report of a run, from its raw numbers.

use std::fmt::Write;

use serde_json::Value;

fn number(value: &Value, decimals: usize) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |n| format!("{n:.decimals$}"))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("?").to_owned()
}

/// The entries of a JSON array (none when it is not one).
fn entries(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

fn mark(value: f64, goal: f64) -> &'static str {
    if value <= goal { "✓" } else { "✗" }
}

/// A ratio and whether it meets a goal it should stay under: `1.26 ✗`.
fn ratio(value: &Value, goal: f64) -> String {
    value
        .as_f64()
        .map_or_else(|| "–".to_owned(), |n| format!("{n:.2} {}", mark(n, goal)))
}

/// `value` as a share of a goal that it should stay under: `0.40× ✓` or `1.70× ✗`.
fn against(value: &Value, goal: f64) -> String {
    value.as_f64().map_or_else(
        || "–".to_owned(),
        |n| format!("{:.2}× {}", n / goal, mark(n, goal)),
    )
}

/// A Markdown table: the first column left-aligned, the others right-aligned.
fn table(out: &mut String, columns: &[&str], rows: impl IntoIterator<Item = Vec<String>>) {
    let alignments: Vec<&str> = (0..columns.len())
        .map(|index| if index == 0 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "| {} |", alignments.join(" | "));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
}

pub fn markdown(run: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# invoicer: `make bench`\n");
    let _ = writeln!(out, "Run on {}, {}.\n", text(&run["date"]), text(&run["machine"]));
    let _ = writeln!(
        out,
        "Times drift from machine to machine; read the ratios, measured in one run. \
         Ratios to goals: under 1.00× meets the goal.\n"
    );

    let cold = &run["cold_starts"];
    let _ = writeln!(
        out,
        "## 1. Cold starts\n\nEach function's release binary started {} times against a Runtime API \
         of the bench's own: *init* from process start to its first request for work, then its \
         first invocation (its first file of `events/`), medians. Goal: init ≤ 10 ms.\n",
        cold["starts"]
    );
    table(
        &mut out,
        &[
            "function",
            "binary (MB)",
            "init (ms)",
            "init / goal",
            "first invocation (ms)",
        ],
        entries(&cold["functions"]).map(|function| {
            vec![
                text(&function["function"]),
                number(&function["binary_mb"], 1),
                number(&function["init_ms"], 2),
                against(&function["init_ms"], 10.0),
                number(&function["first_invocation_ms"], 2),
            ]
        }),
    );
    let peer = &cold["python_peer"];
    let _ = writeln!(
        out,
        "\nThe peer: `GET /v1/invoices/{{id}}` in Python (boto3, AWS Lambda Powertools, PyJWT) under \
         awslambdaric, same harness: init {} ms, first invocation {} ms. `invoices-get` is \
         **{}× faster to init** (goal ≥ 10×) and **{}× faster through its first invocation**, \
         which both spend mostly in the same two AWS calls.\n",
        number(&peer["init_ms"], 1),
        number(&peer["first_invocation_ms"], 1),
        number(&cold["init_speedup"], 0),
        number(&cold["first_invocation_speedup"], 1),
    );

    let _ = writeln!(
        out,
        "## 2. Warm latency\n\nEach request {} times per concurrency level, through three layers: \
         the local stack's HTTP API (gateway → Runtime API emulator → function → emulated AWS), \
         straight to the function through the Runtime API emulator (no gateway), and the raw AWS \
         calls the handler needs, made directly against the same emulator. Goal: API / raw ≤ 1.2 \
         at p50.\n",
        run["warm"]["requests"]
    );
    table(
        &mut out,
        &[
            "request",
            "conc.",
            "API p50 / p90 / p99",
            "direct p50",
            "handler p50",
            "raw p50",
            "API / raw",
            "handler / raw",
            "gateway",
            "runtime API",
            "handler beyond raw",
            "handler CPU",
        ],
        entries(&run["warm"]["rows"]).map(|row| {
            let p50 = |layer: &str| row[layer]["p50_ms"].as_f64();
            let share = |from: &str, to: &str| {
                p50(from)
                    .zip(p50(to))
                    .map_or_else(|| "–".to_owned(), |(a, b)| format!("{:.2}", a - b))
            };
            let api = &row["api"];
            vec![
                text(&row["endpoint"]),
                row["concurrency"].to_string(),
                format!(
                    "{} / {} / {}",
                    number(&api["p50_ms"], 2),
                    number(&api["p90_ms"], 2),
                    number(&api["p99_ms"], 2)
                ),
                number(&row["direct"]["p50_ms"], 2),
                number(&row["handler"]["p50_ms"], 2),
                number(&row["raw"]["p50_ms"], 2),
                ratio(&row["api_over_raw_p50"], 1.2),
                ratio(&row["handler_over_raw_p50"], 1.2),
                share("api", "direct"),
                share("direct", "handler"),
                share("handler", "raw"),
                number(&row["handler_cpu_ms"], 2),
            ]
        }),
    );
    let _ = writeln!(
        out,
        "\nMilliseconds. *handler*: the function's own time per request, as it logs it (JSON \
         parsing, the token check, the AWS calls, the answer); the next three columns split API − \
         raw at p50 into the gateway (API − direct), the Runtime API emulator and the process \
         boundary (direct − handler), and the handler's own work beyond the raw calls (handler − \
         raw). *handler CPU*: the function's processes' CPU time per request over the series. Raw \
         calls: GET one `GetItem` (consistent), the list one `Query` of 25 per shard (16 at once), the create one \
         `TransactWriteItems` (invoice + reference) and one `SendMessage`."
    );

    let _ = writeln!(
        out,
        "\n## 3. A 10,000-invoice CSV batch\n\nGenerated, valid, one item per invoice. AWS calls \
         are counted by the functions (an SDK interceptor; each invocation logs its own) and \
         summed from their logs; CPU time is the worker processes' user + system time. Goals: \
         ≤ 0.15 AWS calls per invoice on ingest, ≤ 2 DynamoDB calls per invoice in the worker \
         (in brackets: the share of the goal), the 202 far inside 30 s. The provider budget is \
         lifted for the run (the budget column): at Factus's 80 requests a minute the same lot \
         takes the hours of the last column, whatever the functions do.\n"
    );
    table(
        &mut out,
        &[
            "sandbox latency",
            "202 (s)",
            "all ended (s)",
            "ingest calls / invoice",
            "worker DynamoDB calls / invoice",
            "worker CPU / invoice (ms)",
            "status",
            "budget / min",
            "hours at 80 / min",
        ],
        entries(&run["batches"]).map(|batch| {
            let per_invoice = |field: &str, decimals: usize, goal: f64| {
                format!(
                    "{} ({})",
                    number(&batch[field], decimals),
                    against(&batch[field], goal)
                )
            };
            vec![
                format!("{} ms", batch["sandbox_latency_ms"]),
                number(&batch["seconds_to_202"], 2),
                number(&batch["seconds_to_all_ended"], 1),
                per_invoice("ingest_calls_per_invoice", 4, 0.15),
                per_invoice("worker_dynamodb_calls_per_invoice", 2, 2.0),
                number(&batch["worker_cpu_ms_per_invoice"], 3),
                text(&batch["status"]),
                number(&batch["provider_budget_per_minute"], 0),
                number(&batch["hours_at_factus_pace"], 2),
            ]
        }),
    );

    let _ = writeln!(
        out,
        "\nPartition heat of each batch: for the table and each index, the partition key that took \
         the most write units in one second, against the {} a partition takes (counted by an SDK \
         interceptor in every function, from each write's keys and item size; ids shown as `<id>`). \
         *ingest*: from the request to its 202; *drain*: from the 202 until every invoice ended.\n",
        crate::heat::PARTITION_LIMIT
    );
    table(
        &mut out,
        &[
            "sandbox latency",
            "phase",
            "place",
            "hottest key",
            "peak units / s",
            "/ 1,000",
            "keys",
            "units",
        ],
        entries(&run["batches"]).flat_map(|batch| {
            let latency = format!("{} ms", batch["sandbox_latency_ms"]);
            ["ingest", "drain"].into_iter().flat_map(move |phase| {
                let latency = latency.clone();
                entries(&batch["partition_heat"][phase]["hottest"])
                    .map(move |place| {
                        vec![
                            latency.clone(),
                            phase.to_owned(),
                            text(&place["place"]),
                            format!("`{}`", text(&place["key"])),
                            number(&place["peak_units_per_second"], 0),
                            against(
                                &place["peak_units_per_second"],
                                crate::heat::PARTITION_LIMIT as f64,
                            ),
                            number(&place["partition_keys"], 0),
                            number(&place["total_units"], 0),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
        }),
    );

    let _ = writeln!(
        out,
        "\n## 4. Peak memory\n\nPeak resident set (VmHWM) of each function's processes after all of \
         the above, the largest of its instances. Goal: ≤ 32 MB, the argon2 functions (auth-signup, \
         auth-login, users-create) excepted.\n"
    );
    table(
        &mut out,
        &["function", "peak RSS (MiB)", "/ goal"],
        entries(&run["memory"]).map(|function| {
            vec![
                text(&function["function"]),
                number(&function["peak_rss_mib"], 1),
                against(&function["peak_rss_mib"], 32.0),
            ]
        }),
    );

    let _ = writeln!(out, "\n## 5. Build and test times\n");
    if entries(&run["make_test"]).next().is_some() {
        let _ = writeln!(
            out,
            "From the last `make test` (`target/make-test-times.txt`), not re-run:\n"
        );
        table(
            &mut out,
            &["phase", "seconds"],
            entries(&run["make_test"]).map(|phase| vec![text(&phase["phase"]), phase["seconds"].to_string()]),
        );
    } else {
        let _ = writeln!(out, "No `make test` has run in this checkout yet.");
    }
    out
}
