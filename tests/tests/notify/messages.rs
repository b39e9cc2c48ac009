//! What each target is sent: one message per flip in each API's shape, none for a flap
//! inside the hold, and what `--notify-test` prints.

use std::time::{Duration, Instant};

use integration_tests::binaries::Child;
use integration_tests::receiver::Reply;

use super::{
    DISCORD, HOOK, PATHS, SOON, Setup, TELEGRAM, check_no_secrets, check_offline_shapes, hmac_hex,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_flip_gives_one_message_per_target_in_each_apis_shape() {
    let mut s = Setup::new().await;
    let child = s.online_refresher(1, "30").await;

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
    let ids = s.hook_field("id");
    assert_ne!(ids[0], ids[1]);
    assert!(ids.iter().all(|id| id.ends_with("-webhook")), "{ids:?}");
    check_no_secrets(&child.output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flap_inside_the_hold_gives_none() {
    const HOLD: u64 = 8;
    let mut s = Setup::new().await;
    let _child = s.online_refresher(HOLD, "30").await;

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
