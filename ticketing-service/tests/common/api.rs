//! An HTTP client for the shop's API and the answers it gets.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};

use super::events::items;
use super::ADMIN_TOKEN;

/// Sends requests to the shop processes, in turn.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    bases: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
}

/// A status, the headers and the body of one answer. `body` is `Null` unless it was JSON.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Api {
    pub fn new(bases: Vec<String>) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("build the HTTP client");
        Api {
            client,
            bases: Arc::new(bases),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A request to the next process in turn (round robin).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let shop = self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len();
        self.request_to(shop, method, path)
    }

    /// A request to one given process.
    pub fn request_to(&self, shop: usize, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.bases[shop], path))
    }

    /// A request to the next process, with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(ADMIN_TOKEN)
    }

    pub async fn send(&self, request: RequestBuilder) -> Answer {
        match self.try_send(request).await {
            Ok(answer) => answer,
            Err(error) => panic!("request failed: {error:?}"),
        }
    }

    pub async fn try_send(&self, request: RequestBuilder) -> reqwest::Result<Answer> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            headers,
            text,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// Posts `body` as it is, labelled as JSON.
    pub async fn post_raw(&self, path: &str, body: &str) -> Answer {
        let request = self.request(Method::POST, path);
        self.send(
            request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string()),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    pub async fn admin_put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.admin(Method::PUT, path).json(body)).await
    }

    pub async fn admin_get(&self, path: &str) -> Answer {
        self.send(self.admin(Method::GET, path)).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.admin(Method::POST, path).json(body)).await
    }

    pub async fn admin_patch(&self, path: &str, body: &Value) -> Answer {
        self.send(self.admin(Method::PATCH, path).json(body)).await
    }

    /// Creates an event and returns its document; anything but `201` fails the test.
    pub async fn create_event(&self, event: &Value) -> Value {
        let answer = self.admin_post("/admin/v1/events", event).await;
        answer.expect(201).clone()
    }

    pub async fn reserve(&self, event: &str, wanted: &[(&str, i64)]) -> Answer {
        self.post(&reservations_path(event), &items(wanted)).await
    }

    pub async fn reserve_keyed(&self, event: &str, key: &str, body: &Value) -> Answer {
        let request = self.request(Method::POST, &reservations_path(event));
        self.send(request.header("Idempotency-Key", key).json(body))
            .await
    }

    pub async fn reservation(&self, id: &str) -> Answer {
        self.get(&format!("/api/v1/reservations/{id}")).await
    }

    pub async fn cancel(&self, id: &str) -> Answer {
        self.delete(&format!("/api/v1/reservations/{id}")).await
    }

    /// The public event document; anything but `200` fails the test.
    pub async fn event(&self, slug: &str) -> Value {
        self.get(&format!("/api/v1/events/{slug}"))
            .await
            .expect(200)
            .clone()
    }

    /// `available` of one category in the public event document.
    pub async fn available(&self, slug: &str, category: &str) -> i64 {
        let event = self.event(slug).await;
        let found = find_slug(&event["categories"], category);
        found["available"]
            .as_i64()
            .unwrap_or_else(|| panic!("no `available` in {found}"))
    }

    /// One category's entry of the admin stats; anything but `200` fails the test.
    pub async fn stats(&self, slug: &str, category: &str) -> Stats {
        let answer = self
            .admin_get(&format!("/admin/v1/events/{slug}/stats"))
            .await;
        Stats::from_json(find_slug(&answer.expect(200)["categories"], category))
    }
}

pub fn reservations_path(event: &str) -> String {
    format!("/api/v1/events/{event}/reservations")
}

/// The entry with `"slug": slug` of a JSON array.
#[track_caller]
pub fn find_slug<'a>(list: &'a Value, slug: &str) -> &'a Value {
    let entries = list
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"));
    entries
        .iter()
        .find(|c| c["slug"] == json!(slug))
        .unwrap_or_else(|| panic!("no entry `{slug}` in {list}"))
}

/// A category's line of `GET /admin/v1/events/{event}/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub seats: i64,
    pub free: i64,
    pub held: i64,
    pub awaiting_payment: i64,
    pub sold: i64,
    pub checked_in: i64,
}

impl Stats {
    /// A category of `seats` seats of which `held` are held and the rest free.
    pub fn only_held(seats: i64, held: i64) -> Stats {
        Stats {
            seats,
            free: seats - held,
            held,
            awaiting_payment: 0,
            sold: 0,
            checked_in: 0,
        }
    }

    #[track_caller]
    fn from_json(line: &Value) -> Stats {
        let field = |name: &str| {
            line[name]
                .as_i64()
                .unwrap_or_else(|| panic!("stats line without `{name}`: {line}"))
        };
        Stats {
            seats: field("seats"),
            free: field("free"),
            held: field("held"),
            awaiting_payment: field("awaitingPayment"),
            sold: field("sold"),
            checked_in: field("checkedIn"),
        }
    }
}

impl Answer {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {self}");
        &self.body
    }

    /// Asserts a problem document: status, `application/problem+json`, `type`, `title`,
    /// `status` and `code`.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected answer: {self}");
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content type `{content_type}` of {self}"
        );
        let body = &self.body;
        assert_eq!(body["code"], json!(code), "code of {self}");
        let expected_type = format!("https://boxoffice.dev/problems/{code}");
        assert_eq!(body["type"], json!(expected_type), "type of {self}");
        assert_eq!(body["status"], json!(status), "status field of {self}");
        let title = body["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "no title in {self}");
        body
    }

    /// Asserts `422 validation_failed` whose `errors` hold `{field, code}`.
    #[track_caller]
    pub fn expect_field_error(&self, field: &str, code: &str) {
        let body = self.expect_problem(422, "validation_failed");
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors[]: {self}"));
        let wanted = json!({"field": field, "code": code});
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == wanted["field"] && e["code"] == wanted["code"]),
            "errors[] of {self} do not hold {wanted}"
        );
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `id` of a reservation document.
    #[track_caller]
    pub fn id(&self) -> String {
        let id = self.body["id"].as_str();
        id.unwrap_or_else(|| panic!("no reservation id in {self}"))
            .to_string()
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.text)
    }
}
