//! The `reader-host` binary: Spin variables from env and flags, SIGINT, and configuration
//! refused before listening.

use std::time::Duration;

use bytes::Bytes;
use integration_tests::binaries::{Child, Signal};
use integration_tests::reader::{http_request, listening_addr, reader_host_command};
use integration_tests::redis::TestRedis;

use super::store_fresh;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_takes_spin_variables_from_env_and_flags_and_stops_on_sigint() {
    let redis = TestRedis::new();
    store_fresh(&redis);
    let mut cmd = reader_host_command();
    cmd.env("SPIN_VARIABLE_REDIS_ADDRESS", redis.url())
        .env("SPIN_VARIABLE_STATUS_KEY", redis.status_key())
        .env("SPIN_VARIABLE_CORS_ALLOW_ORIGIN", "https://env.example")
        .args(["--variable", "cors_allow_origin=https://flag.example"])
        .args(["--stats", "0"]);
    let mut child = Child::spawn(cmd);
    assert!(
        child.wait_for_output("reader-host listening on", Duration::from_secs(120)),
        "reader-host did not start:\n{}",
        child.output()
    );
    let addr = listening_addr(&child.output()).expect("no listening address in the output");

    let reply = http_request(addr, "GET", "/server/status", &[], Bytes::new()).await;
    assert_eq!(reply.status, 200, "{}", child.output());
    assert_eq!(reply.json()["_cache"]["source"], "primary");
    // --variable beats SPIN_VARIABLE_*, as with `spin up`.
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://flag.example")
    );

    child.signal(Signal::Int).expect("kill");
    let status = child.wait(Duration::from_secs(15));
    assert!(status.success(), "exit {status:?}:\n{}", child.output());
    let output = child.output();
    assert!(output.contains("\"component_requests\":1"), "{output}");
}

#[test]
fn binary_refuses_bad_configuration_before_listening() {
    let mut cmd = reader_host_command();
    cmd.args(["--variable", "no_such_variable=1"]);
    let (status, output) = integration_tests::binaries::run(cmd, Duration::from_secs(60));
    assert_eq!(status.code(), Some(2), "{output}");
    assert!(output.contains("no_such_variable"), "{output}");
    assert!(!output.contains("listening on"), "{output}");
}
