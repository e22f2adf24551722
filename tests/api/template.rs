//! `template.yaml` (AWS SAM) against the code it deploys: the routes (template = the route table
//! `shared::route::ROUTES` = crates under `functions/` = workspace members = the `cargo lambda
//! watch` router, plus exactly one `$default` route function for everything else), the table's
//! keys (= the DynamoDB adapter's constants), and each function's permissions (only the table,
//! only the calls its store operation makes; none for the `$default` function).
//!
//! `scripts/check-template` lints the same file with cfn-lint and `sam validate`; these tests
//! check what a linter cannot know.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lambda_http::http::Method;
use serde_norway::{Mapping, Value};
use shared::route::{
    self, DEFAULT_ROUTE_FUNCTION, Matched, ROUTES, SCHEDULED_FUNCTIONS, STREAM_FUNCTIONS,
};
use shared::store::dynamo::{GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, TTL};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `template.yaml`, parsed; CloudFormation's short-form tags (`!Ref`, `!GetAtt`, `!Sub`, `!If`)
/// come back as tagged values.
pub fn template() -> Value {
    let path = repo().join("template.yaml");
    serde_norway::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An intrinsic function as `(name, argument)`, in short (`!GetAtt X.Arn`) or long
/// (`{"Fn::GetAtt": …}`) form; names without the `Fn::` prefix.
pub(crate) fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arg) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::"))
                .then(|| (key.trim_start_matches("Fn::").to_owned(), arg))
        }
        _ => None,
    }
}

/// `value` as `!Name "arg"` (e.g. `!GetAtt Table.Arn`, `!Ref Table`), if it is one.
pub(crate) fn intrinsic_str(value: &Value) -> Option<(String, String)> {
    let (name, arg) = intrinsic(value)?;
    let arg = match arg {
        Value::String(s) => s.clone(),
        // `Fn::GetAtt: [Table, Arn]`
        Value::Sequence(parts) => parts
            .iter()
            .map(|p| p.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("."),
        _ => return None,
    };
    Some((name, arg))
}

pub(crate) fn get<'v>(value: &'v Value, path: &str) -> &'v Value {
    path.split('.').fold(value, |v, key| {
        v.get(key)
            .unwrap_or_else(|| panic!("template.yaml: no `{key}` in `{path}`"))
    })
}

pub(crate) fn str_at<'v>(value: &'v Value, path: &str) -> &'v str {
    get(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("template.yaml: `{path}` is not a string"))
}

pub(crate) fn resources(t: &Value) -> &Mapping {
    get(t, "Resources")
        .as_mapping()
        .expect("Resources is a map")
}

/// One `AWS::Serverless::Function` of the template.
#[derive(Debug)]
pub struct Function {
    pub logical_id: String,
    /// The crate under `functions/` (`CodeUri`).
    pub crate_name: String,
    /// `(method, path)` of each of its `HttpApi` events.
    pub routes: Vec<(Method, String)>,
    pub resource: Value,
}

pub fn functions(t: &Value) -> Vec<Function> {
    resources(t)
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function"))
        .map(|(id, resource)| {
            let logical_id = id.as_str().unwrap_or_default().to_owned();
            let code_uri = str_at(resource, "Properties.CodeUri");
            let crate_name = code_uri
                .strip_prefix("functions/")
                .unwrap_or_else(|| {
                    panic!("{logical_id}: CodeUri {code_uri} is not functions/<crate>")
                })
                .trim_end_matches('/')
                .to_owned();
            let routes = resource
                .get("Properties")
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
                .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some("HttpApi"))
                .map(|(_, event)| {
                    let method = str_at(event, "Properties.Method");
                    let path = str_at(event, "Properties.Path").to_owned();
                    (
                        Method::from_bytes(method.as_bytes()).expect("an HTTP method"),
                        path,
                    )
                })
                .collect();
            Function {
                logical_id,
                crate_name,
                routes,
                resource: resource.clone(),
            }
        })
        .collect()
}

/// The path of the HTTP API's `$default` route (with `Method: ANY`): API Gateway sends it every
/// request that no other route matches.
pub const DEFAULT_ROUTE: (&str, &str) = ("ANY", "$default");

/// Every `HttpApi` event of the template, the `$default` route included: `(method, path)` →
/// the crate that serves it.
fn all_template_routes() -> BTreeMap<(String, String), String> {
    let mut all = BTreeMap::new();
    for f in functions(&template()) {
        for (method, path) in f.routes {
            let previous = all.insert((method.to_string(), path), f.crate_name.clone());
            assert!(previous.is_none(), "{}: a route bound twice", f.logical_id);
        }
    }
    all
}

fn is_default_route(key: &(String, String)) -> bool {
    (key.0.as_str(), key.1.as_str()) == DEFAULT_ROUTE
}

/// The template's contract routes: `(method, path template)` → the crate that serves it (the
/// `$default` route is [`default_route_crate`]).
pub fn routes() -> BTreeMap<(String, String), String> {
    all_template_routes()
        .into_iter()
        .filter(|(key, _)| !is_default_route(key))
        .collect()
}

/// The crate bound to the `$default` route (exactly one).
pub fn default_route_crate() -> String {
    let bound: Vec<String> = all_template_routes()
        .into_iter()
        .filter(|(key, _)| is_default_route(key))
        .map(|(_, crate_name)| crate_name)
        .collect();
    assert_eq!(bound.len(), 1, "exactly one $default route: {bound:?}");
    bound[0].clone()
}

/// The functions of operator routes: the only ones given the operator token.
/// (`cancel-hold` serves players too: an operator cancels any booking with a reason.)
/// (`get-schedule` serves players too: only an operator reads closure reasons.)
pub(crate) const OPERATOR_FUNCTIONS: [&str; 14] = [
    "put-room",
    "retire-room",
    "put-schedule",
    "preview-schedule",
    "get-schedule",
    "list-room-bookings",
    "cancel-hold",
    "get-calendar-feed",
    "rotate-calendar-feed",
    "create-webhook",
    "list-webhooks",
    "delete-webhook",
    "list-webhook-deliveries",
    "enable-webhook",
];

/// The route table: `(method, path template)` → the function that serves it.
fn table_routes() -> BTreeMap<(String, String), String> {
    ROUTES
        .iter()
        .map(|r| {
            (
                (r.method.to_owned(), r.path.to_owned()),
                r.function.to_owned(),
            )
        })
        .collect()
}

/// The crates under `functions/`.
fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("functions"))
        .expect("functions/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A file of the crate `functions/<function>/`, as text.
fn function_file(function: &str, file: &str) -> String {
    read(&repo().join("functions").join(function).join(file))
}

/// The workspace's `Cargo.toml`, as text.
fn workspace_manifest() -> String {
    read(&repo().join("Cargo.toml"))
}

/// A function's `main.rs` names its route in a `const` block (`shared::Endpoint`), so the
/// binary refers to that route's handler only and the linker leaves the others out of its zip.
#[test]
fn every_route_function_names_its_own_route_at_compile_time_so_its_zip_carries_no_other_handler() {
    let squeezed = |text: &str| text.split_whitespace().collect::<String>();
    for spec in ROUTES {
        let main = function_file(spec.function, "src/main.rs");
        let wiring = format!(
            "app.handle(const {{ Endpoint::of(Route::{:?}) }},",
            spec.route
        );
        assert!(
            squeezed(&main).contains(&squeezed(&wiring)),
            "functions/{}/src/main.rs answers with `{wiring}`",
            spec.function
        );
    }
}

#[test]
fn the_template_routes_are_the_route_table_and_one_default_route() {
    assert_eq!(
        routes(),
        table_routes(),
        "template.yaml's routes vs shared::route::ROUTES"
    );
    assert_eq!(default_route_crate(), DEFAULT_ROUTE_FUNCTION);
    // Each route has its own function, and `$default` yet another.
    let all = all_template_routes();
    let crates: BTreeSet<&String> = all.values().collect();
    assert_eq!(crates.len(), all.len(), "one function per route: {all:?}");
}

#[test]
fn every_function_of_the_route_table_is_a_crate_a_workspace_member_and_deployed_once() {
    let t = template();
    let functions = functions(&t);
    let deployed: BTreeSet<String> = functions.iter().map(|f| f.crate_name.clone()).collect();
    assert_eq!(
        deployed.len(),
        functions.len(),
        "a crate deployed twice: {functions:#?}"
    );
    let table: BTreeSet<String> = ROUTES
        .iter()
        .map(|r| r.function)
        .chain([DEFAULT_ROUTE_FUNCTION])
        .chain(SCHEDULED_FUNCTIONS.iter().copied())
        .chain(STREAM_FUNCTIONS.iter().copied())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        deployed, table,
        "template.yaml functions vs the route table"
    );
    assert_eq!(
        function_crates(),
        table,
        "the crates under functions/ vs the route table"
    );
    let manifest = workspace_manifest();
    for name in &table {
        assert!(
            manifest.contains(&format!("\"functions/{name}\"")),
            "functions/{name} is a workspace member"
        );
    }
    for f in &functions {
        if SCHEDULED_FUNCTIONS.contains(&f.crate_name.as_str()) {
            // A scheduled function has one event: its daily EventBridge rule, and no route.
            assert!(f.routes.is_empty(), "{}: no route", f.logical_id);
            let events = get(&f.resource, "Properties.Events")
                .as_mapping()
                .expect("events");
            assert_eq!(events.len(), 1, "{}", f.logical_id);
            let (_, event) = events.iter().next().expect("one event");
            assert_eq!(str_at(event, "Type"), "Schedule");
            assert_eq!(str_at(event, "Properties.Schedule"), "rate(1 day)");
            continue;
        }
        if STREAM_FUNCTIONS.contains(&f.crate_name.as_str()) {
            // Fed by the table's stream (a mapping of its own: `stream_mapping`) and a schedule:
            // one event, its one-minute EventBridge rule, and no route.
            assert!(f.routes.is_empty(), "{}: no route", f.logical_id);
            let events = get(&f.resource, "Properties.Events")
                .as_mapping()
                .expect("events");
            assert_eq!(events.len(), 1, "{}", f.logical_id);
            let (_, event) = events.iter().next().expect("one event");
            assert_eq!(str_at(event, "Type"), "Schedule");
            assert_eq!(str_at(event, "Properties.Schedule"), "rate(1 minute)");
            assert!(
                stream_mapping(&t, &f.logical_id).is_some(),
                "{}",
                f.logical_id
            );
            assert_eq!(
                str_at(&f.resource, "Metadata.BuildProperties.Binary"),
                f.crate_name
            );
            continue;
        }
        assert_eq!(f.routes.len(), 1, "{}: one HttpApi event", f.logical_id);
        assert_eq!(
            str_at(&f.resource, "Metadata.BuildProperties.Binary"),
            f.crate_name,
            "{}: the binary is the crate's",
            f.logical_id
        );
    }
}

#[test]
fn the_default_route_function_is_built_without_the_dynamodb_store() {
    let manifest = function_file(DEFAULT_ROUTE_FUNCTION, "Cargo.toml");
    assert!(
        manifest.contains("shared.workspace = true") && !manifest.contains("dynamodb"),
        "functions/{DEFAULT_ROUTE_FUNCTION} opens no store: {manifest}"
    );
    for spec in ROUTES {
        let manifest = function_file(spec.function, "Cargo.toml");
        assert!(
            manifest.contains(r#"features = ["dynamodb"]"#),
            "functions/{} serves from DynamoDB on AWS: {manifest}",
            spec.function
        );
    }
}

#[test]
fn the_router_finds_every_route_of_the_table_with_its_path_parameters() {
    let values = [
        ("hold_id", "3f0c2a9e-6b1d-4c8e-9a57-0d2b6f4e1c33"),
        ("user_id", "u-demo"),
        ("room_id", "r-101"),
        ("reference", "7K3QX9MD2P"),
        ("webhook_id", "wh_3f2a9c1e7b4d4e0f9a8b7c6d5e4f3a2b"),
    ];
    for spec in ROUTES {
        let mut concrete = spec.path.to_owned();
        let mut expected: Vec<(&str, &str)> = Vec::new();
        for (name, value) in values {
            let placeholder = format!("{{{name}}}");
            if concrete.contains(&placeholder) {
                concrete = concrete.replace(&placeholder, value);
                expected.push((name, value));
            }
        }
        assert!(
            !concrete.contains('{'),
            "a value for each parameter of {}",
            spec.path
        );
        assert_eq!(
            route::find(spec.method, &concrete),
            Matched::Route(spec.route, expected),
            "{} {}",
            spec.method,
            spec.path
        );
    }
}

/// The `[workspace.metadata.lambda.watch.router]` table of `Cargo.toml`: `path = [{ method,
/// function }]` lines, read as the route table they must equal.
fn lambda_watch_routes() -> BTreeMap<(String, String), String> {
    let manifest = workspace_manifest();
    let section = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("a cargo lambda watch router in Cargo.toml");
    let mut routes = BTreeMap::new();
    for line in section.lines().take_while(|l| !l.starts_with('[')) {
        let Some((path, entries)) = line.split_once('=') else {
            continue;
        };
        let path = path.trim().trim_matches('"').to_owned();
        for entry in entries.split('{').skip(1) {
            let field = |name: &str| {
                entry
                    .split(&format!("{name} = \""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned()
            };
            routes.insert((field("method"), path.clone()), field("function"));
        }
    }
    routes
}

/// `openapi.yaml`'s operations: `(METHOD, path)` → `operationId`.
fn openapi_operations() -> BTreeMap<(String, String), String> {
    let path = repo().join("openapi.yaml");
    let doc: Value =
        serde_norway::from_str(&read(&path)).unwrap_or_else(|e| panic!("openapi.yaml: {e}"));
    assert!(
        str_at(&doc, "openapi").starts_with("3.1"),
        "an OpenAPI 3.1 document"
    );
    let mut operations = BTreeMap::new();
    let paths = get(&doc, "paths").as_mapping().expect("paths");
    for (path, item) in paths {
        let path = path.as_str().expect("a path").to_owned();
        for (method, operation) in item.as_mapping().expect("a path item") {
            let method = method.as_str().expect("a method");
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                let id = str_at(operation, "operationId").to_owned();
                operations.insert((method.to_ascii_uppercase(), path.clone()), id);
            }
        }
    }
    operations
}

#[test]
fn the_openapi_operations_are_the_route_table_the_template_and_the_functions() {
    let operations = openapi_operations();
    assert_eq!(
        operations,
        table_routes(),
        "openapi.yaml (operationId = function) vs shared::route::ROUTES"
    );
    assert_eq!(operations, routes(), "openapi.yaml vs template.yaml");
    let functions: BTreeSet<String> = operations.into_values().collect();
    let mut crates = function_crates();
    crates.remove(DEFAULT_ROUTE_FUNCTION);
    for scheduled in SCHEDULED_FUNCTIONS.iter().chain(STREAM_FUNCTIONS) {
        crates.remove(*scheduled);
    }
    assert_eq!(
        functions, crates,
        "openapi.yaml vs the crates under functions/"
    );
}

#[test]
fn the_cargo_lambda_watch_router_is_the_route_table() {
    assert_eq!(lambda_watch_routes(), table_routes());
}

/// The OpenAPI body guards each operation with `!If [HasJwtAuthorizer, [{JwtAuthorizer: []}],
/// !Ref AWS::NoValue]`.
fn guarded_by_the_condition(security: &Value) -> bool {
    let Some((name, Value::Sequence(args))) = intrinsic(security) else {
        return false;
    };
    let requirement: Value = serde_norway::from_str("[{JwtAuthorizer: []}]").expect("literal YAML");
    name == "If"
        && args.len() == 3
        && args[0].as_str() == Some("HasJwtAuthorizer")
        && args[1] == requirement
        && intrinsic_str(&args[2]) == Some(("Ref".into(), "AWS::NoValue".into()))
}

#[test]
fn with_a_jwt_issuer_every_route_requires_the_authorizer_and_without_one_none_does() {
    let t = template();
    let api = resources(&t)
        .values()
        .find(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
        .expect("an AWS::Serverless::HttpApi");
    let body = get(api, "Properties.DefinitionBody");
    let mut guarded = BTreeSet::new();
    for (path, item) in get(body, "paths").as_mapping().expect("paths") {
        for (method, operation) in item.as_mapping().expect("path item") {
            let method = method.as_str().unwrap_or_default().to_ascii_uppercase();
            let path = path.as_str().unwrap_or_default().to_owned();
            // The manage link's routes take the booking's key as their bearer, the staff feed
            // its key in the URL: never a JWT.
            if path.starts_with("/bookings/") || path == "/rooms/{room_id}/calendar.ics" {
                assert_eq!(
                    get(operation, "security"),
                    &Value::Sequence(vec![]),
                    "{method} {path}: exempt from the authorizer (security: [])"
                );
                guarded.insert((method, path));
                continue;
            }
            assert!(
                guarded_by_the_condition(get(operation, "security")),
                "{method} {path}: security must be the HasJwtAuthorizer !If"
            );
            guarded.insert((method, path));
        }
    }
    assert_eq!(
        guarded,
        routes().into_keys().collect(),
        "every contract route, and only those, is guarded"
    );
    // Deliberately: the `$default` route (404/405 answers, no data) is not behind the authorizer.
    let paths = get(body, "paths").as_mapping().expect("paths");
    assert!(
        !paths.contains_key("$default") && !paths.contains_key("/$default"),
        "the $default route is exempt from the authorizer"
    );

    // The scheme exists only under the condition, configured from the two parameters.
    let (name, args) = intrinsic(get(body, "components")).expect("components: !If");
    let args = args.as_sequence().expect("!If arguments");
    assert_eq!(
        (name.as_str(), args[0].as_str()),
        ("If", Some("HasJwtAuthorizer"))
    );
    let authorizer = get(
        &args[1],
        "securitySchemes.JwtAuthorizer.x-amazon-apigateway-authorizer",
    );
    assert_eq!(str_at(authorizer, "type"), "jwt");
    assert_eq!(
        str_at(authorizer, "identitySource"),
        "$request.header.Authorization"
    );
    assert_eq!(
        intrinsic_str(get(authorizer, "jwtConfiguration.issuer")),
        Some(("Ref".into(), "JwtIssuer".into()))
    );
    let audience = get(authorizer, "jwtConfiguration.audience")
        .as_sequence()
        .expect("audience list");
    assert_eq!(
        intrinsic_str(&audience[0]),
        Some(("Ref".into(), "JwtAudience".into()))
    );
    assert_eq!(
        intrinsic_str(&args[2]),
        Some(("Ref".into(), "AWS::NoValue".into()))
    );

    // No authorizer by default; the condition is "an issuer was given".
    for parameter in ["JwtIssuer", "JwtAudience"] {
        assert_eq!(str_at(&t, &format!("Parameters.{parameter}.Default")), "");
    }
    let (not, inner) = intrinsic(get(&t, "Conditions.HasJwtAuthorizer")).expect("!Not");
    assert_eq!(not, "Not");
    let (equals, operands) = intrinsic(&inner[0]).expect("!Equals");
    assert_eq!(equals, "Equals");
    assert_eq!(
        intrinsic_str(&operands[0]),
        Some(("Ref".into(), "JwtIssuer".into()))
    );
    assert_eq!(operands[1].as_str(), Some(""));
}

/// One statement of a function's policy: its actions, its resources as written, and its
/// conditions.
pub(crate) type Statement = (BTreeSet<String>, Vec<String>, Option<Value>);

/// The policy documents of a function's `Policies` (none without them) under `condition`: `None`
/// for the unconditional ones, `Some("HasOperatorTokens")` for the operators' tokens' SSM
/// parameter, `Some("IsGuestMode")` for the players' token keys' one.
fn documents(f: &Function, condition: Option<&str>) -> Vec<Value> {
    let Some(policies) = get(&f.resource, "Properties").get("Policies") else {
        return Vec::new();
    };
    let policies = policies.as_sequence().expect("Policies list");
    policies
        .iter()
        .filter_map(|policy| match intrinsic(policy) {
            Some((name, arg)) => {
                assert_eq!(name, "If", "{}: {policy:?}", f.logical_id);
                let arg = arg.as_sequence().expect("!If [condition, then, else]");
                let named = arg[0].as_str();
                assert!(
                    matches!(
                        named,
                        Some("HasOperatorTokens" | "IsGuestMode" | "HasMailParameter")
                    ),
                    "{}: {named:?}",
                    f.logical_id
                );
                assert_eq!(
                    intrinsic_str(&arg[2]),
                    Some(("Ref".into(), "AWS::NoValue".into())),
                    "{}: nothing without the parameter",
                    f.logical_id
                );
                (named == condition).then(|| arg[1].clone())
            }
            None => {
                assert!(
                    policy.is_mapping(),
                    "{}: only inline policy documents, no managed policy or SAM policy template: {policy:?}",
                    f.logical_id
                );
                condition.is_none().then(|| policy.clone())
            }
        })
        .collect()
}

/// The statements of `documents`.
fn statements_of(f: &Function, documents: Vec<Value>) -> Vec<Statement> {
    documents
        .iter()
        .flat_map(|policy| {
            get(policy, "Statement")
                .as_sequence()
                .expect("Statement list")
                .clone()
        })
        .map(|statement| {
            assert_eq!(str_at(&statement, "Effect"), "Allow", "{}", f.logical_id);
            let list = |key: &str| -> Vec<&Value> {
                match get(&statement, key) {
                    Value::Sequence(items) => items.iter().collect(),
                    one => vec![one],
                }
            };
            let actions = list("Action")
                .into_iter()
                .map(|a| a.as_str().expect("action").to_owned())
                .collect();
            let resources = list("Resource")
                .into_iter()
                .map(|r| match intrinsic_str(r) {
                    Some((name, arg)) => format!("!{name} {arg}"),
                    None => panic!("{}: resource {r:?} is not a reference", f.logical_id),
                })
                .collect();
            (actions, resources, statement.get("Condition").cloned())
        })
        .collect()
}

/// What a function's policies allow on the table: `(actions, resources as written, conditions)`
/// per statement (none without `Policies`). The stream function's reading of the stream and
/// sending to its on-failure queue are [`stream_statements`].
pub(crate) fn statements(f: &Function) -> Vec<Statement> {
    statements_of(f, documents(f, None))
        .into_iter()
        .filter(|s| !is_stream_statement(s))
        .collect()
}

/// A statement on the table's stream or a queue, not on the table's items.
fn is_stream_statement((actions, resources, _): &Statement) -> bool {
    actions.iter().any(|a| a.starts_with("sqs:"))
        || resources
            .iter()
            .any(|r| r.contains("StreamArn") || r.contains("/stream/"))
}

/// What a function may do with the table's stream and its on-failure queue.
pub(crate) fn stream_statements(f: &Function) -> Vec<Statement> {
    statements_of(f, documents(f, None))
        .into_iter()
        .filter(is_stream_statement)
        .collect()
}

/// What the function may do with the SMTP URL's SSM parameter, only when it is set.
pub(crate) fn mail_parameter_statements(f: &Function) -> Vec<Statement> {
    statements_of(f, documents(f, Some("HasMailParameter")))
}

/// The `AWS::Lambda::EventSourceMapping` that feeds the function `logical_id` (its alias).
pub(crate) fn stream_mapping<'t>(t: &'t Value, logical_id: &str) -> Option<&'t Value> {
    resources(t).values().find(|r| {
        r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::EventSourceMapping")
            && intrinsic_str(get(r, "Properties.FunctionName"))
                == Some(("Ref".into(), format!("{logical_id}.Alias")))
    })
}

/// What the function may do with the operators' tokens' SSM parameter, only when it is set.
pub(crate) fn operator_token_statements(f: &Function) -> Vec<Statement> {
    statements_of(f, documents(f, Some("HasOperatorTokens")))
}

/// What the function may do with the players' token keys' SSM parameter, only in guest mode.
pub(crate) fn player_key_statements(f: &Function) -> Vec<Statement> {
    statements_of(f, documents(f, Some("IsGuestMode")))
}

const TABLE: &str = "!GetAtt Table.Arn";

fn index() -> String {
    format!("!Sub ${{Table.Arn}}/index/{GSI1}")
}

fn index2() -> String {
    format!("!Sub ${{Table.Arn}}/index/{GSI2}")
}

#[test]
fn each_function_may_touch_only_the_table_or_its_index() {
    let t = template();
    for f in functions(&t) {
        for (actions, resources, _) in statements(&f) {
            for action in &actions {
                assert!(
                    action.starts_with("dynamodb:") && !action.contains('*'),
                    "{}: {action} is not one named DynamoDB action",
                    f.logical_id
                );
            }
            for resource in &resources {
                assert!(
                    resource == TABLE || *resource == index() || *resource == index2(),
                    "{}: {resource} is neither the table nor one of its indexes",
                    f.logical_id
                );
            }
        }
    }
}

/// One statement a function's policy must have: its actions, its resources, whether they are
/// allowed only inside a `TransactWriteItems`, and the partition keys (`dynamodb:LeadingKeys`
/// patterns) they are limited to.
type Grant = (BTreeSet<String>, Vec<String>, bool, BTreeSet<String>);

/// The item kinds, as `dynamodb:LeadingKeys` patterns: a partition key's prefix
/// (shared/src/store/dynamo/schema.rs; docs/dynamodb-table.md, "Items").
const ROOM: &str = "ROOM#*";
const ROOMS: &str = "ROOMS";
const SLOT: &str = "SLOT#*";
const HOLD: &str = "HOLD#*";
const USER: &str = "USER#*";
const IDEM: &str = "IDEM#*";
const REF: &str = "REF#*";
const HOLDS: &str = "HOLDS#*";
const EVENT: &str = "EVENT#*";
const EVENTS: &str = "EVENTS";
const WEBHOOK: &str = "WEBHOOK#*";
const WEBHOOKS: &str = "WEBHOOKS";
const DELIVERIES: &str = "DELIVERIES#*";
const OUTBOX: &str = "OUTBOX";
const DUE: &str = "DUE";

/// What each function's store operations send, per action and resource, with the partition keys
/// they name. Derived from the code (shared/src/store/dynamo/*.rs, summed up in
/// docs/dynamodb-table.md's "Access patterns"); `dynamodb_iam.rs` checks it against the requests
/// the store really sends to DynamoDB Local. A `Query` on an index names the index's partition
/// key (`gsi1pk`/`gsi2pk`), which is what IAM takes as its LeadingKeys.
pub(crate) fn expected_grants() -> BTreeMap<&'static str, Vec<Grant>> {
    let grant = |actions: &[&str], resource: String, transact_only: bool, keys: &[&str]| -> Grant {
        (
            actions.iter().map(|a| format!("dynamodb:{a}")).collect(),
            vec![resource],
            transact_only,
            keys.iter().map(|k| (*k).to_owned()).collect(),
        )
    };
    let table = || TABLE.to_owned();
    let update_or_read_back = vec![
        grant(&["UpdateItem"], table(), false, &[SLOT]),
        grant(&["GetItem"], table(), false, &[HOLD]),
    ];
    let transact_or_read_back = vec![
        grant(&["UpdateItem"], table(), true, &[SLOT, HOLD]),
        grant(&["GetItem"], table(), false, &[HOLD]),
    ];
    // put-schedule and extend-horizon write schedules and slots: they may delete slots only.
    let publish = vec![
        grant(&["GetItem"], table(), false, &[ROOM]),
        grant(&["PutItem"], table(), false, &[ROOM, SLOT]),
        grant(&["UpdateItem", "DeleteItem"], table(), false, &[SLOT]),
    ];
    BTreeMap::from([
        (
            "list-slots",
            vec![
                grant(&["Query"], index(), false, &[ROOM]),
                grant(&["GetItem"], table(), false, &[ROOM]),
            ],
        ),
        (
            "create-hold",
            vec![
                grant(&["ConditionCheckItem"], table(), true, &[USER, SLOT]),
                grant(&["UpdateItem"], table(), true, &[SLOT, USER]),
                grant(&["PutItem"], table(), true, &[HOLD, IDEM]),
                // The per-player cap: the user item's places (and, at the cap, the key) read
                // first; the places' slots when no place is free by its hint.
                grant(&["GetItem"], table(), false, &[USER, IDEM]),
                grant(&["BatchGetItem"], table(), false, &[SLOT]),
            ],
        ),
        (
            "confirm-hold",
            vec![
                // The slot, the reference's item, the hold record and the booking.confirmed
                // event's item (the outbox) in one transaction, read
                // back in one BatchGetItem; with the per-player cap the place taken on the user
                // item in the same transaction, an old booking's slot checked, the user item
                // and slots read first.
                grant(&["UpdateItem"], table(), true, &[SLOT, USER, HOLD]),
                grant(&["PutItem"], table(), true, &[REF, EVENT]),
                grant(&["ConditionCheckItem"], table(), true, &[SLOT]),
                grant(&["BatchGetItem"], table(), false, &[SLOT, USER, HOLD]),
                grant(&["GetItem"], table(), false, &[HOLD]),
            ],
        ),
        (
            "get-booking",
            vec![
                grant(&["GetItem"], table(), false, &[REF, ROOM]),
                grant(&["BatchGetItem"], table(), false, &[SLOT, HOLD]),
            ],
        ),
        (
            "get-calendar-feed",
            vec![grant(&["GetItem"], table(), false, &[ROOM])],
        ),
        (
            "create-webhook",
            vec![
                // The endpoint's put and the counter's increment, in one transaction.
                grant(&["PutItem"], table(), true, &[WEBHOOK]),
                grant(&["UpdateItem"], table(), true, &[WEBHOOKS]),
            ],
        ),
        (
            "list-webhooks",
            vec![grant(&["Query"], index2(), false, &[WEBHOOKS])],
        ),
        (
            "delete-webhook",
            vec![
                // The endpoint's delete and the counter's decrement in one transaction, then its
                // pending deliveries given up.
                grant(&["DeleteItem"], table(), true, &[WEBHOOK]),
                grant(&["UpdateItem"], table(), true, &[WEBHOOKS]),
                grant(&["Query"], index2(), false, &[DELIVERIES]),
                grant(&["UpdateItem"], table(), false, &[EVENT]),
            ],
        ),
        (
            "list-webhook-deliveries",
            vec![
                grant(&["GetItem"], table(), false, &[WEBHOOK]),
                grant(&["Query"], index2(), false, &[DELIVERIES]),
            ],
        ),
        (
            "enable-webhook",
            // One conditional UpdateItem of the endpoint, answering it.
            vec![grant(&["UpdateItem"], table(), false, &[WEBHOOK])],
        ),
        (
            "rotate-calendar-feed",
            vec![
                grant(&["ConditionCheckItem"], table(), true, &[ROOM]),
                grant(&["PutItem"], table(), true, &[ROOM]),
            ],
        ),
        (
            "get-room-calendar",
            vec![
                grant(&["GetItem"], table(), false, &[ROOM]),
                grant(&["Query"], index(), false, &[ROOM]),
            ],
        ),
        (
            "get-booking-calendar",
            vec![
                // As get-booking, then the game's slot (its end) from the room's listing.
                grant(&["GetItem"], table(), false, &[REF, ROOM]),
                grant(&["Query"], index(), false, &[ROOM]),
                grant(&["BatchGetItem"], table(), false, &[SLOT, HOLD]),
            ],
        ),
        (
            "cancel-booking",
            vec![
                // As get-booking, then the cancel: the slot read first (what the cancelled
                // booking's record keeps), the transaction (with the event's item), the record
                // when the slot moved on.
                grant(&["PutItem"], table(), true, &[EVENT]),
                grant(&["GetItem"], table(), false, &[REF, HOLD, SLOT]),
                grant(&["BatchGetItem"], table(), false, &[SLOT, HOLD]),
                grant(&["UpdateItem"], table(), true, &[SLOT, HOLD]),
            ],
        ),
        ("release-hold", update_or_read_back),
        ("extend-hold", transact_or_read_back),
        (
            "cancel-hold",
            vec![
                // The transaction puts the booking.cancelled event's item beside its updates.
                grant(&["PutItem"], table(), true, &[EVENT]),
                grant(&["UpdateItem"], table(), true, &[SLOT, HOLD]),
                // The slot read first (what the cancelled booking's record keeps), the record
                // when a refused slot has moved on.
                grant(&["GetItem"], table(), false, &[SLOT, HOLD]),
            ],
        ),
        (
            "get-hold",
            vec![grant(&["BatchGetItem"], table(), false, &[SLOT, HOLD])],
        ),
        (
            "list-user-holds",
            vec![
                // The current holds by their slots (USER#), every hold by its records (HOLDS#),
                // then the records' slots.
                grant(&["Query"], index2(), false, &[USER, HOLDS]),
                grant(&["BatchGetItem"], table(), false, &[SLOT]),
            ],
        ),
        (
            "list-rooms",
            vec![grant(&["Query"], index2(), false, &[ROOMS])],
        ),
        (
            "get-room",
            vec![grant(&["GetItem"], table(), false, &[ROOM])],
        ),
        (
            "put-room",
            vec![
                grant(&["PutItem"], table(), false, &[ROOM]),
                grant(&["UpdateItem"], table(), false, &[SLOT, ROOMS]),
                grant(&["Query"], index(), false, &[ROOM]),
            ],
        ),
        (
            "retire-room",
            vec![
                // Each booking's cancellation puts its booking.cancelled event, as cancel-hold.
                grant(&["PutItem"], table(), true, &[EVENT]),
                grant(&["GetItem"], table(), false, &[ROOM, SLOT, HOLD]),
                grant(&["Query"], index(), false, &[ROOM]),
                grant(&["UpdateItem"], table(), false, &[SLOT]),
                grant(&["UpdateItem"], table(), true, &[ROOM, ROOMS, SLOT, HOLD]),
            ],
        ),
        (
            "get-schedule",
            vec![grant(&["GetItem"], table(), false, &[ROOM])],
        ),
        (
            "put-schedule",
            [
                publish.clone(),
                vec![grant(&["Query"], index(), false, &[ROOM])],
            ]
            .concat(),
        ),
        (
            "preview-schedule",
            vec![
                grant(&["GetItem"], table(), false, &[ROOM]),
                grant(&["Query"], index(), false, &[ROOM]),
            ],
        ),
        (
            "list-room-bookings",
            vec![
                grant(&["Query"], index(), false, &[ROOM]),
                grant(&["GetItem"], table(), false, &[ROOM]),
            ],
        ),
        (
            "deliver-events",
            vec![
                // The events not fanned out and the due deliveries; the webhooks, a disabled
                // one's deliveries; an event, its room, a webhook; the booking's slot and
                // record; a delivery put; the event, a delivery or a webhook updated.
                grant(&["Query"], index(), false, &[OUTBOX, DUE]),
                grant(&["Query"], index2(), false, &[WEBHOOKS, DELIVERIES]),
                grant(&["GetItem"], table(), false, &[EVENT, ROOM, WEBHOOK]),
                grant(&["BatchGetItem"], table(), false, &[SLOT, HOLD]),
                grant(&["PutItem"], table(), false, &[EVENT]),
                grant(&["UpdateItem"], table(), false, &[EVENT, WEBHOOK]),
            ],
        ),
        // No store request at all: a token is signed or the service described from the config.
        ("create-player", vec![]),
        ("get-service", vec![]),
        (
            "extend-horizon",
            [
                vec![
                    grant(&["Query"], index2(), false, &[ROOMS, EVENTS]),
                    grant(&["Query"], index(), false, &[ROOM]),
                ],
                publish,
                // Contact retention: the hold record's contact removed; event retention: each
                // old event's partition (the event, its deliveries) read and deleted.
                vec![
                    grant(&["UpdateItem"], table(), false, &[HOLD]),
                    grant(&["Query", "BatchWriteItem"], table(), false, &[EVENT]),
                ],
            ]
            .concat(),
        ),
    ])
}

/// A statement's conditions as `(inside a transaction only, LeadingKeys patterns)`: the only
/// conditions allowed, and every statement on the table names its item kinds.
fn grant_conditions(f: &Function, condition: Option<&Value>) -> (bool, BTreeSet<String>) {
    let condition = condition
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("{}: a statement without LeadingKeys", f.logical_id));
    let mut transact_only = false;
    let mut keys = None;
    for (operator, body) in condition {
        match operator.as_str() {
            Some("ForAnyValue:StringEquals") => {
                assert_eq!(
                    get(body, "dynamodb:EnclosingOperation"),
                    &serde_norway::from_str::<Value>("[TransactWriteItems]").expect("literal YAML"),
                    "{}",
                    f.logical_id
                );
                transact_only = true;
            }
            // ForAllValues: every partition key of the request must match one pattern (a
            // BatchGetItem names several). ForAnyValue would let one matching key carry others.
            Some("ForAllValues:StringLike") => {
                assert_eq!(body.as_mapping().map(Mapping::len), Some(1), "{body:?}");
                keys = Some(
                    get(body, "dynamodb:LeadingKeys")
                        .as_sequence()
                        .expect("a list of patterns")
                        .iter()
                        .map(|k| k.as_str().expect("a pattern").to_owned())
                        .collect(),
                );
            }
            other => panic!("{}: unexpected condition {other:?}", f.logical_id),
        }
    }
    let keys = keys.unwrap_or_else(|| panic!("{}: no LeadingKeys", f.logical_id));
    (transact_only, keys)
}

#[test]
fn each_function_may_touch_only_the_item_kinds_and_calls_its_store_operations_need() {
    let expected = expected_grants();
    let t = template();
    let functions = functions(&t);
    assert_eq!(
        functions.len(),
        expected.len() + 1,
        "and the $default function"
    );
    let default_crate = default_route_crate();
    for f in &functions {
        if f.crate_name == default_crate {
            // No store: no policy at all, so only the Lambda basic execution role.
            let properties = get(&f.resource, "Properties");
            for key in ["Policies", "Role", "PermissionsBoundary"] {
                assert!(
                    properties.get(key).is_none(),
                    "{}: no {key}: {properties:?}",
                    f.logical_id
                );
            }
            assert!(statements(f).is_empty());
            continue;
        }
        let granted: Vec<Grant> = statements(f)
            .into_iter()
            .map(|(actions, resources, condition)| {
                let (transact_only, keys) = grant_conditions(f, condition.as_ref());
                (actions, resources, transact_only, keys)
            })
            .collect();
        assert_eq!(
            &granted,
            expected
                .get(f.crate_name.as_str())
                .expect("a known function"),
            "{}",
            f.logical_id
        );
    }
}

#[test]
fn the_table_has_the_keys_index_and_ttl_of_the_dynamodb_adapter() {
    let t = template();
    let table = resources(&t).get("Table").expect("a resource `Table`");
    assert_eq!(str_at(table, "Type"), "AWS::DynamoDB::Table");
    assert_eq!(str_at(table, "DeletionPolicy"), "Retain");
    let p = get(table, "Properties");
    assert_eq!(str_at(p, "BillingMode"), "PAY_PER_REQUEST");

    let pairs = |path: &str, a: &str, b: &str| -> Vec<(String, String)> {
        get(p, path)
            .as_sequence()
            .unwrap_or_else(|| panic!("{path} is a list"))
            .iter()
            .map(|x| (str_at(x, a).to_owned(), str_at(x, b).to_owned()))
            .collect()
    };
    let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let mut attributes = pairs("AttributeDefinitions", "AttributeName", "AttributeType");
    attributes.sort();
    let mut expected = owned(&[
        (PK, "S"),
        (SK, "S"),
        (GSI1PK, "S"),
        (GSI1SK, "S"),
        (GSI2PK, "S"),
        (GSI2SK, "S"),
    ]);
    expected.sort();
    assert_eq!(attributes, expected);
    assert_eq!(
        pairs("KeySchema", "AttributeName", "KeyType"),
        owned(&[(PK, "HASH"), (SK, "RANGE")])
    );

    let indexes = get(p, "GlobalSecondaryIndexes")
        .as_sequence()
        .expect("GSI list");
    assert_eq!(indexes.len(), 2);
    for (gsi, (name, pk, sk)) in indexes
        .iter()
        .zip([(GSI1, GSI1PK, GSI1SK), (GSI2, GSI2PK, GSI2SK)])
    {
        assert_eq!(str_at(gsi, "IndexName"), name);
        let key: Vec<(String, String)> = get(gsi, "KeySchema")
            .as_sequence()
            .expect("GSI key schema")
            .iter()
            .map(|k| {
                (
                    str_at(k, "AttributeName").to_owned(),
                    str_at(k, "KeyType").to_owned(),
                )
            })
            .collect();
        assert_eq!(key, owned(&[(pk, "HASH"), (sk, "RANGE")]));
        assert_eq!(str_at(gsi, "Projection.ProjectionType"), "ALL");
    }

    assert_eq!(str_at(p, "TimeToLiveSpecification.AttributeName"), TTL);
    assert_eq!(
        get(p, "TimeToLiveSpecification.Enabled"),
        &Value::Bool(true)
    );
    assert_eq!(
        get(
            p,
            "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"
        ),
        &Value::Bool(true)
    );
}

#[test]
fn every_function_is_an_arm64_cargo_lambda_build_given_the_table_and_the_hold_length() {
    let t = template();
    let globals = get(&t, "Globals.Function");
    assert_eq!(str_at(globals, "Runtime"), "provided.al2023");
    assert_eq!(str_at(globals, "Handler"), "bootstrap");
    assert_eq!(
        get(globals, "Architectures"),
        &Value::Sequence(vec!["arm64".into()])
    );
    let env = get(globals, "Environment.Variables");
    assert_eq!(
        intrinsic_str(get(env, "TABLE_NAME")),
        Some(("Ref".into(), "Table".into()))
    );
    assert_eq!(
        intrinsic_str(get(env, "HOLD_TTL_SECONDS")),
        Some(("Ref".into(), "HoldTtlSeconds".into()))
    );
    assert_eq!(str_at(&t, "Parameters.HoldTtlSeconds.Type"), "Number");
    for f in functions(&t) {
        assert_eq!(
            str_at(&f.resource, "Metadata.BuildMethod"),
            "rust-cargolambda",
            "{}",
            f.logical_id
        );
        let properties = get(&f.resource, "Properties");
        for overridden in ["Runtime", "Architectures", "Handler", "MemorySize"] {
            assert!(
                properties.get(overridden).is_none(),
                "{}: {overridden} comes from Globals",
                f.logical_id
            );
        }
        // Only the operator routes' functions add to the Globals' environment: the name of the
        // operators' tokens' SSM parameter (never a token) and the scope.
        // The events function gets the mail's sender, the SMTP URL's parameter (a name, never
        // the URL with its password) and the retries, nothing else.
        if STREAM_FUNCTIONS.contains(&f.crate_name.as_str()) {
            let env = get(properties, "Environment.Variables");
            for (variable, parameter) in [
                ("SMTP_URL_PARAMETER", "SmtpUrlParameter"),
                ("MAIL_FROM", "MailFrom"),
                ("WEBHOOK_RETRY_SECONDS", "WebhookRetrySeconds"),
            ] {
                assert_eq!(
                    intrinsic_str(get(env, variable)),
                    Some(("Ref".into(), parameter.into())),
                    "{}: {variable}",
                    f.logical_id
                );
            }
            assert_eq!(
                env.as_mapping().map(Mapping::len),
                Some(3),
                "{}",
                f.logical_id
            );
            continue;
        }
        // The hold and confirm functions get their per-player cap, nothing else.
        let cap = match f.crate_name.as_str() {
            "create-hold" => Some(("MAX_LIVE_HOLDS_PER_PLAYER", "MaxLiveHoldsPerPlayer")),
            "confirm-hold" => Some((
                "MAX_UPCOMING_BOOKINGS_PER_PLAYER",
                "MaxUpcomingBookingsPerPlayer",
            )),
            _ => None,
        };
        match (properties.get("Environment"), cap) {
            (None, None) => {}
            (None, Some((variable, _))) => panic!("{}: no {variable}", f.logical_id),
            (Some(env), Some((variable, parameter))) => {
                assert_eq!(
                    intrinsic_str(get(env, &format!("Variables.{variable}"))),
                    Some(("Ref".into(), parameter.into())),
                    "{}",
                    f.logical_id
                );
                assert_eq!(
                    get(env, "Variables").as_mapping().map(Mapping::len),
                    Some(1),
                    "{}: nothing else",
                    f.logical_id
                );
                assert_eq!(
                    str_at(&t, &format!("Parameters.{parameter}.Type")),
                    "Number"
                );
            }
            (Some(env), None) => {
                assert!(
                    OPERATOR_FUNCTIONS.contains(&f.crate_name.as_str()),
                    "{}: only operator functions get an environment of their own",
                    f.logical_id
                );
                assert_eq!(
                    intrinsic_str(get(env, "Variables.OPERATOR_TOKENS_PARAMETER")),
                    Some(("Ref".into(), "OperatorTokensParameter".into()))
                );
                assert_eq!(
                    get(env, "Variables").as_mapping().map(Mapping::len),
                    Some(2),
                    "{}: nothing else, no token",
                    f.logical_id
                );
                assert_eq!(
                    intrinsic_str(get(env, "Variables.OPERATOR_SCOPE")),
                    Some(("Ref".into(), "OperatorScope".into()))
                );
            }
        }
    }
    assert!(
        get(&t, "Parameters").get("OperatorToken").is_none(),
        "no token is a template parameter: the functions read them from SSM"
    );
    for name in OPERATOR_FUNCTIONS {
        let f = functions(&t)
            .into_iter()
            .find(|f| f.crate_name == *name)
            .expect("an operator function");
        assert!(
            get(&f.resource, "Properties").get("Environment").is_some(),
            "{name} is given the operators' tokens' parameter"
        );
    }
}

/// CloudFormation refuses an SSM parameter name the functions would refuse at cold start (four
/// of them serve only operators, and would not start): the parameter's `AllowedPattern` lets
/// through only what `shared::config` accepts as `OPERATOR_TOKENS_PARAMETER`, or nothing.
#[test]
fn the_operator_tokens_parameter_refuses_a_name_the_functions_would_refuse_at_start() {
    let t = template();
    let parameter = get(&t, "Parameters.OperatorTokensParameter");
    assert_eq!(str_at(parameter, "Default"), "");
    // CloudFormation matches the whole value (Java's `matches`); so does `^…$` here.
    let pattern = regex_lite::Regex::new(&format!("^(?:{})$", str_at(parameter, "AllowedPattern")))
        .unwrap_or_else(|e| panic!("the AllowedPattern is a regular expression: {e}"));
    let starts = |name: &str| {
        shared::config::Config::from_lookup(|k| {
            (k == "OPERATOR_TOKENS_PARAMETER").then(|| name.to_owned())
        })
    };
    for name in [
        "/escape-room/operator-tokens",
        "/a",
        "/prod/escape_room.v2/tokens",
    ] {
        assert!(pattern.is_match(name), "accepted: {name:?}");
        let config = starts(name).unwrap();
        assert_eq!(config.operator_tokens_parameter.as_deref(), Some(name));
    }
    assert!(pattern.is_match(""));
    for name in [
        "escape-room/operator-tokens",
        "/",
        "/with space",
        "/comma,name",
        "/é",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/x",
    ] {
        assert!(!pattern.is_match(name), "refused: {name:?}");
        let refused = starts(name).unwrap_err().to_string();
        assert!(refused.contains("OPERATOR_TOKENS_PARAMETER"), "{refused}");
    }
}

#[test]
fn the_api_allows_cors_only_to_named_origins_logs_access_as_json_and_outputs_its_url() {
    let t = template();
    let (id, api) = resources(&t)
        .iter()
        .find(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
        .expect("an AWS::Serverless::HttpApi");
    let id = id.as_str().unwrap_or_default();
    // CORS only for the AllowedOrigins parameter: no configuration at all without it.
    assert!(
        get(api, "Properties").get("CorsConfiguration").is_none(),
        "no unconditional CORS"
    );
    let cors = get(api, "Properties.DefinitionBody.x-amazon-apigateway-cors");
    let (name, arg) = intrinsic(cors).expect("!If [HasCors, …, !Ref AWS::NoValue]");
    assert_eq!(name, "If");
    let arg = arg.as_sequence().expect("!If list");
    assert_eq!(arg[0].as_str(), Some("HasCors"));
    assert_eq!(
        intrinsic_str(&arg[2]),
        Some(("Ref".into(), "AWS::NoValue".into()))
    );
    assert_eq!(
        str_at(&t, "Parameters.AllowedOrigins.Default"),
        "",
        "same origin only unless origins are named"
    );
    let headers: Vec<&str> = get(&arg[1], "allowHeaders")
        .as_sequence()
        .expect("allowHeaders")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        headers.contains(&"authorization") && headers.contains(&"content-type"),
        "{headers:?}"
    );
    // Every method a route answers (DELETE too: retiring a room, deleting a webhook), and the
    // preflight's OPTIONS.
    let methods: BTreeSet<&str> = get(&arg[1], "allowMethods")
        .as_sequence()
        .expect("allowMethods")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let needed: BTreeSet<&str> = ROUTES.iter().map(|r| r.method).chain(["OPTIONS"]).collect();
    assert_eq!(methods, needed, "CORS allows every route's method");

    let logs = get(api, "Properties.AccessLogSettings");
    let (name, target) =
        intrinsic_str(get(logs, "DestinationArn")).expect("!GetAtt <LogGroup>.Arn");
    assert_eq!(name, "GetAtt");
    let group = target.strip_suffix(".Arn").expect("a log group's Arn");
    assert_eq!(
        str_at(get(&t, "Resources"), &format!("{group}.Type")),
        "AWS::Logs::LogGroup"
    );
    let format: serde_json::Value = serde_json::from_str(str_at(logs, "Format"))
        .unwrap_or_else(|e| panic!("the access log format is not JSON: {e}"));
    for field in ["requestId", "routeKey", "status"] {
        assert!(format.get(field).is_some(), "access log field {field}");
    }

    let (sub, url) = intrinsic_str(get(&t, "Outputs.ApiUrl.Value")).expect("!Sub URL");
    assert_eq!(sub, "Sub");
    assert!(
        url.starts_with(&format!("https://${{{id}}}.execute-api.")),
        "{url}"
    );
}

#[test]
fn every_function_logs_json_to_its_own_log_group_kept_for_the_retention_parameter() {
    let t = template();
    assert_eq!(
        str_at(&t, "Globals.Function.LoggingConfig.LogFormat"),
        "JSON"
    );
    let mut groups = BTreeSet::new();
    for f in functions(&t) {
        let (name, group) = intrinsic_str(get(&f.resource, "Properties.LoggingConfig.LogGroup"))
            .unwrap_or_else(|| {
                panic!(
                    "{}: LoggingConfig.LogGroup is !Ref <LogGroup>",
                    f.logical_id
                )
            });
        assert_eq!(name, "Ref");
        let resource = get(&t, "Resources")
            .get(&group)
            .expect("the log group resource");
        assert_eq!(str_at(resource, "Type"), "AWS::Logs::LogGroup", "{group}");
        assert_eq!(
            intrinsic_str(get(resource, "Properties.RetentionInDays")),
            Some(("Ref".into(), "LogRetentionDays".into()))
        );
        assert!(
            groups.insert(group.clone()),
            "{group} is shared by two functions"
        );
    }
}
