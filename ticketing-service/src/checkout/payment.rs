//! How a confirmed reservation gets paid: the [`PaymentProvider`] boundary and the
//! providers the shop has (free, bank transfer, on site).
//!
//! A provider decides what confirming means for money only: paid now, or awaiting a
//! payment with a deadline and a reference, and whether tickets come at once. The
//! reservation logic (seats, invoices, tickets) reads that answer and never the method's
//! name, so a card provider is one more implementation registered in [`Payments`].

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// What a provider is told about the order being confirmed.
#[derive(Debug, Clone)]
pub struct Order {
    pub amount_due: Decimal,
    pub now: DateTime<Utc>,
    pub payment_deadline_hours: i32,
}

/// What confirming with a provider does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStart {
    /// Nothing to pay or paid already: the reservation is paid and tickets are issued.
    Settled,
    /// Payment follows later. `deadline`: when the seats go back if it has not come
    /// (`None`: no deadline); `reference`: what the buyer quotes when paying;
    /// `tickets_now`: tickets are issued now and refused at the door until paid.
    Awaiting {
        deadline: Option<DateTime<Utc>>,
        reference: Option<String>,
        tickets_now: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the order is not free")]
    NotFree,
}

/// A way to pay.
pub trait PaymentProvider: Send + Sync {
    /// The `payment` value of the confirmation body that selects this provider.
    fn method(&self) -> &'static str;
    /// What confirming the order with this provider does.
    fn begin(&self, order: &Order) -> Result<PaymentStart, PaymentError>;
}

/// Orders of nothing: paid at once.
pub struct Free;

impl PaymentProvider for Free {
    fn method(&self) -> &'static str {
        "free"
    }

    fn begin(&self, order: &Order) -> Result<PaymentStart, PaymentError> {
        if order.amount_due.is_zero() {
            Ok(PaymentStart::Settled)
        } else {
            Err(PaymentError::NotFree)
        }
    }
}

/// Bank transfer with a Belgian structured communication; the seats are held until the
/// payment deadline.
pub struct BankTransfer;

impl PaymentProvider for BankTransfer {
    fn method(&self) -> &'static str {
        "offline"
    }

    fn begin(&self, order: &Order) -> Result<PaymentStart, PaymentError> {
        if order.amount_due.is_zero() {
            return Ok(PaymentStart::Settled);
        }
        let base = rand::random::<u64>() % 10_000_000_000;
        Ok(PaymentStart::Awaiting {
            deadline: Some(order.now + Duration::hours(i64::from(order.payment_deadline_hours))),
            reference: Some(structured_communication(base)),
            tickets_now: false,
        })
    }
}

/// Payment at the door: tickets now, refused at check-in until staff mark them paid.
pub struct OnSite;

impl PaymentProvider for OnSite {
    fn method(&self) -> &'static str {
        "onsite"
    }

    fn begin(&self, order: &Order) -> Result<PaymentStart, PaymentError> {
        if order.amount_due.is_zero() {
            return Ok(PaymentStart::Settled);
        }
        Ok(PaymentStart::Awaiting {
            deadline: None,
            reference: None,
            tickets_now: true,
        })
    }
}

/// The providers the shop offers.
pub struct Payments {
    providers: Vec<Box<dyn PaymentProvider>>,
}

impl Default for Payments {
    fn default() -> Self {
        Payments {
            providers: vec![Box::new(Free), Box::new(BankTransfer), Box::new(OnSite)],
        }
    }
}

impl Payments {
    pub fn provider(&self, method: &str) -> Option<&dyn PaymentProvider> {
        self.providers
            .iter()
            .find(|p| p.method() == method)
            .map(|p| p.as_ref())
    }
}

/// The 12 digits of a Belgian structured communication for a 10-digit `base`: the base,
/// then its remainder modulo 97 (97 when that is 0) on two digits.
pub fn structured_communication(base: u64) -> String {
    let base = base % 10_000_000_000;
    let check = match base % 97 {
        0 => 97,
        r => r,
    };
    format!("{base:010}{check:02}")
}

/// Whether 12 digits form a valid structured communication.
pub fn is_structured_communication(digits: &str) -> bool {
    digits.len() == 12
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits[..10]
            .parse::<u64>()
            .is_ok_and(|base| structured_communication(base) == digits)
}

/// The printed form: `+++123/4567/89012+++`.
pub fn format_communication(digits: &str) -> String {
    if digits.len() != 12 {
        return digits.to_string();
    }
    format!("+++{}/{}/{}+++", &digits[..3], &digits[3..7], &digits[7..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_match_known_references() {
        // Published examples of Belgian structured communications.
        for known in ["+++010/8068/17183+++", "+++090/9337/55493+++"] {
            let digits: String = known.chars().filter(char::is_ascii_digit).collect();
            assert!(is_structured_communication(&digits), "{known}");
            let base: u64 = digits[..10].parse().unwrap();
            assert_eq!(format_communication(&structured_communication(base)), known);
        }
    }

    #[test]
    fn a_multiple_of_97_gets_97() {
        assert_eq!(structured_communication(0), "000000000097");
        assert_eq!(structured_communication(97 * 1_000_003), "009700029197");
        assert!(is_structured_communication("009700029197"));
    }

    #[test]
    fn small_remainders_are_padded_and_typos_caught() {
        assert_eq!(structured_communication(1_234_567_890), "123456789002");
        assert!(!is_structured_communication("123456789003"));
        assert!(!is_structured_communication("12345678900"));
        assert!(!is_structured_communication("12345678900x"));
    }

    #[test]
    fn providers_decide_what_confirming_means() {
        let order = |amount: &str| Order {
            amount_due: amount.parse().unwrap(),
            now: Utc::now(),
            payment_deadline_hours: 72,
        };
        let payments = Payments::default();
        let free = payments.provider("free").unwrap();
        assert_eq!(free.begin(&order("0")), Ok(PaymentStart::Settled));
        assert_eq!(free.begin(&order("5.00")), Err(PaymentError::NotFree));

        let o = order("10.00");
        let PaymentStart::Awaiting {
            deadline,
            reference,
            tickets_now,
        } = payments.provider("offline").unwrap().begin(&o).unwrap()
        else {
            panic!("a transfer awaits payment")
        };
        assert_eq!(deadline, Some(o.now + Duration::hours(72)));
        assert!(is_structured_communication(&reference.unwrap()));
        assert!(!tickets_now);

        let onsite = payments.provider("onsite").unwrap().begin(&o).unwrap();
        assert!(matches!(
            onsite,
            PaymentStart::Awaiting {
                deadline: None,
                tickets_now: true,
                ..
            }
        ));
        assert!(payments.provider("card").is_none());
    }
}
