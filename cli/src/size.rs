//! Byte sizes: parsing `8MiB`/`512KiB`/`1.5MB`/`1048576`, and printing `412 MiB`.

/// Parses a size: a plain number is bytes; `K`/`KiB`, `M`/`MiB`, `G`/`GiB`, `T`/`TiB` are
/// powers of 1024; `kB`, `MB`, `GB`, `TB` powers of 1000; `B` is bytes. Case-insensitive;
/// a decimal number is fine (`1.5MiB`), the result is rounded down to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit = unit.trim();
    if number.is_empty() {
        return Err(format!(
            "{text:?} is not a size (e.g. 8MiB, 512KiB, 1048576)"
        ));
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)"
            ))
        }
    };
    let bytes = if number.contains('.') {
        let value: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size (e.g. 8MiB, 512KiB, 1048576)"))?;
        let bytes = value * multiplier as f64;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(format!("{text:?} is too large"));
        }
        bytes as u64
    } else {
        let value: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a size (e.g. 8MiB, 512KiB, 1048576)"))?;
        value
            .checked_mul(multiplier)
            .ok_or_else(|| format!("{text:?} is too large"))?
    };
    if bytes == 0 {
        return Err(format!("{text:?}: the size must be at least 1 byte"));
    }
    Ok(bytes)
}

/// Formats a byte count for people: `512 B`, `8.0 MiB`, `412 MiB`, `1.0 GiB` (binary units;
/// one decimal below 100, none from 100 on).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value >= 99.95 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A rate in MiB/s (or KiB/s when slow), for the periodic lines and the summary.
pub fn rate(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        return "-".to_owned();
    }
    format!("{}/s", human((bytes as f64 / seconds) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("8mib"), Ok(8 << 20));
        assert_eq!(parse_size("8M"), Ok(8 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5MiB"), Ok(3 << 19));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_size("2 kB"), Ok(2_000));
        assert_eq!(parse_size("100B"), Ok(100));
        assert!(parse_size("").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("8XB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("1.2.3M").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("20000000TiB").is_err());
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn sizes_print() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(8 << 20), "8.0 MiB");
        assert_eq!(human(412 << 20), "412 MiB");
        assert_eq!(human(1 << 30), "1.0 GiB");
        assert_eq!(human(1536), "1.5 KiB");
    }
}
