{{/*
Chart name and version, as used in the helm.sh/chart label.
*/}}
{{- define "weir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object. app.kubernetes.io/instance and part-of are
Flux's values, which Flux tooling selects on.
*/}}
{{- define "weir.labels" -}}
app.kubernetes.io/instance: {{ .Release.Namespace }}
app.kubernetes.io/part-of: flux
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ include "weir.chart" . }}
{{- end }}

{{/*
A controller's image: <image.registry>/<name>:<image.tag or appVersion>.
Call with (dict "root" $ "name" "source-controller").
*/}}
{{- define "weir.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .name $tag }}
{{- end }}

{{/*
Name of source-controller's ServiceAccount.
*/}}
{{- define "weir.sourceController.serviceAccountName" -}}
source-controller
{{- end }}

{{/*
Name of source-controller's PersistentVolumeClaim.
*/}}
{{- define "weir.sourceController.claimName" -}}
{{- .Values.sourceController.persistence.existingClaim | default "source-controller" }}
{{- end }}

{{/*
Name of kustomize-controller's ServiceAccount.
*/}}
{{- define "weir.kustomizeController.serviceAccountName" -}}
kustomize-controller
{{- end }}

{{/*
Where controllers send their events (--events-addr): eventsAddr when set,
else this release's notification-controller when it is enabled (Flux's
address), else nowhere.
*/}}
{{- define "weir.eventsAddr" -}}
{{- if .Values.eventsAddr -}}
{{ .Values.eventsAddr }}
{{- else if .Values.notificationController.enabled -}}
http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./
{{- end -}}
{{- end }}
