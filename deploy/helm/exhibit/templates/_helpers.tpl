{{- define "exhibit.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "exhibit.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "exhibit.labels" -}}
{{ include "exhibit.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "exhibit.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "exhibit.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The agent's configuration: the user's, plus the three fields the chart owns. */}}
{{- define "exhibit.config" -}}
{{- $cfg := required "config is required: the exhibit configuration (store, signing_key, sources, collectors)" .Values.config -}}
{{- $why := dict "spool_dir" "the spool is a volume per replica" "listen" "the port is metrics.port" "replicas" "it is the StatefulSet's replicas, set with .Values.replicas" -}}
{{- range $owned := list "spool_dir" "listen" "replicas" -}}
{{- if hasKey $cfg $owned -}}
{{- fail (printf "config.%s is set by the chart; remove it (%s)" $owned (get $why $owned)) -}}
{{- end -}}
{{- end -}}
{{- $owned := dict "spool_dir" "/var/lib/exhibit/spool" "listen" (printf "0.0.0.0:%d" (int .Values.metrics.port)) "replicas" (int .Values.replicas) -}}
{{- toYaml (merge $owned (deepCopy $cfg)) -}}
{{- end -}}
