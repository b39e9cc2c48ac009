//! What the refresher writes: the status document and its last-good copy ([`document`]),
//! in one atomic step, guarded by the lease when there is one.

pub mod document;
