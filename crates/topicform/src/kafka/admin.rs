//! Admin requests through librdkafka's C API directly.
//!
//! Why not rust-rdkafka's `AdminClient` methods:
//! - it only wraps the legacy `AlterConfigs`, which replaces a topic's whole
//!   set of overrides, so any key the request omits is reset to the broker
//!   default. IncrementalAlterConfigs (KIP-339) sets or deletes only the keys
//!   named, the only safe way to change a topic the spec does not fully
//!   describe;
//! - its per-topic results keep the error code but drop the broker's error
//!   message ("Unknown topic config name: retention.msx"), which is what a
//!   person needs to fix the spec.
//!
//! Each request runs on a private librdkafka queue that this module creates,
//! polls and destroys, so it never interferes with rust-rdkafka's own admin
//! queue. Every native object is owned by a guard that frees it on drop.
//! Blocking: call from a blocking thread.

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::ptr;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka_sys as rdsys;
use rdsys::types::RDKafkaRespErr;

use crate::apply::{ConfigOp, NewTopic};

/// One admin request over many topics.
#[derive(Debug, Clone)]
pub enum Request {
    /// CreateTopics.
    CreateTopics(Vec<NewTopic>),
    /// CreatePartitions: topic and new total.
    CreatePartitions(Vec<(String, u32)>),
    /// IncrementalAlterConfigs: topic and its operations.
    AlterConfigs(Vec<(String, Vec<ConfigOp>)>),
    /// DeleteTopics.
    DeleteTopics(Vec<String>),
}

impl Request {
    /// The Kafka API name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Request::CreateTopics(_) => "CreateTopics",
            Request::CreatePartitions(_) => "CreatePartitions",
            Request::AlterConfigs(_) => "IncrementalAlterConfigs",
            Request::DeleteTopics(_) => "DeleteTopics",
        }
    }

    /// The same request restricted to `topics`.
    pub fn only(&self, topics: &[String]) -> Request {
        let keep = |n: &String| topics.contains(n);
        match self {
            Request::CreateTopics(v) => Request::CreateTopics(v.iter().filter(|t| keep(&t.name)).cloned().collect()),
            Request::CreatePartitions(v) => {
                Request::CreatePartitions(v.iter().filter(|t| keep(&t.0)).cloned().collect())
            }
            Request::AlterConfigs(v) => Request::AlterConfigs(v.iter().filter(|t| keep(&t.0)).cloned().collect()),
            Request::DeleteTopics(v) => Request::DeleteTopics(v.iter().filter(|t| keep(t)).cloned().collect()),
        }
    }

    /// The topics of the request, in order.
    pub fn topics(&self) -> Vec<String> {
        match self {
            Request::CreateTopics(v) => v.iter().map(|t| t.name.clone()).collect(),
            Request::CreatePartitions(v) => v.iter().map(|t| t.0.clone()).collect(),
            Request::AlterConfigs(v) => v.iter().map(|t| t.0.clone()).collect(),
            Request::DeleteTopics(v) => v.clone(),
        }
    }

    /// Topics in the request.
    pub fn len(&self) -> usize {
        match self {
            Request::CreateTopics(v) => v.len(),
            Request::CreatePartitions(v) => v.len(),
            Request::AlterConfigs(v) => v.len(),
            Request::DeleteTopics(v) => v.len(),
        }
    }

    /// True when there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the broker makes the change or only says whether it would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// `validate_only`: the broker checks the request as it would apply it
    /// (names, counts, config types and policies) and changes nothing. Not
    /// for DeleteTopics, which has no such flag.
    ValidateOnly,
}

/// Why one topic's part of a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicError {
    /// The Kafka error code.
    pub code: RDKafkaRespErr,
    /// The broker's message, or the code's description when it sent none.
    pub message: String,
}

/// Why a request failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestError {
    /// Whether sending the same request again may succeed.
    pub retriable: bool,
    /// librdkafka's or the broker's message.
    pub message: String,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Each topic's outcome.
pub(crate) type TopicOutcome = (String, Result<(), TopicError>);

/// Owns native objects and frees them with `destroy` on drop.
pub(super) struct Owned<T> {
    pub(super) ptrs: Vec<*mut T>,
    destroy: unsafe extern "C" fn(*mut T),
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        for p in self.ptrs.drain(..) {
            // SAFETY: each pointer was returned by the matching constructor and
            // is destroyed exactly once; librdkafka copies request objects
            // when the request is made, so the caller keeps ownership.
            unsafe { (self.destroy)(p) };
        }
    }
}

impl<T> Owned<T> {
    pub(super) fn new(destroy: unsafe extern "C" fn(*mut T)) -> Self {
        Owned { ptrs: Vec::new(), destroy }
    }
}

pub(super) fn cstring(s: &str, what: &str) -> Result<CString, RequestError> {
    CString::new(s).map_err(|_| fatal(format!("{what} `{s}` contains a NUL byte")))
}

pub(super) fn fatal(message: String) -> RequestError {
    RequestError { retriable: false, message }
}

/// # Safety
/// `p` must be null or a valid NUL-terminated string.
pub(super) unsafe fn owned_str(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

fn err_name(code: RDKafkaRespErr) -> String {
    // SAFETY: rd_kafka_err2str returns a static string for any code.
    unsafe { owned_str(rdsys::rd_kafka_err2str(code)) }.unwrap_or_else(|| format!("{code:?}"))
}

/// `Broker: Invalid config: Unknown topic config name: x`, without repeating
/// a message that only restates the code.
pub(super) fn describe(code: RDKafkaRespErr, detail: Option<String>) -> String {
    let name = err_name(code);
    match detail {
        Some(d) if !d.is_empty() && !name.ends_with(&d) => format!("{name}: {d}"),
        _ => name,
    }
}

pub(super) fn errbuf() -> [c_char; 512] {
    [0; 512]
}

/// One admin request's options and private queue: set up, sent by the
/// caller, answered through [`Call::answer`].
pub(super) struct Call {
    options: Owned<rdsys::rd_kafka_AdminOptions_t>,
    queue: Owned<rdsys::rd_kafka_queue_t>,
    /// The broker's share of the timeout (operation timeout), in ms.
    timeout_ms: i32,
    /// How long the client waits for an answer, in ms.
    request_timeout_ms: i32,
}

impl Call {
    /// Options for `op` (named `name` in messages) with `timeout`: the
    /// client waits a little longer than the broker gets (request timeout),
    /// so a slow but successful change is reported as such instead of
    /// racing the client's own timeout.
    pub(super) fn new(
        admin: &AdminClient<DefaultClientContext>,
        op: rdsys::rd_kafka_admin_op_t,
        name: &str,
        timeout: Duration,
    ) -> Result<Call, RequestError> {
        let rk = admin.inner().native_ptr();
        let timeout_ms = timeout.as_millis().min(3_000_000) as i32;
        let request_timeout_ms = timeout_ms + 5_000;
        // SAFETY: rk is a live client handle for the duration of this call.
        let opts = unsafe { rdsys::rd_kafka_AdminOptions_new(rk, op) };
        if opts.is_null() {
            return Err(fatal(format!("librdkafka cannot make options for {name}")));
        }
        let options = Owned { ptrs: vec![opts], destroy: rdsys::rd_kafka_AdminOptions_destroy };
        // SAFETY: rk is live.
        let queue =
            Owned { ptrs: vec![unsafe { rdsys::rd_kafka_queue_new(rk) }], destroy: rdsys::rd_kafka_queue_destroy };
        let call = Call { options, queue, timeout_ms, request_timeout_ms };
        let mut err = errbuf();
        // SAFETY: opts is live; err is a writable buffer of the given size.
        let code = unsafe {
            rdsys::rd_kafka_AdminOptions_set_request_timeout(opts, request_timeout_ms, err.as_mut_ptr(), err.len())
        };
        option_result(code, &err)?;
        Ok(call)
    }

    /// `validate_only`: the broker checks and changes nothing.
    fn validate_only(&self) -> Result<(), RequestError> {
        let mut err = errbuf();
        // SAFETY: the options are live; err is writable.
        let code =
            unsafe { rdsys::rd_kafka_AdminOptions_set_validate_only(self.options(), 1, err.as_mut_ptr(), err.len()) };
        option_result(code, &err)
    }

    /// The broker waits this long for the controller to finish the change.
    pub(super) fn operation_timeout(&self) -> Result<(), RequestError> {
        let mut err = errbuf();
        // SAFETY: the options are live; err is writable.
        let code = unsafe {
            rdsys::rd_kafka_AdminOptions_set_operation_timeout(
                self.options(),
                self.timeout_ms,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        option_result(code, &err)
    }

    pub(super) fn options(&self) -> *mut rdsys::rd_kafka_AdminOptions_t {
        self.options.ptrs[0]
    }

    pub(super) fn queue(&self) -> *mut rdsys::rd_kafka_queue_t {
        self.queue.ptrs[0]
    }

    /// Waits for the answer: the result event, or why the request failed
    /// as a whole. librdkafka answers with a timeout event of its own when
    /// the broker does not; the margin only guards against a lost event.
    pub(super) fn answer(&self) -> Result<Owned<rdsys::rd_kafka_event_t>, RequestError> {
        let poll_ms = self.request_timeout_ms.saturating_add(5_000);
        // SAFETY: the queue is live.
        let raw = unsafe { rdsys::rd_kafka_queue_poll(self.queue(), poll_ms) };
        if raw.is_null() {
            return Err(RequestError { retriable: true, message: format!("no answer within {poll_ms} ms") });
        }
        let event = Owned { ptrs: vec![raw], destroy: rdsys::rd_kafka_event_destroy };
        // SAFETY: raw is live until `event` drops.
        let code = unsafe { rdsys::rd_kafka_event_error(raw) };
        if code != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = unsafe { owned_str(rdsys::rd_kafka_event_error_string(raw)) };
            return Err(RequestError { retriable: super::is_retriable(&code.into()), message: describe(code, detail) });
        }
        Ok(event)
    }
}

fn option_result(code: RDKafkaRespErr, err: &[c_char]) -> Result<(), RequestError> {
    if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    // SAFETY: librdkafka wrote a NUL-terminated message into err.
    Err(fatal(unsafe { owned_str(err.as_ptr()) }.unwrap_or_else(|| err_name(code))))
}

/// Sends `request` and waits up to `timeout` (plus a margin) for the answer.
pub fn run(
    admin: &AdminClient<DefaultClientContext>,
    request: &Request,
    mode: Mode,
    timeout: Duration,
) -> Result<Vec<TopicOutcome>, RequestError> {
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let rk = admin.inner().native_ptr();
    let op = match request {
        Request::CreateTopics(_) => rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATETOPICS,
        Request::CreatePartitions(_) => rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEPARTITIONS,
        Request::AlterConfigs(_) => rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        Request::DeleteTopics(_) => rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETETOPICS,
    };
    let call = Call::new(admin, op, request.name(), timeout)?;
    if mode == Mode::ValidateOnly {
        call.validate_only()?;
    }
    if !matches!(request, Request::AlterConfigs(_)) {
        call.operation_timeout()?;
    }
    let (opts, q) = (call.options(), call.queue());
    let mut err = errbuf();

    match request {
        Request::CreateTopics(topics) => {
            let mut objs = Owned::new(rdsys::rd_kafka_NewTopic_destroy);
            for t in topics {
                let name = cstring(&t.name, "topic name")?;
                let rf = t.replication_factor.map_or(-1, i32::from);
                let partitions = i32::try_from(t.partitions)
                    .map_err(|_| fatal(format!("topic `{}`: too many partitions", t.name)))?;
                // SAFETY: name is a valid C string; err is writable.
                let nt =
                    unsafe { rdsys::rd_kafka_NewTopic_new(name.as_ptr(), partitions, rf, err.as_mut_ptr(), err.len()) };
                if nt.is_null() {
                    return Err(fatal(format!(
                        "topic `{}`: {}",
                        t.name,
                        unsafe { owned_str(err.as_ptr()) }.unwrap_or_default()
                    )));
                }
                objs.ptrs.push(nt);
                for (k, v) in &t.config {
                    let (ck, cv) = (cstring(k, "config key")?, cstring(v, "config value")?);
                    // SAFETY: nt is live; strings are valid and copied.
                    let code = unsafe { rdsys::rd_kafka_NewTopic_set_config(nt, ck.as_ptr(), cv.as_ptr()) };
                    if code != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
                        return Err(fatal(format!("topic `{}`, config `{k}`: {}", t.name, err_name(code))));
                    }
                }
            }
            // SAFETY: all pointers are live; librdkafka copies the array.
            unsafe { rdsys::rd_kafka_CreateTopics(rk, objs.ptrs.as_mut_ptr(), objs.ptrs.len(), opts, q) };
        }
        Request::CreatePartitions(topics) => {
            let mut objs = Owned::new(rdsys::rd_kafka_NewPartitions_destroy);
            for (topic, total) in topics {
                let name = cstring(topic, "topic name")?;
                // SAFETY: name is a valid C string; err is writable.
                let np = unsafe {
                    rdsys::rd_kafka_NewPartitions_new(name.as_ptr(), *total as usize, err.as_mut_ptr(), err.len())
                };
                if np.is_null() {
                    return Err(fatal(format!(
                        "topic `{topic}`: {}",
                        unsafe { owned_str(err.as_ptr()) }.unwrap_or_default()
                    )));
                }
                objs.ptrs.push(np);
            }
            // SAFETY: all pointers are live; librdkafka copies the array.
            unsafe { rdsys::rd_kafka_CreatePartitions(rk, objs.ptrs.as_mut_ptr(), objs.ptrs.len(), opts, q) };
        }
        Request::DeleteTopics(topics) => {
            let mut objs = Owned::new(rdsys::rd_kafka_DeleteTopic_destroy);
            for topic in topics {
                let name = cstring(topic, "topic name")?;
                // SAFETY: name is a valid C string, copied by librdkafka.
                objs.ptrs.push(unsafe { rdsys::rd_kafka_DeleteTopic_new(name.as_ptr()) });
            }
            // SAFETY: all pointers are live; librdkafka copies the array.
            unsafe { rdsys::rd_kafka_DeleteTopics(rk, objs.ptrs.as_mut_ptr(), objs.ptrs.len(), opts, q) };
        }
        Request::AlterConfigs(topics) => {
            let mut objs = Owned::new(rdsys::rd_kafka_ConfigResource_destroy);
            for (topic, ops) in topics {
                let name = cstring(topic, "topic name")?;
                // SAFETY: name is a valid C string, copied by librdkafka.
                let res = unsafe {
                    rdsys::rd_kafka_ConfigResource_new(
                        rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                        name.as_ptr(),
                    )
                };
                if res.is_null() {
                    return Err(fatal(format!("cannot describe topic `{topic}` as a config resource")));
                }
                objs.ptrs.push(res);
                for op in ops {
                    add_incremental_config(res, topic, op)?;
                }
            }
            // SAFETY: all pointers are live; librdkafka copies the array.
            unsafe { rdsys::rd_kafka_IncrementalAlterConfigs(rk, objs.ptrs.as_mut_ptr(), objs.ptrs.len(), opts, q) };
        }
    }

    let event = call.answer()?;
    let raw = event.ptrs[0];
    let mut outcomes = unsafe { read_results(request, raw) }?;
    drop(event);
    // A topic the answer leaves out must not pass for a success.
    for topic in request.topics() {
        if !outcomes.iter().any(|(name, _)| *name == topic) {
            let message = "no result for this topic in the broker's answer".to_owned();
            outcomes.push((topic, Err(TopicError { code: RDKafkaRespErr::RD_KAFKA_RESP_ERR__FAIL, message })));
        }
    }
    Ok(outcomes)
}

fn add_incremental_config(
    res: *mut rdsys::rd_kafka_ConfigResource_t,
    topic: &str,
    op: &ConfigOp,
) -> Result<(), RequestError> {
    let (key, value, op_type) = match op {
        ConfigOp::Set(k, v) => (k, Some(v), rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET),
        ConfigOp::Delete(k) => (k, None, rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE),
    };
    let ckey = cstring(key, "config key")?;
    let cvalue = value.map(|v| cstring(v, "config value")).transpose()?;
    // SAFETY: res is live; strings are valid (value null for DELETE) and copied.
    let err = unsafe {
        rdsys::rd_kafka_ConfigResource_add_incremental_config(
            res,
            ckey.as_ptr(),
            op_type,
            cvalue.as_ref().map_or(ptr::null(), |v| v.as_ptr()),
        )
    };
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: err is a live error object that we own and destroy here.
    let message = unsafe { owned_str(rdsys::rd_kafka_error_string(err)) }.unwrap_or_default();
    unsafe { rdsys::rd_kafka_error_destroy(err) };
    Err(fatal(format!("topic `{topic}`, key `{key}`: {message}")))
}

/// Copies each topic's outcome out of a result event.
///
/// # Safety
/// `event` must be a live result event of `request`'s type.
unsafe fn read_results(
    request: &Request,
    event: *mut rdsys::rd_kafka_event_t,
) -> Result<Vec<TopicOutcome>, RequestError> {
    let mut count = 0usize;
    let topic_results = match request {
        Request::CreateTopics(_) => {
            let r = rdsys::rd_kafka_event_CreateTopics_result(event);
            (!r.is_null()).then(|| rdsys::rd_kafka_CreateTopics_result_topics(r, &mut count))
        }
        Request::CreatePartitions(_) => {
            let r = rdsys::rd_kafka_event_CreatePartitions_result(event);
            (!r.is_null()).then(|| rdsys::rd_kafka_CreatePartitions_result_topics(r, &mut count))
        }
        Request::DeleteTopics(_) => {
            let r = rdsys::rd_kafka_event_DeleteTopics_result(event);
            (!r.is_null()).then(|| rdsys::rd_kafka_DeleteTopics_result_topics(r, &mut count))
        }
        Request::AlterConfigs(_) => {
            let r = rdsys::rd_kafka_event_IncrementalAlterConfigs_result(event);
            if r.is_null() {
                return Err(fatal("unexpected event on the admin queue".into()));
            }
            let resources = rdsys::rd_kafka_IncrementalAlterConfigs_result_resources(r, &mut count);
            let mut out = Vec::with_capacity(count);
            for i in 0..count {
                let res = *resources.add(i);
                let name = owned_str(rdsys::rd_kafka_ConfigResource_name(res)).unwrap_or_default();
                let code = rdsys::rd_kafka_ConfigResource_error(res);
                out.push((name, outcome(code, owned_str(rdsys::rd_kafka_ConfigResource_error_string(res)))));
            }
            return Ok(out);
        }
    };
    let Some(results) = topic_results else {
        return Err(fatal("unexpected event on the admin queue".into()));
    };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let t = *results.add(i);
        let name = owned_str(rdsys::rd_kafka_topic_result_name(t)).unwrap_or_default();
        let code = rdsys::rd_kafka_topic_result_error(t);
        out.push((name, outcome(code, owned_str(rdsys::rd_kafka_topic_result_error_string(t)))));
    }
    Ok(out)
}

fn outcome(code: RDKafkaRespErr, detail: Option<String>) -> Result<(), TopicError> {
    if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        Ok(())
    } else {
        Err(TopicError { code, message: describe(code, detail) })
    }
}
