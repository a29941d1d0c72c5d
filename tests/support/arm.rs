//! A local Azure Resource Manager contract server for one Event Hubs
//! namespace: the operations topicform uses (namespace GET, event hubs
//! list/GET/PUT/DELETE, consumer groups list/PUT/DELETE, operation status,
//! role assignments list at the namespace and PUT/GET/DELETE at event hub
//! scope), following Microsoft's REST specification files in
//! `tests/testdata/arm/reference/` (api-version 2024-01-01; 2022-04-01 for
//! Microsoft.Authorization).
//!
//! Every request is checked: path shape and name lengths, `api-version`,
//! `Authorization: Bearer` (through the validator the test passes, e.g. the
//! test identity provider's with the ARM audience) and PUT bodies against the
//! JSON definitions of `eventhubs.json` (types, enums, minimum/maximum,
//! int32/int64 ranges, readOnly properties, undefined properties). Answers
//! take the shapes of Microsoft's examples. DESIGN section 6 is enforced with
//! ARM-style errors (`{"error": {"code", "message"}}`): partition counts per
//! tier, no partition increase on basic/standard, no decrease, cleanup policy
//! immutable, retention limits per tier, event hubs and partitions per
//! namespace. Faults (429 + Retry-After, 500, 409, 400, 201/202 with
//! Azure-AsyncOperation or Location polling) are injected per request count;
//! modes answer a `nextLink` loop or 403 on operation status links.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

// The secret scan's registry (secrets.rs). Every crate that includes this
// file by #[path] has it at `crate::support::secrets`: the tests declare
// `mod support` (whose `topicform()` scans with the same registry), and
// benches/eventhubs.rs re-exports it.
use crate::support::secrets;

// Both servers include the same file: arm.rs is also compiled alone (#[path]).
#[path = "http.rs"]
#[allow(dead_code, clippy::duplicate_mod)]
mod http;
use http::{HttpServer, Request, Response};

/// Checks a bearer token; `Err` is the reason it is rejected.
pub type TokenValidator = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub const API_VERSION: &str = "2024-01-01";
const LONG_MAX: i64 = i64::MAX;
const TIMESTAMP: &str = "2026-01-01T00:00:00.000Z";

/// The namespace the server hosts.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
    /// `Basic`, `Standard`, `Premium`.
    pub sku: String,
    pub capacity: u32,
    pub kafka_enabled: bool,
    /// `Active`, `Creating`, ...
    pub status: String,
    /// Set for a namespace on a dedicated cluster.
    pub cluster_arm_id: Option<String>,
}

impl Namespace {
    pub fn new(sku: &str, capacity: u32) -> Self {
        Namespace {
            subscription: "5f750a97-50d9-4e36-8081-c9ee4c0210d4".into(),
            resource_group: "rg-topicform-test".into(),
            name: "topicform-test".into(),
            sku: sku.into(),
            capacity,
            kafka_enabled: true,
            status: "Active".into(),
            cluster_arm_id: None,
        }
    }

    fn tier(&self) -> &str {
        if self.cluster_arm_id.is_some() {
            "dedicated"
        } else if self.sku.eq_ignore_ascii_case("basic") {
            "basic"
        } else if self.sku.eq_ignore_ascii_case("standard") {
            "standard"
        } else {
            "premium"
        }
    }

    /// (partitions per hub, partition increase, max hubs, partitions per namespace, max retention hours)
    fn limits(&self) -> (i64, bool, usize, Option<i64>, i64) {
        let units = self.capacity.max(1);
        match self.tier() {
            "basic" => (32, false, 10, None, 24),
            "standard" => (32, false, 10, None, 168),
            "premium" => (100, true, 100 * units as usize, Some(200 * units as i64), 2160),
            // Dedicated: 1,000 event hubs per namespace whatever the CUs.
            _ => (1024, true, 1000, Some(2000 * units as i64), 2160),
        }
    }
}

/// A fault answered instead of (or around) the real operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: secs`.
    Throttle { retry_after: u64 },
    /// 500 InternalServerError.
    ServerError,
    /// 409 Conflict (another operation in progress).
    Conflict,
    /// The operation is done, answered 201 (PUT) / 202 (DELETE) with
    /// `Azure-AsyncOperation`; the status reads InProgress `polls` times.
    AsyncOperation { polls: u32 },
    /// Like `AsyncOperation`, with a `Location` header answered 202 `polls` times.
    AsyncLocation { polls: u32 },
    /// The long-running operation ends Failed.
    AsyncFailed,
    /// 400 BadRequest: a write ARM refuses outright (not retried).
    Refuse,
    /// 409 RoleAssignmentExists: another writer granted the same role to
    /// the same principal on the same scope a moment ago.
    RoleAssignmentExists,
    /// 403 AuthorizationFailed, as for an identity without the action (or
    /// whose ABAC condition refuses this write).
    Forbidden,
}

struct Rule {
    method: String,
    fault: Fault,
    left: usize,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
}

struct Operation {
    polls_left: u32,
    failed: bool,
}

struct State {
    ns: Namespace,
    hubs: BTreeMap<String, Value>,
    groups: BTreeMap<(String, String), Value>,
    /// Role assignments by name, at any scope (their `properties.scope`).
    roles: BTreeMap<String, Value>,
    page_size: usize,
    rules: VecDeque<Rule>,
    log: Vec<Logged>,
    operations: HashMap<String, Operation>,
    next_id: u64,
    /// Every list page's `nextLink` points at the same page again.
    next_link_loop: bool,
    /// Operation status links (`.../locations/...`) answer 403, as for a
    /// role with only the namespace and event hub actions.
    forbid_operation_status: bool,
}

/// The running server; stops when dropped.
pub struct ArmServer {
    /// `http://127.0.0.1:PORT`, for `armEndpoint`.
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: HttpServer,
}

/// The reference files (Microsoft's, kept byte-for-byte).
pub fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/arm/reference")
}

impl ArmServer {
    /// Starts a server for `ns` whose requests must carry a token `validator` accepts.
    pub fn start(ns: Namespace, validator: TokenValidator) -> ArmServer {
        let schema = Arc::new(Schema::load());
        let state = Arc::new(Mutex::new(State {
            ns,
            hubs: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            page_size: 100,
            rules: VecDeque::new(),
            log: Vec::new(),
            operations: HashMap::new(),
            next_id: 1,
            next_link_loop: false,
            forbid_operation_status: false,
        }));
        let handler_state = state.clone();
        let server = HttpServer::start("ARM contract server", move |port| {
            let url = format!("http://127.0.0.1:{port}");
            move |request: Request| {
                let answer = if request.method == "PUT"
                    && !request.header("Content-Type").is_some_and(|t| t.starts_with("application/json"))
                {
                    arm_error(
                        415,
                        "UnsupportedMediaType",
                        "The content media type is not supported: send application/json.",
                    )
                } else {
                    handle(
                        &handler_state,
                        &schema,
                        &validator,
                        &url,
                        &request.method,
                        &request.url,
                        request.header("Authorization"),
                        &request.body,
                    )
                };
                let text = if answer.body.is_null() { String::new() } else { answer.body.to_string() };
                let mut response = Response::json(answer.status, text);
                response.headers.extend(answer.headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                response
            }
        });
        let url = format!("http://127.0.0.1:{}", server.port);
        ArmServer { url, state, _server: server }
    }

    /// A server that accepts any non-empty token (for tests about something else).
    pub fn start_open(ns: Namespace) -> ArmServer {
        ArmServer::start(ns, Arc::new(|t: &str| if t.is_empty() { Err("empty token".into()) } else { Ok(()) }))
    }

    pub fn namespace(&self) -> Namespace {
        self.state.lock().unwrap().ns.clone()
    }

    pub fn update_namespace(&self, f: impl FnOnce(&mut Namespace)) {
        f(&mut self.state.lock().unwrap().ns);
    }

    /// Event hubs per list page.
    pub fn set_page_size(&self, n: usize) {
        self.state.lock().unwrap().page_size = n.max(1);
    }

    /// Makes every list page's `nextLink` the same link (a server stuck in a loop).
    pub fn set_next_link_loop(&self, on: bool) {
        self.state.lock().unwrap().next_link_loop = on;
    }

    /// Answers 403 on operation status and result links (`.../locations/...`).
    pub fn set_forbid_operation_status(&self, on: bool) {
        self.state.lock().unwrap().forbid_operation_status = on;
    }

    /// Answers the next `times` requests of `method` on event hubs (and
    /// operation status polls for GET) with `fault`.
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        self.state.lock().unwrap().rules.push_back(Rule { method: method.to_owned(), fault, left: times });
    }

    /// Puts an event hub in place as if created earlier (Microsoft's GET
    /// example shape).
    pub fn seed(&self, name: &str, partitions: u32, retention_hours: i64, cleanup: &str) {
        let mut s = self.state.lock().unwrap();
        let id = hub_id(&s.ns, name);
        let body = stored_hub(
            &id,
            name,
            &json!({ "properties": { "partitionCount": partitions, "retentionDescription": { "cleanupPolicy": cleanup, "retentionTimeInHours": retention_hours } } }),
            None,
        );
        s.hubs.insert(name.to_owned(), body);
    }

    /// Replaces a stored event hub's body (e.g. to add capture settings).
    pub fn set_hub(&self, name: &str, body: Value) {
        self.state.lock().unwrap().hubs.insert(name.to_owned(), body);
    }

    pub fn hub(&self, name: &str) -> Option<Value> {
        self.state.lock().unwrap().hubs.get(name).cloned()
    }

    pub fn hub_names(&self) -> Vec<String> {
        self.state.lock().unwrap().hubs.keys().cloned().collect()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// PUT and DELETE requests received (answered or refused).
    pub fn writes(&self) -> usize {
        self.requests().iter().filter(|r| r.method == "PUT" || r.method == "DELETE").count()
    }

    /// Requests on consumer groups that would change them.
    pub fn consumer_group_writes(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| {
                (r.method == "PUT" || r.method == "DELETE") && r.path.to_ascii_lowercase().contains("/consumergroups")
            })
            .count()
    }

    /// Puts a role assignment in place as if granted earlier, at `scope`
    /// (an ARM id: the namespace, a hub, a consumer group or above);
    /// returns its name.
    pub fn seed_role(&self, scope: &str, role_guid: &str, principal: &str, condition: Option<&str>) -> String {
        let mut s = self.state.lock().unwrap();
        let name = format!("5eed0000-0000-4000-8000-{:012}", s.roles.len() + 1);
        s.roles.insert(name.clone(), stored_role(scope, &name, role_guid, principal, condition));
        name
    }

    /// Every role assignment: (scope, role GUID, principal) by name.
    pub fn roles(&self) -> BTreeMap<String, (String, String, String)> {
        let s = self.state.lock().unwrap();
        s.roles
            .iter()
            .map(|(name, r)| {
                let p = &r["properties"];
                let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                let role = text("roleDefinitionId").rsplit('/').next().unwrap_or_default().to_owned();
                (name.clone(), (text("scope"), role, text("principalId")))
            })
            .collect()
    }

    /// The namespace's ARM id.
    pub fn namespace_id(&self) -> String {
        let ns = self.namespace();
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}",
            ns.subscription, ns.resource_group, ns.name
        )
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, headers: vec![], body }
}

fn arm_error(status: u16, code: &str, message: impl Into<String>) -> Answer {
    answer(status, json!({ "error": { "code": code, "message": message.into() } }))
}

fn hub_id(ns: &Namespace, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}/eventhubs/{name}",
        ns.subscription, ns.resource_group, ns.name
    )
}

#[allow(clippy::too_many_arguments)]
fn handle(
    state: &Mutex<State>,
    schema: &Schema,
    validator: &TokenValidator,
    base: &str,
    method: &str,
    raw_url: &str,
    auth: Option<&str>,
    body: &str,
) -> Answer {
    let mut s = state.lock().unwrap();
    let id = s.next_id;
    s.next_id += 1;
    let (path, query) = raw_url.split_once('?').unwrap_or((raw_url, ""));
    let mut a = route(&mut s, schema, validator, base, method, path, query, auth, body);
    a.headers.push(("x-ms-request-id".into(), format!("00000000-0000-4000-8000-{id:012}")));
    a.headers.push(("x-ms-correlation-request-id".into(), format!("c0000000-0000-4000-8000-{id:012}")));
    s.log.push(Logged { method: method.to_owned(), path: path.to_owned(), status: a.status });
    a
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v)
}

#[allow(clippy::too_many_arguments)]
fn route(
    s: &mut State,
    schema: &Schema,
    validator: &TokenValidator,
    base: &str,
    method: &str,
    path: &str,
    query: &str,
    auth: Option<&str>,
    body: &str,
) -> Answer {
    // Authentication first, like ARM.
    if let Some(credential) = auth {
        // Any bearer token (or other credential) the server sees is secret;
        // the scheme (`Bearer `) is not.
        let token = credential.split_once(' ').map_or(credential, |(_, token)| token);
        secrets::register_as("a bearer token presented to the ARM contract server", token.trim());
    }
    let Some(token) = auth.and_then(|a| a.strip_prefix("Bearer ")) else {
        let mut a =
            arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
        a.headers.push((
            "WWW-Authenticate".into(),
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\"".into(),
        ));
        return a;
    };
    if let Err(why) = validator(token) {
        let mut a = arm_error(401, "InvalidAuthenticationToken", format!("The access token is invalid: {why}"));
        a.headers.push(("WWW-Authenticate".into(), "Bearer error=\"invalid_token\"".into()));
        return a;
    }
    // Microsoft.Authorization has its own api-version.
    let expected_version = if path.to_ascii_lowercase().contains("/providers/microsoft.authorization/roleassignments") {
        AUTHORIZATION_API_VERSION
    } else {
        API_VERSION
    };
    match query_param(query, "api-version") {
        None => {
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        }
        Some(v) if v != expected_version => {
            return arm_error(
                400,
                "InvalidApiVersionParameter",
                format!("The api-version '{v}' is invalid. The supported version is '{expected_version}'."),
            )
        }
        _ => {}
    }
    let segs: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let seg = |i: usize| segs.get(i).map(String::as_str).unwrap_or("");
    let kw = |i: usize, word: &str| seg(i).eq_ignore_ascii_case(word);

    // Operation status / result of a long-running operation.
    if segs.len() == 8
        && kw(0, "subscriptions")
        && kw(2, "providers")
        && kw(3, "Microsoft.EventHub")
        && kw(4, "locations")
        && (kw(6, "operationStatuses") || kw(6, "operationResults"))
        && method == "GET"
    {
        if s.forbid_operation_status {
            return arm_error(
                403,
                "AuthorizationFailed",
                format!("The client does not have authorization to perform action 'Microsoft.EventHub/locations/{}/read' over scope '/subscriptions/{}'.", seg(6), seg(1)),
            );
        }
        if let Some(a) = take_fault(s, "GET", true) {
            return a;
        }
        let results = kw(6, "operationResults");
        let Some(op) = s.operations.get_mut(seg(7)) else {
            return arm_error(404, "NotFound", "No such operation.");
        };
        if op.polls_left > 0 {
            op.polls_left -= 1;
            let mut a = if results { answer(202, Value::Null) } else { answer(200, json!({ "status": "InProgress" })) };
            a.headers.push(("Retry-After".into(), "0".into()));
            if results {
                a.headers.push(("Location".into(), format!("{base}{path}?api-version={API_VERSION}")));
            }
            return a;
        }
        if op.failed {
            return answer(
                200,
                json!({ "status": "Failed", "error": { "code": "InternalServerError", "message": "The operation failed in the contract server (injected)." } }),
            );
        }
        return if results { answer(204, Value::Null) } else { answer(200, json!({ "status": "Succeeded" })) };
    }

    let ns = s.ns.clone();
    let shape_ok = segs.len() >= 8
        && kw(0, "subscriptions")
        && kw(2, "resourceGroups")
        && kw(4, "providers")
        && kw(5, "Microsoft.EventHub")
        && kw(6, "namespaces");
    if !shape_ok {
        return arm_error(
            404,
            "InvalidResourceType",
            format!("The resource type could not be found for path '{path}'."),
        );
    }
    if seg(1) != ns.subscription {
        return arm_error(404, "SubscriptionNotFound", format!("The subscription '{}' could not be found.", seg(1)));
    }
    if !seg(3).eq_ignore_ascii_case(&ns.resource_group) || seg(3).is_empty() || seg(3).len() > 90 {
        return arm_error(404, "ResourceGroupNotFound", format!("Resource group '{}' could not be found.", seg(3)));
    }
    if seg(7).len() < 6 || seg(7).len() > 50 {
        return arm_error(400, "InvalidParameter", "namespaceName must be 6 to 50 characters.");
    }
    if !seg(7).eq_ignore_ascii_case(&ns.name) {
        return arm_error(
            404,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.EventHub/namespaces/{}' under resource group '{}' was not found.",
                seg(7),
                seg(3)
            ),
        );
    }
    match (segs.len(), method) {
        (11, "GET") if kw(8, "providers") && kw(9, "Microsoft.Authorization") && kw(10, "roleAssignments") => {
            take_fault(s, "GET role", false).unwrap_or_else(|| list_roles(s, base, path, query))
        }
        (14, m)
            if kw(8, "eventhubs")
                && kw(10, "providers")
                && kw(11, "Microsoft.Authorization")
                && kw(12, "roleAssignments") =>
        {
            let (hub, name) = (seg(9).to_owned(), seg(13).to_owned());
            if let Some(a) = take_fault(s, &format!("{m} role"), false) {
                return a;
            }
            role_assignment(s, schema, &ns, &hub, &name, m, body)
        }
        (8, "GET") => take_fault(s, "GET", true).unwrap_or_else(|| answer(200, namespace_body(&ns))),
        (9, "GET") if kw(8, "eventhubs") => {
            take_fault(s, "GET", true).unwrap_or_else(|| list_hubs(s, base, path, query))
        }
        (10, m) if kw(8, "eventhubs") => {
            let name = seg(9).to_owned();
            if name.is_empty() || name.len() > 256 {
                return arm_error(400, "InvalidParameter", "eventHubName must be 1 to 256 characters.");
            }
            match m {
                "GET" => match s.hubs.get(&name) {
                    Some(h) => answer(200, h.clone()),
                    None => arm_error(404, "NotFound", format!("The messaging entity '{name}' could not be found.")),
                },
                "PUT" => {
                    if let Some(a) = take_fault(s, "PUT", false) {
                        return a;
                    }
                    // A long-running operation that ends Failed changed
                    // nothing, as on Azure: the hub stays as it was.
                    let before = next_operation_fails(s, "PUT").then(|| s.hubs.get(&name).cloned());
                    let a = put_hub(s, schema, &ns, &name, body);
                    if let Some(before) = before {
                        match before {
                            Some(hub) => s.hubs.insert(name.clone(), hub),
                            None => s.hubs.remove(&name),
                        };
                    }
                    long_running(s, base, &ns, "PUT", a)
                }
                "DELETE" => {
                    if let Some(a) = take_fault(s, "DELETE", false) {
                        return a;
                    }
                    let existed = s.hubs.remove(&name).is_some();
                    s.groups.retain(|(h, _), _| h != &name);
                    // Assumed: Azure removes a deleted hub's role assignments
                    // (its documentation covers only moved resources).
                    let scope = hub_id(&ns, &name).to_ascii_lowercase();
                    s.roles.retain(|_, r| {
                        !r["properties"]["scope"].as_str().unwrap_or("").to_ascii_lowercase().starts_with(&scope)
                    });
                    let a = answer(if existed { 200 } else { 204 }, Value::Null);
                    long_running(s, base, &ns, "DELETE", a)
                }
                _ => arm_error(405, "MethodNotAllowed", format!("{m} is not supported on an event hub.")),
            }
        }
        (11, "GET") if kw(8, "eventhubs") && kw(10, "consumergroups") => {
            let hub = seg(9).to_owned();
            if !s.hubs.contains_key(&hub) {
                return arm_error(404, "NotFound", format!("The messaging entity '{hub}' could not be found."));
            }
            let mut value = vec![consumer_group(&ns, &hub, "$Default")];
            value.extend(s.groups.iter().filter(|((h, _), _)| h == &hub).map(|(_, v)| v.clone()));
            answer(200, json!({ "value": value }))
        }
        (12, m) if kw(8, "eventhubs") && kw(10, "consumergroups") => {
            let (hub, group) = (seg(9).to_owned(), seg(11).to_owned());
            if group.is_empty() || group.len() > 50 {
                return arm_error(400, "InvalidParameter", "consumerGroupName must be 1 to 50 characters.");
            }
            if !s.hubs.contains_key(&hub) {
                return arm_error(404, "NotFound", format!("The messaging entity '{hub}' could not be found."));
            }
            match m {
                "PUT" => {
                    let v = consumer_group(&ns, &hub, &group);
                    s.groups.insert((hub, group), v.clone());
                    answer(200, v)
                }
                "DELETE" => {
                    let existed = s.groups.remove(&(hub, group)).is_some();
                    answer(if existed { 200 } else { 204 }, Value::Null)
                }
                "GET" => match s.groups.get(&(hub.clone(), group.clone())) {
                    Some(v) => answer(200, v.clone()),
                    None if group == "$Default" => answer(200, consumer_group(&ns, &hub, &group)),
                    None => arm_error(404, "NotFound", format!("The consumer group '{group}' could not be found.")),
                },
                _ => arm_error(405, "MethodNotAllowed", format!("{m} is not supported on a consumer group.")),
            }
        }
        _ => arm_error(
            404,
            "InvalidResourceType",
            format!("The resource type could not be found for {method} '{path}'."),
        ),
    }
}

fn take_fault(s: &mut State, method: &str, poll: bool) -> Option<Answer> {
    let idx = s.rules.iter().position(|r| r.method == method && r.left > 0)?;
    let fault = s.rules[idx].fault;
    let immediate = matches!(
        fault,
        Fault::Throttle { .. }
            | Fault::ServerError
            | Fault::Conflict
            | Fault::Refuse
            | Fault::RoleAssignmentExists
            | Fault::Forbidden
    );
    if poll && !immediate {
        return None;
    }
    if !immediate {
        // Long-running faults are taken by `long_running` after the work.
        return None;
    }
    s.rules[idx].left -= 1;
    Some(match fault {
        Fault::Throttle { retry_after } => {
            let mut a = arm_error(429, "TooManyRequests", "The request was throttled (injected).");
            a.headers.push(("Retry-After".into(), retry_after.to_string()));
            a
        }
        Fault::ServerError => arm_error(500, "InternalServerError", "An internal error occurred (injected)."),
        Fault::Refuse => arm_error(400, "BadRequest", "The request was refused (injected)."),
        Fault::RoleAssignmentExists => arm_error(
            409,
            "RoleAssignmentExists",
            "The role assignment already exists. The ID of the existing role assignment is 0123456789abcdef0123456789abcdef (injected).",
        ),
        Fault::Forbidden => arm_error(
            403,
            "AuthorizationFailed",
            "The client does not have authorization or an ABAC condition not fulfilled to perform action 'Microsoft.Authorization/roleAssignments/write' (injected).",
        ),
        _ => arm_error(409, "Conflict", "Another operation on this or dependent resource is in progress (injected)."),
    })
}

/// Whether the next long-running `method` a rule makes ends Failed.
fn next_operation_fails(s: &State, method: &str) -> bool {
    s.rules
        .iter()
        .find(|r| {
            r.method == method
                && r.left > 0
                && matches!(r.fault, Fault::AsyncOperation { .. } | Fault::AsyncLocation { .. } | Fault::AsyncFailed)
        })
        .is_some_and(|r| matches!(r.fault, Fault::AsyncFailed))
}

/// Turns a finished PUT/DELETE into a long-running one when a rule says so.
fn long_running(s: &mut State, base: &str, ns: &Namespace, method: &str, a: Answer) -> Answer {
    if a.status >= 300 {
        return a;
    }
    let Some(idx) = s.rules.iter().position(|r| {
        r.method == method
            && r.left > 0
            && matches!(r.fault, Fault::AsyncOperation { .. } | Fault::AsyncLocation { .. } | Fault::AsyncFailed)
    }) else {
        return a;
    };
    s.rules[idx].left -= 1;
    let fault = s.rules[idx].fault;
    let op = format!("op-{}", s.next_id);
    let (polls, failed) = match fault {
        Fault::AsyncOperation { polls } | Fault::AsyncLocation { polls } => (polls, false),
        _ => (1, true),
    };
    s.operations.insert(op.clone(), Operation { polls_left: polls, failed });
    let status = if method == "PUT" { 201 } else { 202 };
    let prefix = format!("{base}/subscriptions/{}/providers/Microsoft.EventHub/locations/westeurope", ns.subscription);
    let mut out = Answer { status, headers: vec![("Retry-After".into(), "0".into())], body: a.body };
    match fault {
        Fault::AsyncLocation { .. } => {
            out.status = 202;
            out.body = Value::Null;
            out.headers.push(("Location".into(), format!("{prefix}/operationResults/{op}?api-version={API_VERSION}")));
        }
        _ => out.headers.push((
            "Azure-AsyncOperation".into(),
            format!("{prefix}/operationStatuses/{op}?api-version={API_VERSION}"),
        )),
    }
    out
}

/// The Microsoft.Authorization api-version (the contract in
/// `reference/authorization/2022-04-01/`).
pub const AUTHORIZATION_API_VERSION: &str = "2022-04-01";
const AUTHORIZATION_SPEC: &str = "authorization/2022-04-01/authorization-RoleAssignmentsCalls.json";

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// ListForScope without a filter: every assignment at, above and below the
/// namespace (all the server holds), paged like the event hub list.
fn list_roles(s: &State, base: &str, path: &str, query: &str) -> Answer {
    if let Some(filter) = query_param(query, "$filter") {
        return arm_error(400, "UnsupportedFilter", format!("this contract server answers no $filter ({filter})"));
    }
    let skip: usize = query_param(query, "$skipToken").and_then(|v| v.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = s.roles.values().skip(skip).take(s.page_size).cloned().collect();
    let mut body = json!({ "value": page });
    if skip + s.page_size < s.roles.len() {
        body["nextLink"] =
            json!(format!("{base}{path}?api-version={AUTHORIZATION_API_VERSION}&$skipToken={}", skip + s.page_size));
    }
    answer(200, body)
}

/// One stored role assignment, in the shape of Microsoft's
/// RoleAssignments_Get example: the tenant form of `roleDefinitionId`, and
/// `resourcegroups` in lowercase in `scope` as Azure writes it.
fn stored_role(scope: &str, name: &str, role_guid: &str, principal: &str, condition: Option<&str>) -> Value {
    let scope = scope.replacen("/resourceGroups/", "/resourcegroups/", 1);
    json!({
        "properties": {
            "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"),
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
            "condition": condition,
            "conditionVersion": condition.map(|_| "2.0"),
            "createdOn": TIMESTAMP,
            "updatedOn": TIMESTAMP,
            "createdBy": null,
            "updatedBy": "a-caller-object-id",
            "delegatedManagedIdentityResourceId": null,
            "description": null
        },
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name
    })
}

/// PUT, GET or DELETE of a role assignment at event hub scope, with the
/// checks Azure makes: a GUID name and principal, a role definition id in
/// the subscription form, the hub existing, one assignment per principal,
/// role and scope (409 RoleAssignmentExists), and a name never reused for
/// another one (400 RoleAssignmentUpdateNotPermitted).
fn role_assignment(
    s: &mut State,
    schema: &Schema,
    ns: &Namespace,
    hub: &str,
    name: &str,
    method: &str,
    body: &str,
) -> Answer {
    if !is_guid(name) {
        return arm_error(400, "InvalidRoleAssignmentId", "The role assignment ID must be a GUID.");
    }
    if !s.hubs.contains_key(hub) {
        return arm_error(
            404,
            "ResourceNotFound",
            format!("The Resource 'Microsoft.EventHub/namespaces/{}/eventhubs/{hub}' under resource group '{}' was not found.", ns.name, ns.resource_group),
        );
    }
    let scope = hub_id(ns, hub);
    match method {
        "GET" => match s.roles.get(name) {
            Some(r) => answer(200, r.clone()),
            None => arm_error(404, "RoleAssignmentNotFound", "The role assignment does not exist."),
        },
        "DELETE" => match s.roles.remove(name) {
            Some(r) => answer(200, r),
            None => answer(204, Value::Null),
        },
        "PUT" => {
            let request: Value = match serde_json::from_str(body) {
                Ok(v) => v,
                Err(e) => {
                    return arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}"))
                }
            };
            let problems = schema.validate_definition(AUTHORIZATION_SPEC, "RoleAssignmentCreateParameters", &request);
            if !problems.is_empty() {
                return arm_error(400, "InvalidRequestContent", problems.join("; "));
            }
            let p = &request["properties"];
            let principal = p["principalId"].as_str().unwrap_or_default().to_owned();
            if !is_guid(&principal) {
                return arm_error(400, "InvalidPrincipalId", "Principal ID must be a GUID.");
            }
            let definition = p["roleDefinitionId"].as_str().unwrap_or_default();
            let prefix =
                format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/", ns.subscription);
            let Some(role) = definition.strip_prefix(&prefix).filter(|g| is_guid(g)) else {
                return arm_error(
                    400,
                    "InvalidRoleDefinitionId",
                    format!("The role definition ID '{definition}' is not valid."),
                );
            };
            let role = role.to_ascii_lowercase();
            let same = |r: &Value| {
                let q = &r["properties"];
                q["scope"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&scope))
                    && q["principalId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&principal))
                    && q["roleDefinitionId"].as_str().is_some_and(|x| x.to_ascii_lowercase().ends_with(&role))
            };
            if let Some(existing) = s.roles.get(name) {
                return if same(existing) {
                    answer(200, existing.clone())
                } else {
                    arm_error(
                        400,
                        "RoleAssignmentUpdateNotPermitted",
                        "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                    )
                };
            }
            if let Some((other, _)) = s.roles.iter().find(|(_, r)| same(r)) {
                return arm_error(
                    409,
                    "RoleAssignmentExists",
                    format!(
                        "The role assignment already exists. The ID of the existing role assignment is {}.",
                        other.replace('-', "")
                    ),
                );
            }
            let condition = p["condition"].as_str();
            let stored = stored_role(&scope, name, &role, &principal, condition);
            s.roles.insert(name.to_owned(), stored.clone());
            answer(201, stored)
        }
        m => arm_error(405, "MethodNotAllowed", format!("{m} is not supported on a role assignment.")),
    }
}

fn list_hubs(s: &State, base: &str, path: &str, query: &str) -> Answer {
    let skip: usize = query_param(query, "$skiptoken").and_then(|v| v.parse().ok()).unwrap_or(0);
    let page: Vec<Value> = s.hubs.values().skip(skip).take(s.page_size).cloned().collect();
    let mut body = json!({ "value": page });
    if s.next_link_loop {
        body["nextLink"] = json!(format!("{base}{path}?api-version={API_VERSION}&$skiptoken=0"));
    } else if skip + s.page_size < s.hubs.len() {
        body["nextLink"] = json!(format!("{base}{path}?api-version={API_VERSION}&$skiptoken={}", skip + s.page_size));
    }
    answer(200, body)
}

fn namespace_body(ns: &Namespace) -> Value {
    // The shape of EHNameSpaceCreate.json's 200 answer.
    let template = read_json("examples/NameSpaces/EHNameSpaceCreate.json");
    let mut body = template["responses"]["200"]["body"].clone();
    body["sku"] = json!({ "name": ns.sku, "tier": ns.sku, "capacity": ns.capacity });
    body["id"] = json!(format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.EventHub/namespaces/{}",
        ns.subscription, ns.resource_group, ns.name
    ));
    body["name"] = json!(ns.name);
    body.as_object_mut().unwrap().remove("identity");
    let props = body["properties"].as_object_mut().unwrap();
    props.remove("encryption");
    props.insert("status".into(), json!(ns.status));
    props.insert("provisioningState".into(), json!("Succeeded"));
    props.insert("kafkaEnabled".into(), json!(ns.kafka_enabled));
    props.insert("metricId".into(), json!(format!("{}:{}", ns.subscription, ns.name)));
    props.insert("serviceBusEndpoint".into(), json!(format!("https://{}.servicebus.windows.net:443/", ns.name)));
    match &ns.cluster_arm_id {
        Some(c) => props.insert("clusterArmId".into(), json!(c)),
        None => props.remove("clusterArmId"),
    };
    body
}

fn consumer_group(ns: &Namespace, hub: &str, name: &str) -> Value {
    json!({
        "id": format!("{}/consumergroups/{name}", hub_id(ns, hub)),
        "name": name,
        "type": "Microsoft.EventHub/Namespaces/EventHubs/ConsumerGroups",
        "properties": { "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP }
    })
}

/// The stored (and answered) event hub, in the shape of EHEventHubGet.json.
fn stored_hub(id: &str, name: &str, request: &Value, previous: Option<&Value>) -> Value {
    let p = &request["properties"];
    let partitions = p["partitionCount"].as_i64().unwrap_or(4);
    let mut retention = p["retentionDescription"].as_object().cloned().unwrap_or_default();
    let cleanup = retention.get("cleanupPolicy").and_then(Value::as_str).unwrap_or("Delete").to_owned();
    retention.insert("cleanupPolicy".into(), json!(cleanup));
    let hours = retention
        .get("retentionTimeInHours")
        .and_then(Value::as_i64)
        .or_else(|| p["messageRetentionInDays"].as_i64().map(|d| d * 24));
    match (cleanup.as_str(), hours) {
        ("Compact", None) => {
            retention.insert("retentionTimeInHours".into(), json!(LONG_MAX));
        }
        (_, Some(h)) => {
            retention.insert("retentionTimeInHours".into(), json!(h));
        }
        (_, None) => {
            retention.insert("retentionTimeInHours".into(), json!(24));
        }
    }
    let h = retention["retentionTimeInHours"].as_i64().unwrap();
    let days = if h == LONG_MAX { 90 } else { (h + 23) / 24 };
    let mut props = Map::new();
    props.insert("messageRetentionInDays".into(), json!(days.max(1)));
    props.insert("partitionCount".into(), json!(partitions));
    props.insert("status".into(), p.get("status").cloned().unwrap_or(json!("Active")));
    if let Some(m) = p.get("userMetadata") {
        props.insert("userMetadata".into(), m.clone());
    }
    let created = previous.and_then(|v| v["properties"]["createdAt"].as_str()).unwrap_or(TIMESTAMP);
    props.insert("createdAt".into(), json!(created));
    props.insert("updatedAt".into(), json!(TIMESTAMP));
    props.insert("partitionIds".into(), json!((0..partitions).map(|i| i.to_string()).collect::<Vec<_>>()));
    if let Some(c) = p.get("captureDescription") {
        props.insert("captureDescription".into(), c.clone());
    }
    props.insert("retentionDescription".into(), Value::Object(retention));
    json!({ "id": id, "name": name, "type": "Microsoft.EventHub/namespaces/eventhubs", "location": "westeurope", "properties": props })
}

fn put_hub(s: &mut State, schema: &Schema, ns: &Namespace, name: &str, body: &str) -> Answer {
    let request: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return arm_error(
                400,
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: {e}"),
            )
        }
    };
    let problems = schema.validate_definition("eventhubs.json", "Eventhub", &request);
    if !problems.is_empty() {
        return arm_error(
            400,
            "InvalidRequestContent",
            format!("The request body does not match the Eventhub definition: {}", problems.join("; ")),
        );
    }
    let (max_partitions, increase, max_hubs, max_total, max_hours) = ns.limits();
    let tier = ns.tier();
    let p = &request["properties"];
    let existing = s.hubs.get(name).cloned();
    let old_props = existing.as_ref().map(|e| e["properties"].clone());
    let partitions = match (p["partitionCount"].as_i64(), &old_props) {
        (Some(n), _) => n,
        (None, Some(o)) => o["partitionCount"].as_i64().unwrap_or(4),
        (None, None) => 4,
    };
    if partitions > max_partitions {
        return arm_error(
            400,
            "BadRequest",
            format!("The value '{partitions}' for partitionCount is invalid: the {tier} tier allows 1 to {max_partitions} partitions per event hub."),
        );
    }
    let retention = &p["retentionDescription"];
    let cleanup = retention["cleanupPolicy"].as_str().unwrap_or("Delete");
    if cleanup == "Compact" && tier == "basic" {
        return arm_error(400, "BadRequest", "Log compaction is not available on the basic tier.");
    }
    if let Some(h) = retention["retentionTimeInHours"].as_i64() {
        if h < 1 || h > max_hours {
            return arm_error(
                400,
                "BadRequest",
                format!("The value '{h}' for retentionTimeInHours is invalid: the {tier} tier allows 1 to {max_hours} hours."),
            );
        }
    }
    if let Some(d) = p["messageRetentionInDays"].as_i64() {
        if d > max_hours / 24 {
            return arm_error(
                400,
                "BadRequest",
                format!(
                    "The value '{d}' for messageRetentionInDays exceeds the {tier} tier's {} days.",
                    max_hours / 24
                ),
            );
        }
    }
    if let Some(h) = retention["tombstoneRetentionTimeInHours"].as_i64() {
        if h < 1 || h > max_hours {
            return arm_error(
                400,
                "BadRequest",
                format!("The value '{h}' for tombstoneRetentionTimeInHours is invalid."),
            );
        }
    }
    match &old_props {
        Some(o) => {
            let before = o["partitionCount"].as_i64().unwrap_or(0);
            if partitions < before {
                return arm_error(
                    400,
                    "BadRequest",
                    format!("Partition count of event hub '{name}' cannot be decreased ({before} -> {partitions})."),
                );
            }
            if partitions > before && !increase {
                return arm_error(
                    400,
                    "BadRequest",
                    format!("Partition count of event hub '{name}' cannot be changed on the {tier} tier ({before} -> {partitions}); it is available on premium and dedicated."),
                );
            }
            let old_cleanup = o["retentionDescription"]["cleanupPolicy"].as_str().unwrap_or("Delete");
            if !old_cleanup.eq_ignore_ascii_case(cleanup) {
                return arm_error(
                    400,
                    "BadRequest",
                    format!("The cleanupPolicy of event hub '{name}' cannot be changed after creation ({old_cleanup} -> {cleanup})."),
                );
            }
        }
        None => {
            if s.hubs.len() >= max_hubs {
                return arm_error(
                    400,
                    "QuotaExceeded",
                    format!(
                        "The maximum entity count of {max_hubs} event hubs for namespace '{}' has been reached.",
                        ns.name
                    ),
                );
            }
        }
    }
    if let Some(max) = max_total {
        let others: i64 = s
            .hubs
            .iter()
            .filter(|(n, _)| *n != name)
            .map(|(_, h)| h["properties"]["partitionCount"].as_i64().unwrap_or(0))
            .sum();
        if others + partitions > max {
            return arm_error(
                400,
                "QuotaExceeded",
                format!(
                    "The namespace '{}' would have {} partitions; the limit for {} unit(s) is {max}.",
                    ns.name,
                    others + partitions,
                    ns.capacity
                ),
            );
        }
    }
    let id = hub_id(ns, name);
    let stored = stored_hub(&id, name, &request, existing.as_ref());
    s.hubs.insert(name.to_owned(), stored.clone());
    answer(200, stored)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_json(rel: &str) -> Value {
    let path = reference_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The subset of Swagger 2.0 / JSON Schema the reference definitions use.
pub struct Schema {
    files: HashMap<String, Value>,
}

impl Schema {
    pub fn load() -> Schema {
        let files = [
            "eventhubs.json",
            "consumergroups.json",
            "namespaces.json",
            "common/v1/definitions.json",
            "common/v2/definitions.json",
            AUTHORIZATION_SPEC,
            "authorization/2022-04-01/common-types.json",
            "common-types/resource-management/v2/types.json",
        ]
        .iter()
        .map(|f| (f.to_string(), read_json(f)))
        .collect();
        Schema { files }
    }

    /// Problems of `value` as a request body for `definition` in `file`.
    pub fn validate_definition(&self, file: &str, definition: &str, value: &Value) -> Vec<String> {
        let schema = self.files[file]["definitions"][definition].clone();
        let mut problems = Vec::new();
        self.check(file, &schema, value, "$", &mut problems);
        problems
    }

    /// `../../../common/v1/definitions.json#/definitions/X` -> (`common/v1/definitions.json`, schema).
    fn resolve(&self, file: &str, reference: &str) -> (String, Value) {
        let (target, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        // Upstream layout -> ours (SOURCE.md): `../../../common/` from the
        // Event Hubs files, `../../../../../common-types/` from the
        // authorization file, `./x` beside the referring file.
        let target = if target.is_empty() {
            file.to_owned()
        } else if let Some(beside) = target.strip_prefix("./") {
            match file.rsplit_once('/') {
                Some((dir, _)) => format!("{dir}/{beside}"),
                None => beside.to_owned(),
            }
        } else if let Some(common) = target.strip_prefix("../../../../../") {
            common.to_owned()
        } else {
            target.trim_start_matches("../../../").to_owned()
        };
        let doc = self.files.get(&target).unwrap_or_else(|| panic!("unresolved $ref {reference}"));
        let node = doc.pointer(pointer).unwrap_or_else(|| panic!("unresolved $ref {reference}")).clone();
        (target, node)
    }

    /// Properties an object schema defines, through `$ref` and `allOf`.
    fn properties(&self, file: &str, schema: &Value, out: &mut Vec<(String, String, Value)>) {
        if let Some(r) = schema["$ref"].as_str() {
            let (f, s) = self.resolve(file, r);
            return self.properties(&f, &s, out);
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in props {
                out.push((k.clone(), file.to_owned(), v.clone()));
            }
        }
        if let Some(all) = schema["allOf"].as_array() {
            for s in all {
                self.properties(file, s, out);
            }
        }
    }

    fn check(&self, file: &str, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
        if schema["readOnly"] == json!(true) {
            problems.push(format!("{at} is read-only"));
            return;
        }
        if let Some(r) = schema["$ref"].as_str() {
            let (f, s) = self.resolve(file, r);
            return self.check(&f, &s, value, at, problems);
        }
        if let Some(all) = schema["allOf"].as_array() {
            // Required and type of each part; properties are checked together below.
            for part in all {
                let (f, s) = match part["$ref"].as_str() {
                    Some(r) => self.resolve(file, r),
                    None => (file.to_owned(), part.clone()),
                };
                if let (Some(req), Some(obj)) = (s["required"].as_array(), value.as_object()) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            problems.push(format!("{at}.{r} is required ({f})"));
                        }
                    }
                }
            }
        }
        let ty = schema["type"]
            .as_str()
            .or_else(|| (schema["properties"].is_object() || schema["allOf"].is_array()).then_some("object"));
        match ty {
            Some("object") => {
                let Some(obj) = value.as_object() else {
                    problems.push(format!("{at} must be an object"));
                    return;
                };
                if let Some(req) = schema["required"].as_array() {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !obj.contains_key(r) {
                            problems.push(format!("{at}.{r} is required"));
                        }
                    }
                }
                let mut props = Vec::new();
                self.properties(file, schema, &mut props);
                for (k, v) in obj {
                    match props.iter().find(|(name, _, _)| name == k) {
                        Some((_, f, s)) => self.check(f, s, v, &format!("{at}.{k}"), problems),
                        None if schema["additionalProperties"].is_object()
                            || schema["additionalProperties"] == json!(true) => {}
                        None => problems.push(format!("{at}.{k} is not defined")),
                    }
                }
            }
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(file, &schema["items"], item, &format!("{at}[{i}]"), problems);
                    }
                }
                None => problems.push(format!("{at} must be an array")),
            },
            Some("string") => match value.as_str() {
                Some(v) => {
                    if let Some(allowed) = schema["enum"].as_array() {
                        if !allowed.iter().any(|a| a.as_str() == Some(v)) {
                            problems.push(format!("{at} `{v}` is not one of {}", Value::Array(allowed.clone())));
                        }
                    }
                }
                None => problems.push(format!("{at} must be a string")),
            },
            Some("integer") => match value.as_i64() {
                Some(n) => {
                    if schema["format"] == json!("int32") && (n < i32::MIN as i64 || n > i32::MAX as i64) {
                        problems.push(format!("{at} {n} is out of the int32 range"));
                    }
                    if let Some(min) = schema["minimum"].as_i64() {
                        if n < min {
                            problems.push(format!("{at} {n} is below the minimum {min}"));
                        }
                    }
                    if let Some(max) = schema["maximum"].as_i64() {
                        if n > max {
                            problems.push(format!("{at} {n} is above the maximum {max}"));
                        }
                    }
                }
                None => problems.push(format!("{at} must be an integer")),
            },
            Some("boolean") if !value.is_boolean() => problems.push(format!("{at} must be a boolean")),
            _ => {}
        }
    }
}
