//! Seeding a run: the fixture database and the status key every target serves.

use status_document::{BuildOptions, DocumentView};

use crate::context::Context;
use crate::costs_and_freshness;
use crate::kv::Kv;
use crate::mysql::Admin;
use crate::unix_now;

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
    match costs_and_freshness::refresh_once(ctx, &ctx.database_url(), &ctx.status_key, "all") {
        Ok(Ok(_)) => return Ok(()),
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
    Ok(())
}
