//! `GET /api/health`: the probe address (contract §1).

use integration_tests::{Server, VERSION};
use serde_json::Value;

/// Whether any string anywhere in `value` equals `wanted`.
fn has_string(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Array(items) => items.iter().any(|v| has_string(v, wanted)),
        Value::Object(map) => map.values().any(|v| has_string(v, wanted)),
        _ => false,
    }
}

#[test]
fn health_answers_200_json_with_the_server_version() {
    let server = Server::start();
    let response = server.get("/api/health");
    assert_eq!(response.status, 200, "body: {}", response.text());
    assert!(response.is_json(), "headers: {:?}", response.headers);
    let body = response.json();
    assert!(
        has_string(&body, VERSION),
        "version {VERSION} not in {body}"
    );
}

#[test]
fn health_answers_head_without_a_body() {
    let server = Server::start();
    let response = server.head("/api/health");
    assert_eq!(response.status, 200);
    assert!(response.is_json());
    assert!(response.body.is_empty());
}

#[test]
fn health_does_not_shadow_a_file_called_health_in_the_api_namespace() {
    // `/api/health` is the probe; a root file of that name stays reachable
    // through a versioned address.
    let server = Server::start();
    server.tree().write("health", b"not the probe\n");
    assert_eq!(server.get("/api/1/health").body, b"not the probe\n");
    assert_eq!(server.get("/health").body, b"not the probe\n");
}
