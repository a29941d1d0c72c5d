{{/* Named templates of the kafka-local chart. */}}

{{- define "kafka-local.name" -}}
{{- default "kafka-local" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-name, or the release name alone when it already contains the name. */}}
{{- define "kafka-local.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 60 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kafka-local.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 60 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 60 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kafka-local.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a component (`broker` or `ui`). */}}
{{- define "kafka-local.selectorLabels" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ include "kafka-local.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Common labels of a component. */}}
{{- define "kafka-local.labels" -}}
{{- $ctx := index . 0 -}}
helm.sh/chart: {{ include "kafka-local.chart" $ctx }}
{{ include "kafka-local.selectorLabels" . }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
app.kubernetes.io/part-of: {{ $ctx.Release.Name }}
{{- end -}}

{{/* The address clients bootstrap from and the broker advertises. */}}
{{- define "kafka-local.bootstrap" -}}
{{- printf "%s.%s.svc:%d" (include "kafka-local.fullname" .) .Release.Namespace (int .Values.port) -}}
{{- end -}}

{{/* server.properties: one combined KRaft node, every internal topic at replication factor 1. */}}
{{- define "kafka-local.serverProperties" -}}
{{- $p := dict
  "process.roles" "broker,controller"
  "node.id" "1"
  "controller.quorum.voters" "1@localhost:9093"
  "controller.listener.names" "CONTROLLER"
  "listeners" (printf "PLAINTEXT://:%d,CONTROLLER://localhost:9093" (int .Values.port))
  "advertised.listeners" (printf "PLAINTEXT://%s" (include "kafka-local.bootstrap" .))
  "listener.security.protocol.map" "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  "inter.broker.listener.name" "PLAINTEXT"
  "log.dirs" "/var/lib/kafka/data/kraft"
  "auto.create.topics.enable" "false"
  "num.partitions" "1"
  "default.replication.factor" "1"
  "min.insync.replicas" "1"
  "offsets.topic.replication.factor" "1"
  "transaction.state.log.replication.factor" "1"
  "transaction.state.log.min.isr" "1"
  "share.coordinator.state.topic.replication.factor" "1"
  "share.coordinator.state.topic.min.isr" "1"
  "group.initial.rebalance.delay.ms" "0"
-}}
{{- range $k, $v := .Values.config }}{{ $_ := set $p $k (toString $v) }}{{ end -}}
{{- range $k := keys $p | sortAlpha }}
{{ $k }}={{ get $p $k }}
{{- end }}
{{- end -}}
