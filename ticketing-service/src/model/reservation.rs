//! Reservations: the request an attendee sends, its checks, and the reservation document.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::is_email;
use crate::error::{ApiError, FieldError};
use crate::time::format_time;

/// Largest quantity one item may ask for, whatever the event's maximum: keeps sums far
/// from integer overflow.
pub const MAX_QUANTITY: i64 = 10_000;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReservationRequest {
    pub items: Vec<ItemRequest>,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    pub category: String,
    pub quantity: i64,
}

/// A request that passed the checks that need no database.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    pub categories: Vec<String>,
    pub quantities: Vec<i32>,
    pub email: Option<String>,
}

/// The checks that need no database: quantities, repeated categories, e-mail.
pub fn check_request(request: &ReservationRequest) -> Result<CheckedRequest, ApiError> {
    if request.items.is_empty()
        || request
            .items
            .iter()
            .any(|i| !(1..=MAX_QUANTITY).contains(&i.quantity))
    {
        return Err(ApiError::Rule("invalid_quantity"));
    }
    let mut errors = Vec::new();
    for (i, item) in request.items.iter().enumerate() {
        if request.items[..i]
            .iter()
            .any(|earlier| earlier.category == item.category)
        {
            errors.push(FieldError::new(format!("items[{i}].category"), "duplicate"));
        }
    }
    if let Some(email) = &request.email {
        if !is_email(email) {
            errors.push(FieldError::new("email", "invalid"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(CheckedRequest {
        categories: request.items.iter().map(|i| i.category.clone()).collect(),
        // In range: checked against MAX_QUANTITY above.
        quantities: request.items.iter().map(|i| i.quantity as i32).collect(),
        email: request.email.clone(),
    })
}

/// The reservation document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationDoc {
    pub id: Uuid,
    pub event: String,
    pub status: String,
    pub expires_at: Option<String>,
    pub email: Option<String>,
    pub items: Vec<ItemDoc>,
    pub tickets: Vec<serde_json::Value>,
    /// The payment chosen at confirmation: method, amount due, structured communication,
    /// invoice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemDoc {
    pub category: String,
    pub quantity: i32,
}

/// The status a reader sees: a hold past its end reads `expired` even before the sweep
/// has freed its seats.
pub fn visible_status(status: &str, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> &str {
    match (status, expires_at) {
        ("held", Some(end)) if end <= now => "expired",
        _ => status,
    }
}

impl ReservationDoc {
    pub fn held(
        id: Uuid,
        event: &str,
        request: &CheckedRequest,
        expires_at: DateTime<Utc>,
    ) -> Self {
        ReservationDoc {
            id,
            event: event.to_string(),
            status: "held".into(),
            expires_at: Some(format_time(expires_at)),
            email: request.email.clone(),
            items: request
                .categories
                .iter()
                .zip(&request.quantities)
                .map(|(category, &quantity)| ItemDoc {
                    category: category.clone(),
                    quantity,
                })
                .collect(),
            tickets: Vec::new(),
            payment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: serde_json::Value) -> Result<CheckedRequest, ApiError> {
        check_request(&serde_json::from_value(body).unwrap())
    }

    fn code(result: Result<CheckedRequest, ApiError>) -> &'static str {
        result.unwrap_err().code()
    }

    #[test]
    fn quantities_must_be_positive_and_present() {
        assert_eq!(code(check(json!({"items": []}))), "invalid_quantity");
        let zero = json!({"items": [{"category": "a", "quantity": 0}]});
        assert_eq!(code(check(zero)), "invalid_quantity");
        let huge = json!({"items": [{"category": "a", "quantity": 10_001}]});
        assert_eq!(code(check(huge)), "invalid_quantity");
    }

    #[test]
    fn repeated_category_and_bad_email_are_named() {
        let body = json!({"items": [{"category": "a", "quantity": 1},
                                    {"category": "a", "quantity": 2}], "email": "nope"});
        match check(body) {
            Err(ApiError::Validation(errors)) => assert_eq!(
                errors,
                vec![
                    FieldError::new("items[1].category", "duplicate"),
                    FieldError::new("email", "invalid")
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_request_keeps_its_order() {
        let body = json!({"items": [{"category": "b", "quantity": 1},
                                    {"category": "a", "quantity": 10}], "email": "x@y.be"});
        let checked = check(body).unwrap();
        assert_eq!(checked.categories, vec!["b", "a"]);
        assert_eq!(checked.quantities, vec![1, 10]);
    }

    #[test]
    fn expired_holds_read_expired() {
        let now = Utc::now();
        let past = now - chrono::Duration::seconds(1);
        assert_eq!(visible_status("held", Some(past), now), "expired");
        assert_eq!(
            visible_status("held", Some(now + chrono::Duration::seconds(5)), now),
            "held"
        );
        assert_eq!(visible_status("paid", None, now), "paid");
    }
}
