//! The venue's webhooks (operator routes): `POST /webhooks` registers an endpoint and answers its
//! signing secret once; `GET /webhooks` lists them (paged, never a secret); `DELETE
//! /webhooks/{webhook_id}` removes one (its pending deliveries are given up);
//! `GET /webhooks/{webhook_id}/deliveries` pages its deliveries, newest first;
//! `POST /webhooks/{webhook_id}/enable` takes one disabled by a `410 Gone` back into service.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::Answer;
use crate::delivery::{signing, urls};
use crate::error::Error;
use crate::events::{EventId, EventKind};
use crate::http::call::Call;
use crate::http::extract::number_param;
use crate::http::response::json_response;
use crate::http::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::store::{DeliveriesAfter, Target, Webhook};

/// The channel of a webhook's deliveries (`delivery::webhook::CHANNEL`, which only builds with
/// the `webhooks` feature).
const CHANNEL: &str = "webhook";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
}

#[derive(Serialize)]
struct WebhookView<'a> {
    webhook_id: &'a str,
    url: &'a str,
    events: Vec<&'static str>,
    #[serde(with = "crate::domain::rfc3339")]
    created_at: DateTime<Utc>,
    disabled: bool,
    /// Only in the creation's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

impl<'a> WebhookView<'a> {
    fn of(hook: &'a Webhook, secret: bool) -> Self {
        Self {
            webhook_id: &hook.id,
            url: &hook.url,
            events: hook.events.iter().map(|e| e.as_str()).collect(),
            created_at: hook.created_at,
            disabled: hook.disabled,
            secret: secret.then_some(hook.secret.as_str()),
        }
    }
}

/// A webhook id as a path segment: `wh_` and 32 lowercase hex digits.
fn webhook_id(call: &Call<'_>) -> Result<String, Error> {
    let id = crate::http::extract::path_param(call.request, call.route, "webhook_id")
        .ok_or_else(|| crate::http::extract::missing("webhook_id"))?;
    let well_formed = id.strip_prefix("wh_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if well_formed {
        Ok(id)
    } else {
        Err(Error::Validation(
            "`webhook_id` must be `wh_` and 32 hex digits.".into(),
        ))
    }
}

/// `POST /webhooks` (operator): `{"url", "events"}` → 201 with the id and the secret, shown once.
pub async fn create(call: &Call<'_>) -> Answer {
    call.operator()?;
    let body: NewWebhook = call.body()?;
    let insecure = call.app.webhooks.allow_insecure;
    let url = urls::parse(body.url.trim(), insecure)?;
    urls::check_resolved(&url, insecure).await?;
    if body.events.is_empty() || body.events.len() > EventKind::ALL.len() {
        return Err(Error::Validation(
            "`events` must name at least one of booking.confirmed, booking.cancelled.".into(),
        ));
    }
    let mut events = Vec::new();
    for name in &body.events {
        let kind = EventKind::parse(name).ok_or_else(|| {
            Error::Validation(
                "`events` may name only booking.confirmed and booking.cancelled.".into(),
            )
        })?;
        if !events.contains(&kind) {
            events.push(kind);
        }
    }
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| Error::Internal(format!("random id: {e}")))?;
    let hook = Webhook {
        id: format!("wh_{}", uuid::Uuid::from_bytes(id).simple()),
        url: url.to_string(),
        events,
        secret: signing::new_secret()?,
        // Stored in milliseconds: the answer says what a later listing will.
        created_at: DateTime::from_timestamp_millis(call.now.timestamp_millis())
            .unwrap_or(call.now),
        disabled: false,
    };
    let max = call.app.webhooks.max_webhooks;
    call.app.store.create_webhook(&hook, max).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &WebhookView::of(&hook, true),
    ))
}

#[derive(Serialize)]
struct WebhookList<'a> {
    webhooks: Vec<WebhookView<'a>>,
    next_cursor: Option<String>,
}

fn encode(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{position}"))
}

fn decode(cursor: &str) -> Result<String, Error> {
    let invalid = || Error::Validation("`cursor` is not a cursor of this listing.".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    text.strip_prefix("v1|")
        .map(str::to_owned)
        .ok_or_else(invalid)
}

/// `GET /webhooks` (operator): a page of the endpoints by id; no secrets.
pub async fn list(call: &Call<'_>) -> Answer {
    call.operator()?;
    let limit = number_param(call.request, "limit", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let after = call.query("cursor").map(decode).transpose()?;
    if after.as_deref().is_some_and(|a| a.contains('|')) {
        return Err(Error::Validation(
            "`cursor` is not a cursor of this listing.".into(),
        ));
    }
    let page = call
        .app
        .store
        .list_webhooks(after.as_deref(), limit)
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &WebhookList {
            webhooks: page
                .webhooks
                .iter()
                .map(|w| WebhookView::of(w, false))
                .collect(),
            next_cursor: page.next.as_deref().map(encode),
        },
    ))
}

#[derive(Serialize)]
struct Deleted<'a> {
    webhook_id: &'a str,
    deleted: bool,
}

/// `DELETE /webhooks/{webhook_id}` (operator): removes the endpoint; its pending deliveries are
/// given up. Unknown: 404 `WEBHOOK_NOT_FOUND`.
pub async fn delete(call: &Call<'_>) -> Answer {
    call.operator()?;
    let id = webhook_id(call)?;
    if !call.app.store.delete_webhook(&id).await? {
        return Err(Error::WebhookNotFound);
    }
    call.app
        .store
        .abandon_deliveries(&Target::new(CHANNEL, &id))
        .await?;
    Ok(json_response(
        StatusCode::OK,
        &Deleted {
            webhook_id: &id,
            deleted: true,
        },
    ))
}

/// `POST /webhooks/{webhook_id}/enable` (operator): the endpoint, disabled by a `410 Gone`,
/// takes the events from now on again (the deliveries given up stay given up; the events that
/// happened while it was disabled were not fanned out to it). 200 with the endpoint (no
/// secret), also when it was not disabled; unknown: 404 `WEBHOOK_NOT_FOUND`. A request body,
/// if any, is not read.
pub async fn enable(call: &Call<'_>) -> Answer {
    call.operator()?;
    let id = webhook_id(call)?;
    let hook = call
        .app
        .store
        .enable_webhook(&id)
        .await?
        .ok_or(Error::WebhookNotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &WebhookView::of(&hook, false),
    ))
}

#[derive(Serialize)]
struct DeliveryView<'a> {
    event_id: &'a str,
    event_type: &'static str,
    #[serde(with = "crate::domain::rfc3339")]
    occurred_at: DateTime<Utc>,
    state: &'static str,
    attempts: u32,
    last_status: Option<u16>,
    #[serde(with = "crate::domain::rfc3339::option")]
    next_attempt_at: Option<DateTime<Utc>>,
    #[serde(with = "crate::domain::rfc3339::option")]
    delivered_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct DeliveryList<'a> {
    webhook_id: &'a str,
    deliveries: Vec<DeliveryView<'a>>,
    next_cursor: Option<String>,
}

/// `GET /webhooks/{webhook_id}/deliveries` (operator): a page of the endpoint's deliveries,
/// newest event first.
pub async fn deliveries(call: &Call<'_>) -> Answer {
    call.operator()?;
    let id = webhook_id(call)?;
    let limit = number_param(call.request, "limit", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
    let invalid = || Error::Validation("`cursor` is not a cursor of this listing.".into());
    let after = match call.query("cursor").map(decode).transpose()? {
        Some(position) => {
            let mut parts = position.split('|');
            let (Some(of), Some(ms), Some(event), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(invalid());
            };
            let ms: i64 = ms.parse().map_err(|_| invalid())?;
            if of != id || !event.starts_with("evt_") {
                return Err(invalid());
            }
            Some(DeliveriesAfter {
                occurred_at: DateTime::from_timestamp_millis(ms).ok_or_else(invalid)?,
                event: EventId::stored(event.to_owned()),
            })
        }
        None => None,
    };
    if call.app.store.get_webhook(&id).await?.is_none() {
        return Err(Error::WebhookNotFound);
    }
    let page = call
        .app
        .store
        .deliveries_to(&Target::new(CHANNEL, &id), after.as_ref(), limit)
        .await?;
    let deliveries = page
        .deliveries
        .iter()
        .map(|d| DeliveryView {
            event_id: d.event_id.as_str(),
            event_type: d.kind.as_str(),
            occurred_at: d.occurred_at,
            state: d.state.as_str(),
            attempts: d.attempts,
            last_status: d.last_status,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &DeliveryList {
            webhook_id: &id,
            deliveries,
            next_cursor: page.next.map(|n| {
                encode(&format!(
                    "{id}|{}|{}",
                    n.occurred_at.timestamp_millis(),
                    n.event
                ))
            }),
        },
    ))
}
