#!/usr/bin/env bash
# A real Kubernetes control plane for the test suite, built from Go modules.
#
#   bash scripts/testcluster.sh build          build the pinned binaries into ./.tools/bin (cached)
#   bash scripts/testcluster.sh up DIR [--watch PID] [--no-controllers]
#                                              start etcd, kube-apiserver and kube-controller-manager
#                                              on 127.0.0.1, write DIR/kubeconfig; with --watch, stop
#                                              them by themselves when process PID ends; without the
#                                              controller manager, for the client benchmark
#   bash scripts/testcluster.sh down DIR       stop exactly the processes `up DIR` started
#
# What is built, and the one place each version is pinned:
#   scripts/testcluster/k8s/go.mod   k8s.io/kubernetes (kube-apiserver, kube-controller-manager,
#                                    kubectl) with a replace line per staging module, since
#                                    `go install` refuses a module whose go.mod has replaces
#   scripts/testcluster/etcd/go.mod  go.etcd.io/etcd/server/v3 (etcd)
#   scripts/testcluster/helm/go.mod  helm.sh/helm/v4 (helm)
#   scripts/testcluster/eksctl/go.mod  github.com/weaveworks/eksctl (eksctl-validate, from
#                                    eksctl/validate: eksctl's own ClusterConfig loading and
#                                    validation, no AWS calls, for tests/eksctl.rs)
# and scripts/testcluster/k8s/ssaceiling, a small client-go program that measures the server's
# server-side apply ceiling for the benchmark (benches/cluster_apply.py).
# A build is redone only when a file of those folders or the Go version changes. To move to another release: edit the require lines (and, for Kubernetes, every replace
# line to the matching v0.x of the staging modules), run `go mod tidy` in that folder, commit.
#
# The control plane is what envtest-style tests run: no kubelet, no scheduler, no CNI. The
# apiserver has RBAC, the default admission plugins (Pod Security among them) and an audit log
# of every request (DIR/audit.log); the controller manager runs the deployment, replicaset,
# garbage collector, namespace, serviceaccount and HPA controllers. Pods never run: the tests'
# node agent (tests/cluster/) marks them Running and Ready through /status, or leaves chosen
# ones in ImagePullBackOff.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
MODS="$ROOT/scripts/testcluster"
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--mod=readonly}"

die() {
  echo "testcluster: $*" >&2
  exit 1
}

stamp_of() {
  local dir="$1"
  { find "$dir" -type f -print0 | sort -z | xargs -0 cat; go version; } | sha256sum | cut -d' ' -f1
}

# build_one NAME BINARY=PACKAGE...: build each package of module NAME into $BIN/BINARY unless
# the module's stamp matches and every binary is there.
build_one() {
  local name="$1"
  shift
  local dir="$MODS/$name" stampfile="$TOOLS/testcluster-$name.stamp" want have=""
  want="$(stamp_of "$dir")"
  [[ -f "$stampfile" ]] && have="$(cat "$stampfile")"
  local missing=0 p
  for p in "$@"; do
    [[ -x "$BIN/${p%%=*}" ]] || missing=1
  done
  if [[ "$want" == "$have" && "$missing" == 0 ]]; then
    return 0
  fi
  echo "testcluster: building $name ($*)" >&2
  local start=$SECONDS
  for p in "$@"; do
    (cd "$dir" && go build -trimpath -ldflags='-s -w' -o "$BIN/${p%%=*}" "${p#*=}")
  done
  echo "$want" >"$stampfile"
  echo "testcluster: built $name in $((SECONDS - start)) s" >&2
}

cmd_build() {
  command -v go >/dev/null || die "go not found: install Go 1.26 (https://go.dev/dl/)"
  mkdir -p "$BIN"
  # One package at a time: each build already uses every core.
  build_one etcd etcd=go.etcd.io/etcd/server/v3
  build_one k8s kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kubectl=k8s.io/kubernetes/cmd/kubectl ssaceiling=./ssaceiling
  build_one helm helm=helm.sh/helm/v4/cmd/helm
  build_one eksctl eksctl-validate=./validate
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# certs DIR: a CA, the apiserver's serving certificate (127.0.0.1, localhost), an admin client
# certificate (group system:masters) and the service-account signing key, all made for this run.
certs() {
  local d="$1/pki"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
      -subj "/CN=gen-testcluster-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
      -subj "/O=system:masters/CN=gen-test-admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile admin.ext -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

kubeconfig() {
  local dir="$1" port="$2"
  local ca cert key
  ca="$(base64 -w0 "$dir/pki/ca.crt")"
  cert="$(base64 -w0 "$dir/pki/admin.crt")"
  key="$(base64 -w0 "$dir/pki/admin.key")"
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: testcluster
clusters:
- name: testcluster
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $ca
users:
- name: admin
  user:
    client-certificate-data: $cert
    client-key-data: $key
contexts:
- name: testcluster
  context: {cluster: testcluster, user: admin}
EOF
}

# start DIR NAME CMD...: start one process in the background, its pid in DIR/NAME.pid.
start() {
  local dir="$1" name="$2"
  shift 2
  setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# wait_for DIR NAME TRIES CMD...: poll CMD every 0.2 s until it succeeds; give up after TRIES
# polls or as soon as process NAME (started by `start`) has exited.
wait_for() {
  local dir="$1" name="$2" tries="$3"
  shift 3
  local i pid
  pid="$(cat "$dir/$name.pid")"
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

cmd_up() {
  local dir="${1:?usage: testcluster.sh up DIR [--watch PID] [--no-controllers]}"
  shift
  local watch="" controllers=1
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --watch)
        watch="${2:?--watch needs a PID}"
        shift 2
        ;;
      --no-controllers)
        controllers=0
        shift
        ;;
      *) die "unknown option $1" ;;
    esac
  done
  for b in etcd kube-apiserver kube-controller-manager; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b is missing: run 'bash scripts/testcluster.sh build' first"
  done
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -f "$dir/apiserver.pid" ]] && die "$dir already holds a control plane; 'down $dir' first"
  certs "$dir"

  local etcd_port etcd_peer api_port
  etcd_port="$(free_port)"
  etcd_peer="$(free_port)"
  api_port="$(free_port)"
  echo "$api_port" >"$dir/port"

  start "$dir" etcd "$BIN/etcd" --data-dir "$dir/etcd" --name testcluster \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "testcluster=http://127.0.0.1:$etcd_peer" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  if ! wait_for "$dir" etcd 150 curl -sf "http://127.0.0.1:$etcd_port/health"; then
    tail -n 30 "$dir/etcd.log" >&2
    cmd_down "$dir"
    die "etcd did not become healthy"
  fi

  cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:apiserver"]
- level: None
  userGroups: ["system:serviceaccounts:kube-system", "system:nodes"]
- level: Request
EOF
  start "$dir" apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --authorization-mode RBAC --anonymous-auth=false \
    --endpoint-reconciler-type none \
    --service-cluster-ip-range 10.96.0.0/16 \
    --audit-log-path "$dir/audit.log" --audit-policy-file "$dir/audit-policy.yaml" \
    --audit-log-format json --audit-log-mode blocking \
    --cert-dir "$dir/pki" --v 1
  local curl_auth=(--cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key")
  if ! wait_for "$dir" apiserver 600 curl -sf "${curl_auth[@]}" "https://127.0.0.1:$api_port/readyz"; then
    tail -n 40 "$dir/apiserver.log" >&2
    cmd_down "$dir"
    die "kube-apiserver did not become ready"
  fi
  kubeconfig "$dir" "$api_port"

  if [[ "$controllers" == 1 ]]; then
    start "$dir" controller-manager "$BIN/kube-controller-manager" \
      --kubeconfig "$dir/kubeconfig" --authentication-kubeconfig "$dir/kubeconfig" \
      --authorization-kubeconfig "$dir/kubeconfig" \
      --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
      --controllers deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,horizontal-pod-autoscaler-controller,disruption-controller,job-controller,cronjob-controller,statefulset-controller \
      --horizontal-pod-autoscaler-sync-period 1s \
      --root-ca-file "$dir/pki/ca.crt" --service-account-private-key-file "$dir/pki/sa.key" \
      --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 --v 1
    # The controllers are up when the `default` namespace got its ServiceAccount.
    if ! wait_for "$dir" controller-manager 300 curl -sf "${curl_auth[@]}" \
      "https://127.0.0.1:$api_port/api/v1/namespaces/default/serviceaccounts/default"; then
      tail -n 40 "$dir/controller-manager.log" >&2
      cmd_down "$dir"
      die "kube-controller-manager did not start its controllers"
    fi
  fi

  if [[ -n "$watch" ]]; then
    # Stop everything when the watched process ends, whatever way it ends.
    # Its folder goes too (etcd data, logs), unless GEN_KEEP_TESTCLUSTER=1 keeps it to look at.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; bash "$2" down "$3"
      [[ "$4" == 1 ]] || rm -rf "$3"' \
      watcher "$watch" "$ROOT/scripts/testcluster.sh" "$dir" "${GEN_KEEP_TESTCLUSTER:-0}" \
      >/dev/null 2>&1 </dev/null &
    echo $! >"$dir/watcher.pid"
  fi
  echo "$dir/kubeconfig"
}

cmd_down() {
  local dir="${1:?usage: testcluster.sh down DIR}"
  local name pid
  for name in controller-manager apiserver etcd; do
    [[ -f "$dir/$name.pid" ]] || continue
    pid="$(cat "$dir/$name.pid")"
    # setsid made each process the leader of its own group: stop that group only.
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$dir/$name.pid"
  done
  if [[ -f "$dir/watcher.pid" ]]; then
    pid="$(cat "$dir/watcher.pid")"
    rm -f "$dir/watcher.pid"
    [[ "$pid" != "$$" && "$pid" != "$PPID" ]] && kill -TERM "$pid" 2>/dev/null || true
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  up)
    shift
    cmd_up "$@"
    ;;
  down)
    shift
    cmd_down "$@"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
