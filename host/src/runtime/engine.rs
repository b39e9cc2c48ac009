//! The engines: one set up for each kind of component, with the pooling allocator (its
//! slots kept resident between requests) and the epoch ticker that bounds guest CPU time.

use anyhow::Context as _;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::{EPOCH_TICK, RuntimeOptions};

/// How much of each pooled linear memory (and table) stays resident between requests: the
/// pages a request dirtied below this bound are reset to the module's initial image in
/// place instead of being handed back to the kernel. The reader peaks at ~1.1 MiB, so 2 MiB
/// (the per-request budget the benchmarks hold it to) covers all of it.
const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;

pub(super) fn engine(options: &RuntimeOptions, wasip3: bool) -> anyhow::Result<(Engine, bool)> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if wasip3 {
        // The WASIp3 build needs what the next comment explains the WASIp2 one does without.
        config.wasm_component_model_async(true);
        config.concurrency_support(true);
    } else {
        // The reader is a WASIp2 component: it needs no component-model-async. With concurrency
        // support on (wasmtime's default) every store carries the concurrent-task machinery —
        // a task per host call, a worker fiber — and dropping a store disposes that still
        // suspended fiber by resuming it with a "future dropped" error: one error built per
        // request, which captures a full backtrace whenever RUST_BACKTRACE=1 is set. Off, the
        // store drop builds nothing (measured with callgrind: the same instruction count with
        // and without RUST_BACKTRACE) and each request runs ~6 % fewer instructions.
        config.concurrency_support(false);
    }
    if let Some(dir) = &options.compile_cache_dir {
        // wasmtime wants an absolute directory.
        let dir = std::path::absolute(dir)
            .with_context(|| format!("bad cache directory {}", dir.display()))?;
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(dir);
        config.cache(Some(
            wasmtime::Cache::new(cache).map_err(anyhow::Error::from)?,
        ));
    }
    if options.pooling {
        let n = options.max_concurrent_requests.max(1);
        let mut pool = PoolingAllocationConfig::new();
        // A Rust wasip2 component is one core module plus a few small wit-component shim
        // modules: one memory, a handful of core instances and tables.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(8))
            // A WASIp2 request runs on one fiber; a WASIp3 one on several (its handler task,
            // the task that writes the body, a blocking wait): room for four each.
            .total_stacks(if wasip3 { n.saturating_mul(4) } else { n })
            .max_memory_size(options.max_memory_bytes)
            // By default a slot's memory is returned to the kernel with `madvise` when its
            // store is dropped, so the next request page-faults every page it touches back
            // in: per request that was hundreds of faults plus a TLB shootdown across cores,
            // invisible in instruction counts but the largest single cost in wall time
            // (c=50: ~2,500 -> ~9,000 requests/s with this on). Keeping the low pages
            // resident and resetting only the dirty ones (found with the PAGEMAP_SCAN ioctl
            // where the kernel has it, Linux >= 6.7) gives every request the same fresh,
            // initial-image memory without a syscall or a fault.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES)
            .pagemap_scan(wasmtime::Enabled::Auto);
        let mut pooled = config.clone();
        pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&pooled) {
            Ok(engine) => return Ok((engine, true)),
            Err(e) => tracing::warn!(
                error = %format!("{e:#}"),
                "pooling allocator unavailable; using on-demand allocation"
            ),
        }
    }
    Ok((Engine::new(&config)?, false))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is dropped, so a guest
/// stuck in a loop hits its deadline. A plain thread: it must tick even when every tokio
/// worker is busy running guests.
pub(super) fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("reader-host-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the epoch thread; guest CPU time is unbounded");
    }
}
