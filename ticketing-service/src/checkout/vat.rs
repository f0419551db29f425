//! VAT of an order: lines with rate, net, VAT and gross, and when the reverse charge
//! applies.
//!
//! Category prices are what a consumer pays, VAT included; the net of a line is its gross
//! divided by (1 + rate), rounded to the cent, and the VAT is the difference, so a line
//! always adds up to what the buyer was shown. Under the reverse charge (an EU business
//! buyer in another member state than the seller) the buyer accounts for the VAT: the
//! line carries no VAT and the buyer pays the net.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Member states of the EU by ISO 3166 code; VAT numbers of Greece start `EL`.
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

pub fn is_eu(country: &str) -> bool {
    EU.contains(&country)
}

/// The VAT number prefix of a country.
pub fn vat_prefix(country: &str) -> &str {
    if country == "GR" {
        "EL"
    } else {
        country
    }
}

/// One category of an order, priced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub category: String,
    pub description: String,
    pub quantity: i32,
    /// Price of one seat as listed, VAT included.
    #[serde(with = "rust_decimal::serde::str")]
    pub unit_price: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat_rate: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub net: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub vat: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub gross: Decimal,
}

/// A line before pricing.
#[derive(Debug, Clone)]
pub struct Item {
    pub category: String,
    pub description: String,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

fn cents(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// Prices one item.
pub fn price_line(item: &Item, reverse_charge: bool) -> Line {
    let listed = cents(item.unit_price * Decimal::from(item.quantity));
    let net = cents(listed / (Decimal::ONE + item.vat_rate / Decimal::ONE_HUNDRED));
    let (vat, gross) = if reverse_charge {
        (cents(Decimal::ZERO), net)
    } else {
        (listed - net, listed)
    };
    let mut rate = item.vat_rate;
    rate.rescale(2);
    Line {
        category: item.category.clone(),
        description: item.description.clone(),
        quantity: item.quantity,
        unit_price: cents(item.unit_price),
        vat_rate: rate,
        net,
        vat,
        gross,
    }
}

/// Sums of an order's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

pub fn totals(lines: &[Line]) -> Totals {
    let zero = cents(Decimal::ZERO);
    lines.iter().fold(
        Totals {
            net: zero,
            vat: zero,
            gross: zero,
        },
        |t, l| Totals {
            net: t.net + l.net,
            vat: t.vat + l.vat,
            gross: t.gross + l.gross,
        },
    )
}

/// Whether the buyer accounts for the VAT: a business (it gave a VAT number) in an EU
/// member state other than the seller's, the seller being in the EU.
pub fn reverse_charge(seller_country: &str, buyer_country: &str, buyer_vat: Option<&str>) -> bool {
    buyer_vat.is_some_and(|v| !v.is_empty())
        && is_eu(seller_country)
        && is_eu(buyer_country)
        && seller_country != buyer_country
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(price: &str, quantity: i32, rate: &str) -> Item {
        Item {
            category: "combi".into(),
            description: "Combi".into(),
            quantity,
            unit_price: price.parse().unwrap(),
            vat_rate: rate.parse().unwrap(),
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn net_and_vat_add_up_to_the_listed_price() {
        let line = price_line(&item("550.00", 2, "21"), false);
        assert_eq!(line.gross, d("1100.00"));
        assert_eq!(line.net, d("909.09"));
        assert_eq!(line.vat, d("190.91"));
        assert_eq!(line.net + line.vat, line.gross);
        assert_eq!(line.vat_rate.to_string(), "21.00");
        assert_eq!(line.gross.to_string(), "1100.00");
    }

    #[test]
    fn rounding_is_to_the_cent_half_away_from_zero() {
        // 10.00 / 1.06 = 9.43396…; 0.05 / 1.21 = 0.041322… → 0.04, VAT 0.01.
        let line = price_line(&item("10.00", 1, "6"), false);
        assert_eq!((line.net, line.vat), (d("9.43"), d("0.57")));
        let line = price_line(&item("0.05", 1, "21"), false);
        assert_eq!((line.net, line.vat), (d("0.04"), d("0.01")));
        // 0.105 would round up: 0.127050 / 1.21 = 0.105.
        let line = price_line(&item("0.12705", 1, "21"), false);
        assert_eq!(line.unit_price, d("0.13"));
    }

    #[test]
    fn zero_rate_and_free_lines() {
        let line = price_line(&item("25.00", 3, "0"), false);
        assert_eq!((line.net, line.vat, line.gross), (d("75"), d("0"), d("75")));
        let line = price_line(&item("0", 3, "21"), false);
        assert!(line.gross.is_zero() && line.vat.is_zero());
    }

    #[test]
    fn reverse_charge_bills_the_net_without_vat() {
        let line = price_line(&item("121.00", 1, "21"), true);
        assert_eq!(
            (line.net, line.vat, line.gross),
            (d("100"), d("0"), d("100"))
        );
    }

    #[test]
    fn totals_sum_the_lines() {
        let lines = [
            price_line(&item("550.00", 2, "21"), false),
            price_line(&item("10.00", 1, "6"), false),
        ];
        let t = totals(&lines);
        assert_eq!(
            (t.net, t.vat, t.gross),
            (d("918.52"), d("191.48"), d("1110.00"))
        );
    }

    #[test]
    fn reverse_charge_needs_an_eu_business_abroad() {
        assert!(reverse_charge("BE", "NL", Some("NL123456789B01")));
        assert!(!reverse_charge("BE", "BE", Some("BE0123456789")));
        assert!(!reverse_charge("BE", "NL", None));
        assert!(!reverse_charge("BE", "NL", Some("")));
        assert!(!reverse_charge("BE", "US", Some("US1234")));
        assert!(!reverse_charge("CH", "NL", Some("NL123456789B01")));
        assert_eq!(vat_prefix("GR"), "EL");
    }
}
