//! A real OpenTelemetry Collector (deploy/tools/otelcol.sh builds it from
//! the Go module proxy) receiving OTLP over HTTP and, optionally, scraping
//! a Prometheus endpoint; its file exporters write one OTLP-JSON object per
//! line, which the tests read back.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running collector; stopped when dropped.
pub struct Collector {
    child: Child,
    dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
}

/// The collector binary (also `check-rules`: Prometheus's own rule parser),
/// or a failure saying how to build it.
pub fn binary() -> PathBuf {
    let tools = std::env::var_os("TOPICFORM_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/topicform/tools")
    });
    let bin = tools.join("bin/otelcol-topicform");
    assert!(
        bin.is_file(),
        "the OpenTelemetry Collector is missing at {}: run deploy/tools/otelcol.sh (builds it from the Go \
         module proxy; deploy/setup.sh --tools runs it)",
        bin.display()
    );
    bin
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Collector {
    /// Starts a collector receiving OTLP/HTTP; with `scrape`, also scraping
    /// that `host:port` every second.
    pub fn start(scrape: Option<&str>) -> Collector {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let scrape_receiver = scrape.map_or(String::new(), |target| {
            format!(
                "  prometheus:\n    config:\n      scrape_configs:\n        - job_name: topicform-lag\n          scrape_interval: 1s\n          static_configs: [{{ targets: [\"{target}\"] }}]\n"
            )
        });
        let metric_receivers = if scrape.is_some() { "[otlp, prometheus]" } else { "[otlp]" };
        let config = format!(
            "receivers:\n  otlp:\n    protocols:\n      http: {{ endpoint: 127.0.0.1:{port} }}\n{scrape_receiver}\
             exporters:\n  file/traces: {{ path: {traces}, flush_interval: 100ms }}\n  file/metrics: {{ path: {metrics}, flush_interval: 100ms }}\n\
             service:\n  telemetry: {{ metrics: {{ level: none }} }}\n  pipelines:\n    traces: {{ receivers: [otlp], exporters: [file/traces] }}\n    metrics: {{ receivers: {metric_receivers}, exporters: [file/metrics] }}\n",
            traces = dir.path().join("traces.jsonl").display(),
            metrics = dir.path().join("metrics.jsonl").display(),
        );
        let config_file = dir.path().join("otelcol.yaml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("otelcol.log")).unwrap();
        let child = Command::new(binary())
            .arg(format!("--config={}", config_file.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the collector starts");
        let collector = Collector { child, dir, endpoint: format!("http://127.0.0.1:{port}") };
        collector.wait_for_log("Everything is ready", Duration::from_secs(30));
        collector
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("otelcol.log")).unwrap_or_default()
    }

    fn wait_for_log(&self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(line) {
            assert!(Instant::now() < deadline, "the collector did not log `{line}`:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn lines(&self, file: &str) -> Vec<Value> {
        let Ok(f) = std::fs::File::open(self.dir.path().join(file)) else { return Vec::new() };
        BufReader::new(f).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect()
    }

    /// The raw text of everything exported so far (for "never contains").
    pub fn exported_text(&self) -> String {
        ["traces.jsonl", "metrics.jsonl"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect()
    }

    /// Every span received, flattened with its resource's attributes.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for line in self.lines("traces.jsonl") {
            for resource in line["resourceSpans"].as_array().into_iter().flatten() {
                let resource_attributes = attributes(&resource["resource"]["attributes"]);
                for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                    for span in scope["spans"].as_array().into_iter().flatten() {
                        spans.push(Span {
                            trace_id: span["traceId"].as_str().unwrap_or_default().to_owned(),
                            span_id: span["spanId"].as_str().unwrap_or_default().to_owned(),
                            parent_span_id: span["parentSpanId"].as_str().unwrap_or_default().to_owned(),
                            name: span["name"].as_str().unwrap_or_default().to_owned(),
                            kind: span["kind"].as_i64().unwrap_or_default(),
                            status_code: span["status"]["code"].as_i64().unwrap_or_default(),
                            status_message: span["status"]["message"].as_str().unwrap_or_default().to_owned(),
                            attributes: attributes(&span["attributes"]),
                            resource: resource_attributes.clone(),
                        });
                    }
                }
            }
        }
        spans
    }

    /// Waits until `done` holds of the spans received.
    pub fn wait_for_spans(&self, within: Duration, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = Instant::now() + within;
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(Instant::now() < deadline, "spans not there in {within:?}: {spans:#?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every metric data point received: (metric name, point attributes,
    /// value, resource attributes). Sums and gauges give their value,
    /// histograms their count.
    pub fn points(&self) -> Vec<Point> {
        let mut points = Vec::new();
        for line in self.lines("metrics.jsonl") {
            for resource in line["resourceMetrics"].as_array().into_iter().flatten() {
                let resource_attributes = attributes(&resource["resource"]["attributes"]);
                for scope in resource["scopeMetrics"].as_array().into_iter().flatten() {
                    for metric in scope["metrics"].as_array().into_iter().flatten() {
                        let name = metric["name"].as_str().unwrap_or_default();
                        for kind in ["sum", "gauge", "histogram"] {
                            for p in metric[kind]["dataPoints"].as_array().into_iter().flatten() {
                                points.push(Point {
                                    name: name.to_owned(),
                                    attributes: attributes(&p["attributes"]),
                                    value: number(&p["asInt"])
                                        .or_else(|| p["asDouble"].as_f64())
                                        .or_else(|| number(&p["count"]))
                                        .unwrap_or(f64::NAN),
                                    resource: resource_attributes.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        points
    }

    /// Waits until `done` holds of the metric points received.
    pub fn wait_for_points(&self, within: Duration, done: impl Fn(&[Point]) -> bool) -> Vec<Point> {
        let deadline = Instant::now() + within;
        loop {
            let points = self.points();
            if done(&points) {
                return points;
            }
            assert!(
                Instant::now() < deadline,
                "metrics not there in {within:?}; names seen: {:?}",
                points.iter().map(|p| p.name.as_str()).collect::<std::collections::BTreeSet<_>>()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One span as the collector wrote it.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// OTLP SpanKind: 1 internal, 3 client.
    pub kind: i64,
    /// OTLP StatusCode: 0 unset, 1 ok, 2 error.
    pub status_code: i64,
    pub status_message: String,
    pub attributes: std::collections::BTreeMap<String, String>,
    pub resource: std::collections::BTreeMap<String, String>,
}

/// One metric data point.
#[derive(Debug, Clone)]
pub struct Point {
    pub name: String,
    pub attributes: std::collections::BTreeMap<String, String>,
    pub value: f64,
    pub resource: std::collections::BTreeMap<String, String>,
}

/// OTLP-JSON numbers of 64 bits are strings.
fn number(v: &Value) -> Option<f64> {
    v.as_str().and_then(|s| s.parse().ok()).or_else(|| v.as_f64())
}

/// OTLP-JSON attributes as `key -> value` text.
fn attributes(list: &Value) -> std::collections::BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            let v = &kv["value"];
            let text = v["stringValue"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| number(&v["intValue"]).map(|n| (n as i64).to_string()))
                .or_else(|| v["boolValue"].as_bool().map(|b| b.to_string()))
                .or_else(|| v["doubleValue"].as_f64().map(|d| d.to_string()))
                .unwrap_or_else(|| v.to_string());
            (kv["key"].as_str().unwrap_or_default().to_owned(), text)
        })
        .collect()
}
