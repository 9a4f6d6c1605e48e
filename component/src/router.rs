//! The only place that knows URL shapes (contract §1) and which command
//! goes with which method and target. A request is parsed into a [`Route`]
//! (pure, unit-tested), then dispatched: visibility, target kind and
//! permission are checked here, once, before any handler runs.

use percent_encoding::percent_decode_str;

use crate::api;
use crate::archive;
use crate::assets;
use crate::command::Command;
use crate::context::Context;
use crate::download;
use crate::error::{Error, reason};
use crate::fs::{self, Kind, Meta};
use crate::html;
use crate::http::{Method, Request, Response};
use crate::listing::Listing;
use crate::manage;
use crate::share_path::SharePath;
use crate::upload;

/// API versions this server answers to; each names its highest 1.x.x.
const API_VERSIONS: [&str; 3] = ["1", "1.0", "1.0.0"];

/// What a request asks for, before the file system is consulted.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/health`.
    Health,
    /// `GET /api/assets/[<tag>/]<name>`: a file of the web page itself.
    Asset { tag: Option<String>, name: String },
    /// `/api/<version>/<path>?<query>`.
    Api { path: SharePath, query: Query },
    /// Any other address: a file download or a directory page.
    Web { path: SharePath },
}

/// The decoded `name=value` pairs of a query string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Decodes `a=1&b=x+y` (`+` is a space, then percent-decoding).
    pub fn parse(raw: &str) -> Result<Query, Error> {
        let decode = |s: &str| {
            let spaced = s.replace('+', " ");
            percent_decode_str(&spaced)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| {
                    Error::BadRequest(format!("the query argument `{s}` is not valid UTF-8"))
                })
        };
        let mut pairs = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Query(pairs))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Route {
    /// Parses a raw request target (path and query, still encoded).
    pub fn parse(target: &str) -> Result<Route, Error> {
        let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        let Some(rest) = api_rest(raw_path) else {
            // A query on a web address never selects a command.
            return Ok(Route::Web {
                path: SharePath::from_url(raw_path)?,
            });
        };
        if rest == "health" {
            return Ok(Route::Health);
        }
        if let Some(asset) = rest.strip_prefix("assets/") {
            let (tag, name) = match asset.split_once('/') {
                Some((tag, name)) => (Some(tag.to_owned()), name.to_owned()),
                None => (None, asset.to_owned()),
            };
            return Ok(Route::Asset { tag, name });
        }
        let (version, path) = rest.split_once('/').unwrap_or((rest, ""));
        if !API_VERSIONS.contains(&version) {
            return Err(Error::NotFound(format!(
                "there is no API version `{}` (this server has 1.0.0)",
                percent_decode_str(version).decode_utf8_lossy()
            )));
        }
        Ok(Route::Api {
            path: SharePath::from_url(path)?,
            query: Query::parse(raw_query)?,
        })
    }
}

/// The part after `/api/` when `raw_path` is an API address.
fn api_rest(raw_path: &str) -> Option<&str> {
    if raw_path == "/api" {
        return Some("");
    }
    raw_path.strip_prefix("/api/")
}

/// Whether errors on this target are rendered as JSON.
pub fn is_api(target: &str) -> bool {
    let raw_path = target.split_once('?').map_or(target, |(p, _)| p);
    api_rest(raw_path).is_some()
}

/// Answers one request; never fails: errors become error responses.
pub fn handle(ctx: &Context, mut request: Request) -> Response {
    let api = is_api(&request.target);
    let result = same_origin(&request)
        .and_then(|()| Route::parse(&request.target))
        .and_then(|route| dispatch(ctx, route, &mut request));
    result.unwrap_or_else(|err| render_error(&err, api))
}

/// Refuses a changing request that a browser sent on behalf of another
/// site (cross-site request forgery): browsers name the page's origin in
/// `Origin`, and it must be this server. Clients that send no `Origin`
/// (scripts, curl) are not affected.
fn same_origin(request: &Request) -> Result<(), Error> {
    if request.method.is_read() {
        return Ok(());
    }
    let Some(origin) = request.header("origin") else {
        return Ok(());
    };
    let host = request.header("host").unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "a request from another site (`{origin}`) may not change files here"
        )))
    }
}

/// Renders an error as the JSON envelope or as an HTML page.
pub fn render_error(err: &Error, api: bool) -> Response {
    err.log();
    let status = err.status();
    let response = if api {
        Response::json(status, serde_json::json!({"extra": err.extra()}))
    } else {
        Response::html(
            status,
            html::error_page(status, reason(status), err.extra()),
        )
    };
    match err {
        Error::RangeNotSatisfiable(_, size) => {
            response.with_header("content-range", format!("bytes */{size}"))
        }
        _ => response,
    }
}

fn dispatch(ctx: &Context, route: Route, request: &mut Request) -> Result<Response, Error> {
    match route {
        Route::Health if request.method.is_read() => Ok(api::health()),
        Route::Health => Err(wrong_method(&request.method, "/api/health")),
        Route::Asset { tag, name } if request.method.is_read() => {
            assets::serve(tag.as_deref(), &name, request.header("if-none-match"))
        }
        Route::Asset { tag, name } => {
            let tag = tag.map(|tag| format!("{tag}/")).unwrap_or_default();
            Err(wrong_method(
                &request.method,
                &format!("/api/assets/{tag}{name}"),
            ))
        }
        Route::Api { path, query } => dispatch_api(ctx, &path, &query, request),
        Route::Web { path } => dispatch_web(ctx, &path, request),
    }
}

/// A web address: `GET` a file to download it, a directory to see its
/// page; `POST` a multipart form to a directory to upload into it (a plain
/// browser form gets a redirect back to the page, scripts a 204); `PUT` a
/// body to a file path to upload it, as `curl -T FILE http://host/dir/`
/// does (the same raw upload as `PUT /api/1/<path>`).
fn dispatch_web(ctx: &Context, path: &SharePath, request: &mut Request) -> Result<Response, Error> {
    ctx.require_visible(path)?;
    if request.method == Method::Put {
        let real = authorize(ctx, Command::Upload, path, true)?;
        return upload::upload(ctx, &real, request, None);
    }
    if request.method == Method::Post {
        if !upload::is_multipart(request) {
            return Err(Error::BadRequest(format!(
                "uploads to `{path}` must be multipart/form-data (or use the API)"
            )));
        }
        let real = authorize(ctx, Command::Upload, path, true)?;
        upload::multipart(ctx, &real, request, None)?;
        let wants_page = request
            .header("accept")
            .is_some_and(|a| a.contains("text/html"));
        return Ok(if wants_page {
            redirect_to_page(path)
        } else {
            Response::no_content()
        });
    }
    if !request.method.is_read() {
        return Err(wrong_method(&request.method, &path.to_string()));
    }
    match stat(ctx, path)?.kind {
        Kind::Dir => {
            let real = authorize(ctx, Command::List, path, true)?;
            Ok(Response::html(
                200,
                html::listing_page(&Listing::read(ctx, &real)?),
            ))
        }
        Kind::File => {
            let real = authorize(ctx, Command::Download, path, true)?;
            download::file(ctx, &real, request)
        }
        Kind::Other => Err(Error::NotFound(format!("`{path}` does not exist"))),
    }
}

/// What a command works on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Dir,
    File,
    /// An existing file or directory.
    Existing,
    /// A path that may not exist yet (mkdir, raw upload).
    Any,
}

/// The method and target each command takes: the API's shape in one table.
fn shape(command: Command) -> (Method, Target) {
    match command {
        Command::List | Command::Archive => (Method::Get, Target::Dir),
        Command::Download | Command::Info | Command::Compress | Command::Checksum => {
            (Method::Get, Target::File)
        }
        Command::Mkdir | Command::Upload => (Method::Post, Target::Any),
        Command::Copy | Command::Move => (Method::Post, Target::Existing),
        Command::Delete => (Method::Delete, Target::Existing),
    }
}

fn dispatch_api(
    ctx: &Context,
    path: &SharePath,
    query: &Query,
    request: &mut Request,
) -> Result<Response, Error> {
    ctx.require_visible(path)?;
    let command = api_command(ctx, path, query, &request.method)?;
    let (method, target) = shape(command);
    // HEAD does what GET does; PUT is a raw upload (what `curl -T` sends).
    let method_fits = method == request.method
        || (method == Method::Get && request.method.is_read())
        || (command == Command::Upload && request.method == Method::Put);
    if !method_fits {
        return Err(Error::BadRequest(format!(
            "`{command}` takes {}, not {}, on `{path}`",
            method_name(&method),
            method_name(&request.method)
        )));
    }
    check_target(ctx, path, command, target)?;
    // A symlink is deleted or moved as a link; every other command, an
    // upload over it too, acts where it leads (and is judged there).
    let follow_last = !matches!(command, Command::Delete | Command::Move);
    let path = &authorize(ctx, command, path, follow_last)?;
    match command {
        Command::List => api::list(ctx, path),
        Command::Download => download::file(ctx, path, request),
        Command::Info => api::info(ctx, path),
        Command::Checksum => {
            api::checksum(ctx, path, query.get("match").or_else(|| query.get("check")))
        }
        Command::Upload => upload::upload(ctx, path, request, query.get("checksum")),
        Command::Mkdir => manage::mkdir(ctx, path, query.get("dir")),
        Command::Delete => manage::delete(ctx, path),
        Command::Copy | Command::Move => manage::transfer(ctx, command, path, query.get("dest")),
        Command::Archive => archive::archive(ctx, path, query.get("format")),
        Command::Compress => archive::compress(ctx, path, query.get("format")),
    }
}

/// Checks `command` on `path` and returns where it really applies (see
/// [`Context::require_resolved`]); commands on whole trees also need every
/// section inside them to allow it.
fn authorize(
    ctx: &Context,
    command: Command,
    path: &SharePath,
    follow_last: bool,
) -> Result<SharePath, Error> {
    let real = ctx.require_resolved(command, path, follow_last)?;
    if matches!(command, Command::Delete | Command::Copy | Command::Move) {
        ctx.require_tree(command, path)?;
        ctx.require_tree(command, &real)?;
    }
    Ok(real)
}

/// The command a request names, or the default for its method and target:
/// `delete` for DELETE, `upload` for POST and PUT, `list` or `download`
/// for GET.
fn api_command(
    ctx: &Context,
    path: &SharePath,
    query: &Query,
    method: &Method,
) -> Result<Command, Error> {
    if let Some(name) = query.get("cmd") {
        return Command::from_name(name)
            .ok_or_else(|| Error::BadRequest(format!("unknown command `{name}` on `{path}`")));
    }
    match method {
        Method::Delete => Ok(Command::Delete),
        Method::Post | Method::Put => Ok(Command::Upload),
        m if m.is_read() => match stat(ctx, path)?.kind {
            Kind::Dir => Ok(Command::List),
            _ => Ok(Command::Download),
        },
        other => Err(wrong_method(other, &path.to_string())),
    }
}

/// Checks that `path` is the kind of thing `command` works on.
fn check_target(
    ctx: &Context,
    path: &SharePath,
    command: Command,
    target: Target,
) -> Result<(), Error> {
    if target == Target::Any {
        return Ok(());
    }
    // A symlink is deleted as a link, so it is not followed here.
    let kind = if command == Command::Delete {
        fs::lstat(&ctx.config.root, path)
            .map_err(|e| Error::io(&e, "read", path))?
            .kind
    } else {
        stat(ctx, path)?.kind
    };
    // Sockets, pipes and devices are never served or listed: to the
    // client they do not exist.
    if kind == Kind::Other {
        return Err(Error::NotFound(format!("`{path}` does not exist")));
    }
    let fits = match target {
        Target::Dir => kind == Kind::Dir,
        Target::File => kind == Kind::File,
        _ => kind != Kind::Other,
    };
    if fits {
        return Ok(());
    }
    let what = if kind == Kind::Dir {
        "a directory"
    } else {
        "a file"
    };
    Err(Error::BadRequest(format!(
        "`{command}` does not work on `{path}`, which is {what}"
    )))
}

fn stat(ctx: &Context, path: &SharePath) -> Result<Meta, Error> {
    fs::stat(&ctx.config.root, path).map_err(|e| Error::io(&e, "read", path))
}

/// `303 See Other` back to a directory's page, after a form upload.
fn redirect_to_page(path: &SharePath) -> Response {
    let location = if path.is_root() {
        "/".to_owned()
    } else {
        format!("{}/", path.encoded())
    };
    Response {
        status: 303,
        headers: vec![("location".into(), location)],
        body: crate::http::Body::Empty,
    }
}

fn wrong_method(method: &Method, path: &str) -> Error {
    Error::BadRequest(format!(
        "method {} is not supported on `{path}`",
        method_name(method)
    ))
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Other(name) => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(target: &str) -> (String, Query) {
        match Route::parse(target).unwrap() {
            Route::Api { path, query } => (path.to_string(), query),
            other => panic!("{target}: {other:?}"),
        }
    }

    #[test]
    fn every_version_spelling_routes_to_the_api() {
        for v in ["1", "1.0", "1.0.0"] {
            assert_eq!(api(&format!("/api/{v}/a/b?cmd=info")).0, "/a/b");
        }
        assert_eq!(api("/api/1").0, "/");
        assert_eq!(api("/api/1/").0, "/");
        assert_eq!(api("/api/1/api/x").0, "/api/x");
    }

    #[test]
    fn unknown_versions_are_404() {
        for target in ["/api/2/x", "/api/1.1/x", "/api/", "/api", "/api/v1/x"] {
            assert_eq!(Route::parse(target).unwrap_err().status(), 404, "{target}");
        }
    }

    #[test]
    fn health_and_web_addresses() {
        assert_eq!(Route::parse("/api/health").unwrap(), Route::Health);
        let web = Route::parse("/app.js?cmd=delete").unwrap();
        assert_eq!(
            web,
            Route::Web {
                path: SharePath::from_decoded("/app.js").unwrap()
            }
        );
        assert_eq!(
            Route::parse("/apix/y").unwrap(),
            Route::Web {
                path: SharePath::from_decoded("/apix/y").unwrap()
            }
        );
    }

    #[test]
    fn assets_route_before_the_version_check() {
        assert_eq!(
            Route::parse("/api/assets/0123abcd/app.js?v=1").unwrap(),
            Route::Asset {
                tag: Some("0123abcd".into()),
                name: "app.js".into()
            }
        );
        assert_eq!(
            Route::parse("/api/assets/index.css").unwrap(),
            Route::Asset {
                tag: None,
                name: "index.css".into()
            }
        );
        // Only under `/api/`: a shared file called `app.js` still downloads.
        assert!(matches!(
            Route::parse("/assets/x/app.js").unwrap(),
            Route::Web { .. }
        ));
    }

    #[test]
    fn assets_are_served_or_404_as_json() {
        let ctx = test_context();
        let ok = handle(&ctx, Request::new(Method::Get, &assets::url("app.js")));
        assert_eq!(ok.status, 200);
        assert_eq!(
            ok.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert!(ok.header("cache-control").unwrap().contains("immutable"));
        let head = handle(&ctx, Request::new(Method::Head, &assets::url("index.css")));
        assert_eq!(head.status, 200);
        let missing = handle(&ctx, Request::new(Method::Get, "/api/assets/abc/nope.js"));
        assert_eq!(missing.status, 404);
        assert_eq!(missing.header("content-type"), Some("application/json"));
        let post = handle(&ctx, Request::new(Method::Post, &assets::url("app.js")));
        assert_eq!(post.status, 400);
    }

    /// A context over a folder that the asset route never reads.
    fn test_context() -> Context {
        let config = crate::config::Config::from_vars(
            Vec::new(),
            Some("/nonexistent-httpuploader-root".into()),
        )
        .unwrap();
        Context::load(config).unwrap()
    }

    #[test]
    fn queries_decode_plus_and_percent() {
        let (_, query) = api("/api/1/a?cmd=copy&dest=%2Fx+y%26z&flag");
        assert_eq!(query.get("cmd"), Some("copy"));
        assert_eq!(query.get("dest"), Some("/x y&z"));
        assert_eq!(query.get("flag"), Some(""));
        assert_eq!(query.get("none"), None);
        assert_eq!(Route::parse("/api/1/a?x=%ff").unwrap_err().status(), 400);
    }

    #[test]
    fn bad_paths_fail_before_anything_is_touched() {
        assert_eq!(Route::parse("/api/1/a/%2e%2e/b").unwrap_err().status(), 403);
        assert_eq!(Route::parse("/a/..%2f..%2fetc").unwrap_err().status(), 403);
        assert_eq!(Route::parse("/api/1/a%00").unwrap_err().status(), 400);
        assert_eq!(Route::parse("/%c3%28").unwrap_err().status(), 400);
    }

    #[test]
    fn changes_from_other_sites_are_refused() {
        let with = |method: Method, headers: &[(&str, &str)]| {
            let mut request = Request::new(method, "/api/1/x?cmd=mkdir");
            request.headers = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            same_origin(&request).map_err(|e| e.status())
        };
        let host = ("host", "10.0.0.5:8018");
        assert_eq!(with(Method::Post, &[host]), Ok(()));
        assert_eq!(
            with(Method::Post, &[host, ("origin", "http://10.0.0.5:8018")]),
            Ok(())
        );
        assert_eq!(
            with(Method::Post, &[host, ("origin", "http://evil.example")]),
            Err(403)
        );
        assert_eq!(with(Method::Delete, &[host, ("origin", "null")]), Err(403));
        assert_eq!(
            with(Method::Get, &[host, ("origin", "http://evil.example")]),
            Ok(())
        );
    }

    #[test]
    fn api_addresses_render_errors_as_json() {
        assert!(is_api("/api/1/x?cmd=list"));
        assert!(is_api("/api/health"));
        assert!(!is_api("/apis"));
        assert!(!is_api("/x?/api/"));
    }
}
