//! `tusky status`, `forget` and `delete`.

use std::time::{SystemTime, UNIX_EPOCH};

use tusky::{Client, Concatenation, UploadStatus};

use crate::args::{ConnectionArgs, DeleteArgs, ForgetArgs, StatusArgs, StoreArgs};
use crate::connection::{self, shown_url, UserUrl};
use crate::failure::Failure;
use crate::size::human;
use crate::store::{self, OpenStore, Target};
use crate::terminal_text::escape;

/// A client whose `-H` headers go only to `home`'s origin.
pub fn client(connection: &ConnectionArgs, home: Option<&UserUrl>) -> Result<Client, Failure> {
    if connection.insecure {
        eprintln!("tusky: warning: {}", connection::INSECURE_WARNING);
    }
    connection::client(connection, home)
}

pub fn open_store(args: &StoreArgs) -> Result<OpenStore, Failure> {
    store::open(
        store::store_path(args.store.as_deref())?,
        args.lock_timeout,
        |line| eprintln!("tusky: {}", escape(line)),
    )
}

/// The upload a `FILE|URL` argument names, and the server the `-H` headers are meant for.
struct Named {
    /// The upload URL.
    url: UserUrl,
    /// The URL argument itself, or the endpoint the stored upload was created at (its URL when
    /// the record does not say).
    home: UserUrl,
}

/// The upload a `FILE|URL` argument names: itself, or the one stored for the file.
async fn resolve(target: &str, store_args: &StoreArgs) -> Result<Named, Failure> {
    let file = match Target::parse(target) {
        Target::Url(text) => {
            let url = UserUrl::parse("the upload URL", &text)?;
            return Ok(Named {
                home: url.clone(),
                url,
            });
        }
        file @ Target::File(_) => file,
    };
    let store = open_store(store_args)?;
    let found = store.find(&file).await?;
    let Some((_, record)) = found.into_iter().find(|(_, r)| !r.url.is_empty()) else {
        return Err(Failure::usage(format!(
            "nothing is stored for {target} in {} (the upload finished, was forgotten, or never started); pass the upload URL instead",
            store.path.display()
        )));
    };
    let url = UserUrl::parse("the stored upload URL", &record.url)?;
    let home = record
        .endpoint
        .as_deref()
        .and_then(|endpoint| UserUrl::parse("the stored endpoint", endpoint).ok())
        .unwrap_or_else(|| url.clone());
    Ok(Named { url, home })
}

/// `tusky status`.
pub async fn status(args: StatusArgs) -> Result<(), Failure> {
    let named = resolve(&args.target, &args.store).await?;
    let client = client(&args.connection, Some(&named.home))?;
    let url = named.url.bare().as_str();
    let status = client
        .upload_status(url)
        .await
        .map_err(|e| Failure::tus(format!("asking for the status of {url}"), &e))?;
    if args.json {
        println!("{}", status_json(&status));
        return Ok(());
    }
    println!("url       {}", escape(status.url.as_str()));
    let joining = status.concatenation == Some(Concatenation::Final { finished: false });
    if joining {
        println!("offset    not yet known (the server is joining the partial uploads)");
    } else {
        println!(
            "offset    {} ({} bytes)",
            human(status.offset),
            status.offset
        );
    }
    match status.length {
        Some(length) => println!("length    {} ({length} bytes)", human(length)),
        None => println!("length    not yet known (deferred)"),
    }
    let complete = match status.length {
        _ if joining => {
            "no (a final upload whose partial uploads the server is joining)".to_owned()
        }
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

/// `{"role": "partial"}`, or `{"role": "final", "finished": bool}`.
fn concatenation_json(concatenation: Concatenation) -> serde_json::Value {
    match concatenation {
        Concatenation::Partial => serde_json::json!({ "role": "partial" }),
        Concatenation::Final { finished } => {
            serde_json::json!({ "role": "final", "finished": finished })
        }
    }
}

pub fn status_json(status: &UploadStatus) -> serde_json::Value {
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
        "concatenation": status.concatenation.map(concatenation_json),
        "expires_unix": status.expires.map(unix),
        "metadata": metadata,
    })
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `3h 12m`, `5m`, `2d 1h`.
fn span(secs: u64) -> String {
    if secs >= 86_400 {
        format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600)
    } else if secs >= 3600 {
        format!("{}h {}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// `in 3h 12m`, `expired 5m ago`.
pub fn relative(unix_seconds: u64) -> String {
    let now = unix(SystemTime::now());
    if unix_seconds > now {
        format!("in {}", span(unix_seconds - now))
    } else {
        format!("expired {} ago", span(now - unix_seconds))
    }
}

/// How long ago `created_unix` was: `3h 12m`.
pub fn age(created_unix: u64) -> String {
    span(unix(SystemTime::now()).saturating_sub(created_unix))
}

/// `tusky forget`.
pub async fn forget(args: ForgetArgs) -> Result<(), Failure> {
    let store = open_store(&args.store)?;
    let found = store.find(&Target::parse(&args.target)).await?;
    if found.is_empty() {
        let target = match Target::parse(&args.target) {
            Target::Url(url) => shown_url(&url),
            Target::File(_) => args.target.clone(),
        };
        eprintln!(
            "tusky: nothing is stored for {} in {}",
            escape(&target),
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
            escape(&shown_url(&record.url))
        );
    }
    Ok(())
}

/// `tusky delete`.
pub async fn delete(args: DeleteArgs) -> Result<(), Failure> {
    let named = resolve(&args.target, &args.store).await?;
    let client = client(&args.connection, Some(&named.home))?;
    let url = named.url.bare().to_string();
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
