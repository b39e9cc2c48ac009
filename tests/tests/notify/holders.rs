//! Two refreshers and the lease: exactly one message, a new holder delivering after a kill -9,
//! and the hourly limit over many flips.

use std::time::Duration;

use integration_tests::binaries::Child;

use super::{HOOK, PATHS, SOON, Setup, TELEGRAM};

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
    let _b = s.online_refresher(1, "3").await;
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
    let events = s.hook_field("event");
    assert_eq!(events, ["change", "change", "summary"]);
    let summary = s.receiver.to(TELEGRAM)[2].json();
    let text = summary["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("⚠️ "), "{text}");
}
