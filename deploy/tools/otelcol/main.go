// Command otelcol-topicform is an OpenTelemetry Collector with just what the
// topicform tests need: the OTLP receiver (the CLI's traces and metrics), the
// Prometheus receiver (scrapes `lag --serve` and friends), the file exporter
// (one OTLP-JSON object per line, for the tests to read) and the debug exporter.
//
// It exists because no published collector can be `go install`ed with these
// components: go.opentelemetry.io/collector/cmd/otelcorecol carries `replace
// … => ../../` lines (so `go install` refuses it) and has neither the file
// exporter nor the Prometheus receiver; the "otelcol" and contrib
// distributions are only ocb manifests, not Go modules. This module pins one
// release of each (core v0.161.0 / v1.67.0, contrib v0.161.0, the newest at
// which the file exporter builds here). Built by deploy/tools/otelcol.sh with
// -tags remove_all_sd (leaves the cloud service-discovery SDKs out of the
// Prometheus receiver).
//
// A second mode, `otelcol-topicform check-rules FILE...`, validates Prometheus
// rule files and PrometheusRules with Prometheus's own rule parser (see
// checkrules.go): Prometheus is pinned here already, so no second tool.
package main

import (
	"os"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// version is the collector release this module pins (see go.mod);
// deploy/tools/otelcol.sh sets it from go.mod with -ldflags -X.
var version = "0.161.0"

func components() (otelcol.Factories, error) {
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(), prometheusreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		fileexporter.NewFactory(), debugexporter.NewFactory()); err != nil {
		return f, err
	}
	return f, nil
}

func main() {
	// check-rules is ours, not a collector command: dispatch it before cobra.
	if len(os.Args) > 1 && os.Args[1] == "check-rules" {
		os.Exit(checkRules(os.Args[2:]))
	}
	set := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-topicform",
			Description: "OpenTelemetry Collector for the topicform tests",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					fileprovider.NewFactory(), envprovider.NewFactory(), yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(set).Execute(); err != nil {
		os.Exit(1)
	}
}
