//! Delivery against receivers that fail: down for 30 s, 429 with `Retry-After`, a 4xx
//! logged once, and a message given up after its age.

use std::time::{Duration, Instant};

use integration_tests::binaries::Child;
use integration_tests::probe::{health, http_get, metric, metrics_addr};
use integration_tests::receiver::Reply;

use super::{DISCORD, HOOK, PATHS, SOON, Setup, TELEGRAM, check_no_secrets, check_offline_shapes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_30_s_gets_the_message_after_it_is_back() {
    let mut s = Setup::new().await;
    let child = s.online_refresher(1, "30").await;

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
    let _timed = integration_tests::load::timed().await;
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
    let _child = s.online_refresher(1, "30").await;
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
