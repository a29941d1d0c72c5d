{{/*
Named templates of the service chart. Every template takes a context with
.Values, .Release, .Chart and .Capabilities: the chart's own, or one the
platform chart builds per service (its service entry over `serviceDefaults:`,
plus the shared `broker:`).
*/}}

{{/* The service's name: fullnameOverride, name, or release-based. */}}
{{- define "service.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if .Values.name -}}
{{- .Values.name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default "service" .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades. */}}
{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels. */}}
{{- define "service.labels" -}}
helm.sh/chart: {{ include "service.chart" . }}
{{ include "service.selectorLabels" . }}
app.kubernetes.io/version: {{ include "service.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: service
app.kubernetes.io/part-of: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount's name: the service's name unless serviceAccount.name (Terraform federates this name). */}}
{{- define "service.serviceAccountName" -}}
{{- default (include "service.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "service.imageTag" -}}
{{- if .Values.image.digest -}}{{ .Values.image.digest | trimPrefix "sha256:" | trunc 12 }}{{- else -}}{{ .Values.image.tag }}{{- end -}}
{{- end -}}

{{- define "service.image" -}}
{{- $repo := required (printf "%s: image.repository is required" (include "service.fullname" .)) .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (required (printf "%s: set image.tag or image.digest" (include "service.fullname" .)) (toString .Values.image.tag)) -}}
{{- end -}}
{{- end -}}

{{/* Workload identity client id: the service's own, else the broker's. */}}
{{- define "service.workloadIdentityClientId" -}}
{{- $b := .Values.broker | default dict -}}
{{- $fromBroker := ($b.workloadIdentity | default dict).clientId | default "" -}}
{{- default $fromBroker .Values.workloadIdentity.clientId -}}
{{- end -}}

{{/* The container env: the broker's variables, the OpenTelemetry ones (OTEL_SERVICE_NAME: the release's fullname unless set), then `env`. */}}
{{- define "service.env" -}}
{{- include "topicform-broker.env" .Values.broker }}
{{- $otel := deepCopy (.Values.otel | default dict) -}}
{{- if not $otel.serviceName }}{{ $_ := set $otel "serviceName" (include "service.fullname" .) }}{{ end -}}
{{- include "topicform-broker.otelEnv" (dict "otel" $otel "namespace" .Release.Namespace) }}
{{- with .Values.clientConfig }}{{ if .content }}
- name: KAFKA_CLIENT_CONFIG
  value: {{ printf "/etc/kafka-client/%s" .file | quote }}
{{- end }}{{ end }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Checksum of the broker settings (and a chart-made broker Secret): a change rolls the pods. */}}
{{- define "service.brokerChecksum" -}}
{{- $in := dict "broker" .Values.broker -}}
{{- if .Values.brokerSecret.create }}{{ $_ := set $in "secret" .Values.brokerSecret.stringData }}{{ end -}}
{{- toJson $in | sha256sum -}}
{{- end -}}

{{/* All resources of one service for a context (the chart's own or one the platform builds). */}}
{{- define "service.all" -}}
{{- include "topicform-broker.preflight" .Values.broker -}}
{{ include "service.serviceAccount" . }}
{{ include "service.deployment" . }}
{{ include "service.service" . }}
{{ include "service.hpa" . }}
{{ include "service.pdb" . }}
{{ include "service.testPod" . }}
{{ include "service.topics" . }}
{{ include "service.clientConfig" . }}
{{- end -}}
