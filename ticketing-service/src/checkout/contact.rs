//! The buyer's details (`PUT /api/v1/reservations/{id}/contact`) and their checks.
//!
//! Every wrong field is named at once, as `validation_failed` errors. The one check that
//! needs the reservation, one attendee per seat, is [`check_attendee_count`].

use serde::{Deserialize, Serialize};

use super::country::is_country;
use super::vat::{is_eu, vat_prefix};
use crate::error::FieldError;
use crate::model::is_email;

const MAX_NAME: usize = 200;
const MAX_ADDRESS: usize = 500;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub attendees: Vec<Attendee>,
    #[serde(default)]
    pub invoice: Option<Billing>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Attendee {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Billing details, given when the buyer wants an invoice.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Billing {
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub vat_number: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
}

fn text(errors: &mut Vec<FieldError>, field: &str, value: &Option<String>, max: usize) {
    match value.as_deref().map(str::trim) {
        None | Some("") => errors.push(FieldError::new(field, "required")),
        Some(v) if v.chars().count() > max => errors.push(FieldError::new(field, "too_long")),
        Some(_) => {}
    }
}

fn email(errors: &mut Vec<FieldError>, field: &str, value: &Option<String>, required: bool) {
    match value {
        None if required => errors.push(FieldError::new(field, "required")),
        Some(e) if !is_email(e) => errors.push(FieldError::new(field, "invalid")),
        _ => {}
    }
}

/// A VAT number: the country's prefix and 2 to 13 letters or digits, spaces and dots
/// ignored. Only the shape is checked; whether it is registered is VIES's business.
pub fn normalise_vat_number(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace() && *c != '.' && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase()
}

fn vat_number_fits(number: &str, country: &str) -> bool {
    let Some(rest) = number.strip_prefix(vat_prefix(country)) else {
        return false;
    };
    (2..=13).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Checks the body and returns it tidied (trimmed names, normalised VAT number).
pub fn check_contact(mut contact: Contact) -> Result<Contact, Vec<FieldError>> {
    let mut errors = Vec::new();
    email(&mut errors, "email", &contact.email, true);
    text(&mut errors, "firstName", &contact.first_name, MAX_NAME);
    text(&mut errors, "lastName", &contact.last_name, MAX_NAME);
    for (i, a) in contact.attendees.iter().enumerate() {
        text(
            &mut errors,
            &format!("attendees[{i}].firstName"),
            &a.first_name,
            MAX_NAME,
        );
        text(
            &mut errors,
            &format!("attendees[{i}].lastName"),
            &a.last_name,
            MAX_NAME,
        );
        email(
            &mut errors,
            &format!("attendees[{i}].email"),
            &a.email,
            false,
        );
    }
    if let Some(billing) = &mut contact.invoice {
        if let Some(company) = &billing.company {
            if company.chars().count() > MAX_NAME {
                errors.push(FieldError::new("invoice.company", "too_long"));
            }
        }
        text(
            &mut errors,
            "invoice.address",
            &billing.address,
            MAX_ADDRESS,
        );
        let country = billing.country.as_deref().unwrap_or_default().to_string();
        if country.is_empty() {
            errors.push(FieldError::new("invoice.country", "required"));
        } else if !is_country(&country) {
            errors.push(FieldError::new("invoice.country", "invalid"));
        }
        if let Some(raw) = &billing.vat_number {
            let number = normalise_vat_number(raw);
            let company_missing = billing
                .company
                .as_deref()
                .is_none_or(|c| c.trim().is_empty());
            if company_missing {
                errors.push(FieldError::new("invoice.company", "required"));
            }
            let fits = if is_eu(&country) {
                vat_number_fits(&number, &country)
            } else {
                (4..=20).contains(&number.len())
            };
            if !fits {
                errors.push(FieldError::new("invoice.vatNumber", "invalid"));
            }
            billing.vat_number = Some(number);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let trim = |v: &mut Option<String>| {
        if let Some(s) = v {
            *s = s.trim().to_string();
        }
    };
    trim(&mut contact.first_name);
    trim(&mut contact.last_name);
    for a in &mut contact.attendees {
        trim(&mut a.first_name);
        trim(&mut a.last_name);
    }
    Ok(contact)
}

/// Attendees are optional; when given, there is one per seat.
pub fn check_attendee_count(contact: &Contact, seats: i64) -> Result<(), Vec<FieldError>> {
    let given = contact.attendees.len() as i64;
    if given != 0 && given != seats {
        return Err(vec![FieldError::new("attendees", "count_mismatch")]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: serde_json::Value) -> Result<Contact, Vec<FieldError>> {
        check_contact(serde_json::from_value(body).unwrap())
    }

    fn fields(errors: Vec<FieldError>) -> Vec<(String, &'static str)> {
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn a_complete_body_passes_tidied() {
        let body = json!({"email": "a@example.org", "firstName": " Ada ", "lastName": "L",
            "attendees": [{"firstName": "Ada", "lastName": "L"}],
            "invoice": {"company": "Acme", "vatNumber": "be 0123.456.789",
                        "address": "Rue 1, Brussels", "country": "BE"}});
        let contact = check(body).unwrap();
        assert_eq!(contact.first_name.as_deref(), Some("Ada"));
        let billing = contact.invoice.unwrap();
        assert_eq!(billing.vat_number.as_deref(), Some("BE0123456789"));
    }

    #[test]
    fn every_wrong_field_is_named() {
        let body = json!({"email": "nope", "lastName": "",
            "attendees": [{"firstName": "A", "email": "bad"}],
            "invoice": {"vatNumber": "NL12", "country": "be"}});
        let got = fields(check(body).unwrap_err());
        let want = [
            ("email", "invalid"),
            ("firstName", "required"),
            ("lastName", "required"),
            ("attendees[0].lastName", "required"),
            ("attendees[0].email", "invalid"),
            ("invoice.address", "required"),
            ("invoice.country", "invalid"),
            ("invoice.company", "required"),
        ];
        for (f, c) in want {
            assert!(got.contains(&(f.to_string(), c)), "{f} {c} in {got:?}");
        }
    }

    #[test]
    fn a_vat_number_must_fit_its_country() {
        let body = |vat: &str, country: &str| {
            json!({"email": "a@b.be", "firstName": "A", "lastName": "B",
                   "invoice": {"company": "C", "vatNumber": vat, "address": "X",
                               "country": country}})
        };
        assert!(check(body("NL123456789B01", "NL")).is_ok());
        assert!(check(body("EL123456789", "GR")).is_ok());
        let errors = fields(check(body("NL123456789B01", "BE")).unwrap_err());
        assert_eq!(errors, vec![("invoice.vatNumber".to_string(), "invalid")]);
        assert!(check(body("CHE-123.456.789", "CH")).is_ok());
    }

    #[test]
    fn the_country_must_be_an_assigned_code() {
        let body = |country: &str| {
            json!({"email": "a@b.be", "firstName": "A", "lastName": "B",
                   "invoice": {"address": "X", "country": country}})
        };
        for country in ["BE", "GB", "XK"] {
            assert!(check(body(country)).is_ok(), "{country}");
        }
        for country in ["ZZ", "AA", "UK"] {
            let errors = fields(check(body(country)).unwrap_err());
            assert_eq!(errors, vec![("invoice.country".to_string(), "invalid")]);
        }
    }

    #[test]
    fn attendees_are_one_per_seat_or_none() {
        let contact = check(json!({"email": "a@b.be", "firstName": "A", "lastName": "B",
            "attendees": [{"firstName": "A", "lastName": "B"}]}))
        .unwrap();
        assert!(check_attendee_count(&contact, 1).is_ok());
        assert!(check_attendee_count(&contact, 2).is_err());
        let none = check(json!({"email": "a@b.be", "firstName": "A", "lastName": "B"})).unwrap();
        assert!(check_attendee_count(&none, 3).is_ok());
    }
}
