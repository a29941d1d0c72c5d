{{/* The chart's resources as named templates (see _helpers.tpl for the context). */}}

{{- define "service.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "service.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
  {{- $ann := deepCopy .Values.serviceAccount.annotations }}
  {{- with include "service.workloadIdentityClientId" . }}{{ $_ := set $ann "azure.workload.identity/client-id" . }}{{ end }}
  {{- with $ann }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end }}
{{- end -}}

{{/* The pod spec shared by the Deployment and the test pod's environment. */}}
{{- define "service.podLabels" -}}
{{ include "service.selectorLabels" . }}
{{- if include "service.workloadIdentityClientId" . }}
azure.workload.identity/use: "true"
{{- end }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "service.deployment" -}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "service.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "service.podLabels" . | nindent 8 }}
      annotations:
        checksum/broker: {{ include "service.brokerChecksum" . }}
        {{- with (.Values.clientConfig).content }}
        checksum/kafka-client: {{ . | sha256sum }}
        {{- end }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "service.serviceAccountName" . }}
      automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ include "service.fullname" . | trunc 63 }}
          image: {{ include "service.image" . | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          {{- with .Values.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ .Values.containerPort }}
              protocol: TCP
          env:
            {{- include "service.env" . | nindent 12 }}
          {{- with .Values.envFrom }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.livenessProbe }}
          livenessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.readinessProbe }}
          readinessProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .Values.startupProbe }}
          startupProbe:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if (.Values.clientConfig).content }}
            - name: kafka-client
              mountPath: /etc/kafka-client
              readOnly: true
            {{- end }}
            {{- with .Values.volumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {}
        {{- if (.Values.clientConfig).content }}
        - name: kafka-client
          configMap:
            name: {{ include "service.fullname" . }}-kafka-client
        {{- end }}
        {{- with .Values.volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{- define "service.service" -}}
{{- if .Values.service.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "service.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end }}
{{- end -}}

{{- define "service.hpa" -}}
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "service.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{- define "service.pdb" -}}
{{- if .Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "service.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      {{- include "service.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* `helm test`: topicform check --from-env with the service's own environment and identity. */}}
{{- define "service.testPod" -}}
{{- if .Values.test.enabled }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "service.fullname" . | trunc 48 | trimSuffix "-" }}-broker-check
  namespace: {{ .Release.Namespace }}
  labels:
    # Not the service's selector labels: the Service and PDB must not select this pod.
    helm.sh/chart: {{ include "service.chart" . }}
    app.kubernetes.io/name: {{ include "service.fullname" . | trunc 50 | trimSuffix "-" }}-broker-check
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    app.kubernetes.io/component: broker-check
    app.kubernetes.io/part-of: {{ .Release.Name }}
    {{- if include "service.workloadIdentityClientId" . }}
    azure.workload.identity/use: "true"
    {{- end }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "service.serviceAccountName" . }}
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: broker-check
      image: {{ printf "%s:%s" .Values.test.image.repository (default .Chart.AppVersion .Values.test.image.tag) | quote }}
      imagePullPolicy: {{ .Values.test.image.pullPolicy }}
      args: ["check", "--from-env", "--log-format", "json"]
      env:
        - name: NO_COLOR
          value: "1"
        {{- include "service.env" . | nindent 8 }}
      {{- with .Values.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          memory: 128Mi
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir: {}
{{- end }}
{{- end -}}

{{/* Local and development only: the broker Secret from values (production: Terraform or kubectl make it). */}}
{{- define "service.brokerSecret" -}}
{{- if .Values.brokerSecret.create }}
---
# Local and development only: these values live in the Helm release. In
# production the Secret `broker.existingSecret.name` is made by Terraform or an operator.
apiVersion: v1
kind: Secret
metadata:
  name: {{ required "brokerSecret.create needs broker.existingSecret.name" ((.Values.broker.existingSecret | default dict).name) }}
  namespace: {{ .Release.Namespace }}
  labels:
    helm.sh/chart: {{ include "service.chart" . }}
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    app.kubernetes.io/part-of: {{ .Release.Name }}
type: Opaque
stringData:
  {{- range $k, $v := .Values.brokerSecret.stringData }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The Kafka library's settings (`topicform env --client LIB --format helm-values`), mounted at /etc/kafka-client. */}}
{{- define "service.clientConfig" -}}
{{- $c := .Values.clientConfig | default dict }}
{{- if $c.content }}
{{- if not $c.file }}{{ fail "clientConfig.content needs clientConfig.file: paste the whole block `topicform env --client LIB --format helm-values` prints" }}{{ end }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "service.fullname" . }}-kafka-client
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "service.labels" . | nindent 4 }}
data:
  {{- toYaml (dict $c.file $c.content) | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The topics this service owns, for a topicform spec with `from: kubernetes`. */}}
{{- define "service.topics" -}}
{{- with .Values.topics }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "service.fullname" $ }}-topics
  namespace: {{ $.Release.Namespace }}
  labels:
    {{- include "service.labels" $ | nindent 4 }}
    topicform.dev/topics: "true"
data:
  topics.yaml: |
    {{- toYaml (dict "topics" .) | nindent 4 }}
{{- end }}
{{- end -}}
