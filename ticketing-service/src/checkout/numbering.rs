//! Document numbers from the organizer's pattern: `2026-%05d` makes sequence 42 into
//! `2026-00042`.
//!
//! A pattern holds exactly one `%d` (optionally zero-padded, `%05d`); `%%` is a literal
//! percent sign. Anything else after a `%` is refused when the pattern is set, so a stored
//! pattern always formats.

/// Longest pattern accepted, and widest padding.
pub const MAX_PATTERN_LEN: usize = 64;
const MAX_WIDTH: usize = 12;

/// Why a pattern was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("the pattern has no %d")]
    NoNumber,
    #[error("the pattern has more than one %d")]
    SeveralNumbers,
    #[error("the pattern has a % that is neither %d, %0Nd nor %%")]
    BadDirective,
    #[error("the pattern is empty or too long")]
    Length,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Number { width: usize },
}

fn parse(pattern: &str) -> Result<Vec<Piece>, PatternError> {
    if pattern.is_empty() || pattern.len() > MAX_PATTERN_LEN {
        return Err(PatternError::Length);
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut numbers = 0;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        if chars.next() != Some('d') || (!digits.is_empty() && !digits.starts_with('0')) {
            return Err(PatternError::BadDirective);
        }
        let width = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| PatternError::BadDirective)?
        };
        if width > MAX_WIDTH {
            return Err(PatternError::BadDirective);
        }
        numbers += 1;
        pieces.push(Piece::Text(std::mem::take(&mut text)));
        pieces.push(Piece::Number { width });
    }
    pieces.push(Piece::Text(text));
    match numbers {
        0 => Err(PatternError::NoNumber),
        1 => Ok(pieces),
        _ => Err(PatternError::SeveralNumbers),
    }
}

/// Checks a pattern before it is stored.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    parse(pattern).map(|_| ())
}

/// The document number of `sequence` under `pattern`.
pub fn format_number(pattern: &str, sequence: i32) -> Result<String, PatternError> {
    let mut out = String::new();
    for piece in parse(pattern)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Number { width } => out.push_str(&format!("{sequence:0width$}")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_and_plain_numbers() {
        assert_eq!(format_number("2026-%05d", 42).unwrap(), "2026-00042");
        assert_eq!(format_number("%d", 7).unwrap(), "7");
        assert_eq!(format_number("INV%03d/B", 1234).unwrap(), "INV1234/B");
        assert_eq!(format_number("100%% %d", 3).unwrap(), "100% 3");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(check_pattern("2026"), Err(PatternError::NoNumber));
        assert_eq!(check_pattern("%d-%d"), Err(PatternError::SeveralNumbers));
        assert_eq!(check_pattern("%s"), Err(PatternError::BadDirective));
        assert_eq!(check_pattern("%5d"), Err(PatternError::BadDirective));
        assert_eq!(check_pattern("%099d"), Err(PatternError::BadDirective));
        assert_eq!(check_pattern("abc%"), Err(PatternError::BadDirective));
        assert_eq!(check_pattern(""), Err(PatternError::Length));
        assert_eq!(check_pattern("%%"), Err(PatternError::NoNumber));
    }
}
