# Shared settings of scripts/k8s/{up,down}, sourced. Everything the cluster
# writes is under $RUN, except the host paths the kubelet and containerd's
# shim use by themselves (HOST_PATHS), which down removes when up created them.
CACHE=${LNMP_K8S_CACHE:-/var/cache/lnmp-init/k8s}
BIN=$CACHE/bin
RUN=${LNMP_K8S_RUN:-/var/lib/lnmp-init/k8s-run}
SOCK=$RUN/containerd/containerd.sock
KUBECONFIG_FILE=$RUN/admin.kubeconfig
BRIDGE=lnmpk8s0
POD_CIDR=10.244.0.0/24
BRIDGE_IP=10.244.0.1
SERVICE_CIDR=10.97.0.0/24
ETCD_PORT=12379
ETCD_PEER_PORT=12380
API_PORT=16443
PAUSE_IMAGE=docker.io/lnmp-k8s/pause:1
# Components, in start order; down stops them in reverse.
COMPONENTS=(containerd etcd kube-apiserver kube-controller-manager kubelet kube-proxy)
# The sysctls the kubelet and kube-proxy may change (KUBERNETES.md and the
# kubelet's protectKernelDefaults list); up saves them, down restores them.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait)
# Host paths used outside $RUN.
HOST_PATHS=(/var/log/containers /var/log/pods /var/lib/kubelet /var/lib/cni
  /run/containerd/runc /run/netns /etc/cni /opt/cni)
log() { echo "k8s $(basename "$0"): $*" >&2; }
