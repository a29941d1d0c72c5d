//! The secret scan of every test output (tests/support/secrets.rs) itself:
//! what it catches, what it lets through, and that it never prints a value.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};

use support::secrets::{self, assert_clean, register, register_as, scan, Finding, MIN_LEN};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("the scan should have failed");
    err.downcast_ref::<String>().cloned().or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string())).unwrap()
}

#[test]
fn a_registered_value_is_caught_by_label_and_position_never_by_value() {
    register_as("the scanner test's password", "scanner-pw-Zq81xVv3");
    let out = b"line one\nerror: auth failed for password scanner-pw-Zq81xVv3 (retrying)\n";
    assert_eq!(scan(out), [Finding { label: "the scanner test's password".into(), offset: 41, len: 19 }]);
    let message = panic_message(|| assert_clean("the stderr of a test", out));
    assert!(message.contains("the stderr of a test contains 1 secret(s)"), "{message}");
    assert!(message.contains("the scanner test's password at byte 41 (line 2, column 33, 19 bytes)"), "{message}");
    assert!(message.contains("password [REDACTED: the scanner test's password] (retrying)"), "{message}");
    assert!(!message.contains("scanner-pw-Zq81xVv3"), "the value itself is printed: {message}");
}

#[test]
fn register_labels_a_value_by_where_it_was_registered() {
    register("scanner-located-value-51");
    let message = panic_message(|| assert_clean("stdout", b"x scanner-located-value-51"));
    assert!(message.contains("a secret registered at tests/secret_scanner.rs:"), "{message}");
    assert!(!message.contains("scanner-located-value-51"), "{message}");
}

#[test]
fn the_percent_encoded_form_of_a_registered_value_is_caught() {
    register_as("a form secret", "scanner secret/with+specials");
    let found = scan(b"client_secret=scanner%20secret%2Fwith%2Bspecials&scope=x");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].label, "a form secret, percent-encoded");
}

#[test]
fn values_shorter_than_the_minimum_are_not_registered() {
    assert_eq!(MIN_LEN, 6);
    register("qzx12"); // 5 bytes: would match by chance too often
    assert!(scan(b"plan: qzx12 is fine").is_empty());
    register("qzx123"); // 6 bytes: registered
    assert_eq!(scan(b"plan: qzx123 leaked").len(), 1);
}

#[test]
fn a_jwt_is_caught_whole_even_if_never_registered() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let out = format!("{{\"level\":\"DEBUG\",\"msg\":\"token {jwt}\"}}");
    let found = scan(out.as_bytes());
    // The header and the payload both start with `eyJ`: the first covers the whole token.
    assert_eq!(found[0].offset, out.find("eyJ").unwrap());
    assert_eq!(found[0].len, jwt.len());
    assert!(found.iter().all(|f| f.label.contains("`eyJ`")), "{found:?}");
    let message = panic_message(|| assert_clean("stderr", out.as_bytes()));
    assert!(!message.contains("eyJhbGci") && !message.contains("eyJzdWIi"), "{message}");
    assert!(message.contains("token [REDACTED: a JWT or base64-encoded JSON (`eyJ`)]\"}"), "{message}");
}

#[test]
fn an_eyj_prefix_anywhere_is_caught() {
    assert_eq!(scan(b"base64 JSON: eyJ9").len(), 1);
    assert_eq!(scan(b"Authorization: Bearer eyJ").len(), 1);
}

#[test]
fn a_shared_access_key_is_caught_in_any_case_unless_masked() {
    let leaked =
        b"password: Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=abc+/def=\n";
    let found = scan(leaked);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].label, "an unmasked `SharedAccessKey=` value");
    assert_eq!(&leaked[found[0].offset..found[0].offset + found[0].len], b"abc+/def=");
    assert_eq!(scan(b"...;sharedaccesskey=abcdef'").len(), 1);
    assert_eq!(scan(b"\"SharedAccessKey=k\"").len(), 1, "even a short key");
}

#[test]
fn masked_output_passes() {
    for clean in [
        "KAFKA_SASL_PASSWORD='Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=***'\n",
        "password: Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=****;EntityPath=t\n",
        "the password the whole connection string (Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...)\n",
        "13 |         password: ***\n   ·                   ─┬─\n   ·                    ╰── a literal secret is not allowed here\n",
        "SharedAccessKeyName=send-only;SharedAccessKey=\n",
        "Apply: 1 succeeded, 0 failed, 0 skipped.\n",
    ] {
        assert_clean("masked output", clean.as_bytes());
    }
    assert_clean("empty output", b"");
}

#[test]
fn a_pem_private_key_is_caught() {
    let found = scan(b"key:\n-----BEGIN PRIVATE KEY-----\nMIIE...\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].label, "a PEM private key");
    assert_eq!(scan(b"-----BEGIN RSA PRIVATE KEY-----").len(), 1);
    assert!(scan(b"-----BEGIN CERTIFICATE-----").is_empty());
}

#[test]
fn every_finding_is_listed_and_invalid_utf8_is_scanned() {
    register_as("scanner secret A", "scanner-aaaa-1111");
    let mut out = b"\xff\xfe scanner-aaaa-1111 \xc3".to_vec();
    out.extend_from_slice(b"\nthen eyJhbGci and scanner-aaaa-1111\n");
    let found = scan(&out);
    assert_eq!(
        found.iter().map(|f| f.label.as_str()).collect::<Vec<_>>(),
        ["scanner secret A", "a JWT or base64-encoded JSON (`eyJ`)", "scanner secret A"]
    );
    let message = panic_message(|| assert_clean("stdout", &out));
    assert!(message.contains("contains 3 secret(s)"), "{message}");
}

#[test]
fn variables_with_secret_names_are_registered_by_the_command_builder() {
    for name in [
        "KAFKA_SASL_PASSWORD",
        "AZURE_CLIENT_SECRET",
        "TF_OIDC_SECRET",
        "TEST_EVENTHUBS_CONNECTION_STRING",
        "KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET",
        "MY_TOKEN",
        "STORAGE_ACCESS_KEY",
    ] {
        assert!(secrets::is_secret_name(name), "{name}");
    }
    for name in ["AZURE_FEDERATED_TOKEN_FILE", "TOKEN_ENDPOINT", "KAFKA_SASL_USERNAME", "KAFKA_BROKERS", "NO_COLOR"] {
        assert!(!secrets::is_secret_name(name), "{name}");
    }
    // Builds the command only (nothing runs): the value is registered.
    support::topicform().env("TF_SCANNER_PASSWORD", "scanner-env-pw-77");
    assert_eq!(scan(b"pw scanner-env-pw-77").len(), 1);
}

#[test]
fn redact_hides_every_finding() {
    register_as("scanner secret R", "scanner-redact-9090");
    assert_eq!(
        secrets::redact("TF_X=scanner-redact-9090 T=eyJab.cd"),
        "TF_X=[REDACTED: scanner secret R] T=[REDACTED: a JWT or base64-encoded JSON (`eyJ`)]"
    );
}

#[test]
fn the_command_wrapper_scans_the_binarys_outputs() {
    // `topicform validate -f FILE` prints the unknown key it finds: a key that
    // is a registered value must fail the run at output(), not later.
    register_as("the scanner test's key-shaped secret", "scannerleakkey4242");
    let ws = support::Workspace::new();
    let spec = ws.spec("version: 1\nscannerleakkey4242: 1\ntopics: {}\n");
    let message = panic_message(|| {
        let _ = support::topicform().args(["validate", "-f"]).arg(&spec).output();
    });
    assert!(message.contains("the stderr of `topicform validate -f "), "{message}");
    assert!(message.contains("the scanner test's key-shaped secret at byte"), "{message}");
    assert!(!message.contains("scannerleakkey4242"), "{message}");
    // assert() scans too.
    let message = panic_message(|| {
        let _ = support::topicform().args(["validate", "-f"]).arg(&spec).assert();
    });
    assert!(message.contains("the scanner test's key-shaped secret"), "{message}");
}

#[test]
fn reveals_is_refused_without_reveal_secrets() {
    let message = panic_message(|| {
        support::topicform().args(["env"]).reveals("anything-at-all");
    });
    assert!(message.contains("only a `--reveal-secrets` run may print a secret"), "{message}");
}
