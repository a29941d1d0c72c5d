{{/* The chart's resources as named templates (see _helpers.tpl for the context). */}}

{{- define "topicform.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "topicform.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- $ann := deepCopy .Values.serviceAccount.annotations }}
  {{- with .Values.azure.workloadIdentity.clientId }}{{ $_ := set $ann "azure.workload.identity/client-id" . }}{{ end }}
  {{- with .Values.azure.workloadIdentity.tenantId }}{{ $_ := set $ann "azure.workload.identity/tenant-id" . }}{{ end }}
  {{- with include "topicform.prereqAnnotations" (list . $ann) }}{{ . | nindent 2 }}{{ end }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{- define "topicform.rbac" -}}
{{- if or .Values.rbac.create .Values.kubernetes.enabled }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "topicform.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list . dict) }}{{ . | nindent 2 }}{{ end }}
rules:
  {{- if .Values.kubernetes.enabled }}
  # The apply lock: one Lease per target cluster, named after it.
  - apiGroups: ["coordination.k8s.io"]
    resources: ["leases"]
    verbs: ["get", "create", "update"]
  # The status object of each environment (server-side apply; creating it
  # that way is authorized as create){{ if .Values.kubernetes.contributedTopics.enabled }}, and the
  # ConfigMaps services contribute topics through (list){{ end }}.
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: {{ if not .Values.kubernetes.contributedTopics.enabled }}["get", "create", "patch"]{{ else if eq .Values.mode "controller" }}["get", "list", "watch", "create", "patch"]{{ else }}["get", "list", "create", "patch"]{{ end }}
  # One Event per run, on that status object (a new one each run: no patch).
  - apiGroups: ["events.k8s.io"]
    resources: ["events"]
    verbs: ["create"]
  {{- end }}
  {{- with .Values.rbac.rules }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "topicform.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list . dict) }}{{ . | nindent 2 }}{{ end }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "topicform.fullname" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "topicform.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
{{- if and .Values.kubernetes.enabled .Values.kubernetes.contributedTopics.enabled }}
{{- range .Values.kubernetes.contributedTopics.namespaces }}
{{- if ne . $.Release.Namespace }}
---
# Reading the topics this namespace's releases contribute, and an Event on
# a ConfigMap whose declaration was refused (ResourceConflict).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "topicform.fullname" $ }}-topics
  namespace: {{ . }}
  labels:
    {{- include "topicform.labels" $ | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list $ dict) }}{{ . | nindent 2 }}{{ end }}
rules:
  - apiGroups: [""]
    resources: ["configmaps"]
    verbs: {{ if eq $.Values.mode "controller" }}["list", "watch"]{{ else }}["list"]{{ end }}
  - apiGroups: ["events.k8s.io"]
    resources: ["events"]
    verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "topicform.fullname" $ }}-topics
  namespace: {{ . }}
  labels:
    {{- include "topicform.labels" $ | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list $ dict) }}{{ . | nindent 2 }}{{ end }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "topicform.fullname" $ }}-topics
subjects:
  - kind: ServiceAccount
    name: {{ include "topicform.serviceAccountName" $ }}
    namespace: {{ $.Release.Namespace }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "topicform.configMap" -}}
{{- if not .Values.existingConfigMap }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "topicform.configMapName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list . dict) }}{{ . | nindent 2 }}{{ end }}
data:
  topicform.yaml: |-
    {{- .Values.spec | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "topicform.policyConfigMap" -}}
{{- if .Values.policy.file }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "topicform.policyConfigMapName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list . dict) }}{{ . | nindent 2 }}{{ end }}
data:
  policy.yaml: |-
    {{- .Values.policy.file | nindent 4 }}
{{- end }}
{{- end -}}

{{- define "topicform.secret" -}}
{{- if and .Values.credentials.create (not .Values.credentials.existingSecret) }}
---
# Local and development only: these values live in the Helm release. In
# production reference a Secret made by Terraform or an operator (credentials.existingSecret).
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "topicform.credentialsSecretName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- with include "topicform.prereqAnnotations" (list . dict) }}{{ . | nindent 2 }}{{ end }}
type: Opaque
stringData:
  {{- range $k, $v := .Values.credentials.values }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{- define "topicform.applyArgs" -}}
{{- $args := list "apply" "-f" "/etc/topicform/topicform.yaml" "-e" (include "topicform.environment" .) "--auto-approve" "--timeout" (toString .Values.apply.timeout) "--log-format" .Values.logFormat "--log-level" .Values.logLevel -}}
{{- toJson (concat $args .Values.apply.extraArgs) -}}
{{- end -}}

{{- define "topicform.job" -}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "topicform.jobName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
  {{- if eq .Values.mode "hook" }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: {{ .Values.hook.weight | quote }}
    # The finished Job stays (for its logs) until the next run or ttlSecondsAfterFinished.
    helm.sh/hook-delete-policy: before-hook-creation
  {{- end }}
spec:
  backoffLimit: {{ .Values.job.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.job.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: {{ .Values.job.ttlSecondsAfterFinished }}
  template:
    {{- include "topicform.applyPodTemplate" . | nindent 4 }}
{{- end -}}

{{- define "topicform.controllerArgs" -}}
{{- $args := list "controller" "-f" "/etc/topicform/topicform.yaml" "-e" (include "topicform.environment" .) "--interval" (toString .Values.controller.interval) "--probe-address" (printf "0.0.0.0:%v" .Values.controller.probePort) "--timeout" (toString .Values.apply.timeout) "--log-format" .Values.logFormat "--log-level" .Values.logLevel -}}
{{- toJson (concat $args .Values.apply.extraArgs) -}}
{{- end -}}

{{/* mode: controller. The spec is mounted from its ConfigMap, which the kubelet updates in place: the controller sees the change without a restart. */}}
{{- define "topicform.controller" -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "topicform.fullname" . | trunc 52 | trimSuffix "-" }}-controller
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.controller.replicas }}
  selector:
    matchLabels:
      {{- include "topicform.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: controller
  template:
    {{- include "topicform.podTemplate" (list . (include "topicform.controllerArgs" . | fromJsonArray) "controller") | nindent 4 }}
{{- end -}}

{{- define "topicform.cronJob" -}}
{{- if .Values.drift.enabled }}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "topicform.fullname" . | trunc 46 | trimSuffix "-" }}-drift
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
spec:
  schedule: {{ .Values.drift.schedule | quote }}
  timeZone: {{ .Values.drift.timeZone | quote }}
  suspend: {{ .Values.drift.suspend }}
  concurrencyPolicy: Forbid
  failedJobsHistoryLimit: {{ .Values.drift.failedJobsHistoryLimit }}
  successfulJobsHistoryLimit: {{ .Values.drift.successfulJobsHistoryLimit }}
  jobTemplate:
    metadata:
      labels:
        {{- include "topicform.labels" . | nindent 8 }}
    spec:
      # Exit code 2 (changes pending) is drift: the Job fails at once, no retry.
      backoffLimit: 0
      activeDeadlineSeconds: {{ .Values.job.activeDeadlineSeconds }}
      ttlSecondsAfterFinished: {{ .Values.job.ttlSecondsAfterFinished }}
      template:
        {{- $args := list "plan" "-f" "/etc/topicform/topicform.yaml" "-e" (include "topicform.environment" .) "--detailed-exitcode" "--timeout" (toString .Values.apply.timeout) "--log-format" .Values.logFormat "--log-level" .Values.logLevel }}
        {{- include "topicform.podTemplate" (list . $args) | nindent 8 }}
{{- end }}
{{- end -}}


{{- define "topicform.lagExporterArgs" -}}
{{- $args := list "lag" "-f" "/etc/topicform/topicform.yaml" "-e" (include "topicform.environment" .) "--serve" (printf "0.0.0.0:%v" .Values.lagExporter.port) "--interval" (toString .Values.lagExporter.interval) "--log-format" .Values.logFormat "--log-level" .Values.logLevel -}}
{{- range .Values.lagExporter.groups }}{{ $args = concat $args (list "--group" .) }}{{ end -}}
{{- toJson $args -}}
{{- end -}}

{{/* lagExporter.enabled: `topicform lag --serve` and its Service (port `metrics`, for a ServiceMonitor). One replica: two would double every series. */}}
{{- define "topicform.lagExporter" -}}
{{- if .Values.lagExporter.enabled }}
{{- $name := printf "%s-lag-exporter" (include "topicform.fullname" . | trunc 50 | trimSuffix "-") }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
spec:
  replicas: 1
  selector:
    matchLabels:
      {{- include "topicform.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: lag-exporter
  template:
    {{- include "topicform.podTemplate" (list . (include "topicform.lagExporterArgs" . | fromJsonArray) "lag-exporter") | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "topicform.labels" . | nindent 4 }}
    {{- with .Values.lagExporter.serviceLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    {{- include "topicform.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: lag-exporter
  ports:
    - name: metrics
      port: {{ .Values.lagExporter.port }}
      targetPort: metrics
      protocol: TCP
{{- end }}
{{- end -}}
