//! Gateway API durations (`1h30m`, `500ms`): the GEP-2257 format the CRDs validate.

/// Parses a Gateway API duration into milliseconds; None when malformed or overflowing.
pub fn parse_ms(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (1, 2)
        } else if rest.starts_with('h') {
            (3_600_000, 1)
        } else if rest.starts_with('m') {
            (60_000, 1)
        } else if rest.starts_with('s') {
            (1_000, 1)
        } else {
            return None;
        };
        rest = &rest[len..];
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_ms;

    #[test]
    fn parses_gep_2257_durations() {
        assert_eq!(parse_ms("1h2m3s4ms"), Some(3_723_004));
        assert_eq!(parse_ms("500ms"), Some(500));
        assert_eq!(parse_ms("0s"), Some(0));
        assert_eq!(parse_ms("1.5s"), None);
        assert_eq!(parse_ms(""), None);
        assert_eq!(parse_ms("10"), None);
    }
}
