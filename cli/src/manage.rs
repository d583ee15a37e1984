//! `tusky status`, `list`, `forget` and `delete`.

use std::time::{SystemTime, UNIX_EPOCH};

use tusky::{Client, UploadStatus};

use crate::args::{ConnectionArgs, DeleteArgs, ForgetArgs, ListArgs, StatusArgs, StoreArgs};
use crate::failure::{one_line, Failure};
use crate::size::human;
use crate::store::{self, OpenStore, Target};
use crate::terminal_text::escape;

fn client(connection: &ConnectionArgs) -> Result<Client, Failure> {
    if connection.insecure {
        eprintln!("tusky: warning: --insecure: TLS CERTIFICATES ARE NOT CHECKED; use it only against a test server you control.");
    }
    let mut builder = Client::builder().danger_accept_invalid_certs(connection.insecure);
    for (name, value) in &connection.headers {
        builder = builder.header(name, value);
    }
    builder
        .build()
        .map_err(|e| Failure::tus("setting up the client", &e))
}

fn open_store(args: &StoreArgs) -> Result<OpenStore, Failure> {
    store::open(
        store::store_path(args.store.as_deref())?,
        args.lock_timeout,
        |line| eprintln!("tusky: {}", escape(line)),
    )
}

/// The upload URL a `FILE|URL` argument names: itself, or the URL stored for the file.
async fn resolve(target: &str, store_args: &StoreArgs) -> Result<String, Failure> {
    match Target::parse(target) {
        Target::Url(url) => Ok(url),
        file @ Target::File(_) => {
            let store = open_store(store_args)?;
            let found = store.find(&file).await?;
            match found.into_iter().next() {
                Some((_, record)) if !record.url.is_empty() => Ok(record.url),
                _ => Err(Failure::usage(format!(
                    "nothing is stored for {target} in {} (the upload finished, was forgotten, or never started); pass the upload URL instead",
                    store.path.display()
                ))),
            }
        }
    }
}

/// `tusky status`.
pub async fn status(args: StatusArgs) -> Result<(), Failure> {
    let url = resolve(&args.target, &args.store).await?;
    let client = client(&args.connection)?;
    let status = client
        .upload_status(&url)
        .await
        .map_err(|e| Failure::tus(format!("asking for the status of {url}"), &e))?;
    if args.json {
        println!("{}", status_json(&status));
        return Ok(());
    }
    println!("url       {}", escape(status.url.as_str()));
    println!(
        "offset    {} ({} bytes)",
        human(status.offset),
        status.offset
    );
    match status.length {
        Some(length) => println!("length    {} ({length} bytes)", human(length)),
        None => println!("length    not yet known (deferred)"),
    }
    let complete = match status.length {
        Some(length) if status.offset >= length => "yes".to_owned(),
        Some(length) if length > 0 => {
            format!("no ({:.1}%)", status.offset as f64 * 100.0 / length as f64)
        }
        _ => "no".to_owned(),
    };
    println!("complete  {complete}");
    if let Some(expires) = status.expires {
        println!("expires   {}", relative(unix(expires)));
    }
    if !status.metadata.is_empty() {
        let pairs: Vec<String> = status
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
            .collect();
        println!("metadata  {}", escape(&pairs.join(", ")));
    }
    Ok(())
}

fn status_json(status: &UploadStatus) -> serde_json::Value {
    let metadata: serde_json::Map<String, serde_json::Value> = status
        .metadata
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::Value::String(String::from_utf8_lossy(v).into_owned()),
            )
        })
        .collect();
    serde_json::json!({
        "url": status.url.as_str(),
        "offset": status.offset,
        "length": status.length,
        "complete": status.is_complete(),
        "expires_unix": status.expires.map(unix),
        "metadata": metadata,
    })
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `in 3h 12m`, `expired 5m ago`.
fn relative(unix_seconds: u64) -> String {
    let now = unix(SystemTime::now());
    let span = |secs: u64| {
        if secs >= 86_400 {
            format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600)
        } else if secs >= 3600 {
            format!("{}h {}m", secs / 3600, secs % 3600 / 60)
        } else if secs >= 60 {
            format!("{}m", secs / 60)
        } else {
            format!("{secs}s")
        }
    };
    if unix_seconds > now {
        format!("in {}", span(unix_seconds - now))
    } else {
        format!("expired {} ago", span(now - unix_seconds))
    }
}

/// `tusky list --check` for one upload: the text of its SERVER column and its JSON.
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
                _ => format!("error: {}", one_line(&error.to_string())),
            };
            (text.clone(), serde_json::json!({ "error": text }))
        }
    }
}

/// One line of `tusky list`: file, size, expiry, server check, URL.
type Row = (String, String, String, Option<String>, String);

/// `tusky list`.
pub async fn list(args: ListArgs) -> Result<(), Failure> {
    let store = open_store(&args.store)?;
    let records = store.list().await?;
    let client = if args.check {
        Some(client(&args.connection)?)
    } else {
        None
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut json = Vec::new();
    for (key, record) in &records {
        let file = record.source.clone().unwrap_or_else(|| key.clone());
        let size = record.size.map(human).unwrap_or_else(|| "?".to_owned());
        let expires = record
            .expires_unix
            .map(relative)
            .unwrap_or_else(|| "-".to_owned());
        let mut entry = serde_json::json!({
            "key": key,
            "file": record.source,
            "url": record.url,
            "size": record.size,
            "expires_unix": record.expires_unix,
            "endpoint": record.endpoint,
        });
        let mut check = None;
        if let Some(client) = client.as_ref().filter(|_| !record.url.is_empty()) {
            let (text, value) = server_check(client, &record.url).await;
            entry["server"] = value;
            check = Some(text);
        }
        json.push(entry);
        let url = if record.url.is_empty() && !record.partial_urls.is_empty() {
            format!(
                "({} partial uploads, not yet joined)",
                record.partial_urls.len()
            )
        } else {
            record.url.clone()
        };
        let shown = |text: &str| escape(text).into_owned();
        rows.push((
            shown(&file),
            size,
            expires,
            check.as_deref().map(shown),
            shown(&url),
        ));
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
    let width = |f: &dyn Fn(&Row) -> usize, header: &str| {
        rows.iter().map(f).chain([header.len()]).max().unwrap_or(0)
    };
    let w_file = width(&|r| r.0.len(), "FILE");
    let w_size = width(&|r| r.1.len(), "SIZE");
    let w_exp = width(&|r| r.2.len(), "EXPIRES");
    let w_check = width(&|r| r.3.as_ref().map_or(0, String::len), "SERVER");
    if args.check {
        println!(
            "{:w_file$}  {:w_size$}  {:w_exp$}  {:w_check$}  URL",
            "FILE", "SIZE", "EXPIRES", "SERVER"
        );
    } else {
        println!(
            "{:w_file$}  {:w_size$}  {:w_exp$}  URL",
            "FILE", "SIZE", "EXPIRES"
        );
    }
    for (file, size, expires, check, url) in &rows {
        match check {
            Some(check) => println!(
                "{file:w_file$}  {size:w_size$}  {expires:w_exp$}  {check:w_check$}  {url}"
            ),
            None => println!("{file:w_file$}  {size:w_size$}  {expires:w_exp$}  {url}"),
        }
    }
    Ok(())
}

/// `tusky forget`.
pub async fn forget(args: ForgetArgs) -> Result<(), Failure> {
    let store = open_store(&args.store)?;
    let found = store.find(&Target::parse(&args.target)).await?;
    if found.is_empty() {
        eprintln!(
            "tusky: nothing is stored for {} in {}",
            escape(&args.target),
            escape(&store.path.display().to_string())
        );
        return Ok(());
    }
    for (key, record) in &found {
        store
            .storage
            .remove(key)
            .await
            .map_err(|e| store.failure("writing", e))?;
        eprintln!(
            "tusky: forgot {} ({})",
            escape(record.source.as_deref().unwrap_or(key)),
            escape(&record.url)
        );
    }
    Ok(())
}

/// `tusky delete`.
pub async fn delete(args: DeleteArgs) -> Result<(), Failure> {
    let url = resolve(&args.target, &args.store).await?;
    let client = client(&args.connection)?;
    let result = client.terminate(&url).await;
    // Whatever the server said, a record of this URL is of no use any more once it is
    // terminated or gone.
    let gone = match &result {
        Ok(()) => true,
        Err(e) => e.status().is_some_and(|s| matches!(s.as_u16(), 404 | 410)),
    };
    if gone {
        if let Ok(store) = open_store(&args.store) {
            for (key, _) in store
                .find(&Target::Url(url.clone()))
                .await
                .unwrap_or_default()
            {
                store
                    .storage
                    .remove(&key)
                    .await
                    .map_err(|e| store.failure("writing", e))?;
            }
        }
    }
    result.map_err(|e| Failure::tus(format!("deleting {url}"), &e))?;
    eprintln!("tusky: deleted {}", escape(&url));
    Ok(())
}
