//! The servers index (`<status key>:servers`): one small document listing every server
//! with its state, players and the time of its document, for `GET /servers`.
//!
//! Several refresher groups may share one index (a fleet split with `STATUS_SERVERS_ONLY`),
//! so a group never rewrites the whole of it from its own view: one Lua script, atomic like
//! every script, reads the stored index, replaces the entries this group has news of, drops
//! the entries of servers this group no longer lists, keeps every other group's, sorts by
//! the servers file's order and writes it back. With a lease, the same script checks the
//! lease first, as the document's write does: a standby never touches the index.
//!
//! The script uses Redis's bundled `cjson`. What it re-encodes is safe: entries carry
//! strings and whole numbers below 2^53 only (`updated_at` is whole seconds), which cjson
//! writes exactly.

use redis::Script;
use status_document::SCHEMA_VERSION;
use status_document::servers::{IndexEntry, ServerId, index_key};

use crate::redis_call::RedisCallError;
use crate::replicas::guard::{WriteGuard, lease_args, lease_checked};
use crate::replicas::target::Primary;

/// KEYS: index, and the lock when there is a lease. ARGV: token, allow_unheld ("1"), group,
/// fresh entries (a JSON array), every id of the group (a JSON array), schema version.
/// Returns 1 if written, 0 if another replica holds the lease.
const MERGE_INDEX: &str = lease_checked!(
    r"
local fresh = cjson.decode(ARGV[4])
local listed, news = {}, {}
for _, id in ipairs(cjson.decode(ARGV[5])) do listed[id] = true end
for _, e in ipairs(fresh) do news[e.id] = true end
local merged = {}
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, index = pcall(cjson.decode, stored)
  if ok and type(index) == 'table' and type(index.servers) == 'table' then
    for _, e in ipairs(index.servers) do
      if type(e) == 'table' and type(e.id) == 'string' and not news[e.id]
        and (listed[e.id] or e.group ~= ARGV[3]) then
        table.insert(merged, e)
      end
    end
  end
end
for _, e in ipairs(fresh) do table.insert(merged, e) end
table.sort(merged, function(a, b)
  local x, y = tonumber(a.order) or 0, tonumber(b.order) or 0
  if x ~= y then return x < y end
  return a.id < b.id
end)
redis.call('SET', KEYS[1], cjson.encode({schema_version = tonumber(ARGV[6]), servers = merged}))
return 1
"
);

/// Writes this group's entries into the shared index.
pub struct IndexWriter {
    primary: Primary,
    key: String,
    group: String,
    /// Every id of the group, as a JSON array (the script drops entries of ids gone from it).
    listed: String,
    script: Script,
}

impl IndexWriter {
    pub fn new(primary: Primary, status_key: &str, group: &str, ids: &[ServerId]) -> IndexWriter {
        IndexWriter {
            primary,
            key: index_key(status_key),
            group: group.to_owned(),
            // A list of validated ids serialises as is.
            listed: serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned()),
            script: Script::new(MERGE_INDEX),
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Merges `fresh` (this group's entries that changed) into the index. `Ok(false)`:
    /// another replica holds the lease; nothing was written.
    pub async fn write(
        &self,
        fresh: &[IndexEntry],
        guard: Option<&WriteGuard>,
    ) -> Result<bool, RedisCallError> {
        let entries = serde_json::to_string(fresh).unwrap_or_else(|_| "[]".to_owned());
        let mut call = self.script.key(&self.key);
        lease_args(&mut call, guard);
        call.arg(&self.group)
            .arg(entries)
            .arg(&self.listed)
            .arg(SCHEMA_VERSION);
        let written: i64 = self.primary.run_script("index merge", &call).await?;
        Ok(written == 1)
    }
}
