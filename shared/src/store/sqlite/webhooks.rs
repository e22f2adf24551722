//! The webhook endpoints on SQLite: the `webhooks` table; the cap is decided by the insert's own
//! guard on the writer.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::Error;
use crate::events::EventKind;
use crate::store::webhooks::{Webhook, WebhooksPage, too_many_webhooks};
use crate::store::{from_millis, millis};

/// The table (part of the schema; created by `schema.rs`).
pub(super) const SCHEMA: &str = "
-- a webhook endpoint; events is a JSON array of event types; secret signs the deliveries
CREATE TABLE IF NOT EXISTS webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
";

pub(super) const COLUMNS: &str = "id, url, events, secret, created_at, disabled";

pub(super) fn webhook_of(row: &Row<'_>) -> Result<Webhook, Error> {
    let events: String = row.get(2)?;
    let events: Vec<String> = serde_json::from_str(&events)
        .map_err(|e| Error::Internal(format!("stored webhook events: {e}")))?;
    Ok(Webhook {
        id: row.get(0)?,
        url: row.get(1)?,
        events: events.iter().filter_map(|e| EventKind::parse(e)).collect(),
        secret: row.get(3)?,
        created_at: from_millis(row.get(4)?)?,
        disabled: row.get(5)?,
    })
}

/// See [`crate::store::Webhooks::create_webhook`]: one guarded `INSERT … SELECT … WHERE count < max`.
pub(super) fn create(tx: &Connection, hook: &Webhook, max: Option<usize>) -> Result<(), Error> {
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    let events = serde_json::to_string(&events)
        .map_err(|e| Error::Internal(format!("webhook events as JSON: {e}")))?;
    let cap = max.map(|m| i64::try_from(m).unwrap_or(i64::MAX));
    let inserted = tx
        .prepare_cached(
            "INSERT INTO webhooks (id, url, events, secret, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5
             WHERE ?6 IS NULL OR (SELECT COUNT(*) FROM webhooks) < ?6",
        )?
        .execute(params![
            hook.id,
            hook.url,
            events,
            hook.secret,
            millis(hook.created_at),
            cap
        ])?;
    match (inserted, max) {
        (0, Some(max)) => Err(too_many_webhooks(max)),
        (0, None) => Err(Error::Internal(
            "webhook insert refused without a cap".into(),
        )),
        _ => Ok(()),
    }
}

/// See [`crate::store::Webhooks::list_webhooks`].
pub(super) fn list(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<WebhooksPage, Error> {
    let wanted = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let mut rows = stmt.query(params![after, wanted])?;
    let mut webhooks = Vec::new();
    while let Some(row) = rows.next()? {
        webhooks.push(webhook_of(row)?);
    }
    let next = if webhooks.len() > limit {
        webhooks.truncate(limit);
        webhooks.last().map(|w| w.id.clone())
    } else {
        None
    };
    Ok(WebhooksPage { webhooks, next })
}

/// See [`crate::store::Webhooks::get_webhook`].
pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Webhook>, Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM webhooks WHERE id = ?1"))?
        .query_row([id], |row| Ok(webhook_of(row)))
        .optional()?
        .transpose()
}

/// See [`crate::store::Webhooks::delete_webhook`].
pub(super) fn delete(tx: &Connection, id: &str) -> Result<bool, Error> {
    Ok(tx
        .prepare_cached("DELETE FROM webhooks WHERE id = ?1")?
        .execute([id])?
        == 1)
}

/// See [`crate::store::Webhooks::enable_webhook`]: one `UPDATE … RETURNING`.
pub(super) fn enable(tx: &Connection, id: &str) -> Result<Option<Webhook>, Error> {
    tx.prepare_cached(&format!(
        "UPDATE webhooks SET disabled = 0 WHERE id = ?1 RETURNING {COLUMNS}"
    ))?
    .query_row([id], |row| Ok(webhook_of(row)))
    .optional()?
    .transpose()
}

/// See [`crate::store::Webhooks::disable_webhook`].
pub(super) fn disable(tx: &Connection, id: &str) -> Result<(), Error> {
    tx.prepare_cached("UPDATE webhooks SET disabled = 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}
