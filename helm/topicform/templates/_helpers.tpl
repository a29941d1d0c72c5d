{{/*
Named templates of the topicform chart. Every template takes a context with
.Values, .Release, .Chart and .Capabilities: the chart's own, or one the
platform chart builds (its `topicform:` values plus the shared `broker:`).
*/}}

{{/* Chart name: `topicform` unless nameOverride. Not .Chart.Name: the platform renders these templates too. */}}
{{- define "topicform.name" -}}
{{- default "topicform" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: release-name, or the release name alone when it already contains the name. */}}
{{- define "topicform.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "topicform.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "topicform.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades. */}}
{{- define "topicform.selectorLabels" -}}
app.kubernetes.io/name: {{ include "topicform.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Common labels. */}}
{{- define "topicform.labels" -}}
helm.sh/chart: {{ include "topicform.chart" . }}
{{ include "topicform.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: topic-reconciler
app.kubernetes.io/part-of: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount's name: `topicform` unless serviceAccount.name (Terraform federates this name). */}}
{{- define "topicform.serviceAccountName" -}}
{{- default "topicform" .Values.serviceAccount.name -}}
{{- end -}}

{{- define "topicform.configMapName" -}}
{{- default (printf "%s-spec" (include "topicform.fullname" .)) .Values.existingConfigMap -}}
{{- end -}}

{{/* The ConfigMap of `policy.file`. */}}
{{- define "topicform.policyConfigMapName" -}}
{{- printf "%s-policy" (include "topicform.fullname" .) -}}
{{- end -}}

{{- define "topicform.credentialsSecretName" -}}
{{- default (printf "%s-credentials" (include "topicform.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{/* repository:tag or repository@digest; the tag defaults to the chart's appVersion. */}}
{{- define "topicform.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
metadata.annotations of a resource the apply Job needs, from (list ctx extra):
in hook mode a pre-install,pre-upgrade hook created before the Job (weight - 10).
Helm keeps no ownership record of a hook resource, so an upgrade to
`mode: job`, where the resource is an ordinary one, would refuse to adopt it
("exists and cannot be imported into the current release"): the hook carries
the release's ownership annotations itself.
*/}}
{{- define "topicform.prereqAnnotations" -}}
{{- $ctx := index . 0 -}}
{{- $a := deepCopy (index . 1) -}}
{{- if eq $ctx.Values.mode "hook" -}}
{{- $_ := set $a "helm.sh/hook" "pre-install,pre-upgrade" -}}
{{- $_ := set $a "helm.sh/hook-weight" (toString (sub (int $ctx.Values.hook.weight) 10)) -}}
{{- $_ := set $a "helm.sh/hook-delete-policy" "before-hook-creation" -}}
{{- $_ := set $a "meta.helm.sh/release-name" $ctx.Release.Name -}}
{{- $_ := set $a "meta.helm.sh/release-namespace" $ctx.Release.Namespace -}}
{{- end -}}
{{- with $a -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
Where the policy files are mounted, as TOPICFORM_POLICY lists them
(comma-separated); empty when the chart has none.
*/}}
{{- define "topicform.policyPaths" -}}
{{- $p := .Values.policy | default dict -}}
{{- $paths := list -}}
{{- if $p.file }}{{ $paths = append $paths "/etc/topicform-policy/release/policy.yaml" }}{{ end -}}
{{- if $p.existingConfigMap }}{{ $paths = append $paths "/etc/topicform-policy/shared/policy.yaml" }}{{ end -}}
{{- join "," $paths -}}
{{- end -}}

{{/* The apply Job's pod template. */}}
{{- define "topicform.applyPodTemplate" -}}
{{- include "topicform.podTemplate" (list . (include "topicform.applyArgs" . | fromJsonArray)) -}}
{{- end -}}

{{/*
The apply Job's name. Hook mode: `<fullname>-apply` (recreated by the hook
policy). Job mode: `<fullname>-apply-<hash>` of the whole Job (pod template
with the spec's checksum, arguments, image, env; backoff and deadlines): a
changed spec runs a new Job, and no upgrade ever patches a Job's immutable
template. A spec in `existingConfigMap` is outside the hash: rename the
ConfigMap (or change podAnnotations) to run again.
*/}}
{{- define "topicform.jobName" -}}
{{- $base := include "topicform.fullname" . -}}
{{- if eq .Values.mode "hook" -}}
{{- printf "%s-apply" ($base | trunc 57 | trimSuffix "-") -}}
{{- else -}}
{{- $hash := printf "%s%s" (include "topicform.applyPodTemplate" .) (toJson .Values.job) | sha256sum | trunc 10 -}}
{{- printf "%s-apply-%s" ($base | trunc 46 | trimSuffix "-") $hash -}}
{{- end -}}
{{- end -}}

{{/* The spec environment: broker.environment (platform) wins over environment. */}}
{{- define "topicform.environment" -}}
{{- $b := .Values.broker | default dict -}}
{{- default .Values.environment $b.environment -}}
{{- end -}}

{{/* Fails on missing or contradictory values (schema cannot express these). */}}
{{- define "topicform.preflight" -}}
{{- if and (not .Values.spec) (not .Values.existingConfigMap) -}}
{{- fail "topicform: set the spec (`--set-file spec=topicform.yaml`) or `existingConfigMap`" -}}
{{- end -}}
{{- if not (include "topicform.environment" .) -}}
{{- fail "topicform: set `environment` (the spec environment to apply, `topicform apply -e`)" -}}
{{- end -}}
{{- if include "topicform.hookSecret" . -}}
{{- if not .Values.credentials.allowHookSecret -}}
{{- fail "topicform: credentials.create in mode hook makes the credentials Secret a hook resource, which `helm uninstall` does not delete (the secret would outlive the release): use credentials.existingSecret (a Secret you manage; production), or mode: job, or accept the leftover Secret with credentials.allowHookSecret: true (development)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when the chart creates the credentials Secret as a hook resource (left behind by `helm uninstall`). */}}
{{- define "topicform.hookSecret" -}}
{{- if and (eq .Values.mode "hook") .Values.credentials.create (not .Values.credentials.existingSecret) -}}
true
{{- end -}}
{{- end -}}

{{/*
The pod template of every topicform pod; `args` is the topicform command
line. A third element names a long-running component (`controller`,
`lag-exporter`): restarted, labelled with it, its port probed (the
controller's /readyz and /healthz, the lag exporter's /healthz).
*/}}
{{- define "topicform.podTemplate" -}}
{{- $ctx := index . 0 -}}
{{- $args := index . 1 -}}
{{- $component := "" -}}
{{- if gt (len .) 2 }}{{ $component = index . 2 }}{{ end -}}
{{- $v := $ctx.Values -}}
metadata:
  labels:
    {{- include "topicform.selectorLabels" $ctx | nindent 4 }}
    {{- with $component }}
    app.kubernetes.io/component: {{ . }}
    {{- end }}
    {{- if $v.azure.workloadIdentity.clientId }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/spec: {{ default $v.existingConfigMap $v.spec | sha256sum }}
    {{- with $v.policy }}{{ if or .file .existingConfigMap }}
    checksum/policy: {{ printf "%s\n%s" .file .existingConfigMap | sha256sum }}
    {{- end }}{{ end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: {{ if $component }}Always{{ else }}Never{{ end }}
  serviceAccountName: {{ include "topicform.serviceAccountName" $ctx }}
  # The token only for topicform's own use of the API (kubernetes.enabled);
  # workload identity mounts its own.
  automountServiceAccountToken: {{ $v.kubernetes.enabled }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  containers:
    - name: topicform
      image: {{ include "topicform.image" $ctx | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      args:
        {{- range $args }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: NO_COLOR
          value: "1"
        {{- with include "topicform.policyPaths" $ctx }}
        - name: TOPICFORM_POLICY
          value: {{ . | quote }}
        {{- end }}
        {{- if ($v.broker | default dict).brokers }}
        {{- include "topicform-broker.env" $v.broker | nindent 8 }}
        {{- end }}
        {{- with include "topicform-broker.otelEnv" (dict "otel" $v.otel "namespace" $ctx.Release.Namespace) }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $v.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if or $v.envFrom $v.credentials.existingSecret $v.credentials.create }}
      envFrom:
        {{- if or $v.credentials.existingSecret $v.credentials.create }}
        - secretRef:
            name: {{ include "topicform.credentialsSecretName" $ctx }}
        {{- end }}
        {{- with $v.envFrom }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      {{- if eq $component "controller" }}
      ports:
        - name: probes
          containerPort: {{ $v.controller.probePort }}
      readinessProbe:
        httpGet: { path: /readyz, port: probes }
        periodSeconds: 5
      livenessProbe:
        httpGet: { path: /healthz, port: probes }
        periodSeconds: 20
        failureThreshold: 3
      {{- else if eq $component "lag-exporter" }}
      ports:
        - name: metrics
          containerPort: {{ $v.lagExporter.port }}
      readinessProbe:
        httpGet: { path: /healthz, port: metrics }
        periodSeconds: 5
      livenessProbe:
        httpGet: { path: /healthz, port: metrics }
        periodSeconds: 20
        failureThreshold: 3
      {{- end }}
      volumeMounts:
        - name: spec
          mountPath: /etc/topicform
          readOnly: true
        {{- if $v.policy.file }}
        - name: policy-release
          mountPath: /etc/topicform-policy/release
          readOnly: true
        {{- end }}
        {{- if $v.policy.existingConfigMap }}
        - name: policy-shared
          mountPath: /etc/topicform-policy/shared
          readOnly: true
        {{- end }}
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: spec
      configMap:
        name: {{ include "topicform.configMapName" $ctx }}
    {{- if $v.policy.file }}
    - name: policy-release
      configMap:
        name: {{ include "topicform.policyConfigMapName" $ctx }}
    {{- end }}
    {{- if $v.policy.existingConfigMap }}
    - name: policy-shared
      configMap:
        name: {{ $v.policy.existingConfigMap }}
    {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* All resources of the chart for a context (the chart's own or the platform's). */}}
{{- define "topicform.all" -}}
{{- include "topicform.preflight" . -}}
{{- if (.Values.broker | default dict).brokers }}{{ include "topicform-broker.preflight" .Values.broker }}{{ end -}}
{{ include "topicform.serviceAccount" . }}
{{ include "topicform.rbac" . }}
{{ include "topicform.configMap" . }}
{{ include "topicform.policyConfigMap" . }}
{{ include "topicform.secret" . }}
{{- if eq .Values.mode "controller" }}
{{ include "topicform.controller" . }}
{{- else }}
{{ include "topicform.job" . }}
{{- end }}
{{ include "topicform.cronJob" . }}
{{ include "topicform.lagExporter" . }}
{{- end -}}
