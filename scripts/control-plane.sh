#!/usr/bin/env bash
# Build (once) the real Kubernetes control plane the cluster tests run against, from the Go module
# proxy alone: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and KWOK; and
# helm, which the install tests (tests/cluster/test_install.py) use on the chart in charts/governor.
#
#   scripts/control-plane.sh          → builds what is missing; prints the binaries' folder last on stdout
#
# Binaries land in a versioned cache outside the repository
# (${GOVERNOR_CONTROL_PLANE_CACHE:-~/.cache/governor/control-plane}/<versions>/bin); a warm cache
# skips the build. If KUBEBUILDER_ASSETS names a folder holding kube-apiserver and etcd (the envtest
# layout), those two (and its kubectl, when present) are used and only the rest is built.
# Progress goes to stderr. Nothing built is committed.
set -euo pipefail

K8S_VERSION="${GOVERNOR_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${GOVERNOR_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${GOVERNOR_KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${GOVERNOR_HELM_VERSION:-v3.21.4}"

cache_root="${GOVERNOR_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/governor/control-plane}"
plane_name="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
dir="$cache_root/$plane_name-helm-$HELM_VERSION"
bin="$dir/bin"
work="$dir/build"

log() { printf '\033[1m[control-plane]\033[0m %s\n' "$*" >&2; }
stamp() { date +%s; }
# Run "$@" and say every 30 s that it is still going (a cold compile is silent for minutes).
with_progress() {
  local label=$1 waited=0 pid
  shift
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    waited=$((waited + 2))
    [ $((waited % 30)) -eq 0 ] && log "  … still $label (${waited} s)"
  done
  wait "$pid"
}

mkdir -p "$bin"

# envtest convention: reuse the user's kube-apiserver and etcd (and kubectl).
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
    log "using kube-apiserver and etcd from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    for name in kube-apiserver etcd kubectl; do
      [ -x "$KUBEBUILDER_ASSETS/$name" ] && ln -sf "$KUBEBUILDER_ASSETS/$name" "$bin/$name"
    done
  else
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS holds no kube-apiserver and etcd; building them"
  fi
fi

# A folder built before helm joined holds the same control-plane binaries: link them, build only helm.
if [ -d "$cache_root/$plane_name/bin" ]; then
  for name in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok; do
    from="$cache_root/$plane_name/bin/$name"
    if [ ! -e "$bin/$name" ] && [ -x "$from" ]; then
      ln "$from" "$bin/$name" 2>/dev/null || cp -p "$from" "$bin/$name"
      log "reusing $name from $cache_root/$plane_name/bin"
    fi
  done
fi

need_k8s=() need_etcd=0 need_kwok=0 need_helm=0
for name in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [ -x "$bin/$name" ] || need_k8s+=("$name")
done
[ -x "$bin/etcd" ] || need_etcd=1
[ -x "$bin/kwok" ] || need_kwok=1
[ -x "$bin/helm" ] || need_helm=1

if [ ${#need_k8s[@]} -eq 0 ] && [ $need_etcd -eq 0 ] && [ $need_kwok -eq 0 ] && [ $need_helm -eq 0 ]; then
  log "warm cache: $bin"
  echo "$bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed: install Go >= 1.26 to build the control plane, or set KUBEBUILDER_ASSETS to a folder holding kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd and kwok (helm is built all the same)"
  exit 3
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
mkdir -p "$work"
total_start=$(stamp)

if [ ${#need_k8s[@]} -gt 0 ]; then
  start=$(stamp)
  log "Kubernetes $K8S_VERSION: ${need_k8s[*]} (cold: about 7 minutes on 2 cores with an empty Go cache)"
  mod="$work/kubernetes"
  mkdir -p "$mod"
  (
    cd "$mod"
    k8s_mod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    staging="v0.${K8S_VERSION#v1.}"
    {
      echo "module governor.dev/control-plane-build"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      # Every staging module Kubernetes requires at v0.0.0 → its published tag.
      grep -E '^\s+k8s\.io/\S+ => \./staging/' "$k8s_mod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
    } >go.mod
    log "  $(grep -c '^replace' go.mod) staging modules replaced with $staging; resolving dependencies"
    with_progress "downloading modules" go get "k8s.io/kubernetes@$K8S_VERSION" >&2
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
      ldflags+=" -X $pkg.gitTreeState=clean"
    done
    pkgs=()
    for name in "${need_k8s[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
    log "  compiling ${pkgs[*]}"
    with_progress "compiling" go build -trimpath -ldflags "$ldflags" -o "$bin/" "${pkgs[@]}" >&2
  )
  log "  Kubernetes binaries built in $(($(stamp) - start)) s"
fi

if [ $need_etcd -eq 1 ]; then
  start=$(stamp)
  log "etcd $ETCD_VERSION"
  mod="$work/etcd"
  mkdir -p "$mod"
  (
    cd "$mod"
    cat >go.mod <<EOF
module governor.dev/etcd-build

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOF
    # etcd's root module carries replaces, so a tiny main calls the server module's entry point.
    cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
    with_progress "downloading modules" go mod tidy >&2
    with_progress "compiling" go build -trimpath -ldflags "-s -w" -o "$bin/etcd" . >&2
  )
  log "  etcd built in $(($(stamp) - start)) s"
fi

if [ $need_kwok -eq 1 ]; then
  start=$(stamp)
  log "KWOK $KWOK_VERSION"
  GOBIN="$bin" with_progress "compiling" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
  log "  kwok built in $(($(stamp) - start)) s"
fi

if [ $need_helm -eq 1 ]; then
  start=$(stamp)
  log "helm $HELM_VERSION (cold: about 2.5 minutes on 2 cores with empty Go caches)"
  # helm.sh/helm/v3 has no replaces, so go install takes it as published. The -X flags are its
  # Makefile's: the version `helm version` reports (else "v3.21") and the Kubernetes version that
  # `helm template` and `helm lint` assume without a cluster (else 1.20: "incompatible kubeVersion").
  flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
  done
  GOBIN="$bin" with_progress "compiling" go install -trimpath -ldflags "$flags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
  log "  helm built in $(($(stamp) - start)) s"
fi

log "control plane ready in $(($(stamp) - total_start)) s: $bin"
echo "$bin"
