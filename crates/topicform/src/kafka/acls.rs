//! ACLs through librdkafka's C API (DescribeAcls, CreateAcls, DeleteAcls),
//! with the request machinery of [`super::admin`]: rust-rdkafka wraps none
//! of the three. Blocking: call from a blocking thread.
//!
//! A delete names one ACL exactly (every field of its filter set), so it can
//! only ever remove the binding the plan showed, never a wider match.

use std::ffi::CString;

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka_sys as rdsys;
use rdsys::types::RDKafkaRespErr;
use rdsys::{
    rd_kafka_AclOperation_t as Op, rd_kafka_AclPermissionType_t as Perm, rd_kafka_ResourcePatternType_t as Pat,
    rd_kafka_ResourceType_t as Res,
};
use std::time::Duration;

use topicform_core::access::{Acl, Operation, PatternType, Permission, ResourceType};

use super::admin::{cstring, describe, errbuf, fatal, owned_str, Call, Owned, RequestError};

/// Each ACL of a create or delete with its outcome (`Err`: the broker's
/// message).
pub(crate) type AclOutcome = (Acl, Result<(), String>);

/// [`create`] or [`delete`].
pub(crate) type AclWrite =
    fn(&AdminClient<DefaultClientContext>, &[Acl], Duration) -> Result<Vec<AclOutcome>, RequestError>;

/// Every ACL on the cluster.
///
/// librdkafka 2.12.1 reads the response's error code and drops it
/// (`rd_kafka_DescribeAclsResponse_parse`): a cluster without an authorizer
/// (SECURITY_DISABLED), or a principal without DESCRIBE on the cluster,
/// answers with an empty list here. The backend checks the authorizer
/// first; a principal that may not describe ACLs sees every grant planned
/// as a create, and apply's CreateAcls then fails naming the refusal.
pub fn describe_all(admin: &AdminClient<DefaultClientContext>, timeout: Duration) -> Result<Vec<Acl>, RequestError> {
    let call = Call::new(admin, rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS, "DescribeAcls", timeout)?;
    let mut err = errbuf();
    // SAFETY: null name, principal and host match any; err is writable.
    let filter = unsafe {
        rdsys::rd_kafka_AclBindingFilter_new(
            Res::RD_KAFKA_RESOURCE_ANY,
            std::ptr::null(),
            Pat::RD_KAFKA_RESOURCE_PATTERN_ANY,
            std::ptr::null(),
            std::ptr::null(),
            Op::RD_KAFKA_ACL_OPERATION_ANY,
            Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if filter.is_null() {
        return Err(fatal(format!(
            "cannot make an ACL filter: {}",
            unsafe { owned_str(err.as_ptr()) }.unwrap_or_default()
        )));
    }
    let mut owned = Owned::new(rdsys::rd_kafka_AclBinding_destroy);
    owned.ptrs.push(filter);
    let filter = owned;
    // SAFETY: the filter, options and queue are live; librdkafka copies the filter.
    unsafe { rdsys::rd_kafka_DescribeAcls(admin.inner().native_ptr(), filter.ptrs[0], call.options(), call.queue()) };
    let event = call.answer()?;
    // SAFETY: the event is live while `event` is; the bindings it holds are
    // copied out before it drops.
    unsafe {
        let result = rdsys::rd_kafka_event_DescribeAcls_result(event.ptrs[0]);
        if result.is_null() {
            return Err(fatal("unexpected event on the admin queue".into()));
        }
        let mut count = 0usize;
        let bindings = rdsys::rd_kafka_DescribeAcls_result_acls(result, &mut count);
        Ok((0..count).map(|i| read_binding(*bindings.add(i))).collect())
    }
}

/// Creates `acls` in one request. Creating one that exists succeeds.
pub fn create(
    admin: &AdminClient<DefaultClientContext>,
    acls: &[Acl],
    timeout: Duration,
) -> Result<Vec<AclOutcome>, RequestError> {
    write(admin, acls, timeout, Write::Create)
}

/// Deletes exactly `acls` in one request (each filter matches one binding).
pub fn delete(
    admin: &AdminClient<DefaultClientContext>,
    acls: &[Acl],
    timeout: Duration,
) -> Result<Vec<AclOutcome>, RequestError> {
    write(admin, acls, timeout, Write::Delete)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    Create,
    Delete,
}

/// One CreateAcls or DeleteAcls request; the answers come in the order of
/// the request (one result per binding, one response per filter).
fn write(
    admin: &AdminClient<DefaultClientContext>,
    acls: &[Acl],
    timeout: Duration,
    kind: Write,
) -> Result<Vec<AclOutcome>, RequestError> {
    if acls.is_empty() {
        return Ok(Vec::new());
    }
    let (op, name) = match kind {
        Write::Create => (rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS, "CreateAcls"),
        Write::Delete => (rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS, "DeleteAcls"),
    };
    let call = Call::new(admin, op, name, timeout)?;
    let mut objs = Owned::new(rdsys::rd_kafka_AclBinding_destroy);
    for acl in acls {
        objs.ptrs.push(binding(acl, kind == Write::Delete)?);
    }
    let (rk, array, count) = (admin.inner().native_ptr(), objs.ptrs.as_mut_ptr(), objs.ptrs.len());
    // SAFETY: all pointers are live; librdkafka copies the array.
    unsafe {
        match kind {
            Write::Create => rdsys::rd_kafka_CreateAcls(rk, array, count, call.options(), call.queue()),
            Write::Delete => rdsys::rd_kafka_DeleteAcls(rk, array, count, call.options(), call.queue()),
        }
    };
    let event = call.answer()?;
    // SAFETY: the event is live while `event` is; the errors are copied out
    // before it drops.
    let errors: Vec<Result<(), String>> = unsafe {
        let mut count = 0usize;
        match kind {
            Write::Create => {
                let result = rdsys::rd_kafka_event_CreateAcls_result(event.ptrs[0]);
                if result.is_null() {
                    return Err(fatal("unexpected event on the admin queue".into()));
                }
                let results = rdsys::rd_kafka_CreateAcls_result_acls(result, &mut count);
                (0..count).map(|i| error_of(rdsys::rd_kafka_acl_result_error(*results.add(i)))).collect()
            }
            Write::Delete => {
                let result = rdsys::rd_kafka_event_DeleteAcls_result(event.ptrs[0]);
                if result.is_null() {
                    return Err(fatal("unexpected event on the admin queue".into()));
                }
                let responses = rdsys::rd_kafka_DeleteAcls_result_responses(result, &mut count);
                (0..count)
                    .map(|i| error_of(rdsys::rd_kafka_DeleteAcls_result_response_error(*responses.add(i))))
                    .collect()
            }
        }
    };
    Ok(pair(acls, errors))
}

/// Each ACL with its answer; one the answer leaves out failed.
fn pair(acls: &[Acl], errors: Vec<Result<(), String>>) -> Vec<AclOutcome> {
    let mut errors = errors.into_iter();
    acls.iter()
        .map(|acl| {
            let outcome = errors.next().unwrap_or_else(|| Err("no result for this ACL in the broker's answer".into()));
            (acl.clone(), outcome)
        })
        .collect()
}

/// # Safety
/// `error` must be null or a live error object owned by a live result.
unsafe fn error_of(error: *const rdsys::rd_kafka_error_t) -> Result<(), String> {
    if error.is_null() {
        return Ok(());
    }
    let code = rdsys::rd_kafka_error_code(error);
    if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    Err(describe(code, owned_str(rdsys::rd_kafka_error_string(error))))
}

/// A native binding (or, for `filter`, an exact filter) of `acl`.
fn binding(acl: &Acl, filter: bool) -> Result<*mut rdsys::rd_kafka_AclBinding_t, RequestError> {
    let (name, principal, host): (CString, CString, CString) = (
        cstring(&acl.resource_name, "ACL resource name")?,
        cstring(&acl.principal, "ACL principal")?,
        cstring(&acl.host, "ACL host")?,
    );
    let (restype, pattern, operation, permission) = (
        to_resource(acl.resource_type)?,
        to_pattern(acl.pattern_type)?,
        to_operation(acl.operation)?,
        to_permission(acl.permission)?,
    );
    let new = if filter { rdsys::rd_kafka_AclBindingFilter_new } else { rdsys::rd_kafka_AclBinding_new };
    let mut err = errbuf();
    // SAFETY: the strings are valid and copied; err is writable.
    let ptr = unsafe {
        new(
            restype,
            name.as_ptr(),
            pattern,
            principal.as_ptr(),
            host.as_ptr(),
            operation,
            permission,
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if ptr.is_null() {
        return Err(fatal(format!("ACL `{acl}`: {}", unsafe { owned_str(err.as_ptr()) }.unwrap_or_default())));
    }
    Ok(ptr)
}

/// # Safety
/// `b` must be a live binding.
unsafe fn read_binding(b: *const rdsys::rd_kafka_AclBinding_t) -> Acl {
    Acl {
        principal: owned_str(rdsys::rd_kafka_AclBinding_principal(b)).unwrap_or_default(),
        permission: from_permission(rdsys::rd_kafka_AclBinding_permission_type(b)),
        operation: from_operation(rdsys::rd_kafka_AclBinding_operation(b)),
        resource_type: from_resource(rdsys::rd_kafka_AclBinding_restype(b)),
        pattern_type: from_pattern(rdsys::rd_kafka_AclBinding_resource_pattern_type(b)),
        resource_name: owned_str(rdsys::rd_kafka_AclBinding_name(b)).unwrap_or_default(),
        host: owned_str(rdsys::rd_kafka_AclBinding_host(b)).unwrap_or_default(),
    }
}

fn unsupported(what: &str) -> RequestError {
    fatal(format!("librdkafka cannot express {what} in an ACL"))
}

fn to_resource(r: ResourceType) -> Result<Res, RequestError> {
    Ok(match r {
        ResourceType::Topic => Res::RD_KAFKA_RESOURCE_TOPIC,
        ResourceType::Group => Res::RD_KAFKA_RESOURCE_GROUP,
        ResourceType::Cluster => Res::RD_KAFKA_RESOURCE_BROKER,
        ResourceType::TransactionalId => Res::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
        other => return Err(unsupported(&format!("the resource type {other:?}"))),
    })
}

fn from_resource(r: Res) -> ResourceType {
    match r {
        Res::RD_KAFKA_RESOURCE_TOPIC => ResourceType::Topic,
        Res::RD_KAFKA_RESOURCE_GROUP => ResourceType::Group,
        Res::RD_KAFKA_RESOURCE_BROKER => ResourceType::Cluster,
        Res::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID => ResourceType::TransactionalId,
        _ => ResourceType::Unknown,
    }
}

fn to_pattern(p: PatternType) -> Result<Pat, RequestError> {
    match p {
        PatternType::Literal => Ok(Pat::RD_KAFKA_RESOURCE_PATTERN_LITERAL),
        PatternType::Prefixed => Ok(Pat::RD_KAFKA_RESOURCE_PATTERN_PREFIXED),
        PatternType::Unknown => Err(unsupported("an unknown pattern type")),
    }
}

fn from_pattern(p: Pat) -> PatternType {
    match p {
        Pat::RD_KAFKA_RESOURCE_PATTERN_LITERAL => PatternType::Literal,
        Pat::RD_KAFKA_RESOURCE_PATTERN_PREFIXED => PatternType::Prefixed,
        _ => PatternType::Unknown,
    }
}

const OPERATIONS: [(Operation, Op); 11] = [
    (Operation::All, Op::RD_KAFKA_ACL_OPERATION_ALL),
    (Operation::Read, Op::RD_KAFKA_ACL_OPERATION_READ),
    (Operation::Write, Op::RD_KAFKA_ACL_OPERATION_WRITE),
    (Operation::Create, Op::RD_KAFKA_ACL_OPERATION_CREATE),
    (Operation::Delete, Op::RD_KAFKA_ACL_OPERATION_DELETE),
    (Operation::Alter, Op::RD_KAFKA_ACL_OPERATION_ALTER),
    (Operation::Describe, Op::RD_KAFKA_ACL_OPERATION_DESCRIBE),
    (Operation::ClusterAction, Op::RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION),
    (Operation::DescribeConfigs, Op::RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS),
    (Operation::AlterConfigs, Op::RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS),
    (Operation::IdempotentWrite, Op::RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE),
];

fn to_operation(o: Operation) -> Result<Op, RequestError> {
    OPERATIONS
        .iter()
        .find(|(ours, _)| *ours == o)
        .map(|(_, theirs)| *theirs)
        .ok_or_else(|| unsupported(&format!("the operation {o:?}")))
}

fn from_operation(o: Op) -> Operation {
    OPERATIONS.iter().find(|(_, theirs)| *theirs == o).map_or(Operation::Unknown, |(ours, _)| *ours)
}

fn to_permission(p: Permission) -> Result<Perm, RequestError> {
    match p {
        Permission::Allow => Ok(Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW),
        Permission::Deny => Ok(Perm::RD_KAFKA_ACL_PERMISSION_TYPE_DENY),
        Permission::Unknown => Err(unsupported("an unknown permission")),
    }
}

fn from_permission(p: Perm) -> Permission {
    match p {
        Perm::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW => Permission::Allow,
        Perm::RD_KAFKA_ACL_PERMISSION_TYPE_DENY => Permission::Deny,
        _ => Permission::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_librdkafka_knows_maps_both_ways() {
        for (ours, theirs) in OPERATIONS {
            assert_eq!(to_operation(ours).unwrap(), theirs);
            assert_eq!(from_operation(theirs), ours);
        }
        assert_eq!(from_operation(Op::RD_KAFKA_ACL_OPERATION_UNKNOWN), Operation::Unknown);
        assert!(to_operation(Operation::CreateTokens).is_err());
    }
}
