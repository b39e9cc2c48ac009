//! State-change notifications (issue 24), with every part real: the refresher binary(ies),
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
use integration_tests::probe::{health, http_get, metric, metrics_addr};
use integration_tests::receiver::{Received, Receiver, Reply};
use integration_tests::redis::TestRedis;
use integration_tests::temp::TempDir;
use sha2::Sha256;

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
        let key = format!("{}:notify", self.redis.status_key());
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
                "the notifier never took {state} as told (ledger {:?})",
                self.redis.get_string(&key)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flip_gives_one_message_per_target_in_each_apis_shape() {
    let mut s = Setup::new().await;
    let child = Child::spawn(s.refresher(1, "30"));
    s.wait_state("online").await;
    s.wait_told("online").await;

    s.game.stop();
    let got = s.one_each(SOON).await;
    check_offline_shapes(&got);
    // Exactly one: a second message would follow the first at once (it is the same round
    // or the next retry, within a second or two); three more seconds say it did not come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.counts(), [1, 1, 1]);

    s.game.restart();
    for path in PATHS {
        let r = s.receiver.wait_for(path, 2, SOON).await;
        assert_eq!(r.len(), 2, "{path}: no back-online message");
    }
    let w = s.receiver.to(HOOK)[1].json();
    assert_eq!(
        (&w["state"], &w["previous_state"]),
        (&"online".into(), &"offline".into())
    );
    let line = w["text"].as_str().unwrap_or_default();
    assert!(line.starts_with("🟢 Back online after "), "{line}");
    let d = s.receiver.to(DISCORD)[1].json();
    assert_eq!(d["embeds"][0]["color"], 0x2E_CC_71, "{d}");
    // Different incidents, different ids; the same incident's id is per target.
    let ids: Vec<_> = s
        .receiver
        .to(HOOK)
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| id.ends_with("-webhook")), "{ids:?}");
    check_no_secrets(&child.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flap_inside_the_hold_gives_none() {
    const HOLD: u64 = 8;
    let mut s = Setup::new().await;
    let _child = Child::spawn(s.refresher(HOLD, "30"));
    s.wait_state("online").await;
    s.wait_told("online").await;

    s.game.stop();
    let stopped = Instant::now();
    s.wait_state("offline").await;
    s.game.restart();
    s.wait_state("online").await;
    assert!(
        stopped.elapsed() < Duration::from_secs(HOLD),
        "the flap took longer than the hold; the test proves nothing on this machine"
    );
    // The window: a message for the offline would be queued HOLD seconds after it began
    // (no later than `stopped` + HOLD) and sent in the same round to a receiver that is up;
    // four seconds more cover that round and the send.
    let window = Duration::from_secs(HOLD + 4);
    tokio::time::sleep(window.saturating_sub(stopped.elapsed())).await;
    assert_eq!(s.counts(), [0, 0, 0], "{:?}", s.receiver.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_30_s_gets_the_message_after_it_is_back() {
    let mut s = Setup::new().await;
    let child = Child::spawn(s.refresher(1, "30"));
    s.wait_state("online").await;
    s.wait_told("online").await;

    s.receiver.stop();
    let down = Instant::now();
    s.game.stop();
    child.expect_output("notification not delivered; will retry", SOON);
    // The outage itself: the receiver stays down for 30 s, as the issue asks.
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(down.elapsed())).await;
    s.receiver.restart().await;
    let up = Instant::now();
    // The backoff is at most 30 s between attempts; 60 s leaves room for a busy machine.
    let got = s.one_each(Duration::from_secs(60)).await;
    for r in &got {
        assert!(
            r.at >= up,
            "{} arrived before the receiver was back",
            r.path
        );
    }
    check_offline_shapes(&got);
    eprintln!(
        "notify: receiver back -> all three delivered in {:?}",
        got.iter().map(|r| r.at - up).max().unwrap_or_default()
    );
    assert_eq!(s.counts(), [1, 1, 1]);
    check_no_secrets(&child.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_2_is_sent_again_after_2_s_and_not_before() {
    let mut s = Setup::new().await;
    for (path, body) in [
        (
            DISCORD,
            r#"{"message":"You are being rate limited.","retry_after":2.0,"global":false}"#,
        ),
        (
            TELEGRAM,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}"#,
        ),
        (HOOK, ""),
    ] {
        s.receiver.script(
            path,
            Reply {
                status: 429,
                headers: vec![("retry-after", "2".to_owned())],
                body: body.to_owned(),
            },
        );
    }
    let _child = Child::spawn(s.refresher(1, "30"));
    s.wait_state("online").await;
    s.wait_told("online").await;
    s.game.stop();
    for path in PATHS {
        let r = s.receiver.wait_for(path, 2, SOON).await;
        assert_eq!(r.len(), 2, "{path}: not sent again after the 429");
        let gap = r[1].at - r[0].at;
        assert!(gap >= Duration::from_secs(2), "{path}: again after {gap:?}");
        // Same message, same id.
        if path == HOOK {
            assert_eq!(r[0].json()["id"], r[1].json()["id"]);
        }
    }
    s.game.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        s.counts(),
        [2, 2, 2],
        "delivered once after the 429, nothing more"
    );
}

/// The lease holder's pid, from the lock's token (`<host>-<pid>-<random>`).
fn holder_pid(s: &Setup) -> Option<u32> {
    let token = s
        .redis
        .get_string(&status_document::keys::lock_key(&s.redis.status_key()))?;
    token.rsplit('-').nth(1)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_refreshers_still_send_exactly_one_message() {
    let mut s = Setup::new().await;
    let _a = Child::spawn(s.refresher(1, "3"));
    let _b = Child::spawn(s.refresher(1, "3"));
    s.wait_state("online").await;
    s.wait_told("online").await;
    s.game.stop();
    s.one_each(SOON).await;
    // A second message from the other replica would come in the same second (both see the
    // same document); five seconds, more than a lease, say it did not.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(s.counts(), [1, 1, 1], "{:?}", s.receiver.received());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_9_of_the_holder_the_new_holder_delivers() {
    const HOLD: u64 = 4;
    let mut s = Setup::new().await;
    let mut a = Child::spawn(s.refresher(HOLD, "3"));
    let mut b = Child::spawn(s.refresher(HOLD, "3"));
    s.wait_state("online").await;
    s.wait_told("online").await;

    // 1. Killed inside the hold: the state changed, nothing is sent yet.
    let pid = holder_pid(&s).expect("a holder");
    s.game.stop();
    s.wait_state("offline").await;
    let (holder, other) = if a.pid() == pid {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    holder.kill();
    assert_eq!(s.counts(), [0, 0, 0], "sent before the hold was over");
    s.one_each(SOON).await;
    assert!(
        other.output().contains("notification delivered"),
        "not the new holder's delivery"
    );

    // 2. Killed with the message in the outbox (the receiver is down): the next holder
    //    sends it once the receiver is back.
    let mut c = Child::spawn(s.refresher(HOLD, "3"));
    s.receiver.stop();
    s.game.restart();
    other.expect_output("notification not delivered; will retry", SOON);
    other.kill();
    s.receiver.restart().await;
    for path in PATHS {
        let r = s.receiver.wait_for(path, 2, Duration::from_secs(60)).await;
        assert_eq!(r.len(), 2, "{path}: the pending message was lost");
    }
    assert!(
        c.output().contains("notification delivered"),
        "{}",
        c.output()
    );
    assert!(c.exited().is_none());
    let w = s.receiver.to(HOOK)[1].json();
    assert_eq!(w["state"], "online", "{w}");
    assert_eq!(s.counts(), [2, 2, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_flips_give_at_most_the_limit_plus_one_summary() {
    let mut s = Setup::new().await;
    let mut cmd = s.refresher(0, "30");
    cmd.env("STATUS_NOTIFY_MAX_PER_HOUR", "2");
    let _child = Child::spawn(cmd);
    s.wait_state("online").await;
    s.wait_told("online").await;
    for _ in 0..6 {
        s.game.stop();
        s.wait_state("offline").await;
        s.game.restart();
        s.wait_state("online").await;
    }
    for path in PATHS {
        let r = s.receiver.wait_for(path, 3, SOON).await;
        assert_eq!(r.len(), 3, "{path}");
    }
    // Without a hold every change is queued in the round that sees it and sent at once; a
    // fourth message would be there within a second or two. Five seconds say it is not.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(s.counts(), [3, 3, 3]);
    let events: Vec<_> = s
        .receiver
        .to(HOOK)
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(events, ["change", "change", "summary"]);
    let summary = s.receiver.to(TELEGRAM)[2].json();
    let text = summary["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("⚠️ "), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_prints_what_each_target_answered() {
    let s = Setup::new().await;
    s.receiver.script(
        TELEGRAM,
        Reply {
            status: 400,
            headers: Vec::new(),
            body: r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
                .to_owned(),
        },
    );
    let cmd = s.refresher(1, "30");
    let mut child = Child::spawn({
        let mut c = cmd;
        c.arg("notify-test");
        c
    });
    let status = child.wait(SOON);
    let out = child.output();
    assert_eq!(status.code(), Some(1), "one target refused: {out}");
    assert!(out.contains("discord: delivered (HTTP 204)"), "{out}");
    assert!(
        out.contains("telegram: refused (HTTP 400)") && out.contains("chat not found"),
        "{out}"
    );
    assert!(out.contains("webhook: delivered (HTTP 200)"), "{out}");
    check_no_secrets(&out);
    let got = s.counts();
    assert_eq!(got, [1, 1, 1]);
    let w = s.receiver.to(HOOK)[0].clone();
    assert_eq!(w.json()["event"], "test");
    let expected = format!("sha256={}", hmac_hex(&w.body));
    assert_eq!(w.header("x-signature-256"), Some(expected.as_str()));
}

/// `/metrics` and `/health` of a refresher listening on a free port, checked to name no
/// target's URL or token.
fn metrics_and_health(child: &Child) -> (String, serde_json::Value) {
    let addr = metrics_addr(child);
    let (_, text) = http_get(addr, "/metrics");
    let (_, health) = health(addr);
    for shown in [&text, &health.to_string()] {
        check_no_secrets(shown);
        assert!(!shown.contains("127.0.0.1:"), "a target's address: {shown}");
    }
    (text, health)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_is_logged_once_and_not_retried() {
    let mut s = Setup::new().await;
    for _ in 0..2 {
        s.receiver.script(
            DISCORD,
            Reply {
                status: 404,
                headers: Vec::new(),
                body: r#"{"message": "Unknown Webhook", "code": 10015}"#.to_owned(),
            },
        );
    }
    let mut cmd = s.refresher(1, "30");
    cmd.env("STATUS_METRICS_ADDR", "127.0.0.1:0");
    let child = Child::spawn(cmd);
    s.wait_state("online").await;
    s.wait_told("online").await;
    s.game.stop();
    s.one_each(SOON).await;
    s.game.restart();
    for path in PATHS {
        let r = s.receiver.wait_for(path, 2, SOON).await;
        assert_eq!(r.len(), 2, "{path}");
    }
    // Not retried: a retry would come within the first backoff (at most 2 s after the
    // answer); five seconds say it did not.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(s.counts(), [2, 2, 2]);
    let out = child.output();
    let refused: Vec<_> = out
        .lines()
        .filter(|l| l.contains("notification refused by the target"))
        .collect();
    assert_eq!(refused.len(), 1, "logged once:\n{out}");
    assert!(
        refused[0].contains("target=discord") && refused[0].contains("status=404"),
        "{}",
        refused[0]
    );
    let (text, health) = metrics_and_health(&child);
    let series = |target: &str, result: &str| {
        metric(
            &text,
            &format!("status_refresher_notify_total{{target=\"{target}\",result=\"{result}\"}}"),
        )
    };
    assert_eq!(series("discord", "rejected"), 2.0);
    assert_eq!(series("discord", "sent"), 0.0);
    assert_eq!(series("telegram", "sent"), 2.0);
    assert_eq!(series("webhook", "sent"), 2.0);
    assert_eq!(metric(&text, "status_refresher_notify_pending"), 0.0);
    assert_eq!(health["notify_failed"], 2, "{health}");
    check_no_secrets(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undelivered_message_is_given_up_after_its_age() {
    let mut s = Setup::new().await;
    let mut cmd = s.refresher(1, "30");
    cmd.env("STATUS_METRICS_ADDR", "127.0.0.1:0")
        .env("STATUS_NOTIFY_GIVE_UP", "3");
    let child = Child::spawn(cmd);
    s.wait_state("online").await;
    s.wait_told("online").await;
    s.receiver.stop();
    s.game.stop();
    child.expect_output("notification given up", SOON);
    let outbox = format!("{}:notify:outbox", s.redis.status_key());
    let deadline = Instant::now() + SOON;
    while s.redis.get(&outbox).is_some() {
        assert!(Instant::now() < deadline, "the outbox still holds messages");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (text, health) = metrics_and_health(&child);
    for target in ["discord", "telegram", "webhook"] {
        let gave_up = metric(
            &text,
            &format!("status_refresher_notify_total{{target=\"{target}\",result=\"gave_up\"}}"),
        );
        assert_eq!(gave_up, 1.0, "{target}");
    }
    assert_eq!(health["notify_failed"], 3, "{health}");
    let given_up = child
        .output()
        .lines()
        .filter(|l| l.contains("notification given up"))
        .count();
    assert_eq!(given_up, 3, "one error per target");
}
