//! Booking emails through a real SMTP server: `aiosmtpd` (pinned in requirements-dev.txt, from
//! `.venv/`) on a loopback port receives them (`tests/mail/smtp_sink.py`), Python's `email`
//! package reads them and the `icalendar` parser reads their `booking.ics`
//! (`tests/mail/read_mail.py`), and the times are checked against the game in UTC and in the
//! venue's zone, for a summer and a winter date.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use shared::config::MailSettings;
use shared::ics::BookingFacts;
use shared::mail::smtp::{Mailer, SendError};
use shared::mail::{BookingMail, MailKind, compose};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::poll_until;
use crate::template::repo;

/// The `.venv` Python, with aiosmtpd and icalendar.
pub fn python() -> PathBuf {
    let python = repo().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: `source scripts/dev-venv` first",
        python.display()
    );
    python
}

/// An aiosmtpd server on a loopback port, writing each message it accepts into a directory;
/// stopped when dropped (its stdin closes, and it is killed).
pub struct SmtpSink {
    _child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    /// A sink that answers the first `fail_first` messages with 451 (try again later).
    pub async fn start(fail_first: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(repo().join("tests/mail/smtp_sink.py"))
            .arg(dir.path())
            .args(["--fail-first", &fail_first.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the SMTP sink is ready within 30 s")
        .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink said {line:?}"));
        Self {
            _child: child,
            port,
            dir,
        }
    }

    /// `SMTP_URL` for this sink: plain SMTP to loopback.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order.
    pub fn received(&self) -> Vec<PathBuf> {
        let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let n = path.file_stem()?.to_str()?.parse().ok()?;
                (path.extension()? == "eml").then_some((n, path))
            })
            .collect();
        files.sort();
        files.into_iter().map(|(_, p)| p).collect()
    }

    /// Waits until `count` messages have come (at most `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<PathBuf> {
        poll_until(
            "the emails reach the SMTP server",
            within,
            Duration::from_millis(50),
            || async {
                let got = self.received();
                (got.len() >= count).then_some(got)
            },
        )
        .await
    }
}

/// One received email as `tests/mail/read_mail.py` reads it, its calendar in `zone`.
pub async fn read_mail(file: &Path, zone: &str) -> Value {
    let output = Command::new(python())
        .arg(repo().join("tests/mail/read_mail.py"))
        .arg(file)
        .arg(zone)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "read_mail.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A calendar file (text) as `tests/mail/read_mail.py --ics` reads it, in `zone`.
pub async fn read_calendar(text: &str, zone: &str) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let output = Command::new(python())
        .arg(repo().join("tests/mail/read_mail.py"))
        .arg("--ics")
        .arg(file.path())
        .arg(zone)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "read_mail.py --ics: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn mailer(sink: &SmtpSink) -> Mailer {
    let settings = MailSettings {
        smtp_url: sink.url(),
        from: "Escape Room <bookings@example.com>".into(),
    };
    Mailer::new(&settings, Duration::from_secs(10)).unwrap()
}

fn facts(start: DateTime<Utc>) -> BookingFacts<'static> {
    BookingFacts {
        reference: "7K3M9QXA2B",
        room_name: "The Cursed Library",
        start,
        end: start + chrono::Duration::minutes(90),
        zone: chrono_tz::Europe::Berlin,
        players: Some(4),
        page: Some("https://book.example.com/booking/7K3M9QXA2B".into()),
        uid_host: "book.example.com",
    }
}

async fn send(mailer: &Mailer, kind: MailKind, start: DateTime<Utc>, id: &str) {
    let composed = compose(
        &BookingMail {
            kind,
            name: "Ada Lovelace",
            booking: facts(start),
            manage_link: None,
        },
        Utc::now(),
    );
    let message = mailer
        .message(
            "Ada Lovelace",
            "ada@example.org",
            &composed,
            id,
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(mailer.send(message).await, Ok(250));
}

#[tokio::test]
async fn a_confirmation_and_its_cancellation_reach_a_real_smtp_server_with_times_right_in_summer_and_winter()
 {
    let sink = SmtpSink::start(0).await;
    let mailer = mailer(&sink);
    // 18:00 in Berlin: 16:00 UTC in summer (CEST, +02:00), 17:00 UTC in winter (CET, +01:00).
    let summer = Utc.with_ymd_and_hms(2027, 7, 3, 16, 0, 0).unwrap();
    let winter = Utc.with_ymd_and_hms(2027, 1, 9, 17, 0, 0).unwrap();
    send(&mailer, MailKind::Confirmed, summer, "<1@test>").await;
    send(&mailer, MailKind::Confirmed, winter, "<2@test>").await;
    send(
        &mailer,
        MailKind::Cancelled { by_venue: false },
        winter,
        "<3@test>",
    )
    .await;
    let files = sink.wait_for(3, Duration::from_secs(10)).await;

    for (file, start, offset, date) in [
        (&files[0], summer, "+02:00", "Saturday 3 July 2027"),
        (&files[1], winter, "+01:00", "Saturday 9 January 2027"),
    ] {
        let mail = read_mail(file, "Europe/Berlin").await;
        assert_eq!(mail["envelope_to"], "ada@example.org");
        assert_eq!(mail["from"], "Escape Room <bookings@example.com>");
        let when = format!("{date}, 18:00 (Europe/Berlin)");
        assert_eq!(
            mail["subject"],
            format!("Booking confirmed: The Cursed Library, {when}")
        );
        let text = mail["text"].as_str().unwrap();
        for part in [
            "Room: The Cursed Library",
            &format!("When: {when}"),
            "Players: 4",
            "Reference: 7K3M9QXA2B",
            "https://book.example.com/booking/7K3M9QXA2B",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert_eq!(mail["attachments"], serde_json::json!(["booking.ics"]));
        assert_eq!(mail["ics_content_type"], "text/calendar");
        assert_eq!(mail["ics_method_param"], "REQUEST");
        let calendar = &mail["calendar"];
        assert_eq!(calendar["method"], "REQUEST");
        let event = &calendar["events"][0];
        assert_eq!(calendar["events"].as_array().unwrap().len(), 1);
        assert_eq!(event["uid"], "7K3M9QXA2B@book.example.com");
        assert_eq!(event["sequence"], 0);
        assert_eq!(event["status"], "CONFIRMED");
        assert_eq!(event["location"], "The Cursed Library");
        assert_eq!(event["summary"], "The Cursed Library · 4 players");
        assert_eq!(
            event["start_utc"],
            start.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
        );
        let local = start.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(
            event["start_local"],
            format!("{}T18:00:00{offset}", local.format("%Y-%m-%d"))
        );
        assert_eq!(
            event["end_local"],
            format!("{}T19:30:00{offset}", local.format("%Y-%m-%d"))
        );
    }
    let cancelled = read_mail(&files[2], "Europe/Berlin").await;
    assert!(cancelled["subject"].as_str().unwrap().starts_with(
        "Booking cancelled: The Cursed Library, Saturday 9 January 2027, 18:00 (Europe/Berlin)"
    ));
    assert_eq!(cancelled["ics_method_param"], "CANCEL");
    let event = &cancelled["calendar"]["events"][0];
    assert_eq!(cancelled["calendar"]["method"], "CANCEL");
    assert_eq!(event["uid"], "7K3M9QXA2B@book.example.com");
    assert_eq!(event["sequence"], 1);
    assert_eq!(event["status"], "CANCELLED");
}

#[tokio::test]
async fn an_email_has_a_text_and_an_html_part_with_every_value_escaped_and_the_calendar_attached() {
    let sink = SmtpSink::start(0).await;
    let mailer = mailer(&sink);
    let start = Utc.with_ymd_and_hms(2027, 7, 3, 16, 0, 0).unwrap();
    let name = "<script>alert('booked')</script> & Co";
    let mut booking = facts(start);
    booking.room_name = "The <b>Cursed</b> Library";
    let composed = compose(
        &BookingMail {
            kind: MailKind::Confirmed,
            name,
            booking,
            manage_link: Some("https://book.example.com/booking/7K3M9QXA2B#key=k".into()),
        },
        Utc::now(),
    );
    let message = mailer
        .message(
            name,
            "ada@example.org",
            &composed,
            "<h@test>",
            SystemTime::now(),
        )
        .unwrap();
    assert_eq!(mailer.send(message).await, Ok(250));
    let files = sink.wait_for(1, Duration::from_secs(10)).await;
    let mail = read_mail(&files[0], "Europe/Berlin").await;
    assert_eq!(
        mail["structure"],
        serde_json::json!([
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar"
        ])
    );
    let html = mail["html"].as_str().unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("<b>"),
        "{html}"
    );
    for part in [
        "Hello &lt;script&gt;alert(&#39;booked&#39;)&lt;/script&gt; &amp; Co,",
        "<td>The &lt;b&gt;Cursed&lt;/b&gt; Library</td>",
        "<td>Saturday 3 July 2027, 18:00 (Europe/Berlin)</td>",
        "<td>4</td>",
        "<td>7K3M9QXA2B</td>",
        "<a href=\"https://book.example.com/booking/7K3M9QXA2B#key=k\">",
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    // The text part says the same, as it is.
    let text = mail["text"].as_str().unwrap();
    assert!(
        text.contains("Hello <script>alert('booked')</script> & Co,"),
        "{text}"
    );
    assert!(text.contains("Room: The <b>Cursed</b> Library"), "{text}");
    assert_eq!(mail["attachments"], serde_json::json!(["booking.ics"]));
    assert_eq!(
        mail["calendar"]["events"][0]["uid"],
        "7K3M9QXA2B@book.example.com"
    );
}

#[tokio::test]
async fn a_refusal_for_now_and_an_unreachable_server_are_transient_failures() {
    let sink = SmtpSink::start(1).await;
    let mailer = mailer(&sink);
    let composed = compose(
        &BookingMail {
            kind: MailKind::Confirmed,
            name: "Ada",
            booking: facts(Utc::now()),
            manage_link: None,
        },
        Utc::now(),
    );
    let message = || {
        mailer
            .message(
                "Ada",
                "ada@example.org",
                &composed,
                "<t@test>",
                SystemTime::now(),
            )
            .unwrap()
    };
    match mailer.send(message()).await {
        Err(SendError::Transient {
            code: Some(451), ..
        }) => {}
        other => panic!("a 451 is transient: {other:?}"),
    }
    assert_eq!(mailer.send(message()).await, Ok(250));
    // Nobody listening: transient too (the outbox tries again later).
    let port = crate::processes::free_port();
    let closed = Mailer::new(
        &MailSettings {
            smtp_url: format!("smtp://127.0.0.1:{port}"),
            from: "bookings@example.com".into(),
        },
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(
        closed.send(message()).await,
        Err(SendError::Transient { code: None, .. })
    ));
}

/// An app on `kind` whose staff feed reaches a year ahead, with a Berlin room open every evening
/// at 18:00 for the next 250 days (a summer and a winter date from any day of the year).
async fn berlin_app(kind: crate::harness::StoreKind) -> crate::harness::TestApp {
    berlin_app_and_store(kind, None).await.0
}

/// [`berlin_app`] with `PUBLIC_BASE_URL` = `public_base_url`, its store and the environment
/// that points at that store.
async fn berlin_app_and_store(
    kind: crate::harness::StoreKind,
    public_base_url: Option<&str>,
) -> (
    crate::harness::TestApp,
    std::sync::Arc<dyn shared::store::Store>,
    Vec<(String, String)>,
) {
    use crate::harness::{TTL_SECONDS, TestApp, assert_status, seeded, start_time, test_operators};
    use shared::App;
    use shared::clock::{Clock, ManualClock};
    use shared::config::{BookingSettings, Caps};
    let clock = ManualClock::starting_at(start_time());
    let seeded = seeded(kind, clock.now(), &[]).await;
    let store: std::sync::Arc<dyn shared::store::Store> = seeded.store.clone();
    let env = seeded.env.clone();
    let app = App::new(
        seeded.store.clone(),
        Clock::Manual(clock.clone()),
        chrono::Duration::seconds(TTL_SECONDS),
    )
    .with_caps(Caps::OFF)
    .with_operators(test_operators())
    .with_bookings(BookingSettings {
        feed_days: 366,
        feed_max_events: None,
        public_base_url: public_base_url.map(str::to_owned),
        ..BookingSettings::default()
    });
    let t = TestApp::in_process(app, clock).keeping(seeded);
    let mut room = crate::contract::vault();
    room["max_advance_days"] = serde_json::json!(250);
    room["duration_minutes"] = serde_json::json!(90);
    room["buffer_minutes"] = serde_json::json!(0);
    assert_status(&t.put_room("r-berlin", room).await, 201, None);
    let published = t
        .put_schedule("r-berlin", crate::contract::daily(&["18:00"]))
        .await;
    assert_status(&published, 200, None);
    (t, store, env)
}

/// The first Saturday on or after `from` in a month that is in summer time in Berlin (`true`)
/// or not: within the 250 days.
fn saturday(summer: bool, from: DateTime<Utc>) -> chrono::NaiveDate {
    use chrono::{Datelike, Weekday};
    let mut day = from.date_naive() + chrono::Duration::days(2);
    loop {
        let months = if summer { 5..=8 } else { 11..=12 };
        let in_season = months.contains(&day.month()) || (!summer && day.month() <= 2);
        if in_season && day.weekday() == Weekday::Sat {
            return day;
        }
        day += chrono::Duration::days(1);
    }
}

/// Books r-berlin's 18:00 game of `day` for u-alice with a contact: (slot, reference, key).
async fn book_evening(
    t: &crate::harness::TestApp,
    day: chrono::NaiveDate,
) -> (Value, String, String) {
    use crate::harness::assert_status;
    let from = format!("{day}T00:00:00Z");
    let to = format!("{}T00:00:00Z", day + chrono::Duration::days(1));
    let page = t
        .get(&format!("/slots?room_id=r-berlin&from={from}&to={to}"))
        .await;
    assert_status(&page, 200, None);
    let slot = page.body["slots"][0].clone();
    let hold = t
        .post(
            "/holds",
            serde_json::json!({ "slot_id": slot["slot_id"], "user_id": "u-alice", "players": 4 }),
        )
        .await;
    assert_status(&hold, 201, None);
    let confirmed = t
        .post(
            &format!("/holds/{}/confirm", hold.body["hold_id"].as_str().unwrap()),
            serde_json::json!({ "user_id": "u-alice", "contact": crate::contract::manage::ada() }),
        )
        .await;
    assert_status(&confirmed, 200, None);
    let text = |f: &str| confirmed.body[f].as_str().unwrap().to_owned();
    (slot, text("reference"), text("manage_key"))
}

/// The slot's start (wire time) as the parser prints it in UTC.
fn utc_of(wire: &Value) -> String {
    let time = DateTime::parse_from_rfc3339(wire.as_str().unwrap()).unwrap();
    time.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

async fn the_booking_ics_and_the_staff_feed_read_by_a_real_parser_match_the_slot_in_summer_and_winter(
    kind: crate::harness::StoreKind,
) {
    use crate::harness::{Event, assert_status};
    let t = berlin_app(kind).await;
    let now = Utc::now();
    let mut booked = Vec::new();
    for (summer, offset) in [(true, "+02:00"), (false, "+01:00")] {
        let day = saturday(summer, now);
        let (slot, reference, key) = book_evening(&t, day).await;
        let file = t
            .send(Event::get(&format!("/bookings/{reference}/booking.ics")).bearer(&key))
            .await;
        assert_status(&file, 200, None);
        let calendar = read_calendar(file.body.as_str().unwrap(), "Europe/Berlin").await;
        assert_eq!(calendar["method"], "REQUEST");
        let event = &calendar["events"][0];
        assert_eq!(event["start_utc"], utc_of(&slot["start_time"]));
        assert_eq!(event["end_utc"], utc_of(&slot["end_time"]));
        assert_eq!(event["start_local"], format!("{day}T18:00:00{offset}"));
        assert_eq!(event["end_local"], format!("{day}T19:30:00{offset}"));
        assert!(
            event["description"]
                .as_str()
                .unwrap()
                .contains("18:00 (Europe/Berlin)"),
            "{event}"
        );
        booked.push((reference, day, offset));
    }
    // The staff feed has both, read by the same parser, at the same times.
    let url = crate::contract::calendar_feed::feed_url(&t, "r-berlin").await;
    let feed = t.get(&url).await;
    assert_status(&feed, 200, None);
    let calendar = read_calendar(feed.body.as_str().unwrap(), "Europe/Berlin").await;
    assert_eq!(calendar["method"], "PUBLISH");
    for (reference, day, offset) in booked {
        let event = calendar["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["uid"].as_str().unwrap().starts_with(&reference))
            .unwrap_or_else(|| panic!("{reference} in the feed: {calendar}"));
        assert_eq!(event["start_local"], format!("{day}T18:00:00{offset}"));
        assert_eq!(event["summary"], "4 players · Ada Lovelace");
        assert!(
            event["description"]
                .as_str()
                .unwrap()
                .contains("ada@example.org")
        );
    }
}

#[tokio::test]
async fn on_sqlite_the_calendar_files_read_by_a_real_parser_match_the_slot_in_summer_and_winter() {
    the_booking_ics_and_the_staff_feed_read_by_a_real_parser_match_the_slot_in_summer_and_winter(
        crate::harness::StoreKind::Sqlite,
    )
    .await;
}

#[tokio::test]
async fn on_dynamodb_the_calendar_files_read_by_a_real_parser_match_the_slot_in_summer_and_winter()
{
    the_booking_ics_and_the_staff_feed_read_by_a_real_parser_match_the_slot_in_summer_and_winter(
        crate::harness::StoreKind::Dynamodb,
    )
    .await;
}

/// Sends every email the outbox holds, as a drainer would with the email channel: each new
/// event fanned out (a delivery to the booking's contact, none without one), each due delivery
/// claimed, its email sent and the attempt recorded. Returns how many were sent.
async fn send_the_outbox(store: &dyn shared::store::Store, mailer: &Mailer) -> usize {
    use shared::store::{Attempted, Outcome, Target};
    let now = Utc::now();
    for event in store.undispatched_events(100).await.unwrap() {
        let targets: Vec<Target> = shared::mail::email_of(&event, None, None, now)
            .map(|_| Target::new("email", &event.data.hold_id.to_string()))
            .into_iter()
            .collect();
        store.dispatch_event(&event, &targets, now).await.unwrap();
    }
    let mut sent = 0;
    let claimed = store
        .claim_deliveries(now, now + chrono::Duration::minutes(1), 100)
        .await
        .unwrap();
    for delivery in claimed {
        let key = delivery.manage_key.as_ref();
        let mail = shared::mail::email_of(&delivery.event, None, key, now).unwrap();
        let message = mailer
            .message(
                &mail.name,
                &mail.address,
                &mail.composed,
                &mail.message_id,
                SystemTime::now(),
            )
            .unwrap();
        let status = mailer.send(message).await.unwrap();
        let attempted = Attempted {
            status: Some(status),
            outcome: Outcome::Delivered,
        };
        store
            .record_attempt(&delivery.event.id, &delivery.target, &attempted, now)
            .await
            .unwrap();
        sent += 1;
    }
    sent
}

async fn the_outboxs_confirmation_and_cancellation_reach_the_contact_and_a_booking_without_one_sends_none(
    kind: crate::harness::StoreKind,
) {
    use crate::harness::{Event, assert_status};
    let sink = SmtpSink::start(0).await;
    let mailer = mailer(&sink);
    let (t, store, _) = berlin_app_and_store(kind, None).await;
    let day = saturday(false, Utc::now());
    let (slot, reference, key) = book_evening(&t, day).await;
    // A booking without a contact: no email.
    let hold = t.hold("s-2", "u-bob").await;
    assert_status(&t.confirm(&hold, "u-bob").await, 200, None);
    let path = format!("/bookings/{reference}/cancel");
    let cancelled = t
        .send(Event::new(reqwest::Method::POST, &path).bearer(&key))
        .await;
    assert_status(&cancelled, 200, None);

    assert_eq!(send_the_outbox(store.as_ref(), &mailer).await, 2);
    let files = sink.wait_for(2, Duration::from_secs(10)).await;
    let mut methods = Vec::new();
    for file in &files {
        let mail = read_mail(file, "Europe/Berlin").await;
        assert_eq!(mail["envelope_to"], "ada@example.org");
        let event = &mail["calendar"]["events"][0];
        assert_eq!(event["uid"], format!("{reference}@escape-room.invalid"));
        assert_eq!(event["start_utc"], utc_of(&slot["start_time"]));
        assert_eq!(event["start_local"], format!("{day}T18:00:00+01:00"));
        assert!(
            mail["text"]
                .as_str()
                .unwrap()
                .contains("18:00 (Europe/Berlin)")
        );
        methods.push(mail["calendar"]["method"].as_str().unwrap().to_owned());
    }
    methods.sort();
    assert_eq!(methods, ["CANCEL", "REQUEST"]);
    // Delivered once: nothing is left to send.
    assert_eq!(send_the_outbox(store.as_ref(), &mailer).await, 0);
}

#[tokio::test]
async fn on_sqlite_the_outboxs_emails_reach_the_contact_and_none_without_one() {
    the_outboxs_confirmation_and_cancellation_reach_the_contact_and_a_booking_without_one_sends_none(
        crate::harness::StoreKind::Sqlite,
    )
    .await;
}

#[tokio::test]
async fn on_dynamodb_the_outboxs_emails_reach_the_contact_and_none_without_one() {
    the_outboxs_confirmation_and_cancellation_reach_the_contact_and_a_booking_without_one_sends_none(
        crate::harness::StoreKind::Dynamodb,
    )
    .await;
}

/// One round of a drainer: every new event fanned out, every due delivery claimed and attempted
/// once. Returns the attempts' outcomes.
async fn drain_once(deliverer: &shared::delivery::Deliverer) -> Vec<shared::store::Outcome> {
    let now = Utc::now();
    deliverer.fan_out_pending(100, now).await.unwrap();
    let claimed = deliverer
        .store
        .claim_deliveries(now, now + shared::delivery::LEASE, 100)
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    for delivery in claimed {
        outcomes.push(
            deliverer
                .attempt(&delivery, Utc::now)
                .await
                .unwrap()
                .outcome,
        );
    }
    outcomes
}

async fn the_email_channel_sends_the_manage_link_with_its_key_through_the_deliverer_retrying_a_451_and_then_erases_the_key(
    kind: crate::harness::StoreKind,
) {
    use crate::harness::{Event, assert_status};
    use crate::outbox::stored_anywhere;
    use shared::delivery::email::EmailChannel;
    use shared::delivery::{Backoff, Deliverer};
    use shared::store::Outcome;
    let sink = SmtpSink::start(1).await;
    let base = "https://book.example.com";
    let (t, store, env) = berlin_app_and_store(kind, Some(base)).await;
    let day = saturday(true, Utc::now());
    let (slot, reference, key) = book_evening(&t, day).await;
    let channel = EmailChannel::new(mailer(&sink), Some("https://book.example.com".into()));
    let deliverer = Deliverer {
        store: store.clone(),
        channels: vec![std::sync::Arc::new(channel)],
        // Try again at once: the test does not wait.
        backoff: Backoff(vec![0, 0]),
    };
    // Kept for the email until it is sent.
    assert!(stored_anywhere(&env, &key).await);
    // The first attempt is refused for now (451): tried again, not given up, the key kept.
    let first = drain_once(&deliverer).await;
    assert!(
        matches!(first.as_slice(), [Outcome::RetryAt(_)]),
        "{first:?}"
    );
    assert!(sink.received().is_empty());
    assert!(stored_anywhere(&env, &key).await);
    assert_eq!(drain_once(&deliverer).await, [Outcome::Delivered]);
    assert!(drain_once(&deliverer).await.is_empty(), "delivered once");
    // Sent: the key is nowhere in the store any more.
    assert!(!stored_anywhere(&env, &key).await);
    let files = sink.wait_for(1, Duration::from_secs(10)).await;
    let mail = read_mail(&files[0], "Europe/Berlin").await;
    assert_eq!(mail["envelope_to"], "ada@example.org");
    let text = mail["text"].as_str().unwrap();
    let link = format!("{base}/booking/{reference}#key={key}");
    assert!(text.contains(&link), "{link} in {text}");
    // The link as the booking page reads it: the key from the fragment, as a bearer.
    let (page, fragment) = link.split_once('#').unwrap();
    let from_link = fragment.strip_prefix("key=").unwrap();
    let path = page
        .strip_prefix(base)
        .unwrap()
        .replace("/booking/", "/bookings/");
    let opened = t.send(Event::get(&path).bearer(from_link)).await;
    assert_status(&opened, 200, None);
    assert_eq!(opened.body["reference"], reference);
    // The calendar file has the page, never the key.
    let ics = mail["calendar"].to_string();
    assert!(!ics.contains(&key), "{ics}");
    let event = &mail["calendar"]["events"][0];
    assert_eq!(event["uid"], format!("{reference}@book.example.com"));
    assert_eq!(event["start_utc"], utc_of(&slot["start_time"]));
    assert_eq!(event["start_local"], format!("{day}T18:00:00+02:00"));
}

#[tokio::test]
async fn on_sqlite_the_email_channel_sends_the_link_with_its_key_retries_a_451_and_erases_the_key()
{
    the_email_channel_sends_the_manage_link_with_its_key_through_the_deliverer_retrying_a_451_and_then_erases_the_key(
        crate::harness::StoreKind::Sqlite,
    )
    .await;
}

#[tokio::test]
async fn on_dynamodb_the_email_channel_sends_the_link_with_its_key_retries_a_451_and_erases_the_key()
 {
    the_email_channel_sends_the_manage_link_with_its_key_through_the_deliverer_retrying_a_451_and_then_erases_the_key(
        crate::harness::StoreKind::Dynamodb,
    )
    .await;
}

#[tokio::test]
async fn the_local_server_emails_a_booking_its_confirmation_after_answering() {
    use crate::processes::ServerProcess;
    let sink = SmtpSink::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = sink.url();
    let server = ServerProcess::start_with(
        &dir.path().join("mail.db"),
        &[
            ("SMTP_URL", url.as_str()),
            ("MAIL_FROM", "Escape Room <bookings@example.com>"),
            ("PUBLIC_BASE_URL", "https://book.example.com"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let slots: Value = client
        .get(server.url("/slots?room_id=r-101&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot = slots["slots"][0]["slot_id"].as_str().unwrap().to_owned();
    let hold: Value = client
        .post(server.url("/holds"))
        .json(&serde_json::json!({ "slot_id": slot, "user_id": "u-demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let confirmed = client
        .post(server.url(&format!(
            "/holds/{}/confirm",
            hold["hold_id"].as_str().unwrap()
        )))
        .json(
            &serde_json::json!({ "user_id": "u-demo", "contact": crate::contract::manage::ada() }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let confirmed: Value = confirmed.json().await.unwrap();
    let files = sink.wait_for(1, Duration::from_secs(15)).await;
    let mail = read_mail(&files[0], "Europe/Berlin").await;
    assert_eq!(mail["envelope_to"], "ada@example.org");
    assert_eq!(mail["calendar"]["method"], "REQUEST");
    // The link the confirm answered, key and all.
    let manage_url = confirmed["manage_url"].as_str().unwrap();
    assert!(manage_url.contains("#key="));
    assert!(
        mail["text"].as_str().unwrap().contains(manage_url),
        "{manage_url} in {}",
        mail["text"]
    );
    assert_eq!(
        mail["calendar"]["events"][0]["uid"],
        format!(
            "{}@book.example.com",
            confirmed["reference"].as_str().unwrap()
        )
    );
}
