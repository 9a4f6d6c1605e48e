//! The embedded server component and how each request runs in it.
//!
//! At start, [`Guest::new`] compiles the component that `build.rs` embedded
//! and links it once into a [`ProxyPre`]. Each request then follows the
//! steps of `wasmtime-wasi-http`'s own host example:
//!
//! 1. wait for one of the client's [`Limits::max_per_client`] slots, then
//!    for one of [`Limits::max_requests`] permits;
//! 2. build a fresh [`Store`] whose WASI context preopens the shared folder
//!    at [`GUEST_ROOT`] (and the permissions snapshot, if any) and passes the
//!    settings as environment variables;
//!    (the request body is wrapped in a [`limits::IdleTimeoutBody`]);
//! 3. instantiate and call `wasi:http/incoming-handler.handle` in a task of
//!    its own, so the guest can keep streaming the body after the head, and
//!    keeps running to the end even if the client goes away;
//! 4. that task relays the head from the response outparam, recording its
//!    status in the request's access-log [`Entry`]. A guest that traps or
//!    never sets a response gets a plain 500; the server keeps running.

use crate::access_log::Entry;
use crate::limits::{ClientLimiter, ClientPermit, IdleTimeoutBody, Limits};
use crate::permissions;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use httpuploader_component::config::{ENV_CONFIG, ENV_ROOT, ENV_SHOW_HIDDEN};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tracing::Instrument;
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostIncomingRequest, HostResponseOutparam};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// The server component, built by `build.rs` and embedded in the binary.
static COMPONENT_WASM: &[u8] = include_bytes!(env!("HTTPUPLOADER_COMPONENT_WASM"));

/// The most linear memory one guest instance may grow to. A JSON listing
/// of a folder with 25,000 entries needs more than 128 MiB. The pooling
/// allocator only reserves address space for it (each slot already
/// reserves wasmtime's default 4 GiB on 64-bit), so idle memory does not
/// grow; the worst case, every instance at its limit, is
/// [`Limits::max_requests`] times this.
const MAX_GUEST_MEMORY_BYTES: usize = 512 << 20;

/// How much of a finished instance's linear memory its pool slot keeps
/// mapped, zeroing it instead of handing the pages back to the kernel.
/// A small request's instance stays within 1 MiB (the component is linked
/// with a 256 KiB stack, see `.cargo/config.toml`); giving those pages
/// back and faulting them in again on the next request cost more than the
/// request itself: with this, and [`TABLE_KEPT_RESIDENT`], 4 KiB GETs went
/// from about 6,000 to 11,000 requests a second on 2 cores
/// (`just bench --only W2`). Kept smaller than an instance's memory, it
/// helps nothing (the rest is still handed back). The price is memory
/// that stays resident in every slot that was used: after 64 requests ran
/// at once, RSS stays ~55 MiB above idle ([`Limits::max_requests`] bounds
/// it).
const MEMORY_KEPT_RESIDENT: usize = 1 << 20;

/// Like [`MEMORY_KEPT_RESIDENT`], for an instance's function tables.
const TABLE_KEPT_RESIDENT: usize = 64 << 10;

/// Like [`MEMORY_KEPT_RESIDENT`], for the host stack an instance runs on.
const STACK_KEPT_RESIDENT: usize = 256 << 10;

/// Response-body writes of the guest that wait for the socket before the
/// next write blocks (wasmtime-wasi-http's default is 1). With room for a
/// few, the file is read ahead while hyper sends: 1 GiB downloads went
/// from ~1.9 to ~2.4 GB/s here (`just bench --only W1`). A file download
/// writes at most 64 KiB at a time (one host read), other bodies at most
/// wasmtime's 1 MiB write budget, so this holds 256 KiB to 4 MiB per
/// response.
const RESPONSE_CHUNKS_BUFFERED: usize = 4;

/// Core wasm instances one component instance may hold (the Rust module
/// plus the component's small shim and adapter modules, with room to spare).
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

/// Linear memories one component instance may hold.
const MEMORIES_PER_COMPONENT: u32 = 2;

/// Tables one component instance may hold.
const TABLES_PER_COMPONENT: u32 = 4;

/// Where the shared folder appears inside the guest.
pub const GUEST_ROOT: &str = "/srv";

/// The body sent when the guest fails before answering.
const INTERNAL_ERROR_BODY: &str = "internal server error\n";

/// What the guest is given on every request.
#[derive(Debug)]
pub struct GuestSettings {
    /// The shared folder on the host, preopened read-write at [`GUEST_ROOT`].
    pub root: PathBuf,
    /// Whether hidden names are listed and served.
    pub show_hidden: bool,
    /// The permissions snapshot directory, preopened read-only at
    /// [`permissions::GUEST_DIR`].
    pub permissions_dir: Option<PathBuf>,
    /// Requests in flight, per client and in all; the body idle timeout.
    pub limits: Limits,
}

/// The compiled component, ready to handle requests.
pub struct Guest {
    pre: ProxyPre<HostState>,
    settings: GuestSettings,
    /// Environment variables for every instance, computed once.
    env: Vec<(&'static str, String)>,
    /// Caps the number of live instances at [`Limits::max_requests`].
    in_flight: Arc<Semaphore>,
    /// Caps each client address at [`Limits::max_per_client`].
    clients: Arc<ClientLimiter>,
}

/// The slots a running request holds, freed together after its instance.
struct Permits {
    _global: OwnedSemaphorePermit,
    _client: ClientPermit,
}

impl Guest {
    /// Compiles the embedded component and pre-instantiates it.
    pub fn new(settings: GuestSettings) -> Result<Guest> {
        let engine = new_engine(settings.limits.max_requests)?;
        let compiling = Instant::now();
        let component = Component::new(&engine, COMPONENT_WASM)
            .map_err(into_anyhow)
            .context("cannot compile the embedded component")?;
        tracing::debug!(
            "component compiled in {} ms",
            compiling.elapsed().as_millis()
        );

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(into_anyhow)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(into_anyhow)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(ProxyPre::new)
            .map_err(into_anyhow)
            .context("the embedded component does not fit the wasi:http/proxy world")?;

        let mut env = vec![(ENV_ROOT, GUEST_ROOT.to_owned())];
        if settings.show_hidden {
            env.push((ENV_SHOW_HIDDEN, "1".to_owned()));
        }
        if settings.permissions_dir.is_some() {
            env.push((ENV_CONFIG, permissions::guest_file()));
        }
        let limits = settings.limits;
        let in_flight = Arc::new(Semaphore::new(limits.max_requests as usize));
        Ok(Guest {
            pre,
            settings,
            env,
            in_flight,
            clients: Arc::new(ClientLimiter::new(limits.max_per_client)),
        })
    }

    /// The caps and timeouts this server runs with.
    pub fn limits(&self) -> Limits {
        self.settings.limits
    }

    /// Runs one request from `client` through a fresh instance; never
    /// fails, a guest failure becomes a 500. The status goes to `entry`
    /// even if this future is dropped (the client left) before the head.
    pub async fn handle(
        &self,
        client: IpAddr,
        request: Request<Incoming>,
        entry: Entry,
    ) -> Response<HyperOutgoingBody> {
        // A client's own slot first: its excess requests wait here, not
        // in the global queue.
        let client_permit = self.clients.acquire(client).await;
        let global = Arc::clone(&self.in_flight)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let permits = Permits {
            _global: global,
            _client: client_permit,
        };
        let idle = self.settings.limits.body_idle_timeout;
        let request = request.map(|body| IdleTimeoutBody::new(body, idle));

        // Build the instance's world: store, request and response outparam.
        let (sender, receiver) = oneshot::channel();
        let prepared = self.new_store().and_then(|mut store| {
            let mut http = store.data_mut().http();
            let request = http.new_incoming_request(Scheme::Http, request)?;
            let outparam = http.new_response_outparam(sender)?;
            Ok((store, request, outparam))
        });
        let (store, request, outparam) = match prepared {
            Ok(prepared) => prepared,
            Err(err) => {
                tracing::error!("cannot prepare the guest: {err:#}");
                return internal_error();
            }
        };

        // The guest runs in its own task: after setting the head it still
        // writes the body, and it finishes even if the client is gone. It
        // logs its own failure, before or after the head.
        let (relay, relayed) = oneshot::channel();
        let guest = run_guest(self.pre.clone(), store, request, outparam, permits);
        tokio::spawn(relay_response(guest, receiver, relay, entry).in_current_span());
        relayed.await.unwrap_or_else(|_| internal_error())
    }

    /// A store whose WASI context grants the shared folder and settings.
    fn new_store(&self) -> wasmtime::Result<Store<HostState>> {
        let mut wasi = WasiCtxBuilder::new();
        // Each preopen captures this setting, so it must come first. File
        // I/O then runs on the current thread: 2-3x faster downloads.
        wasi.allow_blocking_current_thread(true);
        wasi.inherit_stderr()
            .allow_tcp(false)
            .allow_udp(false)
            .envs(&self.env);
        wasi.preopened_dir(&self.settings.root, GUEST_ROOT, FsPerms::ReadWrite)?;
        if let Some(dir) = &self.settings.permissions_dir {
            wasi.preopened_dir(dir, permissions::GUEST_DIR, FsPerms::ReadOnly)?;
        }

        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: NoOutgoingHttp,
            limits: StoreLimitsBuilder::new()
                .memory_size(MAX_GUEST_MEMORY_BYTES)
                .build(),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        Ok(store)
    }
}

/// The guest's answer through the response outparam.
type Answer =
    Result<Response<HyperOutgoingBody>, wasmtime_wasi_http::p2::bindings::http::types::ErrorCode>;

/// Runs `guest` to its end while passing its response head on to `relay`
/// (a 500 if it gives none), recording the status in `entry`; `entry` is
/// let go only once the guest is done, so a request whose client left is
/// still logged, then.
async fn relay_response(
    guest: impl Future<Output = ()>,
    mut answer: oneshot::Receiver<Answer>,
    relay: oneshot::Sender<Response<HyperOutgoingBody>>,
    entry: Entry,
) {
    tokio::pin!(guest);
    let mut finished = false;
    let answer = tokio::select! {
        biased;
        answer = &mut answer => answer,
        () = &mut guest => {
            // The store is gone, and the outparam's sender with it.
            finished = true;
            answer.await
        }
    };
    let response = match answer {
        Ok(Ok(response)) => response,
        Ok(Err(code)) => {
            tracing::error!("guest answered with an error: {code:?}");
            internal_error()
        }
        Err(_) => {
            tracing::error!("no response from the guest; answering 500");
            internal_error()
        }
    };
    entry.set_status(response.status());
    // The connection's handler may be gone (the client left): the
    // response is dropped then, and the guest sees its body closed.
    let _ = relay.send(response);
    if !finished {
        guest.await;
    }
    drop(entry);
}

/// Instantiates the component in `store` and calls its handler, logging a
/// trap; the store (and its pool slot) is gone before the permits are.
async fn run_guest(
    pre: ProxyPre<HostState>,
    mut store: Store<HostState>,
    request: Resource<HostIncomingRequest>,
    outparam: Resource<HostResponseOutparam>,
    permit: Permits,
) {
    let result = async {
        let proxy = pre.instantiate_async(&mut store).await?;
        let handler = proxy.wasi_http_incoming_handler();
        handler.call_handle(&mut store, request, outparam).await
    }
    .await;
    drop(store);
    drop(permit);
    if let Err(err) = result {
        tracing::error!("guest failed: {err:?}");
    }
}

/// An engine with the pooling allocator sized for `slots` instances, or
/// the on-demand allocator where the pool cannot be reserved.
fn new_engine(slots: u32) -> Result<Engine> {
    let mut config = Config::new();
    config.allocation_strategy(pooling_config(slots));
    // Compiling takes most of the start-up time; wasmtime's cache (in the
    // user's cache directory, keyed by the wasm and the engine settings)
    // turns it into a file read after the first run.
    match Cache::new(CacheConfig::new()) {
        Ok(cache) => {
            config.cache(Some(cache));
        }
        Err(err) => tracing::debug!("compiling without a cache: {err:#}"),
    }
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(err) => {
            tracing::warn!("pooling allocator unavailable, allocating on demand: {err:#}");
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            Engine::new(&config)
                .map_err(into_anyhow)
                .context("cannot create the wasm engine")
        }
    }
}

/// Pool limits: one component instance per permitted request.
fn pooling_config(slots: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots * CORE_INSTANCES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .total_tables(slots * TABLES_PER_COMPONENT)
        .max_tables_per_component(TABLES_PER_COMPONENT)
        .total_stacks(slots)
        .max_memory_size(MAX_GUEST_MEMORY_BYTES);
    pool.linear_memory_keep_resident(MEMORY_KEPT_RESIDENT)
        .table_keep_resident(TABLE_KEPT_RESIDENT)
        .async_stack_keep_resident(STACK_KEPT_RESIDENT);
    pool
}

/// A small plain-text 500, for when the guest gave no response.
fn internal_error() -> Response<HyperOutgoingBody> {
    plain_text(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR_BODY)
}

/// A response the host writes itself: a status and a short text.
pub fn plain_text(status: StatusCode, text: &'static str) -> Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Keeps the whole chain of a wasmtime error in an anyhow error.
fn into_anyhow(err: wasmtime::Error) -> anyhow::Error {
    anyhow::Error::from_boxed(err.into())
}

/// The per-request data of a [`Store`].
struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: NoOutgoingHttp,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// `wasi:http` hooks that refuse every outgoing request: the file server
/// never calls out, and this build has no HTTP client.
struct NoOutgoingHttp;

impl WasiHttpHooks for NoOutgoingHttp {
    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        RESPONSE_CHUNKS_BUFFERED
    }

    fn send_request(
        &mut self,
        _request: http::Request<wasmtime_wasi_http::WasiBody>,
        _options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<
        dyn Future<
                Output = wasmtime_wasi_http::Result<(
                    http::Response<wasmtime_wasi_http::WasiBody>,
                    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
                )>,
            > + Send,
    > {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_fits_the_memory_limit() {
        // The pooling allocator (not only the on-demand fallback) still
        // starts with MAX_GUEST_MEMORY_BYTES per instance, for the default
        // number of requests and for the most `--max-requests` allows.
        for slots in [Limits::MAX_REQUESTS, 1024] {
            let mut config = Config::new();
            config.allocation_strategy(pooling_config(slots));
            if let Err(err) = Engine::new(&config) {
                panic!("pooling allocator with {slots} slots: {err:#}");
            }
        }
    }
}
