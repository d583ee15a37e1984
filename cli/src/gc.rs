//! `tusky gc`: removes the stored records that can no longer resume anything (expired; with
//! `--check`, gone on the server) and, with `--terminate-older-than`, terminates old uploads.

use std::time::Duration;

use tusky::maintenance::{prune, PruneOptions, PruneReason, PruneReport, Pruned};

use crate::args::GcArgs;
use crate::connection::{shown_url, UserUrl};
use crate::failure::{explain, one_line, Failure};
use crate::manage::{client, open_store};
use crate::terminal_text::escape;

/// `tusky gc`.
pub async fn gc(args: GcArgs) -> Result<(), Failure> {
    let store = open_store(&args.store)?;
    let home = args
        .endpoint
        .as_deref()
        .map(|text| UserUrl::parse("--endpoint", text))
        .transpose()?;
    let client = client(&args.connection, home.as_ref())?;
    let mut options = PruneOptions::new()
        .check_server(args.check)
        .dry_run(args.dry_run);
    if let Some(age) = args.terminate_older_than {
        options = options.terminate_older_than(age);
    }
    let report = prune(&*store.storage, &client, &options)
        .await
        .map_err(|e| Failure::tus("pruning the URL store", &e))?;
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print_report(&report);
    }
    Ok(())
}

fn shown_file(pruned: &Pruned) -> String {
    pruned
        .record
        .source
        .clone()
        .unwrap_or_else(|| pruned.key.clone())
}

fn shown_record_url(pruned: &Pruned) -> String {
    if pruned.record.url.is_empty() {
        format!("({})", crate::list::partial_uploads(&pruned.record))
    } else {
        shown_url(&pruned.record.url)
    }
}

fn print_report(report: &PruneReport) {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for pruned in &report.removed {
        println!(
            "{verb}  {}  {}  {}",
            escape(&shown_file(pruned)),
            pruned.reason,
            escape(&shown_record_url(pruned))
        );
    }
    for (key, error) in &report.errors {
        eprintln!(
            "tusky: kept {}: asking its server failed: {}",
            escape(key),
            escape(&one_line(&explain(error)))
        );
    }
    eprintln!(
        "tusky: {verb} {} record{}, kept {}",
        report.removed.len(),
        if report.removed.len() == 1 { "" } else { "s" },
        report.kept
    );
}

fn reason_json(reason: &PruneReason) -> serde_json::Value {
    match reason {
        PruneReason::Expired { expires_unix } => {
            serde_json::json!({ "reason": "expired", "expires_unix": expires_unix })
        }
        PruneReason::Gone { status } => serde_json::json!({ "reason": "gone", "status": status }),
        PruneReason::Terminated { age } => {
            serde_json::json!({ "reason": "terminated", "age_seconds": age.as_secs() })
        }
        _ => serde_json::json!({ "reason": reason.to_string() }),
    }
}

fn report_json(report: &PruneReport) -> serde_json::Value {
    let removed: Vec<serde_json::Value> = report
        .removed
        .iter()
        .map(|pruned| {
            let mut entry = reason_json(&pruned.reason);
            entry["key"] = pruned.key.clone().into();
            entry["file"] = pruned.record.source.clone().into();
            entry["url"] = shown_url(&pruned.record.url).into();
            entry
        })
        .collect();
    let errors: Vec<serde_json::Value> = report
        .errors
        .iter()
        .map(|(key, error)| serde_json::json!({ "key": key, "error": one_line(&explain(error)) }))
        .collect();
    serde_json::json!({
        "dry_run": report.dry_run,
        "removed": removed,
        "kept": report.kept,
        "errors": errors,
    })
}

/// `7d`, `12h`, `30m`, `90s`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = || format!("{text:?} is not a duration (e.g. 7d, 12h, 30m, 90s)");
    let trimmed = text.trim();
    let (number, unit) = match trimmed.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, "s"),
    };
    let factor = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        _ => return Err(error()),
    };
    number
        .parse::<f64>()
        .ok()
        .and_then(|n| Duration::try_from_secs_f64(n * factor).ok())
        .ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        for bad in ["", "d", "7y", "-1d", "soon"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
