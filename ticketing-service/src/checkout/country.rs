//! Country codes as invoices print them: ISO 3166-1 alpha-2.
//!
//! A code is accepted when ISO 3166-1 officially assigns it (249 codes; checked against
//! tzdata's `iso3166.tab` of 2023), so a typo such as `ZZ` or the common `UK` (Great
//! Britain is `GB`) is refused instead of being printed on a legal document. One
//! user-assigned code is accepted as well: `XK`, Kosovo, which the European Commission,
//! banks and payment providers use because ISO has not assigned it a code; refusing it
//! would leave buyers from Kosovo without an invoice. Every other user-assigned code
//! (`AA`, `QM`–`QZ`, `XA`–`XZ`, `ZZ`) and every reserved one (`EU`, `UK`, `EL`, …) is
//! refused.

/// Officially assigned ISO 3166-1 alpha-2 codes, sorted, for a binary search.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// User-assigned codes accepted beside the official ones (see the module's note).
const ALSO_ACCEPTED: [&str; 1] = ["XK"];

/// Whether `code` names a country an invoice may carry. Case matters: codes are capitals.
pub fn is_country(code: &str) -> bool {
    ASSIGNED.binary_search(&code).is_ok() || ALSO_ACCEPTED.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_unique_so_binary_search_holds() {
        assert!(
            ASSIGNED.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(ASSIGNED
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
        // Every entry is found: a search over an unsorted list would miss some.
        assert!(ASSIGNED.iter().all(|c| is_country(c)));
    }

    #[test]
    fn assigned_codes_pass() {
        for code in ["AD", "BE", "DE", "GB", "GR", "NL", "US", "CH", "ZW", "XK"] {
            assert!(is_country(code), "{code}");
        }
    }

    #[test]
    fn unassigned_reserved_and_malformed_codes_fail() {
        for code in [
            "ZZ", "AA", "UK", "EU", "EL", "QZ", "XA", "XI", "be", "Be", "B", "BEL", "", "B1",
        ] {
            assert!(!is_country(code), "{code}");
        }
    }
}
