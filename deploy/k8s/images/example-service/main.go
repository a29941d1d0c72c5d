// Command example-service stands in for the example platform's services
// (auth-service, hr-service, ...) on the test cluster: it answers /health on
// $PORT (default 3000), as the chart's readiness probe expects, and prints the
// broker variables it was started with (KAFKA_* and the SASL/TLS ones the
// `topicform env` contract defines) so a test can compare the process's real
// environment with `topicform env`. Values of secret variables print as ***.
package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
)

func main() {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "KAFKA_") || strings.HasPrefix(name, "TOPICFORM_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		value := os.Getenv(name)
		if secret(name) {
			value = "***"
		}
		fmt.Printf("env %s=%s\n", name, value)
	}
	fmt.Println("ready")
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func secret(name string) bool {
	for _, word := range []string{"PASSWORD", "SECRET", "CONNECTION_STRING", "KEY"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}
