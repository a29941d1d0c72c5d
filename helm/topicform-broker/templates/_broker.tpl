{{/*
Named templates of the topicform-broker library chart: the one definition of
the broker environment (DESIGN section 5) and of its preflight, shared by the
service chart (every service and its `helm test` pod), the topicform chart
(the apply and drift Jobs) and the platform chart, which renders both.

Both take the `broker:` block itself as their argument, never a chart
context, so they read nothing through subchart value scoping:

  {{ include "topicform-broker.preflight" .Values.broker }}
  env:
    {{- include "topicform-broker.env" .Values.broker | nindent 4 }}

The block's keys and types are broker.yaml beside this chart's Chart.yaml
(helm/tools/values-schema.py puts them into each chart's values.schema.json).
*/}}

{{/*
The broker environment from a `broker:` block, in contract order:
KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, then when set KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, and a service's KAFKA_GROUP_ID. Secret-valued variables are always
secretKeyRef to `existingSecret`. The chart tests compare the rendered
variables with `topicform env` (tests/helm.rs). On AKS the AZURE_* variables
of OAUTHBEARER come from the workload identity webhook, not from here.
*/}}
{{- define "topicform-broker.env" -}}
{{- $b := . -}}
{{- $secret := $b.existingSecret | default dict -}}
{{- $keys := $secret.keys | default dict -}}
- name: KAFKA_BROKERS
  value: {{ required "broker.brokers is required (host:port[,host:port])" $b.brokers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ required "broker.securityProtocol is required" $b.securityProtocol | quote }}
{{- if $b.saslMechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ $b.saslMechanism | quote }}
{{- end }}
{{- if $b.saslUsername }}
- name: KAFKA_SASL_USERNAME
  value: {{ $b.saslUsername | quote }}
{{- else if $keys.saslUsername }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ required "broker.existingSecret.name is required with existingSecret.keys" $secret.name }}
      key: {{ $keys.saslUsername }}
{{- end }}
{{- if $keys.saslPassword }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "broker.existingSecret.name is required with existingSecret.keys" $secret.name }}
      key: {{ $keys.saslPassword }}
{{- end }}
{{- if $b.groupId }}
- name: KAFKA_GROUP_ID
  value: {{ $b.groupId | quote }}
{{- end }}
{{- end -}}

{{/* Fails on a `broker:` block that contradicts itself (what the schema cannot express). */}}
{{- define "topicform-broker.preflight" -}}
{{- $b := . -}}
{{- $keys := ($b.existingSecret | default dict).keys | default dict -}}
{{- $sasl := hasPrefix "SASL_" ($b.securityProtocol | default "") -}}
{{- if and $sasl (not $b.saslMechanism) -}}
{{- fail (printf "broker: securityProtocol %s needs saslMechanism" $b.securityProtocol) -}}
{{- end -}}
{{- if and $b.saslMechanism (not $sasl) -}}
{{- fail (printf "broker: saslMechanism %s needs securityProtocol SASL_SSL or SASL_PLAINTEXT" $b.saslMechanism) -}}
{{- end -}}
{{- if and $b.saslUsername $keys.saslUsername -}}
{{- fail "broker: set saslUsername (a literal) or existingSecret.keys.saslUsername, not both" -}}
{{- end -}}
{{- if and $b.saslMechanism (ne $b.saslMechanism "OAUTHBEARER") (not $keys.saslPassword) -}}
{{- fail (printf "broker: saslMechanism %s needs existingSecret.keys.saslPassword (the password comes from a Secret)" $b.saslMechanism) -}}
{{- end -}}
{{- if and (eq ($b.saslMechanism | default "") "OAUTHBEARER") (or $keys.saslPassword $b.saslUsername $keys.saslUsername) -}}
{{- fail "broker: OAUTHBEARER takes no user name or password (the token comes from workload identity)" -}}
{{- end -}}
{{- end -}}

{{/*
The OpenTelemetry variables of a pod from an `otel:` block (helm/tools/
types.schema.yaml#/otel): nothing without an endpoint (telemetry off), else
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME when set, and
OTEL_RESOURCE_ATTRIBUTES with the pod's namespace and name (through the
downward API) before the block's own attributes, then `extraEnv` as given
(e.g. OTEL_EXPORTER_OTLP_HEADERS from a Secret). Argument: a dict with `otel`
(the block) and `namespace`.
*/}}
{{- define "topicform-broker.otelEnv" -}}
{{- $o := .otel | default dict -}}
{{- if $o.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $o.endpoint | quote }}
{{- with $o.serviceName }}
- name: OTEL_SERVICE_NAME
  value: {{ . | quote }}
{{- end }}
- name: OTEL_K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- $attributes := list (printf "k8s.namespace.name=%s" .namespace) "k8s.pod.name=$(OTEL_K8S_POD_NAME)" }}
{{- range $k, $v := $o.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $k $v) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
{{- with $o.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}
