// check-rules: validate Prometheus rule files with Prometheus's own parser
// (model/rulefmt, which parses each rule's expr with the PromQL parser, checks
// label and annotation templates, `for`, and label and rule names), so the
// tests check examples/monitoring/prometheusrule.yaml as Prometheus would load
// it. It lives in this binary because github.com/prometheus/prometheus is
// already pinned here (through the Prometheus receiver): no second Go tool to
// pin and build.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3" // the YAML library rulefmt itself uses
)

// checkRules runs `otelcol-topicform check-rules FILE...`: for each file, one
// line `FILE: N groups, M rules: ok` on stdout, or each error prefixed with
// the file's name on stderr. It returns the exit code: 0 when every file
// passes, 1 when one does not, 2 without files.
func checkRules(files []string) int {
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: otelcol-topicform check-rules FILE...\n"+
			"  FILE: a Prometheus rule file (groups: ...) or a Prometheus Operator PrometheusRule")
		return 2
	}
	// The PromQL of a Prometheus without feature flags: no experimental
	// functions, duration expressions or extended range selectors.
	p := parser.NewParser(parser.Options{})
	code := 0
	for _, file := range files {
		groups, rules, errs := checkRuleFile(file, p)
		if len(errs) > 0 {
			seen := map[string]bool{} // rulefmt decodes twice: YAML errors come twice
			for _, err := range errs {
				if msg := err.Error(); !seen[msg] {
					seen[msg] = true
					fmt.Fprintf(os.Stderr, "%s: %s\n", file, msg)
				}
			}
			code = 1
			continue
		}
		fmt.Printf("%s: %d groups, %d rules: ok\n", file, groups, rules)
	}
	return code
}

func checkRuleFile(file string, p parser.Parser) (groups, rules int, errs []error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, 0, []error{err}
	}
	if data, err = ruleGroupsYAML(data); err != nil {
		return 0, 0, []error{err}
	}
	// Strict, as Prometheus loads rule files: unknown fields are errors. UTF-8
	// label and metric names, Prometheus 3's default.
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation, p, slog.Default())
	if len(errs) > 0 {
		return 0, 0, errs
	}
	for _, g := range rgs.Groups {
		rules += len(g.Rules)
	}
	return len(rgs.Groups), rules, nil
}

// ruleGroupsYAML returns what rulefmt is to read: the spec of a PrometheusRule
// (apiVersion monitoring.coreos.com/v1, whose spec is a rule file's groups:),
// else the document itself.
func ruleGroupsYAML(data []byte) ([]byte, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no YAML document")
		}
		return nil, err
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document: one rule file or PrometheusRule per file")
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return data, nil // rulefmt reports what is wrong with it
	}
	root := doc.Content[0]
	var kind string
	var spec, next *yaml.Node // spec's value, and the key after it
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "kind":
			kind = root.Content[i+1].Value
		case "spec":
			spec = root.Content[i+1]
			if i+2 < len(root.Content) {
				next = root.Content[i+2]
			}
		}
	}
	if kind != "PrometheusRule" {
		return data, nil
	}
	if spec == nil {
		return nil, errors.New("PrometheusRule without spec")
	}
	if root.Style&yaml.FlowStyle != 0 { // e.g. JSON: re-encode the spec
		return yaml.Marshal(spec)
	}
	// A block-style document: keep the spec's own text where it is and blank
	// the rest (the text before it, the keys after it), so the line:column
	// positions in rulefmt's errors are the file's. A top-level node may be
	// indented, so the spec needs no dedenting.
	lines := strings.SplitAfter(string(data), "\n")
	for i := range lines {
		switch n := i + 1; {
		case n < spec.Line || (next != nil && n >= next.Line):
			lines[i] = "\n"
		case n == spec.Line: // `spec: {…}` on its key's line: blank the key
			r := []rune(lines[i])
			lines[i] = strings.Repeat(" ", spec.Column-1) + string(r[spec.Column-1:])
		}
	}
	return []byte(strings.Join(lines, "")), nil
}
