{{/*
Named templates of the platform chart. The topicform Job and the services are
rendered through the topicform and service charts' own named templates, each
with a context built here: the subchart's values (defaults included) plus the
one shared `broker:` block.
*/}}

{{/*
The platform's `broker:` block as the services and the topicform chart read it:
without `management` (the topicform Job's identity, which only the Job gets).
*/}}
{{- define "platform.sharedBroker" -}}
{{- toJson (omit .Values.broker "management") -}}
{{- end -}}

{{/*
The topicform Job's client id for Azure Resource Manager: the explicit override
`topicform.azure.workloadIdentity.clientId` when set, else the broker's
`broker.management.workloadIdentity.clientId`; never the services'
`broker.workloadIdentity.clientId`. Empty when neither is set.
*/}}
{{- define "platform.topicformClientId" -}}
{{- $override := (((.Values.topicform | default dict).azure | default dict).workloadIdentity | default dict).clientId -}}
{{- $management := (((.Values.broker | default dict).management | default dict).workloadIdentity | default dict).clientId -}}
{{- default $management $override -}}
{{- end -}}

{{/*
The topicform chart's values with the shared broker and the Job's own identity
(platform.topicformClientId). Never the services' identity:
`broker.workloadIdentity.clientId` is the services' data-plane identity and is
not given to the Job (see platform.preflight).
*/}}
{{/*
An `otel:` block: the platform's, with each key a chart's own block sets
(non-empty) in its place. Not mergeOverwrite: the subcharts' defaults (empty
strings) reach here too and would blank the platform's endpoint.
*/}}
{{- define "platform.otel" -}}
{{- $merged := deepCopy (index . 0 | default dict) -}}
{{- range $key, $value := (index . 1 | default dict) }}
{{- if $value }}{{ $_ := set $merged $key $value }}{{ end }}
{{- end }}
{{- toJson $merged -}}
{{- end -}}

{{- define "platform.topicformValues" -}}
{{- $v := deepCopy .Values.topicform -}}
{{- $_ := set $v "enabled" true -}}
{{- $_ := set $v "broker" (include "platform.sharedBroker" . | fromJson) -}}
{{- $_ := set $v "otel" (include "platform.otel" (list .Values.otel $v.otel) | fromJson) -}}
{{- $azure := deepCopy ($v.azure | default dict) -}}
{{- $wi := deepCopy ($azure.workloadIdentity | default dict) -}}
{{- $_ := set $wi "clientId" (include "platform.topicformClientId" .) -}}
{{- $_ := set $azure "workloadIdentity" $wi -}}
{{- $_ := set $v "azure" $azure -}}
{{- toJson $v -}}
{{- end -}}

{{/*
"true" when the broker is Event Hubs, so the topicform Job manages event hubs
through Azure Resource Manager and needs its own identity: a bootstrap server
under `.servicebus.` (the Event Hubs Kafka endpoint, `NS.servicebus.windows.net`
and the other Azure clouds' `NS.servicebus.*`), or saslMechanism OAUTHBEARER
without kafkaLocal (OAUTHBEARER in these charts is Entra ID workload identity).
*/}}
{{- define "platform.eventHubs" -}}
{{- $b := .Values.broker -}}
{{- $oauth := eq ($b.saslMechanism | default "") "OAUTHBEARER" -}}
{{- if or (contains ".servicebus." (lower ($b.brokers | default ""))) (and $oauth (not .Values.kafkaLocal.enabled)) -}}
true
{{- end -}}
{{- end -}}

{{/*
One service's values: (list root entry) -> serviceDefaults <- entry, the
platform's broker (without `management`) with the entry's own identity
(`broker.groupId`, `saslUsername`, `existingSecret`, `workloadIdentity`:
each replaces the shared key whole, so a service's own user never mixes
with the shared Secret's keys), and the platform's brokerSecret.
*/}}
{{- define "platform.serviceValues" -}}
{{- $root := index . 0 -}}
{{- $entry := index . 1 -}}
{{- $v := mergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy $entry) -}}
{{- $broker := include "platform.sharedBroker" $root | fromJson -}}
{{- $own := $entry.broker | default dict -}}
{{- if or $own.saslUsername $own.existingSecret -}}
{{- $_ := unset $broker "saslUsername" -}}
{{- $_ := unset $broker "existingSecret" -}}
{{- end -}}
{{- range $key, $value := $own -}}
{{- $_ := set $broker $key (deepCopy $value) -}}
{{- end -}}
{{- $_ := set $v "broker" $broker -}}
{{- $_ := set $v "brokerSecret" (deepCopy $root.Values.brokerSecret) -}}
{{- $_ := set $v "otel" (include "platform.otel" (list $root.Values.otel $v.otel) | fromJson) -}}
{{- toJson $v -}}
{{- end -}}

{{/* "true" when brokerSecret.create makes the broker Secret a hook resource (left behind by `helm uninstall`). */}}
{{- define "platform.hookBrokerSecret" -}}
{{- if and .Values.brokerSecret.create .Values.topicform.enabled (eq .Values.topicform.mode "hook") -}}
true
{{- end -}}
{{- end -}}

{{/* Fails on contradictory values. */}}
{{- define "platform.preflight" -}}
{{- if and (include "platform.hookBrokerSecret" .) (not .Values.brokerSecret.allowHookSecret) -}}
{{- fail "platform: brokerSecret.create with topicform.mode=hook makes the broker Secret a hook resource, which `helm uninstall` does not delete (the password would outlive the release): reference a Secret you manage (broker.existingSecret without brokerSecret.create; production), or set topicform.mode=job, or accept the leftover Secret with brokerSecret.allowHookSecret: true (development)" -}}
{{- end -}}
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
{{- if and .Values.topicform.enabled (include "platform.eventHubs" .) (not (include "platform.topicformClientId" .)) -}}
{{- fail (printf "platform: the broker %s is Event Hubs, so the topicform Job manages event hubs through Azure Resource Manager with its own identity: set broker.management.workloadIdentity.clientId (e.g. the workload-identity module's topicform_client_id), or the override topicform.azure.workloadIdentity.clientId. The services' broker.workloadIdentity.clientId is never used for the Job." .Values.broker.brokers) -}}
{{- end -}}
{{- end -}}
