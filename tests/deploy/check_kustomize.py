#!/usr/bin/python3
"""check_kustomize.py - renders deploy/kubernetes with `kubectl kustomize`
(offline: nothing is applied) and checks that what it makes agrees with the
gateway config it carries and with the pipeline example: ports, endpoints,
Service names, function names, probes, Secrets, resources.

usage: check_kustomize.py SOURCE_DIR. Exits 0 when all holds, 1 with every
disagreement listed, 77 (skipped) when kubectl or python3-yaml is missing."""
import os
import re
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("check_kustomize: skipped: python3-yaml is not installed (scripts/install-deps)")
    sys.exit(77)

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
KDIR = os.path.join(SRC, "deploy", "kubernetes")
problems = []


def check(cond, what):
    if not cond:
        problems.append(what)
    return cond


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def main():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("check_kustomize: skipped: kubectl is not installed, so deploy/kubernetes "
              "cannot be rendered here")
        return 77
    out = subprocess.run([kubectl, "kustomize", KDIR], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        print("check_kustomize: kubectl kustomize failed:\n" + out.stderr)
        return 1
    docs = [d for d in yaml.safe_load_all(out.stdout) if d is not None]
    by_kind = {}
    for d in docs:
        check(isinstance(d, dict) and "kind" in d and "metadata" in d,
              "a rendered document without kind or metadata")
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
        if d["kind"] != "Namespace":
            check(d["metadata"].get("namespace") == "baton",
                  f"{d['kind']} {d['metadata']['name']} is not in namespace baton")

    example = yaml.safe_load(open(os.path.join(SRC, "examples", "pipeline", "baton.yaml")))
    cm = by_kind.get("ConfigMap", {}).get("baton-gateway-config")
    if not check(cm is not None, "no ConfigMap baton-gateway-config (kept without hash suffix)"):
        return report()
    config = yaml.safe_load(cm["data"]["gateway.yaml"])
    gw = config["gateway"]
    functions = sorted(config["functions"])

    # The config is the example's: same functions, same routes.
    check(functions == sorted(example["functions"]),
          f"functions {functions} are not the example's {sorted(example['functions'])}")
    check(config["routes"] == example["routes"], "routes differ from the example's")
    for name in functions:
        check(config["functions"][name] is None,
              f"function {name} has static endpoints: its replicas should announce")
    check(gw["reply"].startswith("tcp://@POD_IP@:"), "gateway.reply is not tcp://@POD_IP@:PORT")

    # The gateway's Deployment, its ports and probes.
    deps = by_kind.get("Deployment", {})
    gdep = deps.get("baton-gateway")
    if not check(gdep is not None, "no Deployment baton-gateway"):
        return report()
    pod = gdep["spec"]["template"]["spec"]
    gwc = next(c for c in pod["containers"] if c["name"] == "gateway")
    ports = {p["name"]: p["containerPort"] for p in gwc["ports"]}
    check(ports.get("http") == port_of(gw["listen"]), "container port http != gateway.listen")
    check(ports.get("admin") == port_of(gw["admin"]), "container port admin != gateway.admin")
    check(ports.get("reply") == port_of(gw["reply"]), "container port reply != gateway.reply")
    check(ports.get("control") == port_of(gw["control"]),
          "container port control != gateway.control")
    check(gwc["args"][-1].endswith("/gateway.yaml"), "the gateway does not run gateway.yaml")
    rp, lp = gwc.get("readinessProbe", {}), gwc.get("livenessProbe", {})
    check(rp.get("httpGet", {}).get("path") == "/-/ready", "readiness probe is not /-/ready")
    check(lp.get("httpGet", {}).get("path") == "/-/health", "liveness probe is not /-/health")
    for p in (rp, lp):
        check(p.get("httpGet", {}).get("port") in ("admin", port_of(gw["admin"])),
              "a probe is not on the admin port")

    # Every path of the config lies in a volume the gateway mounts read-only.
    mounts = {m["mountPath"]: m for m in gwc["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    for key, path in (("security.cert", config["security"]["cert"]),
                      ("security.trust", config["security"]["trust"]),
                      ("gateway.admin_token_file", gw["admin_token_file"])):
        hit = [m for mp, m in mounts.items() if path == mp or path.startswith(mp + "/")]
        if check(hit, f"{key} {path} is in no volume of the gateway container"):
            check(hit[0].get("readOnly") is True, f"{key}'s volume is not read-only")
    check(config["security"]["mode"] == "curve", "the mesh is not CURVE")
    secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
    check({"baton-gateway-key", "baton-trust", "baton-admin-token"} <= secrets,
          f"the gateway pod lacks a Secret: has {sorted(secrets)}")
    src = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    check(src, "the ConfigMap is not a volume of the gateway pod")
    for c in pod["containers"] + pod.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            check(not (src and m["name"] == src[0]["name"] and "subPath" in m),
                  f"{c['name']} mounts the config with subPath: the kubelet would not update it")
    reload = [c for c in pod["containers"] if c["name"] != "gateway"]
    check(any("ctl" in " ".join(c.get("command", []) + c.get("args", [])) and "reload" in
              " ".join(c.get("command", [])) for c in reload),
          "no sidecar runs baton ctl reload")
    for c in reload:
        text = " ".join(c.get("command", []))
        check(f"127.0.0.1:{port_of(gw['admin'])}" in text, "the sidecar's --admin is not the admin port")

    # Services: http public, admin and control inside the cluster.
    svcs = by_kind.get("Service", {})
    want = {"baton-gateway": "http", "baton-gateway-admin": "admin",
            "baton-gateway-control": "control"}
    for name, target in want.items():
        s = svcs.get(name)
        if not check(s is not None, f"no Service {name}"):
            continue
        check(s["spec"]["selector"] == gdep["spec"]["selector"]["matchLabels"],
              f"Service {name} does not select the gateway")
        check([p["targetPort"] for p in s["spec"]["ports"]] == [target],
              f"Service {name} does not target port {target}")
        internal = s["spec"].get("type", "ClusterIP") == "ClusterIP"
        check(internal == (name != "baton-gateway"),
              f"Service {name}: only the http one may be reachable from outside the cluster")
    admin_port = svcs["baton-gateway-admin"]["spec"]["ports"][0]["port"]
    check(admin_port == port_of(gw["admin"]), "the admin Service's port is not gateway.admin's")
    control = svcs["baton-gateway-control"]["spec"]["ports"][0]["port"]

    # One Deployment per function, announcing to the control Service.
    fdeps = {d["spec"]["template"]["metadata"]["labels"].get("baton.dev/function"): d
             for n, d in deps.items() if n != "baton-gateway"}
    check(sorted(fdeps) == functions, f"function Deployments {sorted(fdeps)} != {functions}")
    dockerfile = open(os.path.join(SRC, "Dockerfile")).read()
    for name, d in fdeps.items():
        fpod = d["spec"]["template"]["spec"]
        c = fpod["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        val = lambda k: env.get(k, {}).get("value")
        check(val("BATON_NAME") == name, f"{name}: BATON_NAME is {val('BATON_NAME')}")
        check(val("BATON_GATEWAY") == f"tcp://baton-gateway-control:{control}",
              f"{name}: BATON_GATEWAY is not the control Service")
        inbox = {p["name"]: p["containerPort"] for p in c["ports"]}.get("inbox")
        check(val("BATON_BIND") == f"tcp://0.0.0.0:{inbox}", f"{name}: BATON_BIND is not the inbox port")
        check(val("BATON_ADVERTISE") == f"tcp://$(POD_IP):{inbox}",
              f"{name}: BATON_ADVERTISE is not the pod IP and inbox port")
        check(env.get("POD_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
              == "status.podIP", f"{name}: POD_IP is not from the downward API")
        check(list(env).index("POD_IP") < list(env).index("BATON_ADVERTISE"),
              f"{name}: POD_IP must come before BATON_ADVERTISE")
        check(val("BATON_CERT") == f"/etc/baton/key/{name}.key_secret", f"{name}: BATON_CERT")
        fsecrets = {v["secret"]["secretName"] for v in fpod["volumes"] if "secret" in v}
        check({f"baton-key-{name}", "baton-trust"} <= fsecrets, f"{name}: missing key Secrets")
        for m in c["volumeMounts"]:
            check(m.get("readOnly") is True, f"{name}: {m['mountPath']} is not read-only")
        binary = c["command"][0]
        check(binary.endswith(f"/examples/pipeline/{name}"), f"{name}: runs {binary}")
        check(os.path.dirname(binary) in dockerfile,
              f"{name}: the Dockerfile puts nothing in {os.path.dirname(binary)}")
        example_run = example["functions"][name]
        check(example_run and example_run["run"].endswith(f"/examples/pipeline/{name}"),
              f"{name}: not the example's program")
        check(d["spec"]["replicas"] == (example_run or {}).get("replicas", 1),
              f"{name}: replicas differ from the example's")

    # Every container asks for resources and sets limits; none runs as root.
    for d in deps.values():
        spec = d["spec"]["template"]["spec"]
        check(spec.get("securityContext", {}).get("runAsNonRoot") is True,
              f"{d['metadata']['name']}: not runAsNonRoot")
        for c in spec["containers"] + spec.get("initContainers", []):
            r = c.get("resources", {})
            check(r.get("requests") and r.get("limits"),
                  f"{d['metadata']['name']}/{c['name']}: no resource requests and limits")
            check(c["image"].split(":")[0] == "baton", f"{c['name']}: image {c['image']}")
    check(re.search(r"^USER\s+10001", dockerfile, re.M), "the Dockerfile's user is not 10001")
    return report()


def report():
    if problems:
        print("check_kustomize: deploy/kubernetes disagrees with itself or the example:")
        for p in problems:
            print("  - " + p)
        return 1
    print("check_kustomize: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
