//! Kubernetes resource quantities (`250m`, `1Gi`, `1.5`, `1e9`), parsed without floating
//! point and printed back in the canonical form the API server stores.
//!
//! The grammar is the API's: an optional sign, a decimal number, then a binary suffix
//! (`Ki` … `Ei`), a decimal suffix (`n`, `u`, `m`, none, `k`, `M`, `G`, `T`, `P`, `E`) or
//! an exponent (`e3`, `E-2`). Values are kept in thousandths and rounded up there, as the
//! API server rounds (`0.1m` is `1m`).

use thiserror::Error;

/// Which kind of suffix a quantity was written with; the canonical form keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `m`, none, `k`, `M`, …
    DecimalSi,
    /// `Ki`, `Mi`, `Gi`, …
    BinarySi,
    /// `e3`, `E-2`, …
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedQuantity {
    /// Whether a `-` sign was given (and the value is not zero).
    pub negative: bool,
    /// Magnitude in thousandths of the unit (millicores for CPU, millibytes for memory),
    /// rounded up.
    pub milli: u128,
    /// False when the value was finer than a thousandth and got rounded.
    pub exact: bool,
    /// The suffix kind it was written with.
    pub format: Format,
}

impl ParsedQuantity {
    /// The value in whole units when it is a whole number of them.
    pub fn whole_units(&self) -> Option<u128> {
        (self.exact && self.milli.is_multiple_of(1000)).then_some(self.milli / 1000)
    }
}

/// Why a string is not a quantity.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum QuantityError {
    #[error("not a quantity")]
    Syntax,
    #[error("larger than 2^63-1")]
    OutOfRange,
}

/// Largest magnitude the API accepts, in whole units.
const MAX_UNITS: u128 = i64::MAX as u128;

/// Parses a quantity string.
pub fn parse(s: &str) -> Result<ParsedQuantity, QuantityError> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(QuantityError::Syntax);
    }
    let (format, power_of_1024, exp10) = parse_suffix(suffix)?;

    // value = mantissa × 10^(exp10 − fraction digits) × 1024^power; in thousandths that
    // is one more factor 10^3.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| QuantityError::OutOfRange)?
    };
    let scaled = 1024u128
        .checked_pow(power_of_1024)
        .and_then(|m| mantissa.checked_mul(m))
        .ok_or(QuantityError::OutOfRange)?;
    let shift = i64::from(exp10) + 3 - frac.len() as i64;
    let (milli, exact) = if mantissa == 0 {
        (0, true)
    } else if shift >= 0 {
        let factor = u32::try_from(shift)
            .ok()
            .and_then(|p| 10u128.checked_pow(p))
            .ok_or(QuantityError::OutOfRange)?;
        let milli = scaled
            .checked_mul(factor)
            .ok_or(QuantityError::OutOfRange)?;
        (milli, true)
    } else {
        match u32::try_from(-shift)
            .ok()
            .and_then(|p| 10u128.checked_pow(p))
        {
            Some(divisor) => (scaled.div_ceil(divisor), scaled % divisor == 0),
            // Smaller than any thousandth: rounds up to one.
            None => (1, false),
        }
    };
    if milli / 1000 > MAX_UNITS {
        return Err(QuantityError::OutOfRange);
    }
    Ok(ParsedQuantity {
        negative: negative && milli > 0,
        milli,
        exact,
        format,
    })
}

/// `(format, power of 1024, power of 10)` of a suffix.
fn parse_suffix(suffix: &str) -> Result<(Format, u32, i32), QuantityError> {
    let decimal = |exp| Ok((Format::DecimalSi, 0, exp));
    let binary = |power| Ok((Format::BinarySi, power, 0));
    match suffix {
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "" => decimal(0),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        _ => {
            let exponent = suffix
                .strip_prefix(['e', 'E'])
                .ok_or(QuantityError::Syntax)?;
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(QuantityError::Syntax);
            }
            let exp: i32 = exponent.parse().map_err(|_| QuantityError::OutOfRange)?;
            Ok((Format::DecimalExponent, 0, exp))
        }
    }
}

/// The canonical string of a non-negative value given in thousandths, as the API server
/// prints it: the largest suffix of the format that keeps the number whole. Binary values
/// under 1024 or with a fraction print as decimal, as the API server does.
pub fn canonical(milli: u128, format: Format) -> String {
    if milli == 0 {
        return "0".into();
    }
    if format == Format::BinarySi && milli.is_multiple_of(1000) && milli / 1000 >= 1024 {
        let mut value = milli / 1000;
        let mut power = 0;
        while value.is_multiple_of(1024) && power < 6 {
            value /= 1024;
            power += 1;
        }
        let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
        return format!("{value}{suffix}");
    }
    // Powers of 1000 from 10^-3 (index 0) to 10^18 (index 7).
    let mut value = milli;
    let mut index = 0;
    while value.is_multiple_of(1000) && index < 7 {
        value /= 1000;
        index += 1;
    }
    let suffix = match format {
        Format::DecimalExponent => ["e-3", "", "e3", "e6", "e9", "e12", "e15", "e18"][index],
        Format::DecimalSi | Format::BinarySi => ["m", "", "k", "M", "G", "T", "P", "E"][index],
    };
    format!("{value}{suffix}")
}

/// Bytes in a canonical form: binary suffixes when the value is a whole number of KiB,
/// decimal ones otherwise (`6Gi`, `300M`), so the API server stores the string unchanged.
pub fn bytes(value: u128) -> String {
    let format = if value >= 1024 && value.is_multiple_of(1024) {
        Format::BinarySi
    } else {
        Format::DecimalSi
    };
    canonical(value.saturating_mul(1000), format)
}

/// Millicores, printed as the API server prints CPU (`250m`, `2`, `1500m`).
pub fn millicores(value: u128) -> String {
    canonical(value, Format::DecimalSi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn milli(s: &str) -> u128 {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).milli
    }

    #[test]
    fn decimal_suffixes() {
        assert_eq!(milli("250m"), 250);
        assert_eq!(milli("1"), 1000);
        assert_eq!(milli("0.5"), 500);
        assert_eq!(milli(".5"), 500);
        assert_eq!(milli("2."), 2000);
        assert_eq!(milli("+3"), 3000);
        assert_eq!(milli("1k"), 1_000_000);
        assert_eq!(milli("1M"), 1_000_000_000);
        assert_eq!(milli("1G"), 10u128.pow(12));
        assert_eq!(milli("1E"), 10u128.pow(21));
        assert_eq!(milli("500u"), 1);
        assert_eq!(milli("1000000n"), 1);
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(milli("1Ki"), 1024 * 1000);
        assert_eq!(milli("64Mi"), 64 * 1024 * 1024 * 1000);
        assert_eq!(milli("1.5Gi"), 1536 * 1024 * 1024 * 1000);
        assert_eq!(milli("1Ei"), 1024u128.pow(6) * 1000);
    }

    #[test]
    fn exponents() {
        assert_eq!(milli("1e3"), 1_000_000);
        assert_eq!(milli("1E3"), 1_000_000);
        assert_eq!(milli("2.5e-3"), 3, "rounded up to a thousandth");
        assert_eq!(milli("12e+2"), 1_200_000);
        assert_eq!(parse("1e3").unwrap().format, Format::DecimalExponent);
    }

    #[test]
    fn rounding_is_reported() {
        let q = parse("0.1m").unwrap();
        assert_eq!((q.milli, q.exact), (1, false));
        assert_eq!(parse("1e-40").unwrap().milli, 1);
        assert!(parse("1.5").unwrap().exact);
        assert_eq!(parse("1.5").unwrap().whole_units(), None);
        assert_eq!(parse("1Ki").unwrap().whole_units(), Some(1024));
    }

    #[test]
    fn signs_and_zero() {
        let q = parse("-1Gi").unwrap();
        assert!(q.negative);
        assert_eq!(q.milli, 1024u128.pow(3) * 1000);
        assert!(!parse("-0").unwrap().negative);
        assert_eq!(milli("0"), 0);
        assert_eq!(milli("0.000Gi"), 0);
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for bad in [
            "", "Gi", "1Xi", "1 Gi", "1gi", "1.2.3", "..", "1e", "1e1.5", "1e+", "abc", "1Gi ",
            "--1", "1KiB", "0x10",
        ] {
            assert_eq!(parse(bad), Err(QuantityError::Syntax), "{bad:?}");
        }
        assert_eq!(parse("1e400"), Err(QuantityError::OutOfRange));
        assert_eq!(parse("10E"), Err(QuantityError::OutOfRange));
        assert_eq!(
            parse("9223372036854775807").map(|q| q.milli / 1000),
            Ok(i64::MAX as u128)
        );
        assert_eq!(parse("9223372036854775808"), Err(QuantityError::OutOfRange));
        assert_eq!(parse(&"9".repeat(60)), Err(QuantityError::OutOfRange));
    }

    #[test]
    fn canonical_forms_match_the_api_server() {
        let canon = |s: &str| {
            let q = parse(s).unwrap();
            canonical(q.milli, q.format)
        };
        assert_eq!(canon("1Gi"), "1Gi");
        assert_eq!(canon("1024Mi"), "1Gi");
        assert_eq!(canon("1.5Gi"), "1536Mi");
        assert_eq!(canon("0.5Ki"), "512");
        assert_eq!(canon("1G"), "1G");
        assert_eq!(canon("1000M"), "1G");
        assert_eq!(canon("250m"), "250m");
        assert_eq!(canon("0.25"), "250m");
        assert_eq!(canon("1000m"), "1");
        assert_eq!(canon("1.5"), "1500m");
        assert_eq!(canon("0.1m"), "1m");
        assert_eq!(canon("1e3"), "1e3");
        assert_eq!(canon("1e0"), "1");
        assert_eq!(canon("0"), "0");
        assert_eq!(bytes(6 * 1024 * 1024 * 1024), "6Gi");
        assert_eq!(bytes(1500), "1500");
        assert_eq!(bytes(300_000_000), "300M");
        assert_eq!(bytes(1_024_000), "1000Ki");
        assert_eq!(millicores(1500), "1500m");
        assert_eq!(millicores(2000), "2");
    }
}
