{{/* The release's full name: the release name, suffixed with the chart's unless it holds it. */}}
{{- define "boxoffice-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels selecting the operator's pods. */}}
{{- define "boxoffice-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object of the chart. */}}
{{- define "boxoffice-operator.labels" -}}
{{ include "boxoffice-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "boxoffice-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "boxoffice-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "boxoffice-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* A `key=value,...` selector (the operator's flag syntax) as matchLabels. */}}
{{- define "boxoffice-operator.matchLabels" -}}
{{- range $pair := splitList "," . }}
{{- $kv := splitList "=" $pair }}
{{ index $kv 0 }}: {{ index $kv 1 | quote }}
{{- end }}
{{- end -}}
