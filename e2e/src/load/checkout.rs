//! The part of a rush that goes on to checkout: after its `201`, a share of the attendees
//! give their contact details (one attendee per seat) and confirm, as a real buyer does
//! while others are still fighting for seats.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use super::report::{latency_of, outcome_of, Latency, Reserved};

/// One checkout call: which step, what came back, how long it took.
#[derive(Debug, Clone)]
pub(crate) struct StepSample {
    pub outcome: String,
    pub latency: Duration,
    /// Whether this confirmation completed a checkout.
    pub completed: bool,
}

/// What the checkouts did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutReport {
    /// Reservations taken on to checkout.
    pub started: u64,
    /// Checkouts whose contact details and confirmation were both accepted.
    pub completed: u64,
    /// By step and outcome: `contact 200`, `confirm 200`, `confirm 422 validation_failed`...
    pub outcomes: BTreeMap<String, u64>,
    pub server_errors: u64,
    pub latency_ms: Latency,
}

/// The contact details of attendee `n` for a reservation of `seats` seats.
pub(crate) fn contact_body(n: u64, seats: u32) -> serde_json::Value {
    let attendees: Vec<_> = (1..=seats)
        .map(|i| json!({"firstName": format!("Guest{i}"), "lastName": format!("Buyer{n}")}))
        .collect();
    json!({
        "email": format!("buyer{n}@example.org"),
        "firstName": "Ada",
        "lastName": format!("Buyer{n}"),
        "attendees": attendees,
    })
}

/// Contact details, then confirmation with `payment`; stops at the first refusal.
pub(crate) async fn check_out(
    client: &reqwest::Client,
    shop: &str,
    reservation: &Reserved,
    n: u64,
    payment: &str,
) -> Vec<StepSample> {
    let base = format!("{shop}/api/v1/reservations/{}", reservation.id);
    let contact = client
        .put(format!("{base}/contact"))
        .json(&contact_body(n, reservation.quantity));
    let mut samples = vec![step("contact", contact).await];
    if samples[0].outcome.starts_with("contact 2") {
        let confirm = client
            .post(format!("{base}/confirm"))
            .json(&json!({"payment": payment}));
        let mut done = step("confirm", confirm).await;
        done.completed = done.outcome.starts_with("confirm 2");
        samples.push(done);
    }
    samples
}

async fn step(name: &str, request: reqwest::RequestBuilder) -> StepSample {
    let began = Instant::now();
    let outcome = match request.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body = resp.json::<serde_json::Value>().await.unwrap_or_default();
            format!("{name} {}", outcome_of(status, &body))
        }
        Err(_) => format!("{name} transport"),
    };
    StepSample {
        outcome,
        latency: began.elapsed(),
        completed: false,
    }
}

pub(crate) fn summarise(started: u64, samples: &[StepSample]) -> CheckoutReport {
    let mut outcomes = BTreeMap::new();
    for s in samples {
        *outcomes.entry(s.outcome.clone()).or_insert(0) += 1;
    }
    let latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    CheckoutReport {
        started,
        completed: samples.iter().filter(|s| s.completed).count() as u64,
        server_errors: samples
            .iter()
            .filter(|s| {
                s.outcome
                    .split(' ')
                    .nth(1)
                    .is_some_and(|c| c.starts_with('5'))
            })
            .count() as u64,
        outcomes,
        latency_ms: latency_of(&latencies),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_attendee_per_seat() {
        let body = contact_body(7, 3);
        assert_eq!(body["attendees"].as_array().unwrap().len(), 3);
        assert_eq!(body["email"], "buyer7@example.org");
    }

    #[test]
    fn summary_counts_completed_and_server_errors() {
        let s = |outcome: &str, completed| StepSample {
            outcome: outcome.into(),
            latency: Duration::from_millis(3),
            completed,
        };
        let samples = [
            s("contact 200", false),
            s("confirm 200", true),
            s("contact 200", false),
            s("confirm 503 database_unavailable", false),
            s("contact 422 validation_failed", false),
        ];
        let r = summarise(3, &samples);
        assert_eq!((r.started, r.completed, r.server_errors), (3, 1, 1));
        assert_eq!(r.outcomes["contact 200"], 2);
        assert_eq!(r.latency_ms.p50, 3.0);
    }
}
