//! State-change notifications, with every part real: the refresher binary(ies),
//! MariaDB, Redis, a TCP listener standing in for the game server (closed and reopened to
//! flip the state through the probe), and a local HTTPS receiver (`receiver.rs`, a test
//! CA from dev-support, trusted through `STATUS_NOTIFY_CA_CERT`) standing in for Discord,
//! Telegram and a webhook. The receiver records each request whole, and the tests check
//! each API's documented shape: Discord's Execute Webhook (POST JSON, `embeds`), Telegram's
//! `sendMessage` (POST JSON, `chat_id` and `text`), and the webhook's signature, checked
//! here with hmac/sha2 rather than the refresher's own code.
//!
//! The flap-control and hour-limit logic at scale (1,000 flips in a minute) is proven in
//! `refresher/src/notify/hold.rs`'s unit tests; here a real process goes through six flips
//! with a limit of two.
//!
//! Waits are for the condition asserted, with generous deadlines. Where a test asserts that
//! something did NOT happen, the window is explained beside it.

use std::process::Command;
use std::time::{Duration, Instant};

use dev_support::certs::TestPki;
use hmac::{Hmac, Mac};
use integration_tests::binaries::{Child, refresher_bin, refresher_for};
use integration_tests::db::{TestDb, constant};
use integration_tests::game_server::GameServer;
use integration_tests::receiver::{Received, Receiver};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use sha2::Sha256;

mod delivery;
mod holders;
mod messages;
mod servers;

const DISCORD: &str = "/api/webhooks/1234/disc-TOKEN";
const TELEGRAM: &str = "/bot42:TG-TOKEN/sendMessage";
const HOOK: &str = "/hook";
const PATHS: [&str; 3] = [DISCORD, TELEGRAM, HOOK];
const SECRET: &str = "It's a Secret to Everybody";
const LINK: &str = "https://status.example.org/";
/// Generous bound for anything that should happen within a few seconds on an idle machine.
const SOON: Duration = Duration::from_secs(30);

/// Everything one test needs.
struct Setup {
    db: TestDb,
    redis: TestRedis,
    game: GameServer,
    receiver: Receiver,
    pki: TestPki,
    _dir: TempDir,
}

impl Setup {
    async fn new() -> Setup {
        tokio::task::spawn_blocking(refresher_bin)
            .await
            .expect("building the refresher");
        let dir = TempDir::new("notify-pki");
        let pki = TestPki::generate(dir.path()).expect("test PKI");
        Setup {
            db: TestDb::with_constants(
                "DOUBLE",
                &[constant("ServerStatus", 1.0, Some("Сервер включён"))],
            ),
            redis: TestRedis::new(),
            game: GameServer::start(),
            receiver: Receiver::start(&pki).await,
            pki,
            _dir: dir,
        }
    }

    /// `STATUS_NOTIFY` with all three kinds on the receiver; the webhook's URL has a comma
    /// and `=` of its own in its query.
    fn notify_list(&self) -> String {
        let base = self.receiver.base();
        format!(
            "discord={base}{DISCORD},telegram={base}{TELEGRAM}?chat_id=-1001,\
             webhook={base}{HOOK}?a=1,b=2"
        )
    }

    /// The refresher: a 1-second probe, down after one failure, notifications held `hold`
    /// seconds.
    fn refresher(&self, hold: u64, lease: &str) -> Command {
        let mut cmd = refresher_for(&self.db.url(), &self.redis.url(), &self.redis);
        cmd.env("STATUS_UPDATE_INTERVAL", "600")
            .env("STATUS_TIMEOUT", "2")
            .env("STATUS_LEASE", lease)
            .env("STATUS_METRICS_ADDR", "")
            .env("GAME_SERVER_ADDR", self.game.addr.to_string())
            .env("STATUS_PROBE_INTERVAL", "1")
            .env("STATUS_PROBE_TIMEOUT", "0.5")
            .env("STATUS_PROBE_FAILURES", "1")
            .env("STATUS_NOTIFY", self.notify_list())
            .env("STATUS_NOTIFY_SECRET", SECRET)
            .env("STATUS_NOTIFY_CA_CERT", &self.pki.ca)
            .env("STATUS_NOTIFY_HOLD", hold.to_string())
            .env("STATUS_NOTIFY_LINK", LINK)
            .env("RUST_LOG", "info");
        cmd
    }

    /// The published state (`None` before the first document).
    fn state(&self) -> Option<String> {
        let raw = self.redis.get(&self.redis.status_key())?;
        let doc: serde_json::Value = serde_json::from_slice(&raw).ok()?;
        doc["state"].as_str().map(str::to_owned)
    }

    async fn wait_state(&self, want: &str) {
        let deadline = Instant::now() + SOON;
        while self.state().as_deref() != Some(want) {
            assert!(
                Instant::now() < deadline,
                "the document never said {want} (now {:?})",
                self.state()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the notifier has taken `state` as what people know (the ledger's
    /// `told`), so the next flip is news.
    async fn wait_told(&self, state: &str) {
        self.wait_told_at(&self.redis.status_key(), state).await;
    }

    /// [`Setup::wait_told`] for the server whose document is `status_key` (each server of a
    /// servers file has its own ledger, `<its key>:notify`).
    async fn wait_told_at(&self, status_key: &str, state: &str) {
        let key = format!("{status_key}:notify");
        let deadline = Instant::now() + SOON;
        loop {
            let told = self
                .redis
                .get(&key)
                .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
                .and_then(|l| l["told"]["now"]["state"].as_str().map(str::to_owned));
            if told.as_deref() == Some(state) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the notifier of {status_key} never took {state} as told (ledger {:?})",
                self.redis.get_string(&key)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A refresher ([`Setup::refresher`]) waited on until it has the game server online and
    /// has taken that as told, so the next flip is news.
    async fn online_refresher(&self, hold: u64, lease: &str) -> Child {
        let child = Child::spawn(self.refresher(hold, lease));
        self.wait_state("online").await;
        self.wait_told("online").await;
        child
    }

    /// The JSON `field` of each request the webhook received, in order.
    fn hook_field(&self, field: &str) -> Vec<String> {
        self.receiver
            .to(HOOK)
            .iter()
            .map(|r| r.json()[field].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// One request per path, each within `limit`; panics naming what is missing.
    async fn one_each(&self, limit: Duration) -> [Received; 3] {
        let mut got = Vec::new();
        for path in PATHS {
            let r = self.receiver.wait_for(path, 1, limit).await;
            assert!(!r.is_empty(), "{path} received nothing within {limit:?}");
            got.push(r[0].clone());
        }
        got.try_into().expect("three")
    }

    fn counts(&self) -> Vec<usize> {
        PATHS.iter().map(|p| self.receiver.to(p).len()).collect()
    }
}

fn hmac_hex(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Each API's documented request shape, and the offline text.
fn check_offline_shapes([discord, telegram, hook]: &[Received; 3]) {
    for r in [discord, telegram, hook] {
        assert_eq!(r.method, "POST", "{}", r.path);
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{}",
            r.path
        );
    }
    // Discord: Execute Webhook, one embed coloured red, no mentions.
    let d = discord.json();
    let embed = &d["embeds"][0];
    assert_eq!(d["embeds"].as_array().map(Vec::len), Some(1), "{d}");
    let line = embed["description"].as_str().expect("description");
    assert!(line.starts_with("🔴 Server offline since "), "{line}");
    assert!(line.ends_with(" UTC (unreachable)"), "{line}");
    assert_eq!(embed["color"], 0xE7_4C_3C, "{d}");
    assert_eq!(embed["url"], LINK, "{d}");
    assert!(embed["title"].is_string(), "a link needs a title: {d}");
    assert_eq!(d["allowed_mentions"]["parse"], serde_json::json!([]), "{d}");

    // Telegram: sendMessage with chat_id and text.
    let t = telegram.json();
    assert_eq!(t["chat_id"], "-1001", "{t}");
    let text = t["text"].as_str().expect("text");
    assert!(text.starts_with("🔴 Server offline since "), "{text}");
    assert!(text.ends_with(LINK), "{text}");

    // The webhook: its own URL (query and all), the signature over the exact body, the
    // timestamp header equal to the signed body's, and the idempotency key.
    assert_eq!(hook.query.as_deref(), Some("a=1,b=2"));
    let expected = format!("sha256={}", hmac_hex(&hook.body));
    assert_eq!(hook.header("x-signature-256"), Some(expected.as_str()));
    let w = hook.json();
    let ts = hook
        .header("x-signature-timestamp")
        .and_then(|t| t.parse::<u64>().ok())
        .expect("x-signature-timestamp");
    assert_eq!(w["timestamp"], ts, "{w}");
    let now = integration_tests::unix_now() as u64;
    assert!(now.abs_diff(ts) < 120, "timestamp {ts}, now {now}");
    assert_eq!(hook.header("idempotency-key"), w["id"].as_str(), "{w}");
    assert_eq!(w["event"], "change", "{w}");
    assert_eq!(w["state"], "offline", "{w}");
    assert_eq!(w["state_reason"], "unreachable", "{w}");
    assert_eq!(w["previous_state"], "online", "{w}");
    assert_eq!(w["link"], LINK, "{w}");
    assert!(
        w["text"].as_str().is_some_and(|t| t.starts_with("🔴")),
        "{w}"
    );
}

/// No secret in what the refresher printed.
fn check_no_secrets(output: &str) {
    for secret in ["disc-TOKEN", "TG-TOKEN", SECRET, "chat_id=-1001", "a=1,b=2"] {
        assert!(
            !output.contains(secret),
            "the log shows {secret:?}:\n{output}"
        );
    }
}
