//! What counts as the game server answering: refused (`unreachable`) and unanswered
//! (`timeout`) connects fail, every address must answer, and the probe costs MariaDB
//! nothing (a standby does not probe).

use std::net::TcpListener;
use std::time::Duration;

use integration_tests::binaries::Child;
use integration_tests::db::{DbUser, user_stats};
use integration_tests::game_server::{GameServer, prebuild, switched_on_db};
use integration_tests::live::sample;
use integration_tests::probe::metrics_addr;
use integration_tests::redis::TestRedis;
use integration_tests::wait::wait_until;

use super::{FIRST_DOCUMENT_WITHIN, GAP, INTERVAL, SilentServer, document, refresher};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_unanswered_connects_are_failures_and_every_address_must_answer() {
    prebuild().await;
    let db = switched_on_db();
    let silent = SilentServer::start();
    let game = GameServer::start();
    for (case, addrs) in [
        ("unanswered", silent.addr.to_string()),
        // One address answers, the other refuses: a server on two ports is only up on both.
        ("refused", {
            let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = closed.local_addr().expect("addr");
            drop(closed);
            format!("{},{addr}", game.addr)
        }),
    ] {
        let redis = TestRedis::new();
        let child = Child::spawn(refresher(&db.url(), &redis, &addrs));
        assert!(
            wait_until(FIRST_DOCUMENT_WITHIN, || {
                document(&redis).is_some_and(|d| {
                    d.game_server.is_some_and(|g| !g.reachable) && d.state.as_str() == "offline"
                })
            }),
            "{case}: never offline; document {:?}\n{}",
            document(&redis),
            child.output()
        );
        let d = document(&redis).expect("document");
        // A refused connect is `unreachable`; one never answered is a `timeout`.
        let reason = if case == "unanswered" {
            "timeout"
        } else {
            "unreachable"
        };
        assert_eq!(d.state_reason.map(|r| r.as_str()), Some(reason), "{case}");
        assert_eq!(g_failure(&d), Some(reason), "{case}");
        let g = d.game_server.expect("game_server");
        assert_eq!(
            (g.latency_ms, g.addr_count),
            (None, addrs.split(',').count() as u32)
        );
        let why = if case == "unanswered" {
            "no answer within"
        } else {
            "refused"
        };
        child.expect_output(why, Duration::from_secs(5));
    }
}

/// The probe's own word on why the server is down.
fn g_failure(d: &status_document::StatusDocument) -> Option<&'static str> {
    d.game_server.and_then(|g| g.failure).map(|r| r.as_str())
}

#[test]
fn the_probe_costs_mariadb_nothing_and_a_standby_does_not_probe() {
    let db = switched_on_db();
    let user = DbUser::create(&db);
    let redis = TestRedis::new();
    let game = GameServer::start();
    let replica = || {
        let mut cmd = refresher(&user.url(), &redis, &game.addr.to_string());
        cmd.env("STATUS_LEASE", "3");
        cmd
    };
    let holder = Child::spawn(replica());
    assert!(
        wait_until(FIRST_DOCUMENT_WITHIN, || document(&redis).is_some()),
        "{}",
        holder.output()
    );
    let standby = Child::spawn(replica());
    standby.expect_output("standby", Duration::from_secs(15));
    let holder_addr = metrics_addr(&holder);
    let standby_addr = metrics_addr(&standby);
    let probes = |addr| {
        sample(addr, "status_refresher_probes_total{result=\"ok\"}")
            + sample(addr, "status_refresher_probes_total{result=\"failed\"}")
    };

    // Past the start-up refresh (and any nudge its first probe earned).
    std::thread::sleep(GAP + INTERVAL);
    let statements_before = user_stats(&db, &user.name).statements();
    let probes_before = probes(holder_addr);
    let accepted_before = game.accepted();
    assert!(
        wait_until(Duration::from_secs(30), || probes(holder_addr)
            >= probes_before + 5.0),
        "the holder does not probe:\n{}",
        holder.output()
    );
    let statements = user_stats(&db, &user.name).statements() - statements_before;
    let probed = probes(holder_addr) - probes_before;
    let accepted = game.accepted() - accepted_before;
    eprintln!(
        "game_server: {probed} probes cost MariaDB {statements} statements; the game server \
         accepted {accepted} connections"
    );
    assert_eq!(
        statements,
        0,
        "the probe ran statements:\n{}",
        holder.output()
    );
    assert_eq!(probes(standby_addr), 0.0, "the standby probed");
    // One connection per probe, all of them the holder's (one may be in flight either side).
    assert!(
        accepted as f64 <= probed + 1.0 && accepted as f64 >= probed - 1.0,
        "{accepted} connections for {probed} probes"
    );
    assert_eq!(
        sample(holder_addr, "status_refresher_game_server_reachable"),
        1.0
    );
}
