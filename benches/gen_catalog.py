#!/usr/bin/env python3
"""Write a synthetic catalog of N services, derived from the msa-k3s example
(scenario B): the same cluster, namespaces, defaults and service shapes,
repeated with unique names, routes and call edges.

Usage: gen_catalog.py N > catalog.yaml
"""

import sys

n = int(sys.argv[1])
out = [
    "# Synthetic catalog for benchmarks (benches/gen_catalog.py), derived from examples/msa-k3s.",
    "version: 1",
    "project: bench",
    "cluster:",
    "  k3s: {version: v1.33.5+k3s1, servers: 3, agents: 6, flannel_backend: wireguard-native}",
    "  aws:",
    "    region: ap-northeast-2",
    "    vpc_cidr: 10.20.0.0/16",
    "    admin_cidrs: [198.51.100.24/32]",
    "    zones: [ap-northeast-2a, ap-northeast-2c]",
    "    load_balancer: alb",
    "    bastion: true",
    "    database: {engine: mysql, port: 3306}",
    "namespaces: {platform: {}, services: {}, storage: {}, monitoring: {}}",
    "ingress: {host: api.bench.example, class: nginx, tls_secret: bench-tls}",
    "defaults:",
    "  namespace: services",
    "  resources: {cpu: 200m, memory: 384Mi, memory_limit: 768Mi}",
    "  probes: {readiness: /actuator/health/readiness, liveness: /actuator/health/liveness, initial_delay: 20}",
    "services:",
]
namespaces = ["platform", "services", "storage", "monitoring"]
for i in range(n):
    name = f"svc{i:05d}"
    out.append(f"  {name}:")
    out.append(f"    namespace: {namespaces[i % 4]}")
    out.append(f"    image: registry.bench.example/{name}:1.{i % 10}.{i % 7}-a1b2c3d")
    out.append("    port: 8080")
    if i % 3 == 0:
        out.append("    hpa: {min: 2, max: 6, cpu: 70}")
    else:
        out.append("    replicas: 2")
    if i % 5 == 0:
        out.append(f"    routes: [/{name}]")
    if i % 4 == 1:
        out.append(f"    env: {{SPRING_PROFILES_ACTIVE: prod, FEATURE_{i}: \"on\"}}")
    if i % 6 == 2:
        out.append(f"    secret_env: {{DB_PASSWORD: {name}-db/password}}")
        out.append("    egress: [{cidr: 10.20.0.0/16, port: 3306}]")
    calls = [f"svc{j:05d}" for j in (i - 1, i - 7) if j >= 0]
    if calls:
        out.append(f"    calls: [{', '.join(calls)}]")
    if i % 11 == 7:
        out.append("    strategy: {type: blue-green, live: blue}")
print("\n".join(out))
