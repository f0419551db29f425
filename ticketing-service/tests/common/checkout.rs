//! Checkout steps: buyer details, confirmation, and the bodies they send.

use serde_json::{json, Value};

use super::{Answer, Api};

/// A buyer without invoice.
pub fn buyer() -> Value {
    json!({"email": "ada@example.org", "firstName": "Ada", "lastName": "Lovelace"})
}

/// A buyer asking for an invoice, as a company of `country` with `vat` (or none).
pub fn buyer_with_invoice(country: &str, vat: Option<&str>) -> Value {
    let mut body = buyer();
    body["invoice"] = json!({"company": "Analytical Engines", "vatNumber": vat,
                             "address": "1 Engine Street", "country": country});
    if vat.is_none() {
        body["invoice"]
            .as_object_mut()
            .expect("an object")
            .remove("vatNumber");
    }
    body
}

impl Api {
    pub async fn contact(&self, id: &str, body: &Value) -> Answer {
        self.put(&format!("/api/v1/reservations/{id}/contact"), body)
            .await
    }

    pub async fn confirm(&self, id: &str, payment: &str) -> Answer {
        let body = json!({ "payment": payment });
        self.post(&format!("/api/v1/reservations/{id}/confirm"), &body)
            .await
    }

    pub async fn mark_paid(&self, id: &str) -> Answer {
        let path = format!("/admin/v1/reservations/{id}/mark-paid");
        self.admin_post(&path, &json!({})).await
    }

    pub async fn admin_cancel(&self, id: &str) -> Answer {
        let path = format!("/admin/v1/reservations/{id}/cancel");
        self.admin_post(&path, &json!({})).await
    }

    pub async fn check_in(&self, event: &str, code: &str) -> Answer {
        let path = format!("/admin/v1/events/{event}/check-ins");
        self.admin_post(&path, &json!({ "code": code })).await
    }

    /// Reserves `quantity` seats of `combi`, gives `contact` and confirms with `payment`;
    /// returns the reservation id and the confirmation's answer. Any step but the last
    /// failing fails the test.
    pub async fn checkout(
        &self,
        event: &str,
        quantity: i64,
        contact: &Value,
        payment: &str,
    ) -> (String, Answer) {
        let held = self.reserve(event, &[("combi", quantity)]).await;
        held.expect(201);
        let id = held.id();
        self.contact(&id, contact).await.expect(200);
        let confirmed = self.confirm(&id, payment).await;
        (id, confirmed)
    }

    /// Sets the seller and the number patterns.
    pub async fn invoice_settings(&self, invoice_pattern: &str, credit_pattern: &str) {
        let body = json!({"sellerName": "Boxoffice Events", "sellerAddress": "Rue 1, Brussels",
                          "sellerVatNumber": "BE0123456789", "sellerCountry": "BE",
                          "invoicePattern": invoice_pattern,
                          "creditNotePattern": credit_pattern});
        self.admin_put("/admin/v1/settings", &body)
            .await
            .expect(200);
    }

    /// The event's invoices and credit notes.
    pub async fn invoices(&self, event: &str) -> Vec<Value> {
        let answer = self
            .admin_get(&format!("/admin/v1/events/{event}/invoices"))
            .await;
        answer.expect(200)["invoices"]
            .as_array()
            .expect("invoices[]")
            .clone()
    }
}
