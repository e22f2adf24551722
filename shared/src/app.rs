//! Assembly: configuration → store → [`App`]. The top of the crate, used by the local server and
//! the Lambda functions' `main`s; nothing in the crate imports it.

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, PlayerAuth, StoreConfig};
use crate::error::Error;
use crate::horizon;
use crate::http::App;
use crate::store::{self, Backend};

/// The configured store ([`store::open`]), with the demo venue in a new SQLite database: an
/// empty SQLite store is loaded with it and its schedules' slots are made, so the local server
/// (and functions under `cargo lambda watch`) answer with rooms and slots at once. DynamoDB is
/// never loaded here: its table is created and loaded by the `seed` command.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Backend>, Error> {
    open_store_with_demo(config, true).await
}

/// [`open_store`], loading the demo venue into a new SQLite file only when `demo` (`DEMO`, on by
/// default; `DEMO=0` leaves a new file empty).
pub async fn open_store_with_demo(
    config: &StoreConfig,
    demo: bool,
) -> Result<Arc<dyn Backend>, Error> {
    let store = store::open(config).await?;
    if let StoreConfig::Sqlite { path, .. } = config
        && demo
        && store.is_empty().await?
    {
        store.load(&crate::seed::demo()?).await?;
        let runs = horizon::extend_horizons(store.as_ref(), Clock::System.now()).await?;
        let slots: usize = runs.iter().map(|r| r.created).sum();
        tracing::info!(path = %path.display(), slots, "loaded the demo venue into a new database");
    }
    Ok(store)
}

/// The app of the local server and of every Lambda function: the configured store, the system
/// clock, the hold length, the cut-off, the operators, the bounds, the per-player caps and how
/// players are identified. `PLAYER_AUTH=trusted` on an address that is not loopback is logged
/// as a warning (anyone who reaches it can act as any player).
pub async fn from_config(config: &Config) -> Result<App, Error> {
    if config.players.mode() == PlayerAuth::Trusted && !config.bind.ip().is_loopback() {
        tracing::warn!(
            bind = %config.bind,
            "PLAYER_AUTH=trusted on an address that is not loopback: every request is believed \
             about which player it is; only do this behind a back end that authenticates players"
        );
    }
    let store = open_store_with_demo(&config.store, config.demo).await?;
    Ok(App::new(store, Clock::System, config.hold_ttl)
        .with_cancel_cutoff(config.cancel_cutoff)
        .with_operators(config.operators.clone())
        .with_bounds(config.bounds)
        .with_caps(config.caps)
        .with_players(config.players.clone())
        .with_bookings(config.bookings.clone())
        .with_webhooks(config.webhooks.clone())
        .with_mail(config.mail.clone()))
}

/// The deliverer of `app`'s outbox, as the `deliver-events` function runs it: the webhook channel
/// (`WEBHOOK_ALLOW_INSECURE`), the email channel when mail is configured (`SMTP_URL` or
/// `SMTP_URL_PARAMETER`, and `MAIL_FROM`), and the retries of `WEBHOOK_RETRY_SECONDS`. Built once
/// at cold start; a mail setting this binary cannot use stops it, saying why (never a password).
#[cfg(feature = "webhooks")]
pub fn deliverer(app: &App) -> Result<crate::delivery::Deliverer, String> {
    use crate::delivery::{Backoff, Channel, Deliverer, webhook::WebhookChannel};
    let webhook = WebhookChannel::new(app.webhooks.allow_insecure).map_err(|e| match e {
        Error::Internal(why) => why,
        other => other.to_string(),
    })?;
    let mut channels: Vec<Arc<dyn Channel>> = vec![Arc::new(webhook)];
    if let Some(mail) = &app.mail {
        channels.push(email_channel(app, mail)?);
    }
    Ok(Deliverer {
        store: app.store.clone(),
        channels,
        backoff: Backoff(app.webhooks.retry_seconds.clone()),
    })
}

#[cfg(all(feature = "webhooks", feature = "mail"))]
fn email_channel(
    app: &App,
    mail: &crate::config::MailSettings,
) -> Result<Arc<dyn crate::delivery::Channel>, String> {
    use crate::mail::smtp::{Mailer, SEND_TIMEOUT};
    let mailer = Mailer::new(mail, SEND_TIMEOUT)?;
    Ok(Arc::new(crate::delivery::email::EmailChannel::new(
        mailer,
        app.bookings.public_base_url.clone(),
    )))
}

#[cfg(all(feature = "webhooks", not(feature = "mail")))]
fn email_channel(
    _app: &App,
    _mail: &crate::config::MailSettings,
) -> Result<Arc<dyn crate::delivery::Channel>, String> {
    Err("SMTP_URL is set but this binary was built without email (feature `mail`)".into())
}
