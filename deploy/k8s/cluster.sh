#!/usr/bin/env bash
# deploy/k8s/cluster.sh — a single-node Kubernetes v1.34 for topicform's tests,
# from upstream parts only, without Docker.
#
# Usage: deploy/k8s/cluster.sh start|stop|status|kubeconfig|env
#
#   start       builds/installs the parts (deploy/tools/kubernetes.sh), then
#               starts etcd, kube-apiserver, kube-controller-manager,
#               kube-scheduler, containerd, kubelet and kube-proxy, imports the local
#               images, and waits until the node is Ready. Idempotent; a
#               cluster not running starts empty (certificates and imported
#               images are kept).
#   stop        stops everything, removes pods' mounts and network namespaces
#               and restores the kernel settings kubelet needed. Idempotent.
#   status      exit 0 when the API answers and the node is Ready, else 3
#   kubeconfig  prints the admin kubeconfig's path
#   env         prints `export KUBECONFIG=... PATH=...` for a shell
#
# The parts
#   etcd 3.4 (Debian's etcd-server), containerd 1.6 + runc + CNI plugins
#   (Debian's), and one `kube` binary built from k8s.io/kubernetes v1.34.2
#   (deploy/k8s/components). Certificates come from a CA made per cluster
#   (openssl); the admin is in system:masters. Authorization is Node,RBAC;
#   kubelet authorizes by webhook. Pod Security admission is on (built in).
#
# Network: everything runs in the network namespace `topicform-k8s`. A veth
#   pair joins it to this machine: 10.240.0.1 here, 10.240.0.2 there (the
#   API at https://10.240.0.2:6443, the node's address). Pods live on the
#   bridge cni0 inside it (10.241.0.0/24, host-local IPAM); Services get
#   10.242.0.0/24, made real by kube-proxy (iptables mode, in the namespace),
#   so pods reach the API at the `kubernetes` Service as in any cluster. There
#   is no cluster DNS: pods reach the test broker by address (10.240.0.2, the
#   namespace's own). The namespace
#   has no default route, so no packet leaves it but to this machine's veth
#   address; nothing listens beyond loopback and that namespace.
#
# Images: no registry is reachable, so images come in as OCI archives:
#   the sandbox (pause) image and the example service stand-in are built here
#   from deploy/k8s/images, the topicform image by deploy/image/build.sh;
#   `cluster.sh import ARCHIVE` imports one more. Charts use
#   pullPolicy IfNotPresent.
#
# State: ${TOPICFORM_K8S_STATE:-$TOPICFORM_CACHE/k8s} (TOPICFORM_CACHE defaults
#   to <repo>/.cache); the tools in ${TOPICFORM_TOOLS:-~/.cache/topicform/tools}.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
CACHE=${TOPICFORM_CACHE:-$REPO/.cache}
STATE=${TOPICFORM_K8S_STATE:-$CACHE/k8s}
TOOLS=${TOPICFORM_TOOLS:-$HOME/.cache/topicform/tools}
BIN=$TOOLS/bin

NETNS=topicform-k8s
HOST_IF=tfk8s0
NS_IF=tfk8s1
HOST_IP=10.240.0.1
NODE_IP=10.240.0.2
POD_CIDR=10.241.0.0/24
SERVICE_CIDR=10.242.0.0/24
SERVICE_IP=10.242.0.1
NODE_NAME=topicform-node
API=https://$NODE_IP:6443
PAUSE_IMAGE=registry.k8s.io/pause:3.10
EXAMPLE_SERVICE_IMAGE=localhost/topicform/example-service:test
KUBELET_SYSCTLS=(vm.overcommit_memory=1 kernel.panic=10 kernel.panic_on_oops=1)

log() { printf 'k8s/cluster.sh: %s\n' "$*" >&2; }
die() { printf 'k8s/cluster.sh: error: %s\n' "$*" >&2; exit 1; }

# nsenter, not `ip netns exec`: the latter also makes a mount namespace and
# remounts /sys, which hides the cgroup mounts from runc and kubelet.
in_ns() { nsenter --net="/run/netns/$NETNS" "$@"; }
kubectl() { "$BIN/kubectl" --kubeconfig "$STATE/pki/admin.kubeconfig" "$@"; }

require_root() {
  [[ "$(id -u)" -eq 0 ]] || die "the test cluster needs root (network namespaces, mounts, cgroups); run it as root"
}

# ---------------------------------------------------------------- certificates

# cert NAME CN O [SANS]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=$3 sans=${4:-}
  local dir=$STATE/pki
  [[ -f "$dir/$name.crt" ]] && return 0
  local subj="/CN=$cn"
  [[ -n "$org" ]] && subj="/O=$org$subj"
  openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n "$sans" ]] && echo "subjectAltName=$sans"
  } >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 365 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

kubeconfig_for() {
  local name=$1 user=$2
  cat >"$STATE/pki/$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: topicform-test
  cluster:
    server: $API
    certificate-authority: $STATE/pki/ca.crt
users:
- name: $user
  user:
    client-certificate: $STATE/pki/$name.crt
    client-key: $STATE/pki/$name.key
contexts:
- name: topicform-test
  context: { cluster: topicform-test, user: $user }
current-context: topicform-test
KC
}

make_pki() {
  local dir=$STATE/pki
  mkdir -p "$dir"
  chmod 700 "$dir"
  if [[ ! -f "$dir/ca.crt" ]]; then
    openssl genrsa -out "$dir/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=topicform-test-cluster-ca" -days 365 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.crt" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" \
    "IP:$NODE_IP,IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kube-proxy system:kube-proxy ""
  cert kubelet-client "system:node:$NODE_NAME" system:nodes
  cert kubelet-serving "system:node:$NODE_NAME" system:nodes "IP:$NODE_IP,DNS:$NODE_NAME"
  [[ -f "$dir/sa.key" ]] || {
    openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  }
  kubeconfig_for admin admin
  kubeconfig_for controller-manager system:kube-controller-manager
  kubeconfig_for scheduler system:kube-scheduler
  kubeconfig_for kube-proxy system:kube-proxy
  kubeconfig_for kubelet-client "system:node:$NODE_NAME"
}

# ------------------------------------------------------------------- network

make_network() {
  ip netns add "$NETNS" 2>/dev/null || true
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    # Never take over a range this machine already routes somewhere.
    local range
    for range in "$NODE_IP" "${POD_CIDR%/*}"; do
      if ip -4 route show to match "$range" | grep -qv '^default'; then
        die "$range is already routed on this machine ($(ip -4 route show to match "$range" | grep -v '^default' | head -n 1)); the test cluster needs 10.240.0.0/24 and 10.241.0.0/24 free"
      fi
    done
    ip link add "$HOST_IF" type veth peer name "$NS_IF"
    ip link set "$NS_IF" netns "$NETNS"
    ip addr add "$HOST_IP/24" dev "$HOST_IF"
    ip link set "$HOST_IF" up
    in_ns ip addr add "$NODE_IP/24" dev "$NS_IF"
    in_ns ip link set "$NS_IF" up
    in_ns ip link set lo up
    # Replies to a pod come back through the namespace, never out of this
    # machine's default route.
    ip route add "$POD_CIDR" via "$NODE_IP" dev "$HOST_IF"
    # No default route: nothing in the namespace (pods included) can send a
    # packet beyond it and this machine's veth address; a stray DNS lookup
    # fails at once instead of leaving the machine.
  fi
  mkdir -p "$STATE/cni/net.d" "$STATE/cni/ipam"
  cat >"$STATE/cni/net.d/10-topicform.conflist" <<CNI
{
  "cniVersion": "0.4.0",
  "name": "topicform",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    }
  ]
}
CNI
}

# ------------------------------------------------------------------ processes

# run NAME CMD...: start CMD in the namespace, in the background, logging to
# $STATE/log/NAME.log, pid in $STATE/run/NAME.pid. No-op when running.
run() {
  local name=$1
  shift
  if running "$name"; then return 0; fi
  mkdir -p "$STATE/log" "$STATE/run"
  # exec all the way down, so $! is the daemon itself; setsid: its own process
  # group (a background job of a script is not a group leader, so setsid does
  # not fork), so stop can end it with whatever it forked.
  (exec nsenter --net="/run/netns/$NETNS" setsid "$@") >>"$STATE/log/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/run/$name.pid"
}

# running NAME: its pid file names a live process of this cluster (its command
# line names $STATE: a pid reused after a reboot or crash is not ours).
running() {
  local pidfile=$STATE/run/$1.pid pid
  [[ -f "$pidfile" ]] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] && ours "$pid"
}

ours() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$STATE"; }

# wait_for WHAT SECONDS CMD...: retry CMD until it succeeds or time runs out.
wait_for() {
  local what=$1 secs=$2
  shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what not ready after ${secs}s; see $STATE/log/"
    fi
    sleep 1
  done
}

start_etcd() {
  command -v etcd >/dev/null 2>&1 || die "etcd is missing; install it with: apt-get install etcd-server"
  run etcd etcd --name topicform --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster topicform=http://127.0.0.1:2380 --quota-backend-bytes 1073741824
  wait_for etcd 30 in_ns curl -fsS http://127.0.0.1:2379/health
}

start_control_plane() {
  local pki=$STATE/pki
  run kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --kubelet-preferred-address-types=InternalIP \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=false --profiling=false --event-ttl=1h
  wait_for kube-apiserver 120 kubectl get --raw /readyz
  run kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$pki/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$pki/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$pki/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --controllers='*,-nodeipam' --profiling=false
  run kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$pki/scheduler.kubeconfig" \
    --authentication-kubeconfig="$pki/scheduler.kubeconfig" \
    --authorization-kubeconfig="$pki/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
}

start_containerd() {
  local root=$STATE/containerd
  mkdir -p "$root/root" "$root/state"
  cat >"$root/config.toml" <<TOML
version = 2
root = "$root/root"
state = "$root/state"
[grpc]
  address = "$root/containerd.sock"
[ttrpc]
  address = "$root/containerd.sock.ttrpc"
[debug]
  address = "$root/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This machine withholds CAP_SYS_RESOURCE even from root, so no process may
  # lower its oom_score_adj: clamp containers' to containerd's own, or runc
  # fails every pod sandbox (kubelet asks -998) with "can't get final child's PID".
  restrict_oom_score_adj = true

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
  run containerd containerd --config "$root/config.toml"
  wait_for containerd 30 ctr_ version
}

ctr_() { ctr --address "$STATE/containerd/containerd.sock" "$@"; }

start_kubelet() {
  local pki=$STATE/pki dir=$STATE/kubelet
  mkdir -p "$dir"
  set_kernel_settings
  printf '# topicform test cluster: no DNS (pods reach the broker by address)\noptions ndots:1\n' >"$STATE/resolv.conf"
  cat >"$STATE/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
containerRuntimeEndpoint: unix://$STATE/containerd/containerd.sock
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
protectKernelDefaults: true
failSwapOn: false
podCIDR: $POD_CIDR
# No cluster DNS: pods get this file (no name server), not the machine's.
resolvConf: $STATE/resolv.conf
clusterDomain: cluster.local
# This machine's disk is shared with builds: evict only when it is really
# full, and never garbage-collect the imported images (no registry to pull
# them back from).
evictionHard: { nodefs.available: 1Gi, imagefs.available: 1Gi, memory.available: 256Mi }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
maxPods: 60
YAML
  run kubelet "$BIN/kubelet" --config="$STATE/kubelet.yaml" \
    --kubeconfig="$pki/kubelet-client.kubeconfig" --root-dir="$dir" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP"
  wait_for "the node" 120 node_ready
}

node_ready() {
  [[ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

# kube-proxy (iptables mode, inside the namespace): ClusterIP Services work,
# so a pod reaches the API at the `kubernetes` Service (10.242.0.1:443) as
# in-cluster clients expect. The conntrack sysctls are left alone (0): they
# are machine-wide, and this cluster's traffic is small.
start_kube_proxy() {
  local pki=$STATE/pki
  run kube-proxy "$BIN/kube-proxy" \
    --kubeconfig="$pki/kube-proxy.kubeconfig" --proxy-mode=iptables \
    --cluster-cidr="$POD_CIDR" --hostname-override="$NODE_NAME" \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 --profiling=false
  wait_for "kube-proxy's rules for the kubernetes Service" 60 \
    bash -c "nsenter --net=/run/netns/$NETNS iptables -t nat -S KUBE-SERVICES | grep -qF -- '-d $SERVICE_IP/32'"
}

set_kernel_settings() {
  local saved=$STATE/sysctl.saved setting key
  [[ -f "$saved" ]] || for setting in "${KUBELET_SYSCTLS[@]}"; do
    key=${setting%%=*}
    echo "$key=$(sysctl -n "$key")"
  done >"$saved"
  for setting in "${KUBELET_SYSCTLS[@]}"; do sysctl -qw "$setting"; done
}

restore_kernel_settings() {
  local saved=$STATE/sysctl.saved setting
  [[ -f "$saved" ]] || return 0
  while read -r setting; do sysctl -qw "$setting" || true; done <"$saved"
  rm -f "$saved"
}

# -------------------------------------------------------------------- images

build_test_images() {
  local out=$STATE/images src=$SCRIPT_DIR/images
  mkdir -p "$out/bin"
  local stamp
  stamp=$(cat "$src"/go.mod "$src"/*/main.go "$REPO/deploy/image/oci.py" | sha256sum | cut -c1-16)
  if [[ -f "$out/.stamp" && "$(cat "$out/.stamp")" == "$stamp" ]]; then return 0; fi
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="$PATH:/usr/local/go/bin"; fi
  (cd "$src" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$out/bin/" ./pause ./example-service) ||
    die "building deploy/k8s/images failed"
  python3 "$REPO/deploy/image/oci.py" --out "$out/pause.tar" --ref "$PAUSE_IMAGE" \
    --file "$out/bin/pause:/pause:0755" --user 65535:65535 --entrypoint=/pause >/dev/null
  python3 "$REPO/deploy/image/oci.py" --out "$out/example-service.tar" --ref "$EXAMPLE_SERVICE_IMAGE" \
    --file "$out/bin/example-service:/example-service:0755" --user 10001:10001 \
    --entrypoint=/example-service >/dev/null
  echo "$stamp" >"$out/.stamp"
}

import_image() {
  ctr_ -n k8s.io images import "$1" >/dev/null ||
    die "cannot import $1 into the cluster's containerd"
  # Unpacked for the CRI snapshotter (kubelet never pulls: IfNotPresent).
  log "imported $(basename "$1")"
}

# --------------------------------------------------------------------- stop

stop_all() {
  local name pid
  # The pods' network namespaces, read from this containerd's task bundles
  # before the tasks go (CNI names them cni-<uuid>; others' are not touched).
  local pod_netns
  pod_netns=$(cat "$STATE"/containerd/state/io.containerd.runtime.v2.task/k8s.io/*/config.json 2>/dev/null |
    grep -o '/var/run/netns/cni-[0-9a-f-]*' | sort -u || true)
  for name in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver; do
    stop_process "$name" TERM
  done
  # Containers first (SIGKILL: a PID-1 process may ignore SIGTERM), then the shims.
  if running containerd; then
    local task
    for task in $(ctr_ -n k8s.io tasks ls -q 2>/dev/null); do
      ctr_ -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
    done
  fi
  stop_process containerd TERM
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $STATE/containerd/containerd.sock" || true); do
    kill -9 "$pid" 2>/dev/null || true
  done
  stop_process etcd TERM
  # Pods' volumes and root filesystems, deepest first.
  awk -v root="$STATE/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  # Pods' network namespaces, then ours.
  local ns
  for ns in $pod_netns; do
    ip netns delete "$(basename "$ns")" 2>/dev/null || true
  done
  ip netns delete "$NETNS" 2>/dev/null || true
  ip link delete "$HOST_IF" 2>/dev/null || true
  rm -rf "$STATE/cni/ipam"
  restore_kernel_settings
}

stop_process() {
  local name=$1 signal=$2 pidfile=$STATE/run/$1.pid pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if [[ "$pid" =~ ^[0-9]+$ ]] && ours "$pid"; then
    kill -"$signal" -- "-$pid" 2>/dev/null || kill -"$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# --------------------------------------------------------------------- main

start() {
  require_root
  local begin=$SECONDS
  bash "$REPO/deploy/tools/kubernetes.sh" >/dev/null
  command -v ctr >/dev/null 2>&1 || die "ctr is missing; install it with: apt-get install containerd"
  mkdir -p "$STATE"
  if ! running kube-apiserver; then
    # A test cluster: every start begins with an empty API (no objects of an
    # earlier run, no stale Ready node); certificates and images are kept.
    stop_all
    rm -rf "$STATE/etcd" "$STATE/kubelet"
  fi
  make_pki
  make_network
  build_test_images
  start_etcd
  start_control_plane
  start_containerd
  import_image "$STATE/images/pause.tar"
  import_image "$STATE/images/example-service.tar"
  start_kubelet
  start_kube_proxy
  log "cluster ready in $((SECONDS - begin))s: KUBECONFIG=$STATE/pki/admin.kubeconfig"
  log "kernel settings for kubelet are set machine-wide (${KUBELET_SYSCTLS[*]}) until \`cluster.sh stop\` restores $(tr '\n' ' ' <"$STATE/sysctl.saved")"
}

case "${1:-}" in
  start) start ;;
  stop) require_root; stop_all; log "stopped" ;;
  status)
    if [[ -f "$STATE/pki/admin.kubeconfig" ]] && kubectl get --raw /readyz >/dev/null 2>&1 && node_ready; then
      echo "ready: $API"
    else
      echo "not running"
      exit 3
    fi
    ;;
  kubeconfig) echo "$STATE/pki/admin.kubeconfig" ;;
  env) printf 'export KUBECONFIG=%q\nexport PATH=%q:"$PATH"\n' "$STATE/pki/admin.kubeconfig" "$BIN" ;;
  import) require_root; [[ -f "${2:-}" ]] || die "usage: cluster.sh import ARCHIVE"; import_image "$2" ;;
  *) echo "usage: deploy/k8s/cluster.sh start|stop|status|kubeconfig|env|import ARCHIVE" >&2; exit 2 ;;
esac
