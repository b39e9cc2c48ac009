//! Telegram: the Bot API's `sendMessage` (`POST /bot<token>/sendMessage`, JSON with
//! `chat_id` and `text`). Plain text (no `parse_mode`), so nothing in an operator's message
//! is read as markup; the link goes on a line of its own, without a preview.

use serde_json::json;

use super::message::Text;
use super::send::Request;
use crate::config::Target;

pub fn request(target: &Target, text: &Text, link: Option<&str>) -> Request {
    let mut line = text.line.clone();
    if let Some(link) = link {
        line.push('\n');
        line.push_str(link);
    }
    let body = json!({
        "chat_id": target.chat_id.as_deref().unwrap_or(""),
        "text": line,
        "link_preview_options": { "is_disabled": true },
    });
    Request {
        url: target.url().to_owned(),
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}
