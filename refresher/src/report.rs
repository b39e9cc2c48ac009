//! How the refresher reports: [`metrics`] is the one record of outcomes (what the backoff,
//! `/health` and `/metrics` all read), and [`listener`] serves it over HTTP.

pub(crate) mod listener;
pub(crate) mod metrics;
