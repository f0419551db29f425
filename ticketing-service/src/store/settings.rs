//! The organizer's settings: seller details and document number patterns.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use crate::checkout::country::is_country;
use crate::checkout::numbering::{check_pattern, format_number};
use crate::error::{ApiError, FieldError};

/// The settings document of `GET`/`PUT /admin/v1/settings`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub seller_name: String,
    pub seller_address: String,
    pub seller_vat_number: Option<String>,
    pub seller_country: String,
    pub invoice_pattern: String,
    pub credit_note_pattern: String,
}

/// A `PUT` body: absent fields keep their value, `sellerVatNumber: null` clears it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    pub seller_name: Option<String>,
    pub seller_address: Option<String>,
    #[serde(default, deserialize_with = "crate::model::double_option")]
    pub seller_vat_number: Option<Option<String>>,
    pub seller_country: Option<String>,
    pub invoice_pattern: Option<String>,
    pub credit_note_pattern: Option<String>,
}

/// Applies a `PUT` body to the current settings and checks the result.
pub fn apply(mut s: Settings, input: SettingsInput) -> Result<Settings, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Some(v) = input.seller_name {
        s.seller_name = v.trim().to_string();
    }
    if let Some(v) = input.seller_address {
        s.seller_address = v.trim().to_string();
    }
    if let Some(v) = input.seller_vat_number {
        s.seller_vat_number = v.map(|n| crate::checkout::contact::normalise_vat_number(&n));
    }
    if let Some(v) = input.seller_country {
        s.seller_country = v;
    }
    if let Some(v) = input.invoice_pattern {
        s.invoice_pattern = v;
    }
    if let Some(v) = input.credit_note_pattern {
        s.credit_note_pattern = v;
    }
    if s.seller_name.chars().count() > 200 {
        errors.push(FieldError::new("sellerName", "too_long"));
    }
    if s.seller_address.chars().count() > 500 {
        errors.push(FieldError::new("sellerAddress", "too_long"));
    }
    if !is_country(&s.seller_country) {
        errors.push(FieldError::new("sellerCountry", "invalid"));
    }
    if check_pattern(&s.invoice_pattern).is_err() {
        errors.push(FieldError::new("invoicePattern", "invalid"));
    }
    if check_pattern(&s.credit_note_pattern).is_err() {
        errors.push(FieldError::new("creditNotePattern", "invalid"));
    }
    if patterns_collide(&s.invoice_pattern, &s.credit_note_pattern) {
        errors.push(FieldError::new("creditNotePattern", "duplicate"));
    }
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

/// Whether an invoice and a credit note could print the same number: `%d` and `%03d` do
/// from 100 on, `1%d` and `%d` at 15 and 5. Checked over the first 100,000 documents of
/// each kind; a unique index on live document numbers guards beyond.
fn patterns_collide(invoice: &str, credit_note: &str) -> bool {
    const CHECKED: i32 = 100_000;
    let Ok(invoices) = (1..=CHECKED)
        .map(|n| format_number(invoice, n))
        .collect::<Result<std::collections::HashSet<_>, _>>()
    else {
        return false;
    };
    (1..=CHECKED)
        .any(|n| format_number(credit_note, n).is_ok_and(|number| invoices.contains(&number)))
}

const COLUMNS: &str = "seller_name, seller_address, seller_vat_number, seller_country, \
    invoice_pattern, credit_note_pattern";

pub async fn get(conn: &mut PgConnection) -> Result<Settings, ApiError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM shop_settings"))
            .fetch_one(conn)
            .await?,
    )
}

/// Reads, changes and writes the settings in one transaction.
pub async fn update(pool: &PgPool, input: SettingsInput) -> Result<Settings, ApiError> {
    let mut tx = pool.begin().await?;
    let current: Settings =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM shop_settings FOR UPDATE"))
            .fetch_one(&mut *tx)
            .await?;
    let s = apply(current, input).map_err(ApiError::Validation)?;
    sqlx::query(
        "UPDATE shop_settings SET seller_name = $1, seller_address = $2, \
         seller_vat_number = $3, seller_country = $4, invoice_pattern = $5, \
         credit_note_pattern = $6",
    )
    .bind(&s.seller_name)
    .bind(&s.seller_address)
    .bind(&s.seller_vat_number)
    .bind(&s.seller_country)
    .bind(&s.invoice_pattern)
    .bind(&s.credit_note_pattern)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// The master secret tickets are signed with when none is configured: made at random the
/// first time any replica needs it, then the same for all.
pub async fn signing_master(pool: &PgPool) -> Result<Vec<u8>, ApiError> {
    let fresh: [u8; 32] = rand::random();
    let master: Vec<u8> = sqlx::query_scalar(
        "UPDATE shop_settings SET signing_master = coalesce(signing_master, $1) \
         RETURNING signing_master",
    )
    .bind(fresh.as_slice())
    .fetch_one(pool)
    .await?;
    Ok(master)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Settings {
        Settings {
            seller_name: String::new(),
            seller_address: String::new(),
            seller_vat_number: None,
            seller_country: "BE".into(),
            invoice_pattern: "%d".into(),
            credit_note_pattern: "CN-%d".into(),
        }
    }

    fn input(body: serde_json::Value) -> SettingsInput {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn absent_fields_keep_their_value_and_null_clears_the_vat_number() {
        let s = apply(
            defaults(),
            input(
                serde_json::json!({"sellerName": " Devoxx ", "sellerVatNumber": "be 0123.456.789",
                                     "invoicePattern": "2026-%05d"}),
            ),
        )
        .unwrap();
        assert_eq!(s.seller_name, "Devoxx");
        assert_eq!(s.seller_vat_number.as_deref(), Some("BE0123456789"));
        assert_eq!(s.credit_note_pattern, "CN-%d");
        let s = apply(s, input(serde_json::json!({"sellerVatNumber": null}))).unwrap();
        assert_eq!(s.seller_vat_number, None);
        assert_eq!(s.invoice_pattern, "2026-%05d");
    }

    #[test]
    fn patterns_must_format_and_differ() {
        let errors = apply(
            defaults(),
            input(serde_json::json!({"invoicePattern": "X%d", "creditNotePattern": "X%d"})),
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![FieldError::new("creditNotePattern", "duplicate")]
        );
        let errors = apply(
            defaults(),
            input(serde_json::json!({"invoicePattern": "%x"})),
        )
        .unwrap_err();
        assert_eq!(errors, vec![FieldError::new("invoicePattern", "invalid")]);
    }

    #[test]
    fn the_seller_country_must_be_an_assigned_code() {
        let s = apply(
            defaults(),
            input(serde_json::json!({"sellerCountry": "NL"})),
        )
        .unwrap();
        assert_eq!(s.seller_country, "NL");
        for country in ["ZZ", "AA", "UK", "be"] {
            let errors = apply(
                defaults(),
                input(serde_json::json!({"sellerCountry": country})),
            )
            .unwrap_err();
            assert_eq!(errors, vec![FieldError::new("sellerCountry", "invalid")]);
        }
    }

    #[test]
    fn patterns_that_print_the_same_number_collide() {
        assert!(patterns_collide("%d", "%01d"));
        assert!(patterns_collide("%d", "%03d"), "from 100 on");
        assert!(patterns_collide("1%d", "%d"), "15 and 5");
        assert!(!patterns_collide("%d", "CN-%d"));
        assert!(!patterns_collide("2026-%05d", "CN-2026-%05d"));
    }
}
