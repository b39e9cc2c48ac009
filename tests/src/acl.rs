//! A Redis ACL user made from the documented `ACL SETUSER <role> ...` line, with the
//! user name, password and key names replaced by the test's own; deleted on drop.
//!
//! ACLs are not replicated, so a replica, or a node Sentinel may promote, needs the same
//! line applied to it: [`DocumentedUser::create_on`] applies one user to several servers.
//!
//! (`tests/tests/reliability_reader/acl/` has its own, richer user with dry runs and the ACL
//! log; it maps key names through [`test_name`] too.)

use redis::Connection;

use crate::docs;
use crate::redis::TestRedis;

/// A live ACL user on the test Redis.
pub struct DocumentedUser {
    pub name: String,
    pub password: String,
    /// Every server the line was applied to.
    admins: Vec<redis::Client>,
}

impl DocumentedUser {
    /// Applies the documented line (`docs/deploy.md`) for `role` (e.g. `status-reader`) under a unique name.
    pub fn create(redis: &TestRedis, role: &str, password: &str) -> DocumentedUser {
        DocumentedUser::create_on(redis, &[&redis.url()], role, password)
    }

    /// [`DocumentedUser::create`] with the same name, password and key names (`redis`'s) on
    /// each of `servers` (`redis://127.0.0.1:<port>`, administered as the `default` user).
    pub fn create_on(
        redis: &TestRedis,
        servers: &[&str],
        role: &str,
        password: &str,
    ) -> DocumentedUser {
        let page = docs::read(docs::DEPLOY);
        let prefix = format!("ACL SETUSER {role} ");
        let lines: Vec<&str> = page.lines().filter(|l| l.starts_with(&prefix)).collect();
        assert_eq!(
            lines.len(),
            1,
            "{} must have exactly one `{prefix}...` line",
            docs::DEPLOY
        );
        let name = format!("ss-{role}-{:012x}", fastrand::u64(..) >> 16);
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg(&name);
        for token in lines[0].split_whitespace().skip(3) {
            let token = if token.starts_with('>') {
                format!(">{password}")
            } else if let Some(channel) = token.strip_prefix('&') {
                format!("&{}", test_name(redis, channel))
            } else if let Some(tilde) = token.find('~') {
                format!(
                    "{}~{}",
                    &token[..tilde],
                    test_name(redis, &token[tilde + 1..])
                )
            } else {
                token.to_owned()
            };
            cmd.arg(token);
        }
        let admins: Vec<redis::Client> = servers
            .iter()
            .map(|url| redis::Client::open(*url).expect("test Redis URL"))
            .collect();
        for admin in &admins {
            let mut conn = admin_conn(admin).expect("cannot connect to the test Redis");
            let () = cmd
                .query(&mut conn)
                .unwrap_or_else(|e| panic!("documented {role} line refused: {e}"));
        }
        DocumentedUser {
            name,
            password: password.to_owned(),
            admins,
        }
    }

    /// `redis://<name>:<password>@host:port` for the test server. The name and the
    /// password must need no percent-encoding (letters, digits, `-`).
    pub fn url(&self, server_url: &str) -> String {
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        assert!(
            plain(&self.name) && plain(&self.password),
            "use a plain password here"
        );
        let (scheme, host) = server_url.split_once("://").expect("URL with a scheme");
        let host = host.rsplit('@').next().unwrap_or(host);
        format!("{scheme}://{}:{}@{host}", self.name, self.password)
    }
}

impl Drop for DocumentedUser {
    /// Deletes the user wherever the server still runs (a test may have killed one).
    fn drop(&mut self) {
        for admin in &self.admins {
            let deleted: redis::RedisResult<i64> = admin_conn(admin).and_then(|mut conn| {
                redis::cmd("ACL")
                    .arg("DELUSER")
                    .arg(&self.name)
                    .query(&mut conn)
            });
            if deleted.is_err() {
                eprintln!("warning: could not delete ACL user {}", self.name);
            }
        }
    }
}

fn admin_conn(client: &redis::Client) -> redis::RedisResult<Connection> {
    client.get_connection_with_timeout(std::time::Duration::from_secs(5))
}

/// `server:status[...]` and `config:status_interval` (the only names the documented ACL lines may
/// use) mapped to the test's own.
pub fn test_name(redis: &TestRedis, pattern: &str) -> String {
    if let Some(rest) = pattern.strip_prefix("server:status") {
        format!("{}{rest}", redis.status_key())
    } else if pattern == "config:status_interval" {
        redis.interval_key()
    } else {
        panic!("the documented ACL names an unexpected key pattern {pattern:?}")
    }
}
