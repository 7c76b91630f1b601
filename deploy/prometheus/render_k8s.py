#!/usr/bin/env python3
"""Renders deploy/k8s/monitoring.yaml: Prometheus for the cluster, with the same alert rules as the
local stack (deploy/prometheus/rules.yml, embedded) and a scrape configuration that finds every pod
of the namespace annotated `prometheus.io/scrape: "true"` (each service and the ledger worker).

    render_k8s.py            write deploy/k8s/monitoring.yaml
    render_k8s.py --check    exit 1 when the committed file differs from what would be written
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "k8s" / "monitoring.yaml"

SCRAPE = """global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - /etc/prometheus/rules/rules.yml
scrape_configs:
  - job_name: inventory
    kubernetes_sd_configs:
      - role: pod
        namespaces: { names: [inventory] }
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        regex: "true"
        action: keep
      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
        regex: '([^:]+)(?::\\d+)?;(\\d+)'
        replacement: '$1:$2'
        target_label: __address__
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        regex: (.+)
        target_label: __metrics_path__
      # job = the app label (auth, catalog, stock, ledger), as in the local stack and the rules.
      - source_labels: [__meta_kubernetes_pod_label_app]
        target_label: job
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
"""

MANIFESTS = """# Rendered by deploy/prometheus/render_k8s.py from deploy/prometheus/rules.yml: edit those, then
# run the script (`make test` fails when this file is out of date).
apiVersion: v1
kind: ServiceAccount
metadata:
  name: prometheus
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: prometheus
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: prometheus
roleRef: {{ apiGroup: rbac.authorization.k8s.io, kind: Role, name: prometheus }}
subjects: [{{ kind: ServiceAccount, name: prometheus }}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-config
data:
  prometheus.yml: |
{scrape}---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus-rules
data:
  rules.yml: |
{rules}---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
  labels: {{ app: prometheus }}
spec:
  replicas: 1
  selector:
    matchLabels: {{ app: prometheus }}
  template:
    metadata:
      labels: {{ app: prometheus }}
    spec:
      serviceAccountName: prometheus
      containers:
        - name: prometheus
          image: prom/prometheus:v2.53.0
          args:
            - --config.file=/etc/prometheus/prometheus.yml
            - --storage.tsdb.path=/prometheus
            - --storage.tsdb.retention.size=8GB
          ports: [{{ name: http, containerPort: 9090 }}]
          readinessProbe:
            httpGet: {{ path: /-/ready, port: http }}
          volumeMounts:
            - {{ name: config, mountPath: /etc/prometheus/prometheus.yml, subPath: prometheus.yml }}
            - {{ name: rules, mountPath: /etc/prometheus/rules }}
            - {{ name: data, mountPath: /prometheus }}
      volumes:
        - name: config
          configMap: {{ name: prometheus-config }}
        - name: rules
          configMap: {{ name: prometheus-rules }}
        - name: data
          emptyDir: {{ sizeLimit: 10Gi }}
---
apiVersion: v1
kind: Service
metadata:
  name: prometheus
spec:
  selector: {{ app: prometheus }}
  ports: [{{ name: http, port: 9090, targetPort: http }}]
"""


def indent(text: str) -> str:
    return "".join("    " + line if line.strip() else "\n" for line in text.splitlines(keepends=True))


def render() -> str:
    rules = (HERE / "rules.yml").read_text()
    return MANIFESTS.format(scrape=indent(SCRAPE), rules=indent(rules))


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run deploy/prometheus/render_k8s.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
