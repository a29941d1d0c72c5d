{{/*
Named templates of the platform chart. The topicform Job and the services are
rendered through the topicform and service charts' own named templates, each
with a context built here: the subchart's values (defaults included) plus the
one shared `broker:` block.
*/}}

{{/* The topicform chart's values with the shared broker and identity. */}}
{{- define "platform.topicformValues" -}}
{{- $v := deepCopy .Values.topicform -}}
{{- $_ := set $v "enabled" true -}}
{{- $_ := set $v "broker" (deepCopy .Values.broker) -}}
{{- $wi := (.Values.broker.workloadIdentity | default dict).clientId -}}
{{- if and $wi (not $v.azure.workloadIdentity.clientId) -}}
{{- $_ := set $v.azure.workloadIdentity "clientId" $wi -}}
{{- end -}}
{{- toJson $v -}}
{{- end -}}

{{/* One service's values: (list root entry) -> serviceDefaults <- entry, the platform's broker and brokerSecret. */}}
{{- define "platform.serviceValues" -}}
{{- $root := index . 0 -}}
{{- $v := mergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy (index . 1)) -}}
{{- $_ := set $v "broker" (deepCopy $root.Values.broker) -}}
{{- $_ := set $v "brokerSecret" (deepCopy $root.Values.brokerSecret) -}}
{{- toJson $v -}}
{{- end -}}

{{/* Fails on contradictory values. */}}
{{- define "platform.preflight" -}}
{{- if and .Values.kafkaLocal.enabled .Values.topicform.enabled (eq .Values.topicform.mode "hook") -}}
{{- fail "platform: kafkaLocal.enabled with topicform.mode=hook cannot work (the pre-install hook Job runs before kafka-local exists): install kafka-local as its own release, or set topicform.mode=job" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range .Values.services -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "platform: service %q is listed twice in services" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- end -}}
