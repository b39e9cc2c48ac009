//! The services and the data `up` serves, shared with `cargo xtask services` (which stops
//! there): MariaDB and Redis from `DATABASE_URL`/`REDIS_URL`, the local ones or throwaway
//! ones, then the database to serve, seeded with the demo tables where it has none.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::watch::supervise;
use crate::demo::{self, DEMO_DATABASE, Seeded};
use crate::services::{Services, Wanted};
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

#[derive(Debug, clap::Args)]
pub struct ServicesArgs {
    /// Start throwaway MariaDB/Redis under target/ even when local ones are running.
    #[arg(long)]
    throwaway: bool,
    /// Do not create the demo database/table, even when absent.
    #[arg(long)]
    no_demo: bool,
}

/// `cargo xtask services`: step 2 of `up`, then wait for Ctrl-C.
pub fn services_only(args: ServicesArgs) -> Result<ExitCode> {
    let shutdown = Shutdown::install()?;
    let ws = Workspace::locate();
    let (mut services, database) = services_and_data(&ws, args.throwaway, args.no_demo, &shutdown)?;
    println!();
    println!(
        "  export DATABASE_URL='{}'",
        services.mysql.url.with_path(&database)
    );
    println!("  export REDIS_URL='{}'", services.redis.url);
    println!(
        "  export SERVER_STATUS_TEST_MYSQL='{}'",
        services.mysql.url.with_path("")
    );
    println!("  export SERVER_STATUS_TEST_REDIS='{}'", services.redis.url);
    println!();
    println!(
        "  (passwords shown as ***). Ctrl-C stops the throwaway services and removes their data."
    );
    let result = supervise(&mut [], &mut services, &shutdown);
    services.stop();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Step 2 of `up` (shared with `services`): MariaDB and Redis from DATABASE_URL /
/// REDIS_URL, the local ones or throwaway ones, reported; then the database to serve.
pub(super) fn services_and_data(
    ws: &Workspace,
    throwaway: bool,
    no_demo: bool,
    shutdown: &Shutdown,
) -> Result<(Services, String)> {
    let services = Services::ensure(
        ws,
        Wanted::from_env("DATABASE_URL", "REDIS_URL", throwaway)?,
        shutdown,
    )?;
    services.report();
    let database = prepare_database(&services, no_demo)?;
    Ok((services, database))
}

/// The database to serve (from the MySQL URL's path, else the demo one), seeded from the
/// fixtures when it has no `constants` (or `characters`) table — unless `no_demo`.
fn prepare_database(services: &Services, no_demo: bool) -> Result<String> {
    let database = services
        .mysql
        .url
        .path()
        .unwrap_or(DEMO_DATABASE)
        .to_owned();
    if no_demo {
        println!("xtask: --no-demo: serving {database}.constants as it is");
        return Ok(database);
    }
    let demo = demo::ensure(&services.mysql.url, &database)
        .with_context(|| format!("preparing the demo database {database}"))?;
    let tables = [
        ("constants", Some(demo.constants)),
        ("characters", demo.characters),
    ];
    for (table, seeded) in tables {
        match seeded {
            Some(Seeded::Created { rows }) => {
                println!("xtask: created {database}.{table} with {rows} demo rows")
            }
            Some(Seeded::Existing { rows }) => {
                println!("xtask: {database}.{table} exists ({rows} rows); left as it is")
            }
            None => {}
        }
    }
    Ok(database)
}
