//! The status page's document (`<key>:page`) from a servers file of two TCP stand-ins: it
//! lists both in the file's order with 90 daily bars and 96 sparkline points, and a stopped
//! one shows `offline` with an ongoing incident, within the probe's bound plus the page's
//! write gap; started again, the incident has an end. The reader's `GET /status` follows
//! each step (the summary line and "ongoing", as people read them).

use std::time::Duration;

use integration_tests::binaries::Child;
use integration_tests::game_server::{GameServer, ServersFile, set_up};
use integration_tests::reader::{ReaderConfig, ReaderServer};
use integration_tests::redis::TestRedis;
use integration_tests::wait::{SETTLE, wait_until};
use status_document::State;
use status_document::page::{DAYS, MIN_PAGE_WRITE_GAP_S, PageDocument, SPARK_POINTS, page_key};

use super::servers::fleet_refresher;
use super::{SLACK, bound};

fn page(redis: &TestRedis) -> Option<PageDocument> {
    let raw = redis.get(&page_key(&redis.status_key()))?;
    Some(serde_json::from_slice(&raw).expect("the stored page is a page document"))
}

/// The page's servers as (id, state), in its order.
fn states(redis: &TestRedis) -> Vec<(String, State)> {
    page(redis).map_or_else(Vec::new, |p| {
        p.servers
            .iter()
            .map(|s| (s.id.to_string(), s.state))
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_the_servers_with_ninety_days_and_an_outage_after_a_stop() {
    let (db, redis) = set_up().await;
    let mut first = GameServer::start();
    let second = GameServer::start();
    let file = ServersFile::new(&format!(
        "[[server]]\nid = \"first\"\nname = \"First realm\"\naddr = \"{}\"\n\n\
         [[server]]\nid = \"second\"\naddr = \"{}\"\n",
        first.addr, second.addr
    ));
    let child = Child::spawn(fleet_refresher(&db.url(), &redis, &file.path));
    both_listed_online(&redis, &child);

    let reader = ReaderServer::start(ReaderConfig::new(&redis.url(), &redis.status_key())).await;
    the_page_says(
        &reader,
        &["All systems operational", "First realm"],
        &["ongoing"],
    )
    .await;

    first.stop();
    let within = bound() + SLACK + Duration::from_secs(MIN_PAGE_WRITE_GAP_S + 2);
    let outage = || {
        page(&redis).is_some_and(|p| {
            let s = &p.servers[0];
            s.state == State::Offline
                && s.incidents
                    .first()
                    .is_some_and(|i| i.state == State::Offline && i.end.is_none())
                && p.servers[1].state == State::Online
        })
    };
    assert!(
        wait_until(within, outage),
        "the page did not show the stop as an ongoing outage within {within:?}: {:?}",
        page(&redis)
    );
    let p = page(&redis).expect("the page");
    let today = p.servers[0].days[DAYS - 1];
    assert!(
        today.online_s > 0 && today.unknown_s < 86_400,
        "today's bar counts the observed time: {today:?}"
    );
    the_page_says(&reader, &["Partial outage", "ongoing", "unreachable"], &[]).await;

    // Back: the page says so, and the outage has an end.
    first.restart();
    let over = || {
        page(&redis).is_some_and(|p| {
            p.servers[0].state == State::Online
                && p.servers[0]
                    .incidents
                    .first()
                    .is_some_and(|i| i.state == State::Offline && i.end.is_some())
        })
    };
    assert!(
        wait_until(within, over),
        "the page did not show the outage over within {within:?}: {:?}",
        page(&redis)
    );
    the_page_says(&reader, &["All systems operational"], &["ongoing"]).await;
}

/// Waits until the page lists both servers online, in the file's order, each with its 90
/// days and 24 hours and no incident yet.
fn both_listed_online(redis: &TestRedis, child: &Child) {
    let online = vec![
        ("first".to_owned(), State::Online),
        ("second".to_owned(), State::Online),
    ];
    assert!(
        wait_until(SETTLE, || states(redis) == online),
        "the page never listed both online: {:?}\n{}",
        page(redis),
        child.output()
    );
    let p = page(redis).expect("the page");
    assert_eq!(p.total_servers, 2);
    assert_eq!(p.servers[0].name, "First realm");
    for s in &p.servers {
        assert_eq!(s.days.len(), DAYS);
        assert_eq!(s.players_24h.len(), SPARK_POINTS);
        assert!(s.vouched_until >= s.updated_at, "{s:?}");
        assert!(s.incidents.is_empty(), "{s:?}");
    }
}

/// Waits until `GET /status` (English) holds every one of `present` and none of `absent`:
/// the page is rewritten a gap after each change, and on a busy machine a read may come
/// just past a server's vouch, when the page rightly says "not known" until the next write.
async fn the_page_says(reader: &ReaderServer, present: &[&str], absent: &[&str]) {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let reply = reader.get("/status?lang=en").await;
        let html = String::from_utf8_lossy(&reply.body).into_owned();
        let holds = reply.status == 200
            && present.iter().all(|t| html.contains(t))
            && !absent.iter().any(|t| html.contains(t));
        if holds {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/status ({}) never held {present:?} without {absent:?}:\n{html}",
            reply.status
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
