//! The costs beside the load table: sizes and parse costs read from the seeded document, and
//! what is measured by running the refresher itself (its idle memory, statements per refresh,
//! refresh time against growing `constants` tables) and the end-to-end freshness.
//!
//! A measurement that fails is kept as its error in the report, never dropped: a missing
//! number must say why it is missing.

use std::path::Path;

use crate::context::Context;
use crate::costs_and_freshness;
use crate::kv::Kv;
use crate::mysql::Admin;
use crate::report::Extras;

/// What needs no running process: the components' sizes, the document's size and the
/// reader's parse and logic costs over it, and the history's costs at full size.
pub fn static_costs(ctx: &Context, document: &[u8]) -> Extras {
    Extras {
        reader_wasm_bytes: file_size(&ctx.artifacts.reader_wasm),
        control_wasm_bytes: file_size(&ctx.artifacts.control_wasm),
        document_bytes: document.len(),
        parse_us: costs_and_freshness::parse_cost_us(document),
        logic_us: costs_and_freshness::reader_logic_cost_us(document),
        history: Some(costs_and_freshness::history_costs(
            &crate::seed::full_history(crate::unix_now()),
        )),
        page: Some(costs_and_freshness::page_cost(&crate::seed::full_page(
            crate::unix_now(),
        ))),
        table_rows: serde_json::from_slice::<serde_json::Value>(document)
            .ok()
            .and_then(|j| j["_meta"].as_object().map(|m| m.len() as u64))
            .unwrap_or(0),
        ..Extras::default()
    }
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// The refresher's idle memory and statements per refresh, its refresh time per table
/// size, and the end-to-end freshness; `quick` measures fewer sizes, once each.
pub async fn measure(
    quick: bool,
    ctx: &Context,
    admin: &mut Admin,
    static_file: &Path,
    extras: &mut Extras,
) {
    eprintln!("bench: refresher");
    extras.refresher_rss_kib = Some(
        costs_and_freshness::refresher_idle_rss(ctx)
            .await
            .map_err(|e| format!("{e:#}")),
    );
    extras.per_refresh = Some(
        costs_and_freshness::statements_per_refresh(ctx, admin)
            .await
            .map_err(|e| format!("{e:#}")),
    );
    refresh_times(quick, ctx, admin, extras).await;
    eprintln!("bench: end-to-end freshness");
    match costs_and_freshness::freshness(ctx, admin, static_file).await {
        Ok((visible, steady)) => {
            extras.freshness = Some(Ok(visible));
            extras.steady = steady;
        }
        Err(e) => extras.freshness = Some(Err(format!("{e:#}"))),
    }
}

/// The refresher's time per refresh on `constants` tables of growing size, in a database
/// and under a key of their own that are removed afterwards.
async fn refresh_times(quick: bool, ctx: &Context, admin: &mut Admin, extras: &mut Extras) {
    let scale_db = format!("{}_scale", ctx.database);
    let scale_url = ctx.url_as_user(&scale_db);
    let scale_key = format!("{}:scale", ctx.status_key);
    // 0: the demo table as it is (42 rows); the others pad it with generated constants.
    let sizes: &[usize] = if quick {
        &[0, 1_000]
    } else {
        &[0, 1_000, 100_000]
    };
    let runs = if quick { 1 } else { 3 };
    for &size in sizes {
        let n = match admin.create_fixture(&scale_db, size).await {
            Ok(n) => n,
            Err(e) => {
                extras
                    .refresh_times
                    .push((format!("{size} constants"), Err(format!("fixture: {e:#}"))));
                continue;
            }
        };
        let metas: &[&str] = if n >= 100_000 {
            &["all", "mapped"]
        } else {
            &["all"]
        };
        for meta in metas {
            let label = format!("{n} constants, STATUS_META={meta}");
            let result = costs_and_freshness::time_refresh(
                ctx,
                &scale_url,
                &scale_key,
                meta,
                if n >= 100_000 { 1 } else { runs },
            );
            extras.refresh_times.push((label, result));
        }
    }
    let mut kv = Kv::connect(&ctx.redis_url).await.ok();
    if let Some(kv) = kv.as_mut() {
        let _ = kv
            .del(&costs_and_freshness::refresher_keys(&scale_key))
            .await;
    }
    let _ = admin.drop_database(&scale_db).await;
}
