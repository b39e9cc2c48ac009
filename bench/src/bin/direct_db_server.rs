//! `direct-db-server`: the baseline — what the website does today.
//!
//! Every request runs `SELECT Name, Value, Description FROM constants` and builds the same
//! status document the refresher would (`status_document::build`). By default over a fresh
//! connection per request, as the site's PHP API does; `--pooled` reuses connections from a
//! `mysql_async::Pool` so the baseline cannot be called slow on purpose.
//!
//! The connection options name `max_allowed_packet` and `wait_timeout` up front so that
//! mysql_async does not run its own `SELECT @@…` on connect: one request is exactly one
//! statement, like the PHP original.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use status_document::{BuildOptions, ConstantRow, RowValue};

/// Per-request bound on connect + query; the load generator sees a 500 past it.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Parser)]
#[command(about = "Bench baseline: query MySQL on every request and return the status document")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:3200")]
    listen: SocketAddr,
    /// mysql://user:pass@host:port/database (never logged).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Reuse pooled connections instead of connecting per request.
    #[arg(long)]
    pooled: bool,
    /// Most pooled connections (with --pooled).
    #[arg(long, default_value_t = 64)]
    pool_max: usize,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

enum Source {
    Fresh(Opts),
    Pooled(Pool),
}

fn main() -> anyhow::Result<()> {
    bench::serve::init_tracing();
    let args = Args::parse();
    let opts = Opts::from_url(&args.database_url)
        .map_err(|_| anyhow::anyhow!("--database-url is not a valid mysql:// URL"))?;
    let mut builder = OptsBuilder::from_opts(opts)
        .max_allowed_packet(Some(16 << 20))
        .wait_timeout(Some(28_800))
        .prefer_socket(false);
    let source = if args.pooled {
        let constraints = PoolConstraints::new(1, args.pool_max.max(1))
            .ok_or_else(|| anyhow::anyhow!("bad --pool-max"))?;
        // No COM_RESET_CONNECTION on return: the one SELECT leaves no session state, and
        // a persistent PHP connection does not reset either.
        builder = builder.pool_opts(
            PoolOpts::default()
                .with_constraints(constraints)
                .with_reset_connection(false),
        );
        Source::Pooled(Pool::new(builder))
    } else {
        Source::Fresh(builder.into())
    };
    let source = Arc::new(source);
    bench::runtime(args.threads)?.block_on(bench::serve::serve(args.listen, move || {
        let source = source.clone();
        async move {
            match tokio::time::timeout(TIMEOUT, document(&source)).await {
                Ok(Ok(json)) => bench::serve::json(Bytes::from(json)),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "request failed");
                    bench::serve::internal_error()
                }
                Err(_) => {
                    tracing::warn!("request timed out");
                    bench::serve::internal_error()
                }
            }
        }
    }))
}

async fn document(source: &Source) -> anyhow::Result<Vec<u8>> {
    let rows = match source {
        Source::Fresh(opts) => {
            let mut conn = Conn::new(opts.clone()).await?;
            let rows = select(&mut conn).await?;
            conn.disconnect().await?;
            rows
        }
        Source::Pooled(pool) => {
            let mut conn = pool.get_conn().await?;
            select(&mut conn).await?
        }
    };
    let built = status_document::build(&rows, &BuildOptions::default(), bench::unix_now())?;
    Ok(built.json)
}

async fn select(conn: &mut Conn) -> anyhow::Result<Vec<ConstantRow>> {
    let rows = conn
        .query_map(
            "SELECT Name, Value, Description FROM constants",
            |(name, value, description): (String, mysql_async::Value, Option<String>)| {
                ConstantRow {
                    name,
                    value: row_value(value),
                    description,
                }
            },
        )
        .await?;
    Ok(rows)
}

/// The driver's cell as the document crate's `RowValue` (text protocol: mostly bytes).
fn row_value(value: mysql_async::Value) -> RowValue {
    use mysql_async::Value;
    match value {
        Value::NULL => RowValue::Null,
        Value::Bytes(bytes) => RowValue::Bytes(bytes),
        Value::Int(i) => RowValue::Int(i),
        Value::UInt(u) => RowValue::UInt(u),
        Value::Float(f) => RowValue::Float(f64::from(f)),
        Value::Double(f) => RowValue::Float(f),
        // Dates and times are not numbers; the document reports them as unusable.
        other => RowValue::Bytes(other.as_sql(true).into_bytes()),
    }
}
