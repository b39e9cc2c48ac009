//! The status page's document (`<status key>:page`, see [`status_document::page`]): every
//! server's headline and history view in one value, so `GET /status` costs the reader one
//! `GET`.
//!
//! The fleet hands over the whole page; this writes it with one small script that checks
//! the lease first, as the index's merge does ([`crate::write::index`]): a standby, or a
//! holder that outlived its lease, never overwrites the holder's page. No TTL: every server
//! on the page carries its own `vouched_until`, so a page left behind by a stopped refresher
//! shows its states as not known rather than disappearing.

use redis::Script;
use status_document::page::{MAX_PAGE_BYTES, PageDocument, page_key};
use tracing::warn;

use crate::redis_call::RedisCallError;
use crate::replicas::guard::{WriteGuard, lease_args, lease_checked};
use crate::replicas::target::Primary;

/// KEYS: the page, and the lock when there is a lease. ARGV: token, allow_unheld ("1"), the
/// page. Returns 1 if written, 0 if another replica holds the lease.
const WRITE_PAGE: &str = lease_checked!(
    r"
redis.call('SET', KEYS[1], ARGV[3])
return 1
"
);

/// Writes the page document.
pub struct PageWriter {
    primary: Primary,
    key: String,
    script: Script,
}

impl PageWriter {
    pub fn new(primary: Primary, status_key: &str) -> PageWriter {
        PageWriter {
            primary,
            key: page_key(status_key),
            script: Script::new(WRITE_PAGE),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Writes `page`. `Ok(false)`: another replica holds the lease, or the page is over
    /// [`MAX_PAGE_BYTES`] (logged; the reader would refuse it): nothing was written.
    pub async fn write(
        &self,
        page: &PageDocument,
        guard: Option<&WriteGuard>,
    ) -> Result<bool, RedisCallError> {
        let json = page.to_json();
        if json.len() > MAX_PAGE_BYTES || json.is_empty() {
            warn!(key = %self.key, bytes = json.len(), "the status page is over its bound; not written");
            return Ok(false);
        }
        let mut call = self.script.key(&self.key);
        lease_args(&mut call, guard);
        call.arg(json);
        let written: i64 = self.primary.run_script("page write", &call).await?;
        Ok(written == 1)
    }
}
