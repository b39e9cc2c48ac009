//! The notification outbox: what is still to be sent, and the [`Ledger`] of what
//! people were told, in Redis, so a restart or a takeover delivers what was pending.
//!
//! Two keys beside the document:
//!
//! - `<STATUS_KEY>:notify`: the ledger (a few hundred bytes, no TTL: "people were told the
//!   server is online" must outlive a quiet week);
//! - `<STATUS_KEY>:notify:outbox`: the pending messages, at most [`MAX_PENDING`], with a
//!   TTL of a day, renewed on every write (each message also carries its own age, and is
//!   given up past `STATUS_NOTIFY_GIVE_UP`).
//!
//! Both are written together by one script, [`SAVE`], that first checks the lease still
//! holds our token, like the document's guarded write: a replica that lost the lease can
//! neither send (it stops at its next save) nor overwrite what the new holder keeps.
//!
//! A message is saved here before its first send and removed after the target's answer, so
//! it is delivered at least once: only a kill -9 between a target's answer and the save
//! that follows sends it a second time (with the same idempotency id).
//!
//! The outbox only keeps: what a ledger and a message are is [`crate::notify`]'s business
//! (any serde type), so the two modules do not import each other.

use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

use crate::config::OUTBOX_TTL_S;
use crate::redis_call::RedisCallError;
use crate::replicas::target::Primary;

/// Most messages pending at once, over all targets. Past it the oldest is given up: a day
/// of outage with every target down is still far below it (the hour's limit applies).
pub const MAX_PENDING: usize = 256;

/// KEYS: ledger, outbox, lock. ARGV: token ('' without a lease), ledger json, outbox json
/// ('' deletes it), outbox ttl. Returns 1 if saved, 0 if the lease is not ours.
pub const SAVE: &str = r"
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
end
return 1
";

pub struct Outbox {
    primary: Primary,
    ledger_key: String,
    outbox_key: String,
    lock_key: String,
    /// Our lease token; `None` without a lease (a single replica always holds).
    token: Option<String>,
    save: Script,
}

impl Outbox {
    pub fn new(primary: Primary, status_key: &str, lock_key: &str, token: Option<String>) -> Self {
        Outbox {
            primary,
            ledger_key: format!("{status_key}:notify"),
            outbox_key: format!("{status_key}:notify:outbox"),
            lock_key: lock_key.to_owned(),
            token,
            save: Script::new(SAVE),
        }
    }

    /// The ledger and the pending messages; `None` when another replica holds the lease
    /// (or none does). What cannot be read is logged and starts afresh.
    pub async fn load<L, P>(&self) -> Result<Option<(L, Vec<P>)>, RedisCallError>
    where
        L: DeserializeOwned + Default,
        P: DeserializeOwned,
    {
        let mut pipe = redis::pipe();
        pipe.cmd("GET")
            .arg(&self.lock_key)
            .cmd("GET")
            .arg(&self.ledger_key)
            .cmd("GET")
            .arg(&self.outbox_key);
        let (holder, ledger, pending): (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) = self
            .primary
            .call("notify load", async |mut conn| {
                pipe.query_async(&mut conn).await
            })
            .await?;
        if let Some(token) = &self.token
            && holder.as_deref() != Some(token.as_str())
        {
            return Ok(None);
        }
        let ledger = match ledger.map(|b| serde_json::from_slice::<L>(&b)) {
            None => L::default(),
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                warn!(key = %self.ledger_key, error = %e, "unreadable notification ledger; starting afresh");
                L::default()
            }
        };
        let pending = match pending.map(|b| serde_json::from_slice::<Vec<P>>(&b)) {
            None => Vec::new(),
            Some(Ok(mut p)) => {
                p.truncate(MAX_PENDING);
                p
            }
            Some(Err(e)) => {
                tracing::error!(key = %self.outbox_key, error = %e, "unreadable notification outbox; its messages are lost");
                Vec::new()
            }
        };
        Ok(Some((ledger, pending)))
    }

    /// Saves both keys if the lease is still ours; `false` if not (nothing was written).
    pub async fn save<L: Serialize, P: Serialize>(
        &self,
        ledger: &L,
        pending: &[P],
    ) -> Result<bool, RedisCallError> {
        let ledger = serde_json::to_vec(ledger).unwrap_or_default();
        let pending = if pending.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(pending).unwrap_or_default()
        };
        let mut call = self.save.key(&self.ledger_key);
        call.key(&self.outbox_key)
            .key(&self.lock_key)
            .arg(self.token.as_deref().unwrap_or(""))
            .arg(ledger)
            .arg(pending)
            .arg(OUTBOX_TTL_S);
        let saved: i64 = self.primary.run_script("notify save", &call).await?;
        Ok(saved == 1)
    }
}
