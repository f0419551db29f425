#!/usr/bin/env python3
"""Stands in for the kubelets of the local control plane's three nodes.

There is no container runtime here, so no kubelet. Without one, a pod the
scheduler bound stays Pending forever, Deployments never become available and a
namespace with pods in it never finishes terminating. This loop does the
kubelet's bookkeeping and nothing else:

- a pod bound to one of our nodes gets status Running, its conditions True, a
  pod IP from its node's range (10.244.0.0/16 for node-1, 10.245.0.0/16 for
  node-2, ...) and ready container statuses; nothing runs and nothing answers
  on that IP (Endpoints reject loopback addresses, so these cannot be);
- a terminating pod on one of our nodes is deleted with grace period 0, which
  is the kubelet's last word on a pod that stopped;
- every namespace gets the label kubernetes.io/metadata.name=<name>, which
  Kubernetes 1.20 does not set but NetworkPolicy selectors rely on.

It polls (a list every interval) rather than watches: one request per kind
per second is nothing for this API server, and a poll cannot lose an event.
Errors are logged and retried with backoff; it exits on SIGTERM, when its pid
file is gone (the cluster was torn down), when the API server has been
unreachable for --give-up-after seconds, or after --max-lifetime seconds.

Standard library only.
"""

import argparse
import datetime
import hashlib
import json
import os
import signal
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def log(msg, **fields):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    print(f"{now} {msg}{extra}", flush=True)


def rfc3339_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


class Api:
    """A minimal client: bearer token, CA-verified TLS, JSON in and out."""

    def __init__(self, server, token, ca_file, timeout):
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def request(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        req.add_header("User-Agent", "boxoffice-stand-in-kubelet")
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.ctx) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None

    def merge_patch(self, path, patch):
        return self.request("PATCH", path, patch, "application/merge-patch+json")


def pod_path(pod, sub=""):
    meta = pod["metadata"]
    ns = urllib.parse.quote(meta["namespace"])
    name = urllib.parse.quote(meta["name"])
    return f"/api/v1/namespaces/{ns}/pods/{name}{sub}"


def is_running_and_ready(pod):
    status = pod.get("status", {})
    if status.get("phase") != "Running" or not status.get("podIP"):
        return False
    ready = {c.get("type"): c.get("status") for c in status.get("conditions", [])}
    if ready.get("Ready") != "True" or ready.get("ContainersReady") != "True":
        return False
    want = {c["name"] for c in pod["spec"].get("containers", [])}
    have = {c["name"] for c in status.get("containerStatuses", []) if c.get("ready")}
    return want == have


class PodIps:
    """Hands out pod IPs 10.<243+node>.x.y, unique among the listed pods."""

    def __init__(self, nodes):
        self.node_octet = {node: 243 + i for i, node in enumerate(nodes, start=1)}

    def pick(self, pod, used):
        octet = self.node_octet[pod["spec"]["nodeName"]]
        # Start from a hash of the uid so a pod keeps its IP across restarts
        # of this loop, then probe for a free one.
        start = int(hashlib.sha256(pod["metadata"]["uid"].encode()).hexdigest(), 16)
        for i in range(250 * 250):
            n = (start + i) % (250 * 250)
            ip = f"10.{octet}.{n // 250}.{n % 250 + 2}"
            if ip not in used:
                return ip
        raise RuntimeError("no free pod IP left on node")


def running_status(pod, pod_ip):
    now = rfc3339_now()
    spec = pod["spec"]
    meta = pod["metadata"]

    def container_status(c, state):
        return {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "containerID": f"boxoffice://{meta['uid']}/{c['name']}",
            "restartCount": 0,
            "started": "running" in state,
            "ready": "running" in state,
            "state": state,
            "lastState": {},
        }

    running = {"running": {"startedAt": now}}
    completed = {
        "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
    }
    conditions = [
        {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
        for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    status = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": "127.0.0.1",
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": pod.get("status", {}).get("startTime") or now,
        "containerStatuses": [container_status(c, running) for c in spec.get("containers", [])],
    }
    init = spec.get("initContainers", [])
    if init:
        status["initContainerStatuses"] = [container_status(c, completed) for c in init]
    return {"status": status}


class Kubelet:
    def __init__(self, api, nodes):
        self.api = api
        self.nodes = set(nodes)
        self.ips = PodIps(nodes)

    def sync_pods(self):
        pods = self.api.request("GET", "/api/v1/pods")["items"]
        used = {p.get("status", {}).get("podIP") for p in pods}
        for pod in pods:
            if pod["spec"].get("nodeName") not in self.nodes:
                continue
            meta = pod["metadata"]
            try:
                if meta.get("deletionTimestamp"):
                    self.finish_deletion(pod)
                elif not is_running_and_ready(pod):
                    ip = pod.get("status", {}).get("podIP") or self.ips.pick(pod, used)
                    used.add(ip)
                    self.api.merge_patch(pod_path(pod, "/status"), running_status(pod, ip))
                    log("pod running", pod=f"{meta['namespace']}/{meta['name']}",
                        node=pod["spec"]["nodeName"], ip=ip)
            except ApiError as e:
                # 404: deleted meanwhile; 409: changed meanwhile, next pass.
                if e.status not in (404, 409):
                    log("pod sync failed", pod=f"{meta['namespace']}/{meta['name']}", error=e)

    def finish_deletion(self, pod):
        meta = pod["metadata"]
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": meta["uid"]},
        }
        self.api.request("DELETE", pod_path(pod), body)
        log("pod deleted", pod=f"{meta['namespace']}/{meta['name']}")

    def sync_namespaces(self):
        for ns in self.api.request("GET", "/api/v1/namespaces")["items"]:
            meta = ns["metadata"]
            name = meta["name"]
            if meta.get("deletionTimestamp"):
                continue
            if (meta.get("labels") or {}).get(NAMESPACE_LABEL) == name:
                continue
            try:
                path = f"/api/v1/namespaces/{urllib.parse.quote(name)}"
                self.api.merge_patch(path, {"metadata": {"labels": {NAMESPACE_LABEL: name}}})
                log("namespace labelled", namespace=name)
            except ApiError as e:
                if e.status not in (404, 409):
                    log("namespace label failed", namespace=name, error=e)


def pid_file_is_ours(pid_file):
    try:
        with open(pid_file) as f:
            return f.read().split()[0] == str(os.getpid())
    except (OSError, IndexError):
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--ca-file", required=True)
    p.add_argument("--nodes", default="node-1,node-2,node-3")
    p.add_argument("--interval", type=float, default=0.5)
    p.add_argument("--request-timeout", type=float, default=10)
    p.add_argument("--give-up-after", type=float, default=600)
    p.add_argument("--max-lifetime", type=float, default=7 * 24 * 3600)
    p.add_argument("--pid-file", help="exit once this file no longer names this process")
    args = p.parse_args()

    with open(args.token_file) as f:
        token = f.read().strip()
    api = Api(args.server, token, args.ca_file, args.request_timeout)
    kubelet = Kubelet(api, [n for n in args.nodes.split(",") if n])

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        log("stopping", signal=signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    log("started", server=args.server, nodes=args.nodes, interval=args.interval)
    started = time.monotonic()
    last_ok = started
    backoff = args.interval
    pid_grace_until = started + 10  # the pid file is written just after start
    while not stopping:
        now = time.monotonic()
        if now - started > args.max_lifetime:
            log("max lifetime reached, exiting")
            break
        if args.pid_file and now > pid_grace_until and not pid_file_is_ours(args.pid_file):
            log("pid file gone or replaced, exiting", pid_file=args.pid_file)
            break
        try:
            kubelet.sync_namespaces()
            kubelet.sync_pods()
            last_ok = time.monotonic()
            backoff = args.interval
        except Exception as e:  # noqa: BLE001 - any failure is retried
            log("sync failed", error=repr(e)[:300])
            if time.monotonic() - last_ok > args.give_up_after:
                log("API server unreachable for too long, exiting")
                return 1
            backoff = min(backoff * 2, 5.0)
        # Sleep in short steps so SIGTERM is honoured promptly.
        deadline = time.monotonic() + backoff
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
