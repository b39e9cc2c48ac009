//! A servers file's servers are announced apart: a message per change per server, naming
//! the server, and nothing for the servers that did not change.

use std::time::Duration;

use integration_tests::binaries::Child;
use integration_tests::game_server::{GameServer, ServersFile};

use super::{HOOK, PATHS, SOON, Setup, check_no_secrets};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_is_announced_apart_by_name() {
    let mut s = Setup::new().await;
    let second = GameServer::start();
    let file = ServersFile::new(&format!(
        "[[server]]\nid = \"main\"\nname = \"Main realm\"\naddr = \"{}\"\nconstants = true\n\n\
         [[server]]\nid = \"pvp\"\nname = \"PvP realm\"\naddr = \"{}\"\n",
        second.addr, s.game.addr
    ));
    let mut cmd = s.refresher(1, "30");
    cmd.env_remove("GAME_SERVER_ADDR")
        .env("STATUS_SERVERS_FILE", &file.path);
    let child = Child::spawn(cmd);
    for id in ["main", "pvp"] {
        let key = format!("{}:servers:{id}", s.redis.status_key());
        s.wait_told_at(&key, "online").await;
    }

    s.game.stop();
    let got = s.one_each(SOON).await;
    let line = got[2].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.starts_with("PvP realm: 🔴 Server offline since "),
        "{line}"
    );
    let discord = got[0].json();
    let title = discord["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
        + discord["embeds"][0]["title"].as_str().unwrap_or_default()
        + discord["content"].as_str().unwrap_or_default();
    assert!(
        title.contains("PvP realm"),
        "Discord's message names the server: {discord}"
    );
    // Exactly one per target, and none for the main realm: a second message would follow
    // the first at once (the same round or the next retry); three more seconds say it did
    // not come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.counts(), [1, 1, 1]);
    assert!(
        s.receiver.to(HOOK).iter().all(|r| !r.json()["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Main realm")),
        "the main realm did not change"
    );
    for path in PATHS {
        assert_eq!(s.receiver.to(path).len(), 1, "{path}");
    }
    check_no_secrets(&child.output());
}
