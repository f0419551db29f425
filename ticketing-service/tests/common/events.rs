//! Request bodies: events, categories and reservations.

use serde_json::{json, Value};

/// An event on sale now (no sale times) in Europe/Brussels, with one category `combi`.
/// Tests change fields of the returned document where they need to.
pub fn event(slug: &str, seats: i64) -> Value {
    json!({
        "slug": slug,
        "name": format!("Event {slug}"),
        "timezone": "Europe/Brussels",
        "currency": "EUR",
        "startsAt": "2030-10-05T09:00",
        "endsAt": "2030-10-09T18:00",
        "categories": [category("combi", seats)],
    })
}

/// A category whose name is its slug.
pub fn category(slug: &str, seats: i64) -> Value {
    json!({"slug": slug, "name": slug, "price": "550.00", "seats": seats})
}

/// A reservation body: `(category, quantity)` items, no email.
pub fn items(wanted: &[(&str, i64)]) -> Value {
    let items: Vec<Value> = wanted
        .iter()
        .map(|(category, quantity)| json!({"category": category, "quantity": quantity}))
        .collect();
    json!({ "items": items })
}
