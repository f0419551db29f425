//! Checkout rules that need no database: buyer details, country codes, payment providers,
//! VAT, document numbers, ticket signatures, and the CSV of attendees.
//!
//! The transactions that apply them live in `store::checkout`, `store::invoices` and
//! `store::tickets`; documents are rendered by `render`.

pub mod contact;
pub mod country;
pub mod csv;
pub mod numbering;
pub mod payment;
pub mod signing;
pub mod vat;
