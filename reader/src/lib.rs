//! `status-reader`: the Spin HTTP component that serves `/server/status` from Redis.
//!
//! The component is deliberately thin. `component` (compiled for wasm32 only; `component_p3`
//! in the WASIp3 build for Spin >= 4) reads the Spin variables, names its SDK's Redis calls
//! for [`spin_store`] (which decides everything about them, for both builds) and copies the
//! request in and the response out;
//! everything that decides an answer is plain Rust in the modules below, unit- and
//! property-tested natively with `cargo test -p status-reader`:
//!
//! * [`route`]: method + path to an endpoint or a 4xx, total over all inputs;
//! * [`store`] and [`ready`]: the async seam to Redis, and driving it where it answers at once;
//! * [`fetch`]: one `GET` of the status key, the `:last_good` copy only when it is missing;
//! * [`cache`]: `ETag`, `If-None-Match`, `Cache-Control`, `Last-Modified`;
//! * [`respond`] and [`serve`]: status codes, headers and bodies;
//! * [`error`]: the error codes and their fixed, detail-free messages;
//! * [`badge`] and [`embed`]: what the website shows players (badge, `shields.json`, the
//!   `<server-status>` widget and its demo page) and the contract (`openapi.json`);
//! * [`simple`]: the vouched state as one word and a status code, for uptime monitors;
//! * [`history`]: uptime, incidents and the bucket series from `<key>:history`;
//! * [`servers`]: several game servers (`/servers`, the index, and `/servers/{id}/...`);
//! * [`page`]: `/status`, the public status page (HTML) from `<key>:page`.

pub mod badge;
pub mod cache;
pub mod config;
pub mod cors;
pub mod embed;
pub mod error;
pub mod fetch;
pub mod history;
pub mod markup;
pub mod page;
pub mod query;
pub mod ready;
pub mod request;
pub mod respond;
pub mod route;
pub mod serve;
pub mod servers;
pub mod simple;
pub mod spin_store;
pub mod store;
#[cfg(test)]
mod testing;

// One glue module per build (reader/Cargo.toml's features): WASIp2 for Spin 3.x (the
// default) or WASIp3 for Spin >= 4, where every Redis call is raced against a timer.
#[cfg(all(target_arch = "wasm32", not(feature = "spin4")))]
mod component;
#[cfg(all(target_arch = "wasm32", feature = "spin4"))]
mod component_p3;

pub use config::Config;
pub use request::RequestHead;
pub use respond::Response;
pub use serve::handle;
pub use store::{Store, StoreError};
