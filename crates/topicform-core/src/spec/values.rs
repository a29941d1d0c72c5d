//! Config values: duration parsing and the normal form used to compare the
//! spec with what a broker reports (`7d` equals `604800000`, `True` equals
//! `true`, `compact,delete` equals `delete, compact`).

/// Parses a duration such as `500ms`, `30s`, `15m`, `36h`, `7d`, `2w`, or a
/// plain number of milliseconds, into milliseconds. `-1` (Kafka's "infinite")
/// passes through.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if let Ok(ms) = t.parse::<i64>() {
        return if ms >= -1 { Ok(ms) } else { Err(format!("`{t}` is negative; only -1 (infinite) is allowed")) };
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let factor: i64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(invalid_duration(t)),
    };
    let n: i64 = digits.parse().map_err(|_| invalid_duration(t))?;
    n.checked_mul(factor).ok_or_else(|| format!("`{t}` is too large"))
}

fn invalid_duration(t: &str) -> String {
    format!("`{t}` is not a duration; write milliseconds or a number with a unit: 500ms, 30s, 15m, 36h, 7d, 2w")
}

/// Formats milliseconds as the shortest exact duration (`604800000` → `7d`),
/// for plans and exported specs a person reads.
pub fn format_duration_ms(ms: i64) -> String {
    if ms <= 0 {
        return ms.to_string();
    }
    for (unit, factor) in [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
        if ms % factor == 0 {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

/// True for keys whose value is a duration in milliseconds.
pub fn is_duration_key(key: &str) -> bool {
    key.ends_with(".ms")
}

/// The normal form of a config value: durations in milliseconds, booleans in
/// lower case, list values (`cleanup.policy`) sorted, whitespace trimmed.
pub fn normalise(key: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if is_duration_key(key) {
        return parse_duration_ms(v).map(|ms| ms.to_string());
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return Ok(v.to_ascii_lowercase());
    }
    if key == "cleanup.policy" {
        let mut parts: Vec<String> = v.split(',').map(|p| p.trim().to_ascii_lowercase()).collect();
        parts.sort();
        parts.dedup();
        return Ok(parts.join(","));
    }
    Ok(v.to_owned())
}

/// Compares two values of `key` after normalisation. A value that does not
/// normalise compares as its raw text.
pub fn equivalent(key: &str, a: &str, b: &str) -> bool {
    let na = normalise(key, a).unwrap_or_else(|_| a.to_owned());
    let nb = normalise(key, b).unwrap_or_else(|_| b.to_owned());
    na == nb
}

/// The value as a person reads it in a plan (`604800000` → `604800000 (7d)`).
pub fn display(key: &str, value: &str) -> String {
    match (is_duration_key(key), value.parse::<i64>()) {
        (true, Ok(ms)) if ms > 0 => {
            let human = format_duration_ms(ms);
            if human.ends_with("ms") {
                value.to_owned()
            } else {
                format!("{value} ({human})")
            }
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("30s"), Ok(30_000));
        assert_eq!(parse_duration_ms("15m"), Ok(900_000));
        assert_eq!(parse_duration_ms("36h"), Ok(129_600_000));
        assert_eq!(parse_duration_ms("7d"), Ok(604_800_000));
        assert_eq!(parse_duration_ms("2w"), Ok(1_209_600_000));
        assert_eq!(parse_duration_ms("604800000"), Ok(604_800_000));
        assert_eq!(parse_duration_ms("-1"), Ok(-1));
    }

    #[test]
    fn bad_durations_explain_the_syntax() {
        for bad in ["7 days", "7D", "d", "1.5h", "-3", "", "99999999999999999999d"] {
            let err = parse_duration_ms(bad).unwrap_err();
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }

    #[test]
    fn durations_format_to_the_largest_exact_unit() {
        assert_eq!(format_duration_ms(604_800_000), "1w");
        assert_eq!(format_duration_ms(86_400_000), "1d");
        assert_eq!(format_duration_ms(129_600_000), "36h");
        assert_eq!(format_duration_ms(1_500), "1500ms");
        assert_eq!(format_duration_ms(-1), "-1");
    }

    #[test]
    fn equivalence_ignores_units_case_and_order() {
        assert!(equivalent("retention.ms", "7d", "604800000"));
        assert!(!equivalent("retention.ms", "7d", "604800001"));
        assert!(equivalent("unclean.leader.election.enable", "True", "true"));
        assert!(equivalent("cleanup.policy", "compact,delete", "delete, compact"));
        assert!(!equivalent("cleanup.policy", "compact", "delete"));
        assert!(equivalent("min.insync.replicas", " 2", "2"));
    }

    #[test]
    fn display_adds_a_readable_duration() {
        assert_eq!(display("retention.ms", "604800000"), "604800000 (1w)");
        assert_eq!(display("retention.ms", "1500"), "1500");
        assert_eq!(display("cleanup.policy", "delete"), "delete");
    }
}
