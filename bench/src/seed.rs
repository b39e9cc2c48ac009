//! Seeding a run: the fixture database and the status key every target serves.

use status_document::history::{History, Observation};
use status_document::keys::history_key;
use status_document::page::{PageDocument, PageFacts, PageServer, page_key};
use status_document::servers::{Headline, IndexEntry, ServerId, ServerIndex, index_key};
use status_document::{BuildOptions, DocumentView, State, StateReason};

use crate::context::Context;
use crate::costs_and_freshness;
use crate::kv::Kv;
use crate::mysql::Admin;
use crate::unix_now;

/// Servers on the page `reader-page` serves: the size bound is for five.
pub const PAGE_SERVERS: usize = 5;
/// Servers in the index `reader-servers` serves: the fleet.
pub const INDEX_SERVERS: usize = 1000;

/// Seconds until the document is due for its next refresh: the reader's max-age, which the
/// front cache honours.
pub fn seconds_until_due(document: &[u8]) -> u64 {
    DocumentView::parse(document)
        .map(|v| {
            status_document::freshness(v.updated_at, v.refresh_interval_s, v.ttl_s, unix_now())
                .seconds_until_due
        })
        .unwrap_or(0)
}

/// Creates the fixture database and writes the status key — with the refresher when it is
/// built (the real path), else directly with `status_document::build` (noted).
pub async fn seed(
    ctx: &Context,
    admin: &mut Admin,
    kv: &mut Kv,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let scale = format!("{}_scale", ctx.database);
    admin
        .create_user(&ctx.db_user, &ctx.db_password, &[&ctx.database, &scale])
        .await?;
    admin.create_demo(&ctx.database).await?;
    // The history `reader-history` serves: a full one, as thirty days of a
    // refresher would leave it, rather than the one observation of the `--once` run below.
    let history = full_history(unix_now());
    notes.push(format!(
        "reader-servers: the index of {INDEX_SERVERS} servers it serves at /servers is {} bytes",
        full_index(unix_now()).len()
    ));
    match costs_and_freshness::refresh_once(ctx, &ctx.database_url(), &ctx.status_key, "all") {
        Ok(Ok(_)) => {
            kv.set(&history_key(&ctx.status_key), &history).await?;
            kv.set(&index_key(&ctx.status_key), &full_index(unix_now()))
                .await?;
            kv.set(&page_key(&ctx.status_key), &full_page(unix_now()))
                .await?;
            return Ok(());
        }
        Ok(Err(why)) => notes.push(format!(
            "status-refresher --once failed ({why}); key written by the harness"
        )),
        Err(e) => notes.push(format!(
            "{e}; key written by the harness with status_document::build"
        )),
    }
    let rows = admin.constant_rows().await?;
    let built = status_document::build(&rows, &BuildOptions::default(), unix_now())?;
    kv.set_ex(&ctx.status_key, &built.json, 900).await?;
    kv.set(
        &status_document::keys::last_good_key(&ctx.status_key),
        &built.json,
    )
    .await?;
    kv.set(&history_key(&ctx.status_key), &history).await?;
    kv.set(&index_key(&ctx.status_key), &full_index(unix_now()))
        .await?;
    kv.set(&page_key(&ctx.status_key), &full_page(unix_now()))
        .await?;
    Ok(())
}

/// The page `reader-page` renders: [`PAGE_SERVERS`] servers, each with a full history
/// ([`full_history`]: 30 days, players, 50 incidents), online and vouched for an hour.
pub fn full_page(now: f64) -> Vec<u8> {
    let Ok(history) = History::parse(&full_history(now)) else {
        return Vec::new();
    };
    let facts = PageFacts {
        headline: Headline {
            state: State::Online,
            state_reason: None,
            players: Some(150),
            max_players: Some(1000),
            updated_at: now as u64,
        },
        message: None,
        maintenance_until: None,
        vouched_until: now as u64 + 3600,
    };
    let servers = (0..PAGE_SERVERS).map(|i| {
        let id = ServerId::parse(&format!("realm-{i}")).expect("a valid id");
        PageServer::build(
            id,
            format!("Realm {i}"),
            facts.clone(),
            &history,
            now as i64,
        )
    });
    PageDocument::of(servers, PAGE_SERVERS, now as u64).to_json()
}

/// The index `reader-servers` serves: [`INDEX_SERVERS`] servers as a servers file of that
/// many would leave it (names of realistic length, players on most), written after the
/// `--once` run, whose own index lists its one server.
pub fn full_index(now: f64) -> Vec<u8> {
    let servers = (0..INDEX_SERVERS)
        .map(|i| {
            let online = i % 20 != 0;
            IndexEntry {
                id: ServerId::parse(&format!("realm-{i:04}")).expect("a valid id"),
                name: format!("Realm {i} (x{} rates, EU)", 1 + i % 10),
                state: if online {
                    State::Online
                } else {
                    State::Offline
                },
                state_reason: (!online).then_some(StateReason::Unreachable),
                players: online.then_some(10 + (i as u64 * 37) % 500),
                max_players: Some(1000),
                updated_at: now as u64,
                group: "all".to_owned(),
                order: i as u32,
            }
        })
        .collect();
    let index = ServerIndex {
        schema_version: status_document::SCHEMA_VERSION,
        servers,
    };
    serde_json::to_vec(&index).unwrap_or_default()
}

/// Thirty days of one observation a minute up to `now`, with players and an outage every
/// 17 hours: every bucket of both series full, 50 incidents — the largest history a
/// refresher keeps.
pub fn full_history(now: f64) -> Vec<u8> {
    let mut h = History::new();
    let start = now - 30.0 * 86_400.0;
    for m in 0..(30 * 24 * 60u32) {
        let down = m % (17 * 60) < 7;
        h.record(&Observation {
            at: start + f64::from(m) * 60.0,
            state: if down { State::Offline } else { State::Online },
            reason: down.then_some(StateReason::Unreachable),
            players: Some(u64::from(100 + m % 250)),
            vouch_s: 120,
            maintenance_until: None,
        });
    }
    h.to_json()
}
