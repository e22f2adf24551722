//! The business counters on Lambda as CloudWatch Embedded Metric Format lines: a `metrics`
//! recorder whose counters write one JSON line to stdout per increment, which CloudWatch Logs
//! turns into metrics of the namespace [`NAMESPACE`] — no API call on the request path, nothing
//! kept in memory. Only the counters of [`BUSINESS`] are written (requests and latencies are
//! API Gateway's and Lambda's own metrics there); every other metric is a no-op.

use std::sync::Arc;

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// The CloudWatch namespace of the counters.
pub const NAMESPACE: &str = "EscapeRoom";

/// The counters written as EMF lines (the names of `shared::http::metrics`).
pub const BUSINESS: &[&str] = &[
    "holds_created_total",
    "holds_refused_total",
    "confirms_total",
    "cancellations_total",
];

/// The recorder ([`install`]).
struct Emf;

/// One counter with its labels as the line's dimensions.
struct Line {
    name: String,
    labels: Vec<(String, String)>,
}

impl CounterFn for Line {
    fn increment(&self, value: u64) {
        println!(
            "{}",
            self.render(value, chrono::Utc::now().timestamp_millis())
        );
    }

    fn absolute(&self, value: u64) {
        self.increment(value);
    }
}

impl Line {
    /// The EMF JSON line for `value` at `millis`.
    fn render(&self, value: u64, millis: i64) -> String {
        let dimensions: Vec<&str> = self.labels.iter().map(|(k, _)| k.as_str()).collect();
        let mut line = serde_json::json!({
            "_aws": {
                "Timestamp": millis,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": [{ "Name": self.name, "Unit": "Count" }],
                }],
            },
        });
        if let Some(fields) = line.as_object_mut() {
            for (k, v) in &self.labels {
                fields.insert(k.clone(), v.clone().into());
            }
            fields.insert(self.name.clone(), value.into());
        }
        line.to_string()
    }
}

impl Recorder for Emf {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if !BUSINESS.contains(&key.name()) {
            return Counter::noop();
        }
        Counter::from_arc(Arc::new(Line {
            name: key.name().to_owned(),
            labels: key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
        }))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Makes the EMF recorder the process's (once; a second call changes nothing).
pub fn install() {
    let _already_set = metrics::set_global_recorder(Emf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_hold_is_one_emf_line_with_its_reason_as_a_dimension() {
        let line = Line {
            name: "holds_refused_total".into(),
            labels: vec![("reason".into(), "SLOT_UNAVAILABLE".into())],
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&line.render(1, 1_764_000_000_000)).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "_aws": {
                    "Timestamp": 1_764_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "EscapeRoom",
                        "Dimensions": [["reason"]],
                        "Metrics": [{ "Name": "holds_refused_total", "Unit": "Count" }],
                    }],
                },
                "reason": "SLOT_UNAVAILABLE",
                "holds_refused_total": 1,
            })
        );
    }
}
