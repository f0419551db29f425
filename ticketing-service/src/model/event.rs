//! Events and categories: what an organizer sends, how it is checked, what the API shows.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{double_option, is_slug};
use crate::error::FieldError;
use crate::time::{format_time, parse_event_time, parse_zone};

/// Most seats one category may be created or grown with in one request.
pub const MAX_SEATS_PER_REQUEST: i64 = 5_000_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEvent {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
    /// Where the event takes place, as printed on tickets.
    pub venue: Option<String>,
    #[serde(flatten)]
    pub times: EventTimesInput,
    pub max_tickets_per_reservation: Option<i64>,
    pub reservation_timeout_seconds: Option<i64>,
    pub payment_deadline_hours: Option<i64>,
    #[serde(default)]
    pub categories: Vec<CreateCategory>,
}

/// The six event times as sent: absent, `null`, or a string.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventTimesInput {
    #[serde(default, deserialize_with = "double_option")]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub sale_starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub sale_ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub check_in_opens_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub check_in_closes_at: Option<Option<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCategory {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub price: Option<serde_json::Value>,
    /// VAT rate in percent, included in the price; 21.00 when absent.
    pub vat_rate: Option<serde_json::Value>,
    pub seats: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PatchEvent {
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub venue: Option<Option<String>>,
    #[serde(flatten)]
    pub times: EventTimesInput,
    pub max_tickets_per_reservation: Option<i64>,
    pub reservation_timeout_seconds: Option<i64>,
    pub payment_deadline_hours: Option<i64>,
}

/// Event settings, validated; times in UTC.
#[derive(Debug, Clone, PartialEq)]
pub struct EventSettings {
    pub name: String,
    pub timezone: Tz,
    pub currency: String,
    pub venue: Option<String>,
    pub times: EventTimes,
    pub max_tickets_per_reservation: i32,
    pub reservation_timeout_seconds: i32,
    pub payment_deadline_hours: i32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventTimes {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub sale_starts_at: Option<DateTime<Utc>>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    pub check_in_opens_at: Option<DateTime<Utc>>,
    pub check_in_closes_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub slug: String,
    pub settings: EventSettings,
    pub categories: Vec<NewCategory>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub slug: String,
    pub name: String,
    pub price: Decimal,
    pub vat_rate: Decimal,
    pub seats: i32,
}

/// Checks a new event and returns it, or every field that is wrong.
pub fn validate_new_event(input: CreateEvent) -> Result<NewEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let slug = required_text(&mut errors, "slug", input.slug, 64);
    if !slug.is_empty() && !is_slug(&slug) {
        errors.push(FieldError::new("slug", "invalid"));
    }
    let defaults = EventSettings {
        name: String::new(),
        timezone: Tz::UTC,
        currency: String::new(),
        venue: None,
        times: EventTimes::default(),
        max_tickets_per_reservation: 10,
        reservation_timeout_seconds: 1500,
        payment_deadline_hours: 72,
    };
    let patch = PatchEvent {
        name: input.name,
        timezone: input.timezone,
        currency: input.currency,
        venue: input.venue.map(Some),
        times: input.times,
        max_tickets_per_reservation: input.max_tickets_per_reservation,
        reservation_timeout_seconds: input.reservation_timeout_seconds,
        payment_deadline_hours: input.payment_deadline_hours,
    };
    let settings = apply_patch(&mut errors, defaults, patch, true);

    let mut categories: Vec<NewCategory> = Vec::new();
    for (i, c) in input.categories.into_iter().enumerate() {
        let field = |name: &str| format!("categories[{i}].{name}");
        let slug = required_text(&mut errors, &field("slug"), c.slug, 64);
        if !slug.is_empty() && !is_slug(&slug) {
            errors.push(FieldError::new(field("slug"), "invalid"));
        }
        if categories.iter().any(|other| other.slug == slug) {
            errors.push(FieldError::new(field("slug"), "duplicate"));
        }
        let name = required_text(&mut errors, &field("name"), c.name, 200);
        let price = match c.price.as_ref().map(parse_price) {
            None => {
                errors.push(FieldError::new(field("price"), "required"));
                Decimal::ZERO
            }
            Some(Err(code)) => {
                errors.push(FieldError::new(field("price"), code));
                Decimal::ZERO
            }
            Some(Ok(p)) => p,
        };
        let vat_rate = match c.vat_rate.as_ref().map(parse_price) {
            None => Decimal::new(2100, 2),
            Some(Ok(r)) if r < Decimal::ONE_HUNDRED => r,
            Some(Ok(_)) => {
                errors.push(FieldError::new(field("vatRate"), "out_of_range"));
                Decimal::ZERO
            }
            Some(Err(code)) => {
                errors.push(FieldError::new(field("vatRate"), code));
                Decimal::ZERO
            }
        };
        let seats = match c.seats {
            None => {
                errors.push(FieldError::new(field("seats"), "required"));
                0
            }
            Some(n) if !(0..=MAX_SEATS_PER_REQUEST).contains(&n) => {
                errors.push(FieldError::new(field("seats"), "out_of_range"));
                0
            }
            Some(n) => n as i32,
        };
        categories.push(NewCategory {
            slug,
            name,
            price,
            vat_rate,
            seats,
        });
    }

    if errors.is_empty() {
        Ok(NewEvent {
            slug,
            settings,
            categories,
        })
    } else {
        Err(errors)
    }
}

/// Applies a PATCH to the current settings and checks the result.
pub fn validate_patch(
    current: EventSettings,
    patch: PatchEvent,
) -> Result<EventSettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let settings = apply_patch(&mut errors, current, patch, false);
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

fn apply_patch(
    errors: &mut Vec<FieldError>,
    mut s: EventSettings,
    patch: PatchEvent,
    creating: bool,
) -> EventSettings {
    if creating || patch.name.is_some() {
        s.name = required_text(errors, "name", patch.name, 200);
    }
    if creating || patch.timezone.is_some() {
        let zone = required_text(errors, "timezone", patch.timezone, 64);
        match parse_zone(&zone) {
            Some(tz) => s.timezone = tz,
            None if !zone.is_empty() => errors.push(FieldError::new("timezone", "invalid")),
            None => {}
        }
    }
    if creating || patch.currency.is_some() {
        s.currency = required_text(errors, "currency", patch.currency, 3);
        let ok = s.currency.len() == 3 && s.currency.bytes().all(|b| b.is_ascii_uppercase());
        if !s.currency.is_empty() && !ok {
            errors.push(FieldError::new("currency", "invalid"));
        }
    }
    match patch.venue {
        Some(Some(venue)) if venue.chars().count() > 200 => {
            errors.push(FieldError::new("venue", "too_long"))
        }
        Some(venue) => {
            s.venue = venue
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        }
        None => {}
    }
    let zone = s.timezone;
    let times = patch.times;
    let mut set =
        |name: &str, slot: &mut Option<DateTime<Utc>>, value: Option<Option<String>>| match value {
            None => {}
            Some(None) => *slot = None,
            Some(Some(text)) => match parse_event_time(&text, zone) {
                Ok(t) => *slot = Some(t),
                Err(code) => errors.push(FieldError::new(name, code)),
            },
        };
    set("startsAt", &mut s.times.starts_at, times.starts_at);
    set("endsAt", &mut s.times.ends_at, times.ends_at);
    set(
        "saleStartsAt",
        &mut s.times.sale_starts_at,
        times.sale_starts_at,
    );
    set("saleEndsAt", &mut s.times.sale_ends_at, times.sale_ends_at);
    set(
        "checkInOpensAt",
        &mut s.times.check_in_opens_at,
        times.check_in_opens_at,
    );
    set(
        "checkInClosesAt",
        &mut s.times.check_in_closes_at,
        times.check_in_closes_at,
    );
    let t = &s.times;
    for (field, from, to) in [
        ("endsAt", t.starts_at, t.ends_at),
        ("saleEndsAt", t.sale_starts_at, t.sale_ends_at),
        ("checkInClosesAt", t.check_in_opens_at, t.check_in_closes_at),
    ] {
        if let (Some(from), Some(to)) = (from, to) {
            if to <= from {
                errors.push(FieldError::new(field, "out_of_range"));
            }
        }
    }

    let mut bounded = |field: &str, slot: &mut i32, value: Option<i64>, max: i64| {
        if let Some(v) = value {
            if (1..=max).contains(&v) {
                *slot = v as i32;
            } else {
                errors.push(FieldError::new(field, "out_of_range"));
            }
        }
    };
    bounded(
        "maxTicketsPerReservation",
        &mut s.max_tickets_per_reservation,
        patch.max_tickets_per_reservation,
        10_000,
    );
    bounded(
        "reservationTimeoutSeconds",
        &mut s.reservation_timeout_seconds,
        patch.reservation_timeout_seconds,
        7 * 24 * 3600,
    );
    bounded(
        "paymentDeadlineHours",
        &mut s.payment_deadline_hours,
        patch.payment_deadline_hours,
        24 * 365,
    );
    s
}

fn required_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<String>,
    max_len: usize,
) -> String {
    match value {
        None => {
            errors.push(FieldError::new(field, "required"));
            String::new()
        }
        Some(v) if v.trim().is_empty() => {
            errors.push(FieldError::new(field, "required"));
            String::new()
        }
        Some(v) if v.chars().count() > max_len => {
            errors.push(FieldError::new(field, "too_long"));
            String::new()
        }
        Some(v) => v,
    }
}

/// A price: a decimal string (or number) with at most two decimals, not negative.
pub fn parse_price(value: &serde_json::Value) -> Result<Decimal, &'static str> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return Err("invalid"),
    };
    // Plain decimal notation only: no exponent, plus sign or spaces (a minus sign parses,
    // to be refused as out of range).
    let digits = text.strip_prefix('-').unwrap_or(&text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("invalid");
    }
    let price: Decimal = text.parse().map_err(|_| "invalid")?;
    if price.scale() > 2 {
        return Err("invalid");
    }
    if price.is_sign_negative() || price >= Decimal::from(10_000_000_000i64) {
        return Err("out_of_range");
    }
    let mut price = price;
    price.rescale(2);
    Ok(price)
}

/// The event document of `GET /api/v1/events/{event}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDoc {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub currency: String,
    pub venue: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub sale_starts_at: Option<String>,
    pub sale_ends_at: Option<String>,
    pub check_in_opens_at: Option<String>,
    pub check_in_closes_at: Option<String>,
    pub max_tickets_per_reservation: i32,
    pub reservation_timeout_seconds: i32,
    pub payment_deadline_hours: i32,
    pub categories: Vec<CategoryDoc>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryDoc {
    pub slug: String,
    pub name: String,
    pub price: String,
    pub vat_rate: String,
    pub seats: i32,
    pub available: i64,
}

impl EventDoc {
    pub fn new(slug: String, s: &EventSettings, categories: Vec<CategoryDoc>) -> Self {
        let t = &s.times;
        EventDoc {
            slug,
            name: s.name.clone(),
            timezone: s.timezone.name().to_string(),
            currency: s.currency.clone(),
            venue: s.venue.clone(),
            starts_at: t.starts_at.map(format_time),
            ends_at: t.ends_at.map(format_time),
            sale_starts_at: t.sale_starts_at.map(format_time),
            sale_ends_at: t.sale_ends_at.map(format_time),
            check_in_opens_at: t.check_in_opens_at.map(format_time),
            check_in_closes_at: t.check_in_closes_at.map(format_time),
            max_tickets_per_reservation: s.max_tickets_per_reservation,
            reservation_timeout_seconds: s.reservation_timeout_seconds,
            payment_deadline_hours: s.payment_deadline_hours,
            categories,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(body: serde_json::Value) -> Result<NewEvent, Vec<FieldError>> {
        validate_new_event(serde_json::from_value(body).unwrap())
    }

    fn base() -> serde_json::Value {
        json!({"slug": "devoxx", "name": "Devoxx", "timezone": "Europe/Brussels",
               "currency": "EUR",
               "categories": [{"slug": "combi", "name": "Combi", "price": "550.00", "seats": 2000}]})
    }

    #[test]
    fn a_complete_event_gets_defaults() {
        let e = create(base()).unwrap();
        assert_eq!(e.settings.max_tickets_per_reservation, 10);
        assert_eq!(e.settings.reservation_timeout_seconds, 1500);
        assert_eq!(e.settings.payment_deadline_hours, 72);
        assert_eq!(e.categories[0].price.to_string(), "550.00");
        assert_eq!(e.settings.times.sale_starts_at, None);
    }

    #[test]
    fn local_sale_times_are_read_in_the_event_zone() {
        let mut body = base();
        body["saleStartsAt"] = json!("2027-03-28T09:00");
        let e = create(body).unwrap();
        assert_eq!(
            format_time(e.settings.times.sale_starts_at.unwrap()),
            "2027-03-28T07:00:00Z"
        );
    }

    #[test]
    fn every_wrong_field_is_named() {
        let body = json!({"slug": "Bad Slug", "timezone": "Nowhere/City", "currency": "euro",
            "maxTicketsPerReservation": 0,
            "categories": [{"slug": "a", "name": "A", "price": "1.234", "seats": -1},
                           {"slug": "a", "name": "", "price": "-1", "seats": 1}]});
        let fields: Vec<(String, &str)> = create(body)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect();
        let expect = [
            ("slug", "invalid"),
            ("name", "required"),
            ("timezone", "invalid"),
            ("currency", "too_long"),
            ("maxTicketsPerReservation", "out_of_range"),
            ("categories[0].price", "invalid"),
            ("categories[0].seats", "out_of_range"),
            ("categories[1].slug", "duplicate"),
            ("categories[1].name", "required"),
            ("categories[1].price", "out_of_range"),
        ];
        for (field, code) in expect {
            assert!(
                fields.contains(&(field.to_string(), code)),
                "{field} {code} in {fields:?}"
            );
        }
        assert_eq!(fields.len(), expect.len(), "{fields:?}");
    }

    #[test]
    fn a_local_time_skipped_by_dst_is_named() {
        let mut body = base();
        body["saleStartsAt"] = json!("2027-03-28T02:30");
        let errors = create(body).unwrap_err();
        assert_eq!(
            errors,
            vec![FieldError::new("saleStartsAt", "nonexistent_local_time")]
        );
    }

    #[test]
    fn sale_must_end_after_it_starts() {
        let mut body = base();
        body["saleStartsAt"] = json!("2026-09-01T09:00");
        body["saleEndsAt"] = json!("2026-09-01T08:00");
        let errors = create(body).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("saleEndsAt", "out_of_range")]);
    }

    #[test]
    fn patch_clears_and_sets_times_in_the_new_zone() {
        let current = create(base()).unwrap().settings;
        let patch: PatchEvent = serde_json::from_value(
            json!({"timezone": "America/New_York", "saleEndsAt": "2026-11-01T12:00"}),
        )
        .unwrap();
        let s = validate_patch(current, patch).unwrap();
        assert_eq!(
            format_time(s.times.sale_ends_at.unwrap()),
            "2026-11-01T17:00:00Z"
        );
        let patch: PatchEvent = serde_json::from_value(json!({"saleEndsAt": null})).unwrap();
        assert_eq!(validate_patch(s, patch).unwrap().times.sale_ends_at, None);
    }

    #[test]
    fn prices() {
        assert_eq!(parse_price(&json!("550")).unwrap().to_string(), "550.00");
        assert_eq!(parse_price(&json!(12.5)).unwrap().to_string(), "12.50");
        for bad in ["1e5", " 1.00", "-1", "+1", "1.001", "", "1,00"] {
            assert!(parse_price(&json!(bad)).is_err(), "{bad:?}");
        }
        assert_eq!(parse_price(&json!("abc")), Err("invalid"));
        assert_eq!(parse_price(&json!(true)), Err("invalid"));
    }
}
