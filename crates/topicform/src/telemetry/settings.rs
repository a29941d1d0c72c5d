//! Whether telemetry is on, and for which signals, from the standard
//! `OTEL_*` variables only (no flag, no spec key): the variables every
//! OpenTelemetry SDK reads, so a CI system or a Kubernetes Job that already
//! sets them for its other tools needs nothing topicform-specific. Pure: the
//! environment comes in as a function.

/// What the variables ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// Nothing configured (or `OTEL_SDK_DISABLED=true`): no exporter, no
    /// SDK, spans are never even created.
    Off,
    /// Export these signals.
    On { traces: bool, metrics: bool },
    /// Configured in a way this build cannot honour; telemetry stays off
    /// and the run says why once (a warning, never a failure).
    Unsupported(String),
}

/// The protocol the exporter speaks; any other value is refused rather than
/// silently sent as HTTP to a gRPC port.
const HTTP_PROTOBUF: &str = "http/protobuf";

/// Decides from `OTEL_SDK_DISABLED`, the endpoint variables (generic and per
/// signal), `OTEL_{TRACES,METRICS}_EXPORTER` and the protocol variables.
///
/// A signal is on when its own endpoint or the generic one is set, and its
/// exporter is not `none`. Without any endpoint telemetry is off: the SDKs'
/// default (`localhost:4318`) would make every run on a laptop without a
/// collector try to connect.
pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> Switch {
    let set = |name: &str| var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return Switch::Off;
    }
    let generic = set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    let signal_on = |signal: &str| {
        let endpoint = generic || set(&format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")).is_some();
        let exporter = set(&format!("OTEL_{signal}_EXPORTER")).unwrap_or_else(|| "otlp".into());
        endpoint && !exporter.eq_ignore_ascii_case("none")
    };
    let (traces, metrics) = (signal_on("TRACES"), signal_on("METRICS"));
    if !traces && !metrics {
        return Switch::Off;
    }
    for name in
        ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"]
    {
        if let Some(protocol) = set(name).filter(|p| p != HTTP_PROTOBUF) {
            return Switch::Unsupported(format!(
                "{name}={protocol} is not supported: topicform exports OTLP as {HTTP_PROTOBUF} only (a collector's port 4318); telemetry is off for this run"
            ));
        }
    }
    for (signal, on) in [("TRACES", traces), ("METRICS", metrics)] {
        let name = format!("OTEL_{signal}_EXPORTER");
        if let Some(exporter) = set(&name).filter(|e| on && !e.eq_ignore_ascii_case("otlp")) {
            return Switch::Unsupported(format!(
                "{name}={exporter} is not supported: topicform exports `otlp` (or nothing, with `none`); telemetry is off for this run"
            ));
        }
    }
    Switch::On { traces, metrics }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(vars: &[(&str, &str)]) -> Switch {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        from_env(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn nothing_configured_is_off() {
        assert_eq!(switch(&[]), Switch::Off);
        assert_eq!(switch(&[("OTEL_SERVICE_NAME", "x"), ("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]), Switch::Off);
    }

    #[test]
    fn the_generic_endpoint_turns_both_signals_on() {
        let on = Switch::On { traces: true, metrics: true };
        assert_eq!(switch(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]), on);
        assert_eq!(
            switch(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            ]),
            on
        );
    }

    #[test]
    fn sdk_disabled_wins_over_everything() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_SDK_DISABLED", "TRUE")];
        assert_eq!(switch(&vars), Switch::Off);
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_SDK_DISABLED", "false")];
        assert_eq!(switch(&vars), Switch::On { traces: true, metrics: true });
    }

    #[test]
    fn a_signal_is_on_with_its_own_endpoint_and_off_with_exporter_none() {
        assert_eq!(
            switch(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces")]),
            Switch::On { traces: true, metrics: false }
        );
        assert_eq!(
            switch(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_TRACES_EXPORTER", "none")]),
            Switch::On { traces: false, metrics: true }
        );
        let both_none = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ];
        assert_eq!(switch(&both_none), Switch::Off);
    }

    #[test]
    fn grpc_or_json_is_refused_with_the_reason_not_sent_to_the_wrong_port() {
        let Switch::Unsupported(why) =
            switch(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])
        else {
            panic!("grpc accepted")
        };
        assert!(why.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc") && why.contains("http/protobuf"), "{why}");
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"), ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json")];
        assert!(matches!(switch(&vars), Switch::Unsupported(_)));
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"), ("OTEL_TRACES_EXPORTER", "zipkin")];
        assert!(matches!(switch(&vars), Switch::Unsupported(why) if why.contains("zipkin")));
    }
}
