//! `tusky list`: the stored uploads and, with `--check`, what their servers say about them.

use std::collections::BTreeSet;
use std::sync::Mutex;

use tusky::storage::UploadRecord;
use tusky::Client;
use url::{Origin, Url};

use crate::args::ListArgs;
use crate::connection::{shown_url, UserUrl};
use crate::failure::{explain, one_line, Failure};
use crate::manage::{client, open_store, relative, status_json};
use crate::size::human;
use crate::terminal_text::escape;

/// One line of `tusky list` (escaped for the terminal).
struct Row {
    file: String,
    size: String,
    /// How long ago the upload was first recorded (`-` when the record does not say).
    age: String,
    expires: String,
    check: Option<String>,
    url: String,
}

/// `tusky list`.
pub async fn list(args: ListArgs) -> Result<(), Failure> {
    let store = open_store(&args.store)?;
    let records = store.list().await?;
    let checker = if args.check {
        Some(Checker::new(&args)?)
    } else {
        None
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut json = Vec::new();
    for (key, record) in &records {
        let (row, entry) = describe(key, record, checker.as_ref()).await;
        rows.push(row);
        json.push(entry);
    }
    if let Some(checker) = &checker {
        checker.tell_unsent();
    }
    if args.json {
        println!("{}", serde_json::Value::Array(json));
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!(
            "tusky: no stored uploads in {}",
            escape(&store.path.display().to_string())
        );
        return Ok(());
    }
    if store.tuspy {
        eprintln!(
            "tusky: {} is a tuspy store: it keeps only keys and URLs",
            escape(&store.path.display().to_string())
        );
    }
    print_table(&rows, args.check);
    Ok(())
}

/// The row and the JSON of one stored upload (checked with `checker`'s server, if given).
async fn describe(
    key: &str,
    record: &UploadRecord,
    checker: Option<&Checker>,
) -> (Row, serde_json::Value) {
    let file = record.source.clone().unwrap_or_else(|| key.to_owned());
    let size = record.size.map(human).unwrap_or_else(|| "?".to_owned());
    let expires = record
        .expires_unix
        .map(relative)
        .unwrap_or_else(|| "-".to_owned());
    let age = record
        .created_unix
        .map(crate::manage::age)
        .unwrap_or_else(|| "-".to_owned());
    let mut entry = serde_json::json!({
        "key": key,
        "file": record.source,
        "url": shown_url(&record.url),
        "size": record.size,
        "created_unix": record.created_unix,
        "expires_unix": record.expires_unix,
        "completed_unix": record.completed_unix,
        "endpoint": record.endpoint.as_deref().map(shown_url),
    });
    let mut check = None;
    if let Some(checker) = checker.filter(|_| !record.url.is_empty()) {
        let (text, value) = checker.check(record).await;
        entry["server"] = value;
        check = Some(text);
    }
    let url = if record.url.is_empty() && !record.partial_urls.is_empty() {
        format!("({}, not yet joined)", partial_uploads(record))
    } else if record.is_completed() {
        format!("{} (done: a completion record)", shown_url(&record.url))
    } else {
        shown_url(&record.url)
    };
    let shown = |text: &str| escape(text).into_owned();
    let row = Row {
        file: shown(&file),
        size,
        age,
        expires,
        check: check.as_deref().map(shown),
        url: shown(&url),
    };
    (row, entry)
}

fn print_table(rows: &[Row], check: bool) {
    let width = |f: &dyn Fn(&Row) -> usize, header: &str| {
        rows.iter().map(f).chain([header.len()]).max().unwrap_or(0)
    };
    let w_file = width(&|r| r.file.len(), "FILE");
    let w_size = width(&|r| r.size.len(), "SIZE");
    let w_age = width(&|r| r.age.len(), "AGE");
    let w_exp = width(&|r| r.expires.len(), "EXPIRES");
    let w_check = width(&|r| r.check.as_ref().map_or(0, String::len), "SERVER");
    let server = |text: &str| {
        if check {
            format!("{text:w_check$}  ")
        } else {
            String::new()
        }
    };
    println!(
        "{:w_file$}  {:w_size$}  {:w_age$}  {:w_exp$}  {}URL",
        "FILE",
        "SIZE",
        "AGE",
        "EXPIRES",
        server("SERVER")
    );
    for row in rows {
        println!(
            "{:w_file$}  {:w_size$}  {:w_age$}  {:w_exp$}  {}{}",
            row.file,
            row.size,
            row.age,
            row.expires,
            server(row.check.as_deref().unwrap_or("")),
            row.url
        );
    }
}

/// `list --check`: asks each stored upload's server for its offset, sending the `-H` headers
/// only where the user said they belong: to the server named with `--endpoint`.
struct Checker {
    /// The origin of `--endpoint`, and a client whose headers go to it.
    named: Option<(Origin, Client)>,
    /// A client without the `-H` headers, for every other upload.
    anonymous: Client,
    /// Whether there are `-H` headers to withhold.
    has_headers: bool,
    /// Whether the headers also go where a named server's upload URL leads.
    cross_origin: bool,
    /// The origins asked without the `-H` headers.
    unsent: Mutex<BTreeSet<String>>,
}

impl Checker {
    fn new(args: &ListArgs) -> Result<Self, Failure> {
        let anonymous = client(&args.connection, None)?;
        let named = match &args.endpoint {
            Some(text) => {
                let endpoint = UserUrl::parse("--endpoint", text)?;
                let client = crate::connection::client(&args.connection, Some(&endpoint))?;
                Some((endpoint.bare().origin(), client))
            }
            None => None,
        };
        Ok(Self {
            named,
            anonymous,
            has_headers: !args.connection.headers.is_empty()
                || args.connection.header_command.is_some(),
            cross_origin: args.connection.cross_origin_headers,
            unsent: Mutex::new(BTreeSet::new()),
        })
    }

    /// The text of the SERVER column and the JSON of one stored upload's check.
    async fn check(&self, record: &UploadRecord) -> (String, serde_json::Value) {
        let shown = shown_url(&record.url);
        let client = match Url::parse(&record.url) {
            Ok(url) => self.client_for(record, &url),
            Err(e) => {
                let text = format!("error: the stored URL {shown} is not a URL: {e}");
                return (text.clone(), serde_json::json!({ "error": text }));
            }
        };
        server_check(client, &record.url).await
    }

    /// The named server's client for an upload on its origin or created at it (its origin
    /// guard then decides about another origin), else the one without headers.
    fn client_for(&self, record: &UploadRecord, url: &Url) -> &Client {
        let origin = url.origin();
        if let Some((named, client)) = &self.named {
            let created_there = record
                .endpoint
                .as_deref()
                .and_then(|endpoint| Url::parse(endpoint).ok())
                .is_some_and(|endpoint| &endpoint.origin() == named);
            if &origin == named || created_there {
                if &origin != named && !self.cross_origin {
                    self.withheld(&origin);
                }
                return client;
            }
        }
        self.withheld(&origin);
        &self.anonymous
    }

    fn withheld(&self, origin: &Origin) {
        if self.has_headers {
            self.unsent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(origin.ascii_serialization());
        }
    }

    /// Says once, on stderr, which servers did not get the `-H` headers and how to send them.
    fn tell_unsent(&self) {
        let unsent = self.unsent.lock().unwrap_or_else(|p| p.into_inner());
        if unsent.is_empty() {
            return;
        }
        let how = match &self.named {
            Some(_) => "they go only to the uploads on --endpoint's origin (and, with --cross-origin-headers, to where its uploads lead)",
            None => "to send them, name the server they are for with --endpoint URL",
        };
        let servers: Vec<&str> = unsent.iter().map(String::as_str).collect();
        let plural = if servers.len() == 1 { "" } else { "s" };
        eprintln!(
            "tusky: the -H headers were not sent to {} server{plural} ({}): {how}",
            servers.len(),
            escape(&servers.join(", "))
        );
    }
}

/// What one upload's server says: the text of its SERVER column and its JSON.
async fn server_check(client: &Client, url: &str) -> (String, serde_json::Value) {
    match client.upload_status(url).await {
        // (an offset beyond the length is an error from the library: inconsistent)
        Ok(status) => {
            let text = match status.length {
                Some(length) if length > 0 => format!(
                    "{} ({:.0}%)",
                    human(status.offset),
                    status.offset as f64 * 100.0 / length as f64
                ),
                _ => human(status.offset),
            };
            (text, status_json(&status))
        }
        Err(error) => {
            let text = match error.status() {
                Some(status) if matches!(status.as_u16(), 404 | 410) => {
                    format!("gone ({status})")
                }
                _ => format!("error: {}", one_line(&explain(&error))),
            };
            (text.clone(), serde_json::json!({ "error": text }))
        }
    }
}

/// "N partial uploads", or "K of N partial uploads" while some parts are not created yet (a
/// parallel record has an empty slot for each).
pub(crate) fn partial_uploads(record: &UploadRecord) -> String {
    let all = record.partial_urls.len();
    let created = record.partial_urls.iter().filter(|u| !u.is_empty()).count();
    if created == all {
        format!("{all} partial uploads")
    } else {
        format!("{created} of {all} partial uploads")
    }
}

#[cfg(test)]
mod tests {
    use super::partial_uploads;
    use tusky::storage::UploadRecord;

    #[test]
    fn parts_not_created_yet_are_counted_apart() {
        let record = |urls: &[&str]| {
            UploadRecord::new("").with_partial_urls(urls.iter().map(|u| (*u).to_owned()).collect())
        };
        assert_eq!(partial_uploads(&record(&["a", "b"])), "2 partial uploads");
        assert_eq!(
            partial_uploads(&record(&["a", "", "c", ""])),
            "2 of 4 partial uploads"
        );
    }
}
