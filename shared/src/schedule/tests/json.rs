//! The JSON form: upper-case days, `HH:MM` starts, ISO dates, and nothing else.

use super::*;

#[test]
fn the_json_form_has_upper_case_days_hh_mm_starts_and_iso_dates() {
    let json = r#"{"weekly":[{"days":["MON","SUN"],"starts":["10:00","13:30"]}],"closed":[{"from":"2026-12-24","to":"2026-12-26","reason":"Christmas"}]}"#;
    let parsed: Schedule = serde_json::from_str(json).unwrap();
    assert_eq!(
        parsed,
        Schedule {
            weekly: vec![weekly(&[Mon, Sun], &["10:00", "13:30"])],
            closed: vec![Closure {
                from: d("2026-12-24"),
                to: d("2026-12-26"),
                reason: "Christmas".into(),
            }],
        }
    );
    assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
}

#[test]
fn closed_and_reason_may_be_left_out_of_the_json_form() {
    let parsed: Schedule =
        serde_json::from_str(r#"{"weekly":[{"days":["TUE"],"starts":["09:05"]}]}"#).unwrap();
    assert_eq!(parsed, schedule(vec![weekly(&[Tue], &["09:05"])]));
    let parsed: Schedule =
        serde_json::from_str(r#"{"weekly":[],"closed":[{"from":"2026-01-01","to":"2026-01-01"}]}"#)
            .unwrap();
    assert_eq!(parsed.closed[0].reason, "");
}

#[test]
fn the_json_form_refuses_other_spellings_of_days_times_and_dates_and_unknown_fields() {
    let refused = [
        r#"{"weekly":[{"days":["Mon"],"starts":["10:00"]}]}"#,
        r#"{"weekly":[{"days":["MONDAY"],"starts":["10:00"]}]}"#,
        r#"{"weekly":[{"days":["MON"],"starts":["10:0"]}]}"#,
        r#"{"weekly":[{"days":["MON"],"starts":["24:00"]}]}"#,
        r#"{"weekly":[{"days":["MON"],"starts":["10:00:00"]}]}"#,
        r#"{"weekly":[{"days":["MON"],"starts":["10h00"]}]}"#,
        r#"{"weekly":[],"closed":[{"from":"2026-2-01","to":"2026-02-03"}]}"#,
        r#"{"weekly":[],"closed":[{"from":"2026-02-30","to":"2026-03-03"}]}"#,
        r#"{"weekly":[],"close":[]}"#,
        r#"{"weekly":[{"days":["MON"],"starts":["10:00"],"start":["11:00"]}]}"#,
    ];
    for json in refused {
        assert!(
            serde_json::from_str::<Schedule>(json).is_err(),
            "{json} was read"
        );
    }
    let error = serde_json::from_str::<Schedule>(refused[0])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(r#"unknown day "Mon": expected one of MON, TUE"#),
        "{error}"
    );
}
