//! Text formats of the contract (§6): human sizes and ISO 8601 times, and
//! the `Content-Disposition` header value for downloads (RFC 6266/5987).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Size units, each 1024 times the one before.
const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];

/// `attr-char` of RFC 5987: what `filename*=` may carry unescaped.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Writes one line to the server's log (stderr), with control characters
/// escaped (`\u{1b}`, `\u{a}`…) so a client-chosen name cannot forge lines or
/// drive the terminal.
pub fn log(message: &str) {
    // One write per line: instances that log at once do not cut into
    // each other's lines.
    let line = format!("httpuploader: {}\n", escape_control(message));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The last second the calendar formats here can write (9999-12-31
/// 23:59:59 UTC); some file systems keep later modification times.
const LAST_WRITABLE_SECOND: u64 = 253_402_300_799;

/// Whether `time` can be written as an ISO 8601 or HTTP date (the years
/// 1970 to 9999).
pub fn is_writable_date(time: SystemTime) -> bool {
    time.duration_since(UNIX_EPOCH)
        .is_ok_and(|since| since.as_secs() <= LAST_WRITABLE_SECOND)
}

/// `text` with every control character written as `\u{..}`.
pub fn escape_control(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// A byte count in 1024 steps with two decimals: `3.17 KB`.
pub fn human_size(bytes: u64) -> String {
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// A time in UTC as ISO 8601 with an explicit offset, with microseconds
/// only when they are not zero: `2019-11-15T23:33:56.430384+00:00`.
pub fn iso_time(time: SystemTime) -> String {
    // humantime formats only the years 1970 to 9999; clamp to them.
    let last = UNIX_EPOCH + Duration::from_secs(LAST_WRITABLE_SECOND);
    let time = time.clamp(UNIX_EPOCH, last);
    let micros = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros());
    let text = if micros == 0 {
        humantime::format_rfc3339_seconds(time).to_string()
    } else {
        humantime::format_rfc3339_micros(time).to_string()
    };
    match text.strip_suffix('Z') {
        Some(stripped) => format!("{stripped}+00:00"),
        None => text,
    }
}

/// `attachment` with the name as a quoted ASCII fallback and, when it
/// is not plain ASCII, as UTF-8 in `filename*` so any name survives.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    if fallback == name {
        format!("attachment; filename=\"{name}\"")
    } else {
        let encoded = utf8_percent_encode(name, ATTR_CHAR);
        format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_past_year_9999_are_clamped_not_a_panic() {
        let y10k = UNIX_EPOCH + Duration::from_secs(LAST_WRITABLE_SECOND + 1);
        assert!(!is_writable_date(y10k));
        assert!(is_writable_date(y10k - Duration::from_secs(1)));
        assert_eq!(iso_time(y10k), "9999-12-31T23:59:59+00:00");
        let far = UNIX_EPOCH + Duration::from_secs(1 << 40);
        assert_eq!(iso_time(far), "9999-12-31T23:59:59+00:00");
        assert_eq!(iso_time(UNIX_EPOCH), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn log_lines_cannot_carry_control_characters() {
        assert_eq!(escape_control("a\nb\x1b[2J\r"), "a\\u{a}b\\u{1b}[2J\\u{d}");
        assert_eq!(escape_control("café ok"), "café ok");
    }

    #[test]
    fn human_sizes_use_1024_steps_and_two_decimals() {
        assert_eq!(human_size(0), "0.00 bytes");
        assert_eq!(human_size(1023), "1023.00 bytes");
        assert_eq!(human_size(1024), "1.00 KB");
        assert_eq!(human_size(3244), "3.17 KB");
        assert_eq!(human_size(1024 * 1024), "1.00 MB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.00 GB");
        assert_eq!(human_size(2048 * 1024 * 1024 * 1024 * 1024), "2048.00 TB");
    }

    #[test]
    fn iso_times_carry_microseconds_only_when_present() {
        let whole = UNIX_EPOCH + Duration::from_secs(1_433_817_478);
        assert_eq!(iso_time(whole), "2015-06-09T02:37:58+00:00");
        let fine = UNIX_EPOCH + Duration::from_micros(1_573_860_836_430_384);
        assert_eq!(iso_time(fine), "2019-11-15T23:33:56.430384+00:00");
        let nanos = UNIX_EPOCH + Duration::from_nanos(1_573_860_836_000_000_999);
        assert_eq!(iso_time(nanos), "2019-11-15T23:33:56+00:00");
        assert_eq!(
            iso_time(UNIX_EPOCH - Duration::from_secs(5)),
            "1970-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn content_disposition_keeps_ascii_and_encodes_the_rest() {
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\""
        );
        assert_eq!(
            content_disposition("café \"x\".txt"),
            "attachment; filename=\"caf_ _x_.txt\"; filename*=UTF-8''caf%C3%A9%20%22x%22.txt"
        );
        assert_eq!(
            content_disposition("日本.txt"),
            "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
        );
    }
}
