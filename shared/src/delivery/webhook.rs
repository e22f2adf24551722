//! The webhook channel: every endpoint subscribed to an event's type gets a signed `POST` of it
//! (Standard Webhooks 1.0 headers; the same `webhook-id`, the event's id, on every attempt).
//! reqwest over rustls, redirects not followed, 10 s for the whole attempt, and a resolver that
//! hands the connector only public addresses ([`urls::is_public`]), so the address actually
//! connected to is checked, not only the name at registration.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::{Attempt, Channel, signing, urls};
use crate::error::Error;
use crate::events::BookingEvent;
use crate::store::{Delivery, Store, Target, webhooks::all_webhooks};

/// The channel's name: the `channel` of its deliveries.
pub const CHANNEL: &str = "webhook";
/// How long an attempt may take, connection to answer.
pub const TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Resolves with the system's resolver and keeps only public addresses (all of them when
/// insecure is allowed); none left is an error, so nothing is connected to.
struct PublicOnly {
    allow_insecure: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_insecure = self.allow_insecure;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|a| allow_insecure || urls::is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{} has no public address", name.as_str()).into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The webhook channel.
pub struct WebhookChannel {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl WebhookChannel {
    pub fn new(allow_insecure: bool) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .dns_resolver(Arc::new(PublicOnly { allow_insecure }))
            .user_agent("escape-room-webhooks/1")
            .build()
            .map_err(|e| Error::Internal(format!("webhook client: {e}")))?;
        Ok(Self {
            client,
            allow_insecure,
        })
    }

    /// One signed `POST` of `event` to `url` with `secret`, at `timestamp`.
    async fn post(&self, url: &str, secret: &str, event: &BookingEvent) -> Attempt {
        // The URL again: an address literal never goes through the resolver.
        if urls::parse(url, self.allow_insecure).is_err() {
            return Attempt::Gone { status: None };
        }
        let Ok(body) = event.body() else {
            return Attempt::Failed { status: None };
        };
        let timestamp = chrono::Utc::now().timestamp();
        let Ok(signature) = signing::sign(secret, event.id.as_str(), timestamp, &body) else {
            return Attempt::Failed { status: None };
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", event.id.as_str())
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(answer) => {
                let status = answer.status().as_u16();
                match status {
                    200..=299 => Attempt::Delivered { status },
                    410 => Attempt::Gone {
                        status: Some(status),
                    },
                    _ => Attempt::Failed {
                        status: Some(status),
                    },
                }
            }
            Err(err) => {
                tracing::info!(event = %event.id, error = %err, "webhook delivery failed");
                Attempt::Failed { status: None }
            }
        }
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn name(&self) -> &'static str {
        CHANNEL
    }

    async fn targets(&self, store: &dyn Store, event: &BookingEvent) -> Result<Vec<Target>, Error> {
        Ok(all_webhooks(store)
            .await?
            .into_iter()
            .filter(|w| !w.disabled && w.events.contains(&event.kind))
            .map(|w| Target::new(CHANNEL, &w.id))
            .collect())
    }

    async fn deliver(&self, store: &dyn Store, delivery: &Delivery) -> Attempt {
        let hook = match store.get_webhook(&delivery.target.address).await {
            Ok(Some(hook)) if !hook.disabled => hook,
            Ok(_) => return Attempt::Gone { status: None },
            Err(err) => {
                tracing::warn!(%err, "reading a webhook failed");
                return Attempt::Failed { status: None };
            }
        };
        let attempt = self.post(&hook.url, &hook.secret, &delivery.event).await;
        if let Attempt::Gone { status: Some(410) } = attempt {
            tracing::info!(webhook = %hook.id, "the endpoint answered 410 Gone: disabled");
            if let Err(err) = store.disable_webhook(&hook.id).await {
                tracing::warn!(%err, "disabling a webhook failed");
            }
            if let Err(err) = store.abandon_deliveries(&delivery.target).await {
                tracing::warn!(%err, "giving up a disabled webhook's deliveries failed");
            }
        }
        attempt
    }
}
