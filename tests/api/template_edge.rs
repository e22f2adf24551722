//! `template.yaml`'s edge against hostile clients (issue 17): throttling on the stage and the hold
//! routes, a concurrency share per function, CORS only for named origins, the optional
//! CloudFront + WAF in front, the operators' tokens from SSM (read only by the operator
//! functions), and a reason beside every checkov finding skipped. `scripts/check-template` runs
//! checkov itself; these tests check what it cannot: that the settings are wired to the
//! parameters and that the parameters' stated sums are true.

use std::collections::BTreeSet;

use serde_norway::Value;

use crate::template::{
    Function, OPERATOR_FUNCTIONS, Statement, functions, get, intrinsic, intrinsic_str,
    operator_token_statements, player_key_statements, resources, str_at, template,
};

fn reference(name: &str) -> Option<(String, String)> {
    Some(("Ref".into(), name.into()))
}

fn number_default(t: &Value, parameter: &str) -> u64 {
    get(t, &format!("Parameters.{parameter}.Default"))
        .as_u64()
        .unwrap_or_else(|| panic!("{parameter}'s default is a number"))
}

fn http_api(t: &Value) -> &Value {
    resources(t)
        .values()
        .find(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
        .expect("an AWS::Serverless::HttpApi")
}

/// `!If [condition, then, else]` as its three parts.
fn if_parts(value: &Value) -> (&str, &Value, &Value) {
    let (name, arg) = intrinsic(value).unwrap_or_else(|| panic!("not an !If: {value:?}"));
    assert_eq!(name, "If", "{value:?}");
    let arg = arg.as_sequence().expect("!If list");
    (arg[0].as_str().expect("a condition name"), &arg[1], &arg[2])
}

#[test]
fn every_route_is_throttled_by_the_stage_and_the_hold_routes_more_tightly() {
    let t = template();
    let settings = get(http_api(&t), "Properties.DefaultRouteSettings");
    assert_eq!(
        intrinsic_str(get(settings, "ThrottlingRateLimit")),
        reference("ApiRateLimit")
    );
    assert_eq!(
        intrinsic_str(get(settings, "ThrottlingBurstLimit")),
        reference("ApiBurstLimit")
    );
    // The routes that take or move a slot: POST /holds and every POST /holds/{hold_id}/<action>.
    let mut throttled = BTreeSet::new();
    for f in functions(&t) {
        let events = get(&f.resource, "Properties.Events").as_mapping().unwrap();
        for event in events.values() {
            if str_at(event, "Type") != "HttpApi" {
                continue;
            }
            let (method, path) = (
                str_at(event, "Properties.Method"),
                str_at(event, "Properties.Path"),
            );
            let hold_write = method == "POST" && path.starts_with("/holds");
            match get(event, "Properties").get("RouteSettings") {
                Some(route) => {
                    assert!(hold_write, "{method} {path}: only the hold routes");
                    assert_eq!(
                        intrinsic_str(get(route, "ThrottlingRateLimit")),
                        reference("HoldRateLimit")
                    );
                    assert_eq!(
                        intrinsic_str(get(route, "ThrottlingBurstLimit")),
                        reference("HoldBurstLimit")
                    );
                    throttled.insert(format!("{method} {path}"));
                }
                None => assert!(!hold_write, "{method} {path} has its own limits"),
            }
        }
    }
    assert_eq!(
        throttled.into_iter().collect::<Vec<_>>(),
        [
            "POST /holds",
            "POST /holds/{hold_id}/cancel",
            "POST /holds/{hold_id}/confirm",
            "POST /holds/{hold_id}/extend",
            "POST /holds/{hold_id}/release",
        ]
    );
    assert!(number_default(&t, "HoldRateLimit") < number_default(&t, "ApiRateLimit"));
    assert!(number_default(&t, "HoldBurstLimit") < number_default(&t, "ApiBurstLimit"));
}

/// Each function reserves (and is capped at) `ReservedConcurrency`, the daily job 1; 0 reserves
/// nothing. The parameter's description states what the default reserves and the account quota
/// that needs (Lambda refuses a reservation that leaves under 100 unreserved): checked here.
#[test]
fn each_function_has_a_concurrency_share_whose_stated_sum_is_true() {
    let t = template();
    let (condition, then, otherwise) =
        if_parts(get(&t, "Globals.Function.ReservedConcurrentExecutions"));
    assert_eq!(condition, "HasReservedConcurrency");
    assert_eq!(intrinsic_str(then), reference("ReservedConcurrency"));
    assert_eq!(intrinsic_str(otherwise), reference("AWS::NoValue"));
    let mut reserved = 0;
    let per_function = number_default(&t, "ReservedConcurrency");
    let all = functions(&t);
    for f in &all {
        match get(&f.resource, "Properties").get("ReservedConcurrentExecutions") {
            None => reserved += per_function,
            Some(own) => {
                assert_eq!(
                    f.crate_name, "extend-horizon",
                    "only the daily job has its own"
                );
                let (condition, then, _) = if_parts(own);
                assert_eq!(condition, "HasReservedConcurrency");
                assert_eq!(then.as_u64(), Some(1), "one run at a time");
                reserved += 1;
            }
        }
    }
    let description = str_at(&t, "Parameters.ReservedConcurrency.Description");
    for stated in [
        format!("{} functions", all.len()),
        format!("reserve {reserved}"),
        format!("at least {}", reserved + 100),
    ] {
        assert!(
            description.contains(&stated),
            "{stated:?} in {description:?}"
        );
    }
}

#[test]
fn only_the_operator_functions_may_read_the_tokens_parameter_and_only_it() {
    let t = template();
    for f in functions(&t) {
        let granted = operator_token_statements(&f);
        if OPERATOR_FUNCTIONS.contains(&f.crate_name.as_str()) {
            reads_only_the_parameter(&f, &granted, "OperatorTokensParameter");
        } else {
            assert!(granted.is_empty(), "{}: {granted:?}", f.logical_id);
        }
    }
}

/// The functions of the routes that take a player's token (guest mode): the only ones that read
/// the players' token keys. The operator routes, `extend-horizon` and `$default` take none.
pub(crate) const PLAYER_TOKEN_FUNCTIONS: [&str; 16] = [
    "list-slots",
    "create-hold",
    "confirm-hold",
    "release-hold",
    "extend-hold",
    "cancel-hold",
    "get-hold",
    "list-user-holds",
    "list-rooms",
    "get-room",
    "get-schedule",
    "create-player",
    "get-service",
    // A player's token on the manage link's routes is refused (401), which needs its keys.
    "get-booking",
    "cancel-booking",
    "get-booking-calendar",
];

#[test]
fn only_the_functions_that_take_a_players_token_may_read_its_keys_and_only_in_guest_mode() {
    let t = template();
    for f in functions(&t) {
        let granted = player_key_statements(&f);
        if PLAYER_TOKEN_FUNCTIONS.contains(&f.crate_name.as_str()) {
            reads_only_the_parameter(&f, &granted, "PlayerTokenSecretParameter");
        } else {
            assert!(granted.is_empty(), "{}: {granted:?}", f.logical_id);
        }
    }
    assert_eq!(str_at(&t, "Parameters.PlayerAuth.Default"), "guest");
    assert_eq!(
        get(&t, "Parameters.PlayerAuth.AllowedValues"),
        &serde_norway::from_str::<serde_norway::Value>("[guest, trusted, jwt]").unwrap()
    );
    // A deployment chooses trusted or jwt explicitly; guest needs its keys, jwt its issuer.
    for rule in [
        "JwtModeNeedsIssuer",
        "IssuerMeansJwtMode",
        "GuestModeNeedsTokenSecret",
    ] {
        assert!(get(&t, "Rules").get(rule).is_some(), "{rule}");
    }
    let env = get(&t, "Globals.Function.Environment.Variables");
    for (variable, parameter) in [
        ("PLAYER_AUTH", "PlayerAuth"),
        ("PLAYER_TOKEN_TTL_DAYS", "PlayerTokenTtlDays"),
        (
            "PLAYER_TOKEN_SECRET_PARAMETER",
            "PlayerTokenSecretParameter",
        ),
    ] {
        assert_eq!(
            intrinsic_str(get(env, variable)),
            Some(("Ref".into(), parameter.into()))
        );
    }
}

/// `granted` is exactly: `ssm:GetParameter` on the SSM parameter named by `parameter`, and
/// `kms:Decrypt` only through SSM and only for it.
pub(crate) fn reads_only_the_parameter(f: &Function, granted: &[Statement], parameter: &str) {
    let arn = format!(
        "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{parameter}}}"
    );
    assert_eq!(granted.len(), 2, "{}", f.logical_id);
    let (actions, resources, condition) = &granted[0];
    assert_eq!(actions.iter().collect::<Vec<_>>(), ["ssm:GetParameter"]);
    assert_eq!(resources, &[format!("!Sub {arn}")]);
    assert!(condition.is_none());
    let (actions, _, condition) = &granted[1];
    assert_eq!(actions.iter().collect::<Vec<_>>(), ["kms:Decrypt"]);
    let condition = get(
        condition.as_ref().expect("kms:Decrypt is conditional"),
        "StringEquals",
    );
    assert_eq!(
        intrinsic_str(get(condition, "kms:ViaService")),
        Some(("Sub".into(), "ssm.${AWS::Region}.${AWS::URLSuffix}".into())),
        "only through SSM"
    );
    assert_eq!(
        intrinsic_str(get(condition, "kms:EncryptionContext:PARAMETER_ARN")),
        Some(("Sub".into(), arn)),
        "only for this parameter"
    );
}

#[test]
fn the_edge_is_off_by_default_and_when_on_puts_a_rate_rule_per_address_in_front() {
    let t = template();
    assert_eq!(str_at(&t, "Parameters.EdgeProtection.Default"), "off");
    let acl = get(&t, "Resources.EdgeWebAcl");
    let distribution = get(&t, "Resources.EdgeDistribution");
    for resource in [acl, distribution, get(&t, "Outputs.EdgeUrl")] {
        assert_eq!(str_at(resource, "Condition"), "HasEdge");
    }
    assert_eq!(str_at(acl, "Properties.Scope"), "CLOUDFRONT");
    let rules = get(acl, "Properties.Rules").as_sequence().unwrap();
    let rate = rules
        .iter()
        .find_map(|r| get(r, "Statement").get("RateBasedStatement"))
        .expect("a rate-based rule");
    assert_eq!(
        intrinsic_str(get(rate, "Limit")),
        reference("EdgeRateLimit")
    );
    assert_eq!(str_at(rate, "AggregateKeyType"), "IP");
    assert_eq!(
        intrinsic_str(get(distribution, "Properties.DistributionConfig.WebACLId")),
        Some(("GetAtt".into(), "EdgeWebAcl.Arn".into()))
    );
    let origin = &get(distribution, "Properties.DistributionConfig.Origins")
        .as_sequence()
        .unwrap()[0];
    assert!(
        intrinsic_str(get(origin, "DomainName"))
            .is_some_and(|(_, domain)| domain.starts_with("${HttpApi}.execute-api.")),
        "the API is its origin"
    );
}

#[test]
fn the_daily_job_keeps_its_failed_runs_in_an_encrypted_dead_letter_queue() {
    let t = template();
    let f = functions(&t)
        .into_iter()
        .find(|f| f.crate_name == "extend-horizon")
        .unwrap();
    let dlq = get(&f.resource, "Properties.DeadLetterQueue");
    assert_eq!(str_at(dlq, "Type"), "SQS");
    let (_, queue) = intrinsic_str(get(dlq, "TargetArn")).expect("!GetAtt <queue>.Arn");
    let queue = get(&t, &format!("Resources.{}", queue.trim_end_matches(".Arn")));
    assert_eq!(str_at(queue, "Type"), "AWS::SQS::Queue");
    assert_eq!(
        get(queue, "Properties.SqsManagedSseEnabled"),
        &Value::Bool(true)
    );
}

/// checkov runs in `scripts/check-template` without a soft fail: a finding is fixed, or skipped on
/// its resource with a reason a reader can weigh.
#[test]
fn every_checkov_skip_names_a_check_and_gives_a_one_line_reason() {
    let t = template();
    let mut skipped = 0;
    for (id, resource) in resources(&t) {
        let Some(skips) = resource
            .get("Metadata")
            .and_then(|m| m.get("checkov"))
            .map(|c| get(c, "skip").as_sequence().expect("a list of skips"))
        else {
            continue;
        };
        let mut ids = BTreeSet::new();
        for skip in skips {
            let check = str_at(skip, "id");
            let reason = str_at(skip, "comment");
            assert!(
                check.starts_with("CKV_AWS_") || check.starts_with("CKV2_AWS_"),
                "{id:?}: {check}"
            );
            assert!(ids.insert(check), "{id:?}: {check} skipped twice");
            assert!(
                (30..=200).contains(&reason.len()) && !reason.contains('\n'),
                "{id:?} {check}: one line of reason: {reason:?}"
            );
            skipped += 1;
        }
    }
    assert!(skipped > 0);
}
