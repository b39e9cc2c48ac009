//! What the refresher writes: the status document and its last-good copy ([`document`]),
//! in one atomic step, guarded by the lease when there is one (the
//! [`crate::replicas::guard`] it hands out); the notifications still to be sent, with the
//! ledger of what people were told ([`outbox`]); and the history of what was vouched for
//! over time ([`history`]), written with the document; and the index of every server
//! ([`index`]), which `GET /servers` serves; and the status page's document ([`page`]),
//! which `GET /status` renders.

pub mod document;
pub mod history;
pub mod index;
pub mod outbox;
pub mod page;
