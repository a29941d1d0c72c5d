//! The network steps of `check`: DNS, TCP and TLS, each failure named.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use openssl::ssl::{HandshakeError, SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::X509VerifyResult;

use super::{Connection, Step};

/// Resolves every `host:port`; returns the step and `(host, address)` pairs.
pub async fn resolve(brokers: &[String], timeout: Duration) -> (Step, Vec<(String, SocketAddr)>) {
    let mut found = Vec::new();
    let mut shown = Vec::new();
    for b in brokers {
        let host = b.rsplit_once(':').map_or(b.as_str(), |(h, _)| h).trim_matches(['[', ']']).to_owned();
        match tokio::time::timeout(timeout, tokio::net::lookup_host(b.as_str())).await {
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                shown.push(format!("{host} → {}", addrs.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")));
                found.extend(addrs.into_iter().map(|a| (host.clone(), a)));
            }
            Ok(Err(e)) => {
                return (
                    Step::failed(
                        "dns",
                        format!("{b}: {e}"),
                        format!("the host name `{host}` does not resolve (unknown host)"),
                        "check the spelling of the broker address; inside Kubernetes use the Service's DNS name, and for Event Hubs `<namespace>.servicebus.windows.net`",
                    ),
                    found,
                )
            }
            Err(_) => {
                return (
                    Step::failed("dns", format!("{b}: no answer"), "the DNS lookup timed out", "check the resolver (/etc/resolv.conf, CoreDNS) and the network"),
                    found,
                )
            }
        }
    }
    (Step::ok("dns", shown.join("; ")), found)
}

/// Connects to the first address of each broker host.
pub async fn connect(addresses: &[(String, SocketAddr)], timeout: Duration) -> Step {
    let mut shown = Vec::new();
    let mut last_error = None;
    for (host, addr) in addresses {
        let started = Instant::now();
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                shown.push(format!("{host} ({addr}) in {} ms", started.elapsed().as_millis()));
                // One reachable address per host is what a client needs.
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last_error = Some(Step::failed(
                    "tcp",
                    format!("{addr}: connection refused"),
                    format!("nothing listens on {addr}"),
                    "start the broker, or correct the port (Kafka's default is 9092, Event Hubs' is 9093)",
                ))
            }
            Ok(Err(e)) => {
                last_error = Some(Step::failed(
                    "tcp",
                    format!("{addr}: {e}"),
                    "the connection could not be opened",
                    "check routes, firewalls and network policies between this pod or host and the broker",
                ))
            }
            Err(_) => {
                last_error = Some(Step::failed(
                    "tcp",
                    format!("{addr}: no answer within {} s", timeout.as_secs()),
                    "the connection attempt timed out: a firewall or network policy drops the traffic, or the address is wrong",
                    "check firewalls, private endpoints and network policies; for Event Hubs, outbound port 9093 must be open",
                ))
            }
        }
    }
    if shown.is_empty() {
        return last_error
            .unwrap_or_else(|| Step::failed("tcp", "no address", "no address to connect to", "check the broker list"));
    }
    Step::ok("tcp", format!("connected to {}", shown.join("; ")))
}

/// A TLS handshake with chain and host name verification, like librdkafka's
/// defaults (`ssl.endpoint.identification.algorithm=https`).
pub async fn tls(target: &Connection, addresses: &[(String, SocketAddr)], timeout: Duration) -> Step {
    let Some((host, addr)) = addresses.first().cloned() else {
        return Step::failed("tls", "no address", "no address to connect to", "check the broker list");
    };
    let ca_file = target.ca_file.clone();
    let result = tokio::task::spawn_blocking(move || handshake(&host, addr, ca_file.as_deref(), timeout))
        .await
        .expect("TLS task panicked");
    match result {
        Ok(detail) => Step::ok("tls", detail),
        Err(step) => *step,
    }
}

fn handshake(host: &str, addr: SocketAddr, ca_file: Option<&str>, timeout: Duration) -> Result<String, Box<Step>> {
    let fail = |detail: String, cause: &str, fix: &str| Box::new(Step::failed("tls", detail, cause, fix));
    let mut builder = SslConnector::builder(SslMethod::tls_client())
        .map_err(|e| fail(e.to_string(), "OpenSSL could not be set up", "reinstall the CA certificates package"))?;
    builder.set_verify(SslVerifyMode::PEER);
    if let Some(ca) = ca_file {
        builder.set_ca_file(ca).map_err(|e| {
            fail(
                format!("{ca}: {e}"),
                "the CA file cannot be read as PEM",
                "point tls.caFile / KAFKA_SSL_CA_LOCATION at a PEM CA certificate",
            )
        })?;
    }
    let connector = builder.build();
    let stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| fail(format!("{addr}: {e}"), "the connection dropped before TLS", "retry; check the network"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    match connector.connect(host, stream) {
        Ok(tls) => {
            let peer = tls.ssl().peer_certificate();
            let subject = peer
                .as_ref()
                .and_then(|c| {
                    c.subject_name().entries().next().map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
                })
                .unwrap_or_else(|| "?".into());
            Ok(format!("{} with {host}, certificate for `{subject}` trusted", tls.ssl().version_str()))
        }
        Err(HandshakeError::Failure(mid)) => {
            let verify = mid.ssl().verify_result();
            Err(classify(host, addr, verify, &mid.error().to_string()))
        }
        Err(e) => Err(classify(host, addr, X509VerifyResult::OK, &e.to_string())),
    }
}

fn classify(host: &str, addr: SocketAddr, verify: X509VerifyResult, message: &str) -> Box<Step> {
    // X509 verify result codes (openssl/x509_vfy.h).
    const DEPTH_ZERO_SELF_SIGNED_CERT: i32 = 18;
    const SELF_SIGNED_CERT_IN_CHAIN: i32 = 19;
    const UNABLE_TO_GET_ISSUER_CERT_LOCALLY: i32 = 20;
    const UNABLE_TO_VERIFY_LEAF_SIGNATURE: i32 = 21;
    const CERT_HAS_EXPIRED: i32 = 10;
    const HOSTNAME_MISMATCH: i32 = 62;
    const IP_ADDRESS_MISMATCH: i32 = 64;
    let detail = if verify == X509VerifyResult::OK {
        format!("{addr}: {message}")
    } else {
        format!("{addr}: {} ({message})", verify.error_string())
    };
    let lower = message.to_ascii_lowercase();
    let step = match verify.as_raw() {
        DEPTH_ZERO_SELF_SIGNED_CERT | SELF_SIGNED_CERT_IN_CHAIN | UNABLE_TO_GET_ISSUER_CERT_LOCALLY | UNABLE_TO_VERIFY_LEAF_SIGNATURE => {
            Step::failed(
                "tls",
                detail,
                "the broker's certificate is signed by a CA this client does not trust (untrusted CA)",
                "set tls.caFile (KAFKA_SSL_CA_LOCATION for a service) to the PEM of the CA that signed the broker certificate",
            )
        }
        HOSTNAME_MISMATCH | IP_ADDRESS_MISMATCH => Step::failed(
            "tls",
            detail,
            format!("the broker's certificate is not valid for `{host}` (host name mismatch)"),
            "connect with a name listed in the certificate's subject alternative names, or reissue the certificate with this name",
        ),
        CERT_HAS_EXPIRED => Step::failed("tls", detail, "the broker's certificate has expired", "renew the broker certificate"),
        _ if lower.contains("wrong version number") || lower.contains("unexpected eof") || lower.contains("packet length too long") => {
            Step::failed(
                "tls",
                detail,
                "the port does not speak TLS (a PLAINTEXT or SASL_PLAINTEXT listener?)",
                "use the broker's TLS port, or set the security protocol to match the listener",
            )
        }
        _ => Step::failed("tls", detail, "the TLS handshake failed", "check the broker's TLS listener and the CA you trust"),
    };
    Box::new(step)
}
