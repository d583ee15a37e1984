//! What the fuzz targets check, in one file that two crates compile:
//!
//! - the fuzz crate (`fuzz/`, its own workspace, nightly) as `tusky_fuzz::checks`, called by
//!   each libFuzzer target in `fuzz/fuzz_targets/<target>.rs`;
//! - the main crate's stable test `tests/it/fuzz_corpus.rs`, as
//!   `#[path = "../../fuzz/src/checks.rs"] mod checks;`, which replays every file of
//!   `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/` under `cargo test`.
//!
//! The fuzz crate cannot be a dependency of the main crate's tests (it is outside the
//! workspace and needs libfuzzer), and a copy of the checks in each place would drift; a file
//! compiled into both keeps one definition. So this file may use only what both crates have:
//! `std`, `tusky`, `http` and `url`. A check panics when a property fails: that is what
//! libFuzzer records as a finding, and what the replay test reports.

use std::time::UNIX_EPOCH;

use http::{HeaderMap, HeaderName, HeaderValue};
use tusky::protocol::{
    decode_metadata, encode_metadata, parse_expires, parse_upload_concat, parse_upload_length,
    parse_upload_offset, resolve_location, validate_metadata_key, ChecksumAlgorithm, ConcatRole,
    Extension, HeaderError, ServerCapabilities,
};
use url::Url;

/// A fuzz target's check: panics when a property does not hold for the input.
pub type Check = fn(&[u8]);

/// Every fuzz target, by the name of its file and its corpus folder.
pub const TARGETS: &[(&str, Check)] = &[
    ("headers", headers),
    ("metadata", metadata),
    ("location", location),
];

// ---------------------------------------------------------------------------------------------
// headers: Upload-Offset / Upload-Length / Tus-Max-Size numbers, Upload-Expires, OPTIONS answers

/// The input as one header value for the number and date parsers, and as `Name: value` lines
/// (plus as the value of each tus capability header) for `ServerCapabilities::from_headers`.
pub fn headers(data: &[u8]) {
    check_number(parse_upload_offset, data);
    check_number(parse_upload_length, data);
    check_concat(data);
    check_expires(data);
    check_capabilities(&header_lines(data));
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut map = HeaderMap::new();
        for name in [
            "tus-version",
            "tus-extension",
            "tus-max-size",
            "tus-checksum-algorithm",
        ] {
            map.insert(name, value.clone());
        }
        check_capabilities(&map);
    }
    let text = String::from_utf8_lossy(data);
    if let Some(algorithm) = ChecksumAlgorithm::from_name(&text) {
        assert!(
            algorithm.name().eq_ignore_ascii_case(text.trim()),
            "{text:?} → {algorithm}"
        );
    }
    if let Some(extension) = Extension::from_name(&text) {
        assert!(
            extension.name().eq_ignore_ascii_case(text.trim()),
            "{text:?} → {extension:?}"
        );
    }
}

/// The reference model of a tus number: ASCII digits between optional ASCII whitespace, at most
/// `u64::MAX`. (`str::parse::<u64>` alone would also take a `+` sign.)
fn number_model(data: &[u8]) -> Option<u64> {
    let trimmed = data.trim_ascii();
    if trimmed.is_empty() || !trimmed.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(trimmed).ok()?.parse().ok()
}

fn check_number(parse: fn(&[u8]) -> Result<u64, HeaderError>, data: &[u8]) {
    let parsed = parse(data);
    assert_eq!(
        parsed.as_ref().ok().copied(),
        number_model(data),
        "parsing {data:?}: {parsed:?}"
    );
    match parsed {
        // What tusky would send back (`Upload-Offset` on the next PATCH) parses to the same value.
        Ok(n) => assert_eq!(parse(n.to_string().as_bytes()), Ok(n)),
        Err(HeaderError::Invalid { value, .. }) => {
            assert!(
                value.chars().count() <= 100,
                "the error quotes {} characters",
                value.len()
            );
        }
        Err(other) => panic!("a present header gave {other:?}"),
    }
    assert!(matches!(
        tusky::protocol::required("Upload-Offset", None),
        Err(HeaderError::Missing(_))
    ));
}

fn check_expires(data: &[u8]) {
    let Ok(time) = parse_expires(data) else {
        return;
    };
    let since = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_else(|_| panic!("{data:?} parsed to a time before 1970"));
    assert_eq!(since.subsec_nanos(), 0, "HTTP dates have whole seconds");
    // The same instant written as an IMF-fixdate (what servers should send) parses back equal.
    let text = imf_fixdate(since.as_secs());
    assert_eq!(
        parse_expires(text.as_bytes()),
        Ok(time),
        "{data:?} → {text}"
    );
}

/// `secs` after the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn imf_fixdate(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year:04} {hour:02}:{minute:02}:{second:02} GMT",
        DAYS[((days + 4) % 7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

/// `Name: value` lines (`\n` or `\r\n`); lines that are not a valid header are skipped.
fn header_lines(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = HeaderName::from_bytes(line[..colon].trim_ascii());
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (name, value) {
            map.append(name, value);
        }
    }
    map
}

/// The comma-separated items of every `name` header that is visible ASCII.
fn items(map: &HeaderMap, name: &str) -> Vec<String> {
    map.get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .collect()
}

fn check_capabilities(map: &HeaderMap) {
    let max_size = map.get("tus-max-size").map(|v| number_model(v.as_bytes()));
    let caps = match ServerCapabilities::from_headers(map) {
        Ok(caps) => caps,
        Err(error) => {
            // Only a malformed Tus-Max-Size makes an OPTIONS answer unusable.
            assert_eq!(max_size, Some(None), "{map:?} gave {error}");
            return;
        }
    };
    assert_eq!(caps.max_size, max_size.flatten(), "{map:?}");
    if max_size.is_some() {
        assert!(
            caps.max_size.is_some(),
            "a bad Tus-Max-Size was taken: {map:?}"
        );
    }
    for version in &caps.versions {
        assert!(
            !version.is_empty() && !version.contains(','),
            "version {version:?}"
        );
        assert_eq!(version.trim(), version);
    }
    for name in items(map, "tus-extension") {
        if let Some(extension) = Extension::from_name(&name) {
            assert!(
                caps.supports(extension),
                "{name:?} advertised but not supported: {caps:?}"
            );
        }
    }
    assert!(caps.extensions.iter().all(|e| caps.supports(*e)));
    for name in items(map, "tus-checksum-algorithm") {
        if let Some(algorithm) = ChecksumAlgorithm::from_name(&name) {
            assert!(
                caps.checksum_algorithms.contains(&algorithm),
                "{name:?} dropped: {caps:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// metadata: Upload-Metadata decoding and encoding

/// The input as an `Upload-Metadata` header (lossily as UTF-8) to decode, and as
/// NUL-separated `key, value, key, value…` pairs to encode.
pub fn metadata(data: &[u8]) {
    let header = String::from_utf8_lossy(data);
    if let Ok(pairs) = decode_metadata(&header) {
        // Whatever decodes is valid metadata: it encodes, and decodes back to the same pairs.
        for (key, _) in &pairs {
            assert_eq!(
                validate_metadata_key(key),
                Ok(()),
                "{header:?} decoded a bad key"
            );
        }
        assert_eq!(encode_decode(&pairs), Ok(()), "{header:?}");
    }

    let mut parts = data.split(|&b| b == 0);
    let mut pairs = Vec::new();
    while let Some(key) = parts.next() {
        let value = parts.next().unwrap_or_default();
        pairs.push((String::from_utf8_lossy(key).into_owned(), value.to_vec()));
    }
    let valid = pairs.iter().all(|(k, _)| validate_metadata_key(k).is_ok())
        && (1..pairs.len()).all(|i| pairs[..i].iter().all(|(k, _)| *k != pairs[i].0));
    let result = encode_decode(&pairs);
    assert_eq!(result.is_ok(), valid, "encoding {pairs:?}: {result:?}");
}

/// Encodes `pairs` and checks that the header is sendable and decodes back to `pairs`.
fn encode_decode(pairs: &[(String, Vec<u8>)]) -> Result<(), String> {
    let header = encode_metadata(pairs).map_err(|e| e.to_string())?;
    let Some(header) = header else {
        assert!(pairs.is_empty(), "no header for {pairs:?}");
        return Ok(());
    };
    assert!(
        HeaderValue::from_str(&header).is_ok(),
        "{header:?} is not a header value"
    );
    assert_eq!(decode_metadata(&header).as_deref(), Ok(pairs), "{header:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// location: resolving the Location of a 201

/// The input as a `Location` header, resolved against `http://master.tus.io/files/`, or, when
/// its first line is an http(s) URL, against that URL with the rest as the `Location`.
pub fn location(data: &[u8]) {
    let fallback = || Url::parse("http://master.tus.io/files/").unwrap();
    let (base, location) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => match std::str::from_utf8(&data[..i])
            .ok()
            .and_then(|s| Url::parse(s).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
        {
            Some(base) => (base, &data[i + 1..]),
            None => (fallback(), data),
        },
        None => (fallback(), data),
    };
    let url = match resolve_location(&base, location) {
        Ok(url) => url,
        Err(error) => {
            assert!(matches!(error, HeaderError::Invalid { .. }), "{error:?}");
            return;
        }
    };
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    assert!(url.host().is_some(), "{url} has no host");
    // An absolute http(s) Location is used as it is.
    let text = std::str::from_utf8(location).unwrap().trim();
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        assert_eq!(
            Url::parse(text).as_ref(),
            Ok(&url),
            "{text:?} against {base}"
        );
    }
    // The URL survives being stored as text and read back (what resuming from a store does).
    assert_eq!(Url::parse(url.as_str()).as_ref(), Ok(&url), "{url}");
}

/// `Upload-Concat`: never panics; a role only for `partial` or a value starting `final;`.
fn check_concat(data: &[u8]) {
    let trimmed = data.trim_ascii();
    match parse_upload_concat(data) {
        Some(ConcatRole::Partial) => assert!(trimmed.eq_ignore_ascii_case(b"partial")),
        Some(ConcatRole::Final) => {
            assert!(trimmed.len() >= 6 && trimmed[..6].eq_ignore_ascii_case(b"final;"))
        }
        None => {}
    }
}
