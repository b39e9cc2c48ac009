//! Discord: an incoming webhook's "Execute Webhook" (`POST /api/webhooks/<id>/<token>`,
//! JSON), one embed coloured by state. Mentions are turned off (`allowed_mentions`), so an
//! operator's message can never ping `@everyone`.

use serde_json::json;

use super::message::Text;
use super::send::Request;
use crate::config::{Lang, Target};

pub fn request(target: &Target, text: &Text, link: Option<&str>, lang: Lang) -> Request {
    let mut embed = json!({ "description": text.line, "color": text.color });
    if let Some(link) = link {
        // An embed's link is its title's.
        embed["title"] = json!(match lang {
            Lang::En => "Server status",
            Lang::Ru => "Статус сервера",
        });
        embed["url"] = json!(link);
    }
    let body = json!({ "embeds": [embed], "allowed_mentions": { "parse": [] } });
    Request {
        url: target.url().to_owned(),
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}
