//! A safe wrapper over librdkafka's `rd_kafka_IncrementalAlterConfigs`.
//!
//! Why: rust-rdkafka only wraps the legacy `AlterConfigs`, which replaces a
//! topic's whole set of overrides, so any key the request omits is reset to
//! the broker default. IncrementalAlterConfigs (KIP-339) sets or deletes only
//! the keys named, which is the only safe way to change a topic the spec
//! does not fully describe.
//!
//! The call runs on a private librdkafka queue that this module creates,
//! polls and destroys, so it does not interfere with rust-rdkafka's own admin
//! queue. Every native object is owned by a guard that frees it on drop.

use std::ffi::{CStr, CString};
use std::ptr;
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka_sys as rdsys;
use rdsys::types::RDKafkaRespErr;

/// One incremental operation on one config key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOp {
    /// Set `key` to `value`.
    Set(String, String),
    /// Remove the topic-level override of `key`.
    Delete(String),
}

/// The result of one topic's alteration: `Err` carries the broker's message.
pub type TopicAlterResult = (String, Result<(), String>);

/// Why the request as a whole failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// Whether retrying the same request may succeed.
    pub retriable: bool,
    /// librdkafka's or the broker's message.
    pub message: String,
}

struct Resources(Vec<*mut rdsys::rd_kafka_ConfigResource_t>);
impl Drop for Resources {
    fn drop(&mut self) {
        for r in self.0.drain(..) {
            // SAFETY: each pointer came from rd_kafka_ConfigResource_new and
            // is destroyed once; librdkafka copied them when the call was made.
            unsafe { rdsys::rd_kafka_ConfigResource_destroy(r) };
        }
    }
}

struct Options(*mut rdsys::rd_kafka_AdminOptions_t);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new, destroyed once.
        unsafe { rdsys::rd_kafka_AdminOptions_destroy(self.0) };
    }
}

struct Queue(*mut rdsys::rd_kafka_queue_t);
impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new, destroyed once.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0) };
    }
}

struct Event(*mut rdsys::rd_kafka_event_t);
impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: returned by rd_kafka_queue_poll, destroyed once; the
        // result resources borrowed from it are not used after this.
        unsafe { rdsys::rd_kafka_event_destroy(self.0) };
    }
}

fn cstring(s: &str, what: &str) -> Result<CString, RequestError> {
    CString::new(s).map_err(|_| RequestError { retriable: false, message: format!("{what} `{s}` contains a NUL byte") })
}

/// # Safety
/// `p` must be null or a valid NUL-terminated string.
unsafe fn owned(p: *const std::os::raw::c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

fn err_name(code: RDKafkaRespErr) -> String {
    // SAFETY: rd_kafka_err2str returns a static string for any code.
    unsafe { owned(rdsys::rd_kafka_err2str(code)) }.unwrap_or_else(|| format!("{code:?}"))
}

/// Whether a whole-request error code is worth retrying.
fn retriable(code: RDKafkaRespErr) -> bool {
    use RDKafkaRespErr::*;
    matches!(
        code,
        RD_KAFKA_RESP_ERR__TIMED_OUT
            | RD_KAFKA_RESP_ERR__TRANSPORT
            | RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN
            | RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT
            | RD_KAFKA_RESP_ERR_NOT_CONTROLLER
            | RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION
            | RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED
    )
}

/// Applies `ops` per topic in ONE IncrementalAlterConfigs request and waits
/// up to `timeout` for the answer. Blocking: call from a blocking thread.
pub fn incremental_alter_topic_configs(
    admin: &AdminClient<DefaultClientContext>,
    ops: &[(String, Vec<ConfigOp>)],
    timeout: Duration,
) -> Result<Vec<TopicAlterResult>, RequestError> {
    if ops.is_empty() {
        return Ok(Vec::new());
    }
    let rk = admin.inner().native_ptr();
    let mut resources = Resources(Vec::with_capacity(ops.len()));
    for (topic, topic_ops) in ops {
        let name = cstring(topic, "topic name")?;
        // SAFETY: rk is a live client handle; name is a valid C string that
        // librdkafka copies.
        let res = unsafe {
            rdsys::rd_kafka_ConfigResource_new(rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC, name.as_ptr())
        };
        if res.is_null() {
            return Err(RequestError {
                retriable: false,
                message: format!("cannot describe topic `{topic}` as a config resource"),
            });
        }
        resources.0.push(res);
        for op in topic_ops {
            let (key, value, op_type) = match op {
                ConfigOp::Set(k, v) => {
                    (k, Some(v), rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET)
                }
                ConfigOp::Delete(k) => {
                    (k, None, rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE)
                }
            };
            let ckey = cstring(key, "config key")?;
            let cvalue = value.map(|v| cstring(v, "config value")).transpose()?;
            // SAFETY: res is live; key/value are valid C strings (value may be
            // null for DELETE) that librdkafka copies.
            let err = unsafe {
                rdsys::rd_kafka_ConfigResource_add_incremental_config(
                    res,
                    ckey.as_ptr(),
                    op_type,
                    cvalue.as_ref().map_or(ptr::null(), |v| v.as_ptr()),
                )
            };
            if !err.is_null() {
                // SAFETY: err is a live error object we own and destroy here.
                let message = unsafe { owned(rdsys::rd_kafka_error_string(err)) }.unwrap_or_default();
                unsafe { rdsys::rd_kafka_error_destroy(err) };
                return Err(RequestError {
                    retriable: false,
                    message: format!("topic `{topic}`, key `{key}`: {message}"),
                });
            }
        }
    }

    // SAFETY: rk is live for the duration of this function (borrowed admin).
    let options = Options(unsafe {
        rdsys::rd_kafka_AdminOptions_new(rk, rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS)
    });
    let mut errstr = [0 as std::os::raw::c_char; 256];
    let timeout_ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: options is live; errstr is a writable buffer of the given size.
    let code = unsafe {
        rdsys::rd_kafka_AdminOptions_set_request_timeout(options.0, timeout_ms, errstr.as_mut_ptr(), errstr.len())
    };
    if code != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        let message = unsafe { owned(errstr.as_ptr()) }.unwrap_or_else(|| err_name(code));
        return Err(RequestError { retriable: false, message });
    }
    // SAFETY: rk is live.
    let queue = Queue(unsafe { rdsys::rd_kafka_queue_new(rk) });
    // SAFETY: all pointers are live; librdkafka copies the resources array.
    unsafe {
        rdsys::rd_kafka_IncrementalAlterConfigs(rk, resources.0.as_mut_ptr(), resources.0.len(), options.0, queue.0);
    }
    // Wait a little longer than the request timeout: librdkafka answers with
    // a timeout event of its own when the broker does not.
    let poll_ms = timeout_ms.saturating_add(5_000);
    // SAFETY: queue is live.
    let raw = unsafe { rdsys::rd_kafka_queue_poll(queue.0, poll_ms) };
    if raw.is_null() {
        return Err(RequestError { retriable: true, message: format!("no answer within {} ms", poll_ms) });
    }
    let event = Event(raw);
    // SAFETY: event is live.
    let code = unsafe { rdsys::rd_kafka_event_error(event.0) };
    if code != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        let message = unsafe { owned(rdsys::rd_kafka_event_error_string(event.0)) }.unwrap_or_else(|| err_name(code));
        return Err(RequestError { retriable: retriable(code), message });
    }
    // SAFETY: event is live and of the IncrementalAlterConfigs result type
    // (the only request on this private queue); a null result means not.
    let result = unsafe { rdsys::rd_kafka_event_IncrementalAlterConfigs_result(event.0) };
    if result.is_null() {
        return Err(RequestError { retriable: false, message: "unexpected event on the admin queue".into() });
    }
    let mut count = 0usize;
    // SAFETY: result is live while event is; the array has `count` entries.
    let results = unsafe { rdsys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count) };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: i < count; each entry is a live resource owned by the event.
        let res = unsafe { *results.add(i) };
        let name = unsafe { owned(rdsys::rd_kafka_ConfigResource_name(res)) }.unwrap_or_default();
        let code = unsafe { rdsys::rd_kafka_ConfigResource_error(res) };
        let outcome = if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            Ok(())
        } else {
            let detail = unsafe { owned(rdsys::rd_kafka_ConfigResource_error_string(res)) };
            Err(match detail {
                Some(d) if !d.is_empty() => format!("{}: {d}", err_name(code)),
                _ => err_name(code),
            })
        };
        out.push((name, outcome));
    }
    Ok(out)
}
