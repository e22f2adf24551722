//! `template.yaml`'s monitoring and deployment: every function and every dead-letter queue has an
//! alarm, the stack-wide alarms watch what `docs/operations.md` says they do, every alarm notifies
//! the one topic, each function's canary is rolled back by its own alarm and the stack's, X-Ray
//! is behind a parameter, and the dashboard is JSON that shows every stack-wide alarm.
//! (cfn-lint, `sam validate --lint` and checkov check the rest: `scripts/check-template`.)

use std::collections::BTreeSet;

use serde_norway::Value;

use crate::template::{functions, get, intrinsic, intrinsic_str, resources, str_at, template};

/// The resources of type `kind`, as `(logical id, resource)`.
fn of_type<'t>(t: &'t Value, kind: &str) -> Vec<(String, &'t Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_owned(), r))
        .collect()
}

/// `(namespace, metric name, the dimensions' values as `!Ref`/`!GetAtt` targets or literals)` of
/// every metric an alarm reads, whether it is a single-metric alarm or a metric-math one.
fn metrics_of(alarm: &Value) -> Vec<(String, String, Vec<String>)> {
    let properties = get(alarm, "Properties");
    let dimension_values = |dimensions: Option<&Value>| -> Vec<String> {
        dimensions
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|d| {
                let value = get(d, "Value");
                intrinsic_str(value)
                    .map(|(_, target)| target)
                    .or_else(|| value.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect()
    };
    if let Some(name) = properties.get("MetricName").and_then(Value::as_str) {
        return vec![(
            str_at(properties, "Namespace").to_owned(),
            name.to_owned(),
            dimension_values(properties.get("Dimensions")),
        )];
    }
    get(properties, "Metrics")
        .as_sequence()
        .expect("Metrics is a list")
        .iter()
        .filter_map(|m| m.get("MetricStat"))
        .map(|stat| {
            let metric = get(stat, "Metric");
            (
                str_at(metric, "Namespace").to_owned(),
                str_at(metric, "MetricName").to_owned(),
                dimension_values(metric.get("Dimensions")),
            )
        })
        .collect()
}

/// The `!Ref` targets of a list of references (`AlarmActions`, `DeploymentPreference.Alarms`).
fn refs(list: Option<&Value>) -> BTreeSet<String> {
    list.and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(intrinsic_str)
        .filter(|(name, _)| name == "Ref")
        .map(|(_, target)| target)
        .collect()
}

#[test]
fn every_function_has_an_alarm_on_its_errors_and_throttles_that_also_rolls_back_its_canary() {
    let t = template();
    let alarms = resources(&t);
    let globals = refs(get(&t, "Globals.Function.DeploymentPreference").get("Alarms"));
    for function in functions(&t) {
        let name = function.logical_id.trim_end_matches("Function");
        let alarm_id = format!("{name}FailuresAlarm");
        let alarm = alarms
            .get(alarm_id.as_str())
            .unwrap_or_else(|| panic!("{}: no {alarm_id}", function.logical_id));
        let watched: BTreeSet<(String, String)> = metrics_of(alarm)
            .into_iter()
            .map(|(namespace, metric, dimensions)| {
                assert_eq!(namespace, "AWS/Lambda", "{alarm_id}");
                assert_eq!(
                    dimensions,
                    std::slice::from_ref(&function.logical_id),
                    "{alarm_id}"
                );
                (metric, dimensions[0].clone())
            })
            .collect();
        let expected: BTreeSet<(String, String)> = ["Errors", "Throttles"]
            .into_iter()
            .map(|m| (m.to_owned(), function.logical_id.clone()))
            .collect();
        assert_eq!(
            watched, expected,
            "{alarm_id} watches its function's errors and throttles"
        );
        let own = refs(
            function
                .resource
                .get("Properties")
                .and_then(|p| p.get("DeploymentPreference"))
                .and_then(|d| d.get("Alarms")),
        );
        assert!(
            own.contains(&alarm_id),
            "{}: its DeploymentPreference names {alarm_id} (its canary is rolled back by it)",
            function.logical_id
        );
        assert!(
            !globals.is_empty(),
            "the Globals' DeploymentPreference names alarms"
        );
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_which_the_alarm_email_parameter_subscribes_to() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    assert!(
        alarms.len() > functions(&t).len(),
        "an alarm per function and the stack's own"
    );
    for (id, alarm) in &alarms {
        let actions = refs(alarm.get("Properties").and_then(|p| p.get("AlarmActions")));
        assert_eq!(actions, BTreeSet::from(["AlarmTopic".to_owned()]), "{id}");
        let description = str_at(alarm, "Properties.AlarmDescription");
        assert!(
            description.contains("docs/operations.md"),
            "{id}: its description says where its runbook is"
        );
    }
    let subscription = &resources(&t)["AlarmEmailSubscription"];
    assert_eq!(str_at(subscription, "Condition"), "HasAlarmEmail");
    assert_eq!(str_at(subscription, "Properties.Protocol"), "email");
    assert_eq!(
        intrinsic_str(get(subscription, "Properties.Endpoint")),
        Some(("Ref".to_owned(), "AlarmEmail".to_owned()))
    );
    let runbook = std::fs::read_to_string(crate::template::repo().join("docs/operations.md"))
        .expect("docs/operations.md");
    for section in [
        "ApiServerErrors",
        "FunctionFailures",
        "TableThrottles",
        "TableSystemErrors",
        "HorizonMissed",
        "DeadLetters",
    ] {
        assert!(
            runbook.contains(&format!("### {section}")),
            "docs/operations.md has a runbook section for {section}"
        );
    }
}

#[test]
fn every_queue_has_an_alarm_that_fires_on_its_first_message() {
    let t = template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    for (queue, _) in of_type(&t, "AWS::SQS::Queue") {
        let alarm = alarms
            .iter()
            .find(|(_, alarm)| {
                metrics_of(alarm).iter().any(|(namespace, metric, dims)| {
                    namespace == "AWS/SQS"
                        && metric == "ApproximateNumberOfMessagesVisible"
                        && dims == &[format!("{queue}.QueueName")]
                })
            })
            .unwrap_or_else(|| panic!("{queue}: no alarm on its visible messages"));
        assert_eq!(
            get(alarm.1, "Properties.Threshold").as_u64(),
            Some(1),
            "{}",
            alarm.0
        );
    }
}

#[test]
fn the_stack_alarms_watch_the_api_5xx_rate_the_table_and_a_daily_job_missing_26_hours() {
    let t = template();
    let all = resources(&t);
    let api = metrics_of(&all["ApiServerErrorsAlarm"]);
    let api_metrics: BTreeSet<&str> = api.iter().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(api_metrics, BTreeSet::from(["5xx", "Count"]));
    assert!(
        api.iter()
            .all(|(ns, _, dims)| ns == "AWS/ApiGateway" && dims[0] == "HttpApi")
    );

    for (alarm, metrics) in [
        (
            "TableThrottlesAlarm",
            &["ReadThrottleEvents", "WriteThrottleEvents"][..],
        ),
        ("TableSystemErrorsAlarm", &["SystemErrors"][..]),
    ] {
        let watched = metrics_of(&all[alarm]);
        assert!(
            watched
                .iter()
                .all(|(ns, _, dims)| ns == "AWS/DynamoDB" && dims[0] == "Table")
        );
        let names: BTreeSet<&str> = watched.iter().map(|(_, m, _)| m.as_str()).collect();
        assert_eq!(names, metrics.iter().copied().collect(), "{alarm}");
    }
    // Every index of the table is in the throttles alarm.
    let indexes: BTreeSet<String> = get(&t, "Resources.Table.Properties.GlobalSecondaryIndexes")
        .as_sequence()
        .expect("indexes")
        .iter()
        .map(|i| str_at(i, "IndexName").to_owned())
        .collect();
    let watched_indexes: BTreeSet<String> = metrics_of(&all["TableThrottlesAlarm"])
        .into_iter()
        .filter_map(|(_, _, dims)| dims.get(1).cloned())
        .collect();
    assert_eq!(watched_indexes, indexes);

    let horizon = &all["HorizonMissedAlarm"];
    let properties = get(horizon, "Properties");
    let period = get(properties, "Metrics")
        .as_sequence()
        .expect("metrics")
        .iter()
        .filter_map(|m| m.get("MetricStat"))
        .map(|s| get(s, "Period").as_u64().expect("a period"))
        .max()
        .expect("a metric");
    let points = get(properties, "DatapointsToAlarm")
        .as_u64()
        .expect("a count");
    assert_eq!(period * points, 26 * 3600, "no success for 26 hours");
    assert_eq!(
        str_at(properties, "TreatMissingData"),
        "breaching",
        "no run is no success"
    );
    assert!(
        metrics_of(horizon)
            .iter()
            .all(|(_, _, dims)| dims == &["ExtendHorizonFunction".to_owned()])
    );
}

#[test]
fn functions_deploy_through_a_live_alias_by_the_chosen_strategy_with_tracing_behind_a_parameter() {
    let t = template();
    let globals = get(&t, "Globals.Function");
    assert_eq!(str_at(globals, "AutoPublishAlias"), "live");
    let preference = get(globals, "DeploymentPreference");
    assert_eq!(
        intrinsic_str(get(preference, "Type")),
        Some(("Ref".to_owned(), "DeploymentStrategy".to_owned()))
    );
    assert_eq!(
        refs(preference.get("Alarms")),
        BTreeSet::from([
            "ApiServerErrorsAlarm".to_owned(),
            "TableSystemErrorsAlarm".to_owned()
        ])
    );
    assert_eq!(
        str_at(&t, "Parameters.DeploymentStrategy.Default"),
        "Canary10Percent5Minutes",
        "a canary unless the operator chooses otherwise"
    );
    let (name, arg) = intrinsic(get(globals, "Tracing")).expect("Tracing is an !If");
    assert_eq!(name, "If");
    let parts: Vec<&str> = arg
        .as_sequence()
        .expect("[condition, then, else]")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(parts, ["HasTracing", "Active", "PassThrough"]);
    assert_eq!(str_at(&t, "Parameters.Tracing.Default"), "off");
}

#[test]
fn the_dashboard_is_json_and_shows_every_stack_wide_alarm() {
    let t = template();
    let body = get(&t, "Resources.Dashboard.Properties.DashboardBody");
    let (name, text) = intrinsic_str(body).expect("a !Sub");
    assert_eq!(name, "Sub");
    // Substitutions become plain strings; the rest must already be JSON.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("${") {
        plain.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closing brace") + start;
        plain.push('x');
        rest = &rest[end + 1..];
    }
    plain.push_str(rest);
    let json: serde_json::Value = serde_json::from_str(&plain).expect("the dashboard is JSON");
    assert!(json["widgets"].as_array().is_some_and(|w| w.len() >= 6));
    for alarm in resources(&t)
        .keys()
        .filter_map(Value::as_str)
        .filter(|id| id.ends_with("Alarm") && !id.ends_with("FailuresAlarm"))
    {
        assert!(
            text.contains(&format!("${{{alarm}.Arn}}")),
            "the dashboard's alarm widget shows {alarm}"
        );
    }
}
