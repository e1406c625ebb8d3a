{{/*
The chart's objects are the repository's manifests (files/manifests/, byte-equal copies of
manifests/), parsed here and adjusted for the release; each template lays its values over them.
*/}}

{{/* Cluster-scoped kinds: their names take .Values.clusterPrefix in place of "governor". */}}
{{- define "governor.clusterKinds" -}}
ClusterRole ClusterRoleBinding ClusterKopfPeering ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding
{{- end }}

{{- define "governor.prefixed" -}}
{{- regexReplaceAll "^governor" (index . 1) (index . 0).Values.clusterPrefix -}}
{{- end }}

{{/*
The objects of one manifest file as a JSON list: the Namespace left out (Helm installs into the
release's namespace), namespaced objects and RBAC subjects moved to the release's namespace, and
cluster-scoped names (and the references to them) prefixed. Usage:
  include "governor.objects" (list $ "files/manifests/rbac.yaml") | fromJsonArray
*/}}
{{- define "governor.objects" -}}
{{- $root := index . 0 -}}
{{- $clusterKinds := splitList " " (include "governor.clusterKinds" $root) -}}
{{- $objects := list -}}
{{- range splitList "\n---\n" ($root.Files.Get (index . 1)) -}}
{{- $o := fromYaml . -}}
{{- if and $o.kind (ne $o.kind "Namespace") -}}
{{- if hasKey $o.metadata "namespace" -}}
{{- $_ := set $o.metadata "namespace" $root.Release.Namespace -}}
{{- end -}}
{{- if has $o.kind $clusterKinds -}}
{{- $_ := set $o.metadata "name" (include "governor.prefixed" (list $root $o.metadata.name)) -}}
{{- end -}}
{{- if eq $o.kind "ClusterRoleBinding" -}}
{{- $_ := set $o.roleRef "name" (include "governor.prefixed" (list $root $o.roleRef.name)) -}}
{{- end -}}
{{- if eq $o.kind "ValidatingAdmissionPolicyBinding" -}}
{{- $_ := set $o.spec "policyName" (include "governor.prefixed" (list $root $o.spec.policyName)) -}}
{{- end -}}
{{- range $o.subjects -}}
{{- if hasKey . "namespace" -}}
{{- $_ := set . "namespace" $root.Release.Namespace -}}
{{- end -}}
{{- end -}}
{{- $objects = append $objects $o -}}
{{- end -}}
{{- end -}}
{{- toJson $objects -}}
{{- end }}

{{/* The objects, one YAML document each. */}}
{{- define "governor.documents" -}}
{{- range . }}
---
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "governor.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end }}

{{/* The receivers config text: the values' (a string or a mapping), or null for the manifest's. */}}
{{- define "governor.receiversConfig" -}}
{{- $config := .Values.receivers.config -}}
{{- if kindIs "string" $config -}}{{ $config }}{{- else if $config -}}{{ toYaml $config }}{{- end -}}
{{- end }}

{{/* The Secrets a receivers config names ({secret, key} under any receiver's field), sorted, as JSON. */}}
{{- define "governor.receiverSecrets" -}}
{{- $names := dict -}}
{{- range (fromYaml .).receivers | default list -}}
{{- range $field, $value := . -}}
{{- if and (kindIs "map" $value) (hasKey $value "secret") -}}
{{- $_ := set $names $value.secret true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (keys $names | sortAlpha) -}}
{{- end }}
