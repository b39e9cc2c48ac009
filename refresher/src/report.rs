//! How the refresher reports: [`metrics`] is the one record of outcomes (what the backoff,
//! `/health` and `/metrics` all read, with the nudge sources' [`sources`] view), and
//! [`listener`] serves it over HTTP.

pub(crate) mod exposition;
pub(crate) mod listener;
pub(crate) mod metrics;
pub(crate) mod sources;
