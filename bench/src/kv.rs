//! The harness's own Redis connection: seeding and reading its status key, cleaning up.

use std::time::Duration;

use anyhow::Context;
use redis::aio::MultiplexedConnection;

const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Kv {
    conn: MultiplexedConnection,
}

impl Kv {
    pub async fn connect(url: &str) -> anyhow::Result<Kv> {
        let client = redis::Client::open(url).context("REDIS URL")?;
        let conn = tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
            .await
            .context("connecting to Redis timed out")?
            .context("connecting to Redis")?;
        Ok(Kv { conn })
    }

    async fn run<T: redis::FromRedisValue>(&mut self, cmd: redis::Cmd) -> anyhow::Result<T> {
        Ok(
            tokio::time::timeout(TIMEOUT, cmd.query_async(&mut self.conn))
                .await
                .context("Redis call timed out")??,
        )
    }

    pub async fn get(&mut self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.run(cmd).await
    }

    pub async fn set_ex(&mut self, key: &str, value: &[u8], ttl_s: u64) -> anyhow::Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value).arg("EX").arg(ttl_s);
        self.run::<()>(cmd).await
    }

    pub async fn set(&mut self, key: &str, value: &[u8]) -> anyhow::Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        self.run::<()>(cmd).await
    }

    pub async fn del(&mut self, keys: &[String]) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("DEL");
        cmd.arg(keys);
        self.run::<()>(cmd).await
    }

    /// Every key matching `pattern` (`SCAN … MATCH`, so a big shared Redis is not blocked
    /// the way `KEYS` would block it); at most `limit` keys.
    pub async fn keys_matching(
        &mut self,
        pattern: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, batch): (u64, Vec<String>) = self.run(cmd).await?;
            keys.extend(batch);
            cursor = next;
            if cursor == 0 || keys.len() >= limit {
                return Ok(keys);
            }
        }
    }

    /// `PUBLISH channel message`: how many subscribers heard it.
    pub async fn publish(&mut self, channel: &str, message: &str) -> anyhow::Result<i64> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel).arg(message);
        self.run(cmd).await
    }

    /// Redis's `INFO server` `redis_version`.
    pub async fn version(&mut self) -> String {
        let mut cmd = redis::cmd("INFO");
        cmd.arg("server");
        self.run::<String>(cmd)
            .await
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("redis_version:"))
                    .map(|v| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into())
    }
}
