//! Chat providers: Slack, Discord and Rocket.Chat (Slack's attachment
//! format), Microsoft Teams (Adaptive Card, or MessageCard for legacy
//! Office 365 connectors), Google Chat (cards), Webex (markdown), Telegram
//! (Bot API, MarkdownV2) and Matrix (`m.room.message`).
//!
//! Each shows the object as `kind/name.namespace`, the message, and the
//! metadata as fields, as Flux's notifiers do.

use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};
use weir_runtime::events::FluxEvent;

use super::{HttpRequest, NotifierError, Target, go_time, is_error, object_title, require_url};

fn slack_payload(target: &Target, event: &FluxEvent, author: String) -> Value {
    let fields: Vec<Value> = event
        .metadata
        .iter()
        .map(|(k, v)| json!({"title": k, "value": v, "short": false}))
        .collect();
    let username = if target.username.is_empty() {
        event.reporting_controller.clone()
    } else {
        target.username.clone()
    };
    json!({
        "channel": target.channel,
        "username": username,
        "icon_url": "",
        "icon_emoji": "",
        "attachments": [{
            "color": if is_error(event) { "danger" } else { "good" },
            "author_name": author,
            "text": event.message,
            "mrkdwn_in": ["text"],
            "fields": fields,
        }],
    })
}

fn body(v: &Value) -> Result<Vec<u8>, NotifierError> {
    serde_json::to_vec(v).map_err(|e| NotifierError::Config(format!("encoding the payload: {e}")))
}

/// Slack: an attachment coloured by severity; a bot token is sent as Bearer.
pub fn slack(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let payload = slack_payload(target, event, object_title(event));
    let mut req = HttpRequest::post_json(&target.address, body(&payload)?);
    if !target.token.is_empty() {
        req = req.header("Authorization", format!("Bearer {}", target.token));
    }
    Ok(req)
}

/// Discord: the Slack payload to the webhook's Slack-compatible endpoint.
pub fn discord(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let mut url = reqwest::Url::parse(&target.address)
        .map_err(|e| NotifierError::Config(format!("invalid Discord hook URL: {e}")))?;
    if !url.path().ends_with("/slack") {
        let path = format!("{}/slack", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    let payload = slack_payload(target, event, object_title(event));
    Ok(HttpRequest::post_json(url.as_str(), body(&payload)?))
}

/// Rocket.Chat: the Slack payload to its incoming webhook.
pub fn rocket(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let payload = slack_payload(target, event, object_title(event));
    Ok(HttpRequest::post_json(&target.address, body(&payload)?))
}

/// Whether a Teams address is a legacy Office 365 connector (MessageCard)
/// rather than a Workflows/Power Automate webhook (Adaptive Card).
fn legacy_teams(address: &str) -> bool {
    reqwest::Url::parse(address)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|h| h.ends_with("webhook.office.com") || h == "outlook.office.com")
}

/// Microsoft Teams.
pub fn msteams(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let title = object_title(event);
    let payload = if legacy_teams(&target.address) {
        let facts: Vec<Value> = event
            .metadata
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        json!({
            "@type": "MessageCard",
            "@context": "http://schema.org/extensions",
            "themeColor": if is_error(event) { "FF0000" } else { "0076D7" },
            "summary": title,
            "sections": [{
                "activityTitle": event.message,
                "activitySubtitle": title,
                "facts": facts,
            }],
        })
    } else {
        let facts: Vec<Value> = event
            .metadata
            .iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        let mut content = vec![
            json!({
                "type": "TextBlock",
                "text": title,
                "weight": "bolder",
                "size": "medium",
                "color": if is_error(event) { "attention" } else { "good" },
                "wrap": true,
            }),
            json!({"type": "TextBlock", "text": event.message, "wrap": true}),
        ];
        if !facts.is_empty() {
            content.push(json!({"type": "FactSet", "facts": facts}));
        }
        json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": content,
                },
            }],
        })
    };
    Ok(HttpRequest::post_json(&target.address, body(&payload)?))
}

/// Google Chat: a card with the object, the message (red for errors) and
/// the timestamp and metadata as key-value widgets.
pub fn google_chat(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let text = if is_error(event) {
        format!("<font color=\"#ff0000\">{}</font>", event.message)
    } else {
        event.message.clone()
    };
    let key_value = |label: &str, content: &str| json!({"keyValue": {"topLabel": label, "content": content, "contentMultiline": false}});
    let mut widgets = vec![key_value("TIMESTAMP", &go_time(&event.timestamp))];
    widgets.extend(event.metadata.iter().map(|(k, v)| key_value(k, v)));
    let payload = json!({
        "cards": [{
            "header": {"title": object_title(event), "subtitle": event.reporting_controller},
            "sections": [
                {"widgets": [{"textParagraph": {"text": text}}]},
                {"widgets": widgets},
            ],
        }],
    });
    Ok(HttpRequest::post_json(&target.address, body(&payload)?))
}

/// Webex: markdown to the messages API for the room in `channel`.
pub fn webex(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    let address = if target.address.is_empty() {
        "https://webexapis.com/v1/messages"
    } else {
        target.address.as_str()
    };
    require_url(address)?;
    let emoji = if is_error(event) { "💣" } else { "✅" };
    let mut markdown = format!("{emoji} **{}**\n{}\n", object_title(event), event.message);
    for (k, v) in &event.metadata {
        markdown.push_str(&format!(">**{k}**: {v}\n"));
    }
    let payload = json!({"roomId": target.channel, "markdown": markdown});
    Ok(HttpRequest::post_json(address, body(&payload)?)
        .header("Authorization", format!("Bearer {}", target.token)))
}

/// Escapes Telegram MarkdownV2's reserved characters.
pub fn telegram_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "_*[]()~`>#+-=|{}.!\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Telegram: the Bot API's `sendMessage` for the chat in `channel`, with
/// the bot token from the Secret.
pub fn telegram(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    if target.token.is_empty() || target.channel.is_empty() {
        return Err(NotifierError::Config(
            "telegram needs spec.channel (the chat ID) and a 'token' in the Secret".into(),
        ));
    }
    let base = if target.address.is_empty() {
        "https://api.telegram.org"
    } else {
        target.address.trim_end_matches('/')
    };
    require_url(base)?;
    let emoji = if is_error(event) { "🚨" } else { "💫" };
    let mut text = format!(
        "{}\n{}\n",
        telegram_escape(&format!("{emoji} {}", object_title(event))),
        telegram_escape(&event.message)
    );
    for (k, v) in &event.metadata {
        text.push_str(&format!(
            "\\- *{}*: {}\n",
            telegram_escape(k),
            telegram_escape(v)
        ));
    }
    let payload = json!({"chat_id": target.channel, "text": text, "parse_mode": "MarkdownV2"});
    Ok(HttpRequest::post_json(
        &format!("{base}/bot{}/sendMessage", target.token),
        body(&payload)?,
    ))
}

/// Matrix: an `m.text` message PUT into the room in `channel`, the
/// transaction ID being the SHA-1 of the event (so retries do not repeat it).
pub fn matrix(target: &Target, event: &FluxEvent) -> Result<HttpRequest, NotifierError> {
    require_url(&target.address)?;
    let event_json = serde_json::to_vec(event)
        .map_err(|e| NotifierError::Config(format!("encoding the event: {e}")))?;
    let txn = hex::encode(Sha1::digest(&event_json));
    let emoji = if is_error(event) { "🚨" } else { "💫" };
    let mut metadata = String::new();
    for (k, v) in &event.metadata {
        metadata.push_str(&format!("- {k}: {v}\n"));
    }
    let msg = format!(
        "{emoji} {}\n{}\n{metadata}",
        object_title(event),
        event.message
    );
    let room: String = url_encode(&target.channel);
    let url = format!(
        "{}/_matrix/client/r0/rooms/{room}/send/m.room.message/{txn}",
        target.address.trim_end_matches('/')
    );
    let mut req = HttpRequest::post_json(&url, body(&json!({"body": msg, "msgtype": "m.text"}))?)
        .header("Authorization", format!("Bearer {}", target.token));
    req.method = reqwest::Method::PUT;
    Ok(req)
}

/// Percent-encodes everything but unreserved characters (for path segments).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::testing::{event, json, target};
    use crate::notifier::{ProviderType, requests};

    fn one(t: ProviderType, target: &Target, e: &FluxEvent) -> HttpRequest {
        let mut r = requests(t, target, e).unwrap();
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    #[test]
    fn slack_attachment() {
        let mut t = target("https://slack.com/api/chat.postMessage");
        t.channel = "general".into();
        t.token = "xoxb-1".into();
        let e = event("error", &[("revision", "main@sha1:abc"), ("env", "prod")]);
        let r = one(ProviderType::Slack, &t, &e);
        assert_eq!(r.header_value("authorization"), Some("Bearer xoxb-1"));
        let b = json(&r);
        assert_eq!(b["channel"], "general");
        assert_eq!(b["username"], "kustomize-controller");
        let a = &b["attachments"][0];
        assert_eq!(a["color"], "danger");
        assert_eq!(a["author_name"], "kustomization/webapp.apps");
        assert_eq!(a["text"], "Service/apps/webapp configured");
        assert_eq!(a["mrkdwn_in"], json!(["text"]));
        assert_eq!(
            a["fields"],
            json!([
                {"title": "env", "value": "prod", "short": false},
                {"title": "revision", "value": "main@sha1:abc", "short": false}
            ])
        );
        let info = one(ProviderType::Slack, &t, &event("info", &[]));
        assert_eq!(json(&info)["attachments"][0]["color"], "good");
    }

    #[test]
    fn discord_and_rocket_use_the_slack_format() {
        let mut t = target("https://discord.com/api/webhooks/1/abc");
        t.username = "flux".into();
        let r = one(ProviderType::Discord, &t, &event("info", &[]));
        assert_eq!(r.url, "https://discord.com/api/webhooks/1/abc/slack");
        assert_eq!(json(&r)["username"], "flux");
        assert_eq!(
            json(&r)["attachments"][0]["author_name"],
            "kustomization/webapp.apps"
        );
        let t2 = target("https://discord.com/api/webhooks/1/abc/slack");
        assert_eq!(
            one(ProviderType::Discord, &t2, &event("info", &[])).url,
            t2.address
        );
        let r = one(
            ProviderType::Rocket,
            &target("https://rocket.example/hooks/x"),
            &event("info", &[]),
        );
        assert_eq!(
            json(&r)["attachments"][0]["text"],
            "Service/apps/webapp configured"
        );
    }

    #[test]
    fn teams_adaptive_card_and_legacy_message_card() {
        let e = event("error", &[("revision", "r1")]);
        let r = one(
            ProviderType::MsTeams,
            &target(
                "https://prod-1.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke",
            ),
            &e,
        );
        let b = json(&r);
        assert_eq!(b["type"], "message");
        let a = &b["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert_eq!(a["content"]["type"], "AdaptiveCard");
        assert_eq!(a["content"]["version"], "1.4");
        let body = &a["content"]["body"];
        assert_eq!(body[0]["text"], "kustomization/webapp.apps");
        assert_eq!(body[0]["color"], "attention");
        assert_eq!(body[1]["text"], "Service/apps/webapp configured");
        assert_eq!(
            body[2]["facts"],
            json!([{"title": "revision", "value": "r1"}])
        );

        let legacy = one(
            ProviderType::MsTeams,
            &target("https://org.webhook.office.com/webhookb2/x"),
            &e,
        );
        let b = json(&legacy);
        assert_eq!(b["@type"], "MessageCard");
        assert_eq!(b["themeColor"], "FF0000");
        assert_eq!(b["summary"], "kustomization/webapp.apps");
        assert_eq!(
            b["sections"][0]["activityTitle"],
            "Service/apps/webapp configured"
        );
        assert_eq!(
            b["sections"][0]["facts"],
            json!([{"name": "revision", "value": "r1"}])
        );
    }

    #[test]
    fn google_chat_card() {
        let r = one(
            ProviderType::GoogleChat,
            &target("https://chat.googleapis.com/v1/spaces/x/messages?key=k"),
            &event("error", &[("revision", "r1")]),
        );
        let card = &json(&r)["cards"][0];
        assert_eq!(card["header"]["title"], "kustomization/webapp.apps");
        assert_eq!(card["header"]["subtitle"], "kustomize-controller");
        assert_eq!(
            card["sections"][0]["widgets"][0]["textParagraph"]["text"],
            "<font color=\"#ff0000\">Service/apps/webapp configured</font>"
        );
        let kv = &card["sections"][1]["widgets"];
        assert_eq!(kv[0]["keyValue"]["topLabel"], "TIMESTAMP");
        assert_eq!(
            kv[0]["keyValue"]["content"],
            "2026-03-01 10:20:30 +0000 UTC"
        );
        assert_eq!(
            kv[1]["keyValue"],
            json!({"topLabel": "revision", "content": "r1", "contentMultiline": false})
        );
    }

    #[test]
    fn webex_markdown() {
        let mut t = target("");
        t.channel = "room-1".into();
        t.token = "bot".into();
        let r = one(
            ProviderType::Webex,
            &t,
            &event("info", &[("revision", "r1")]),
        );
        assert_eq!(r.url, "https://webexapis.com/v1/messages");
        assert_eq!(r.header_value("authorization"), Some("Bearer bot"));
        assert_eq!(
            json(&r),
            json!({"roomId": "room-1", "markdown": "✅ **kustomization/webapp.apps**\nService/apps/webapp configured\n>**revision**: r1\n"})
        );
    }

    #[test]
    fn telegram_bot_api() {
        let mut t = target("");
        t.channel = "-100123".into();
        t.token = "123:abc".into();
        let r = one(
            ProviderType::Telegram,
            &t,
            &event("error", &[("revision", "main@sha1:a1")]),
        );
        assert_eq!(r.url, "https://api.telegram.org/bot123:abc/sendMessage");
        let b = json(&r);
        assert_eq!(b["chat_id"], "-100123");
        assert_eq!(b["parse_mode"], "MarkdownV2");
        assert_eq!(
            b["text"],
            "🚨 kustomization/webapp\\.apps\nService/apps/webapp configured\n\\- *revision*: main@sha1:a1\n"
        );
        t.token.clear();
        assert!(requests(ProviderType::Telegram, &t, &event("info", &[])).is_err());
    }

    #[test]
    fn matrix_put_with_transaction_id() {
        let mut t = target("https://matrix.example.org/");
        t.channel = "!room:example.org".into();
        t.token = "syt".into();
        let e = event("info", &[("revision", "r1")]);
        let r = one(ProviderType::Matrix, &t, &e);
        assert_eq!(r.method, reqwest::Method::PUT);
        let txn = hex::encode(Sha1::digest(serde_json::to_vec(&e).unwrap()));
        assert_eq!(
            r.url,
            format!(
                "https://matrix.example.org/_matrix/client/r0/rooms/%21room%3Aexample.org/send/m.room.message/{txn}"
            )
        );
        assert_eq!(r.header_value("authorization"), Some("Bearer syt"));
        assert_eq!(
            json(&r),
            json!({"msgtype": "m.text", "body": "💫 kustomization/webapp.apps\nService/apps/webapp configured\n- revision: r1\n"})
        );
    }
}
