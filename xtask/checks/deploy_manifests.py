"""Checks of the deploy manifests that no cluster or container engine runs here.

`cargo xtask test` runs this with the virtualenv it keeps under target/xtask/venv
(requirements.txt beside this file):

    python xtask/checks/deploy_manifests.py <workspace root>

deploy/kubernetes/ (every resource listed by kustomization.yaml):
  - built-in kinds validated strictly (unknown fields are errors) against the Kubernetes
    schemas bundled by the `kubernetes-validate` package, for each version in K8S_VERSIONS;
  - SpinApp validated against deploy/kubernetes/schema/ (the SpinKube CRD as JSON Schema);
  - every Secret reference (secretKeyRef, secretRef, secret volumes, imagePullSecrets,
    loadFromSecret) names a Secret, and a key, defined in the kustomization;
  - every PodDisruptionBudget/NetworkPolicy selector selects a workload of the kustomization;
  - SpinApp variables are spin.toml variables; refresher env names are in the refresher
    table of docs/configuration.md;
  - a SpinApp's key-value stores are deploy/spin/runtime-config.toml's (names, types, options);
deploy/compose.yaml: the service names, ports and environment variables are exactly the
compose table of docs/deploy.md; reader SPIN_VARIABLE_* are spin.toml variables; mounted files exist.

Each check also runs once on a deliberately broken copy, which it must reject: a check that
cannot fail proves nothing. Exit status 0 when everything holds, 1 with every problem listed.
"""

import copy
import json
import re
import sys
import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

# The oldest Kubernetes release we claim to support, and the newest the validator bundles.
K8S_VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
SPINAPP_SCHEMA = "deploy/kubernetes/schema/spinapp-core.spinkube.dev-v1alpha1.json"
REFRESHER_IMAGE = "localhost/status-refresher:dev"
# The pages holding the tables these checks compare with (they moved out of README once).
CONFIGURATION_DOC = "docs/configuration.md"
DEPLOY_DOC = "docs/deploy.md"


class Problems:
    def __init__(self):
        self.items = []

    def add(self, where, what):
        self.items.append(f"{where}: {what}")


def load_kustomization(root):
    """Every document of every resource in kustomization.yaml, as (file, document)."""
    kdir = root / "deploy/kubernetes"
    kustomization = yaml.safe_load((kdir / "kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        path = kdir / resource
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((f"deploy/kubernetes/{resource}", doc))
    return kustomization, docs


def validate_schemas(root, docs, problems):
    spinapp_schema = json.loads((root / SPINAPP_SCHEMA).read_text())
    jsonschema.Draft202012Validator.check_schema(spinapp_schema)
    spinapp = jsonschema.Draft202012Validator(spinapp_schema)
    for where, doc in docs:
        name = f"{where} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") == "SpinApp":
            for error in spinapp.iter_errors(doc):
                path = "/".join(str(p) for p in error.absolute_path)
                problems.add(name, f"SpinApp schema: {path}: {error.message}")
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                problems.add(name, f"Kubernetes {version}: {e.message} at {list(e.path)}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.add(name, f"Kubernetes {version} has no schema for this kind/version")


def secrets_defined(docs):
    """Secret name -> set of keys, for the Secrets of the kustomization."""
    found = {}
    for _, doc in docs:
        if doc.get("kind") == "Secret":
            keys = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
            found[doc["metadata"]["name"]] = keys
    return found


def secret_references(node, path=""):
    """Yields (path, secret name, key or None) for every Secret reference under node."""
    if isinstance(node, dict):
        for field, value in node.items():
            here = f"{path}.{field}"
            if field == "secretKeyRef" and isinstance(value, dict):
                if not value.get("optional"):
                    yield here, value.get("name", ""), value.get("key")
            elif field == "secretRef" and isinstance(value, dict) and "name" in value:
                if not value.get("optional"):
                    yield here, value["name"], None
            elif field == "secret" and isinstance(value, dict) and "secretName" in value:
                yield here, value["secretName"], None
            elif field == "imagePullSecrets" and isinstance(value, list):
                for i, ref in enumerate(value):
                    yield f"{here}[{i}]", ref.get("name", ""), None
            elif field == "loadFromSecret" and isinstance(value, str):
                yield here, value, "runtime-config.toml"
            else:
                yield from secret_references(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from secret_references(item, f"{path}[{i}]")


def check_secret_references(docs, problems):
    """Returns how many references were resolved."""
    secrets = secrets_defined(docs)
    resolved = 0
    for where, doc in docs:
        for path, name, key in secret_references(doc):
            if name not in secrets:
                problems.add(where, f"{path} names Secret {name!r}, not in the kustomization")
            elif key is not None and key not in secrets[name]:
                problems.add(where, f"{path} names key {key!r}, not in Secret {name!r}")
            else:
                resolved += 1
    return resolved


def pod_labels(doc):
    if doc.get("kind") == "SpinApp":
        return doc["spec"].get("podLabels") or {}
    if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet"):
        return doc["spec"]["template"]["metadata"].get("labels") or {}
    return None


def check_selectors(docs, problems):
    workloads = [labels for _, d in docs if (labels := pod_labels(d)) is not None]
    for where, doc in docs:
        kind = doc.get("kind")
        if kind == "PodDisruptionBudget":
            selector = doc["spec"]["selector"].get("matchLabels") or {}
        elif kind == "NetworkPolicy":
            selector = doc["spec"]["podSelector"].get("matchLabels") or {}
            if not selector:
                continue  # {} selects every pod: the default-deny policy
        else:
            continue
        if not any(selector.items() <= labels.items() for labels in workloads):
            problems.add(where, f"{kind} {doc['metadata']['name']}: selector {selector} "
                                "selects no workload of the kustomization")


def check_kubernetes(root, readme, spin_variables, problems):
    kustomization, docs = load_kustomization(root)
    validate_schemas(root, docs, problems)
    namespace = kustomization.get("namespace")
    for where, doc in docs:
        ns = doc.get("metadata", {}).get("namespace")
        if ns is not None and ns != namespace:
            problems.add(where, f"namespace {ns!r}, but the kustomization puts all in {namespace!r}")
    resolved = check_secret_references(docs, problems)
    if resolved < 3:
        problems.add("deploy/kubernetes", f"only {resolved} Secret references found; "
                                          "expected the refresher's two and the reader's one")
    check_selectors(docs, problems)
    check_runtime_config(root, docs, problems)
    for where, doc in docs:
        if doc.get("kind") == "SpinApp":
            for var in doc["spec"].get("variables", []):
                if var["name"] not in spin_variables:
                    problems.add(where, f"SpinApp variable {var['name']!r} is not in spin.toml")
        if doc.get("kind") == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env", []):
                    if f"| `{env['name']}` |" not in readme:
                        problems.add(where, f"env {env['name']} is not in docs/configuration.md's refresher table")
    return docs


def check_runtime_config(root, docs, problems):
    """A SpinApp's keyValueStores must be deploy/spin/runtime-config.toml's stores: same names,
    types and option names (SpinKube writes each option as a key of that store's table).
    Returns whether any SpinApp declares stores (the check is inert otherwise)."""
    active = False
    for where, doc in docs:
        if doc.get("kind") != "SpinApp":
            continue
        stores = (doc["spec"].get("runtimeConfig") or {}).get("keyValueStores")
        if not stores:
            continue
        active = True
        path = root / "deploy/spin/runtime-config.toml"
        if not path.exists():
            problems.add(where, "declares keyValueStores, but deploy/spin/runtime-config.toml "
                                "does not exist")
            continue
        wanted = tomllib.loads(path.read_text()).get("key_value_store", {})
        declared = {store["name"]: store for store in stores}
        if set(declared) != set(wanted):
            problems.add(where, f"keyValueStores {sorted(declared)}, runtime-config.toml has "
                                f"{sorted(wanted)}")
        for name in set(declared) & set(wanted):
            store, table = declared[name], wanted[name]
            if store["type"] != table.get("type"):
                problems.add(where, f"store {name}: type {store['type']!r}, runtime-config.toml "
                                    f"says {table.get('type')!r}")
            options = {o["name"] for o in store.get("options", [])}
            if options != set(table) - {"type"}:
                problems.add(where, f"store {name}: options {sorted(options)}, runtime-config"
                                    f".toml sets {sorted(set(table) - {'type'})}")
    return active


def readme_compose_table(readme):
    """docs/deploy.md's `| Compose service | Port | Variables |` table: name -> (ports, variables)."""
    rows = {}
    lines = readme.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("| Compose service |"))
    except StopIteration:
        return rows
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = cells[0].strip("`")
        # The leading number is the port; the rest of the cell is commentary.
        ports = set(re.findall(r"^\d+", cells[1]))
        variables = set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[2]))
        rows[name] = (ports, variables)
    return rows


def compose_ports(service):
    ports = set()
    for entry in service.get("expose", []):
        ports.add(str(entry).split("/")[0])
    for entry in service.get("ports", []):
        ports.update(re.findall(r"\d{2,5}", str(entry).split(":")[-1]))
    return ports


def check_compose(root, compose, readme, spin_variables, problems):
    where = "deploy/compose.yaml"
    table = readme_compose_table(readme)
    if not table:
        problems.add(DEPLOY_DOC, "no `| Compose service | Port | Variables |` table")
        return
    services = compose["services"]
    if set(services) != set(table):
        problems.add(where, f"services {sorted(services)} but {DEPLOY_DOC} lists {sorted(table)}")
    for name, service in services.items():
        if name not in table:
            continue
        ports, variables = table[name]
        if compose_ports(service) != ports:
            problems.add(where, f"{name}: ports {sorted(compose_ports(service))}, {DEPLOY_DOC} says "
                                f"{sorted(ports)}")
        env = set(service.get("environment") or {})
        if env != variables:
            problems.add(where, f"{name}: environment {sorted(env)}, {DEPLOY_DOC} says {sorted(variables)}")
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith(".") and not (root / "deploy" / source).exists() \
                    and "target/" not in source:
                problems.add(where, f"{name}: mounts {source}, which does not exist")
    for var in services.get("reader", {}).get("environment") or {}:
        spin_name = var.removeprefix("SPIN_VARIABLE_").lower()
        if not var.startswith("SPIN_VARIABLE_") or spin_name not in spin_variables:
            problems.add(where, f"reader: {var} is not a SPIN_VARIABLE_ of a spin.toml variable")
    for var in services.get("refresher", {}).get("environment") or {}:
        if f"| `{var}` |" not in readme:
            problems.add(where, f"refresher: {var} is not in docs/configuration.md's refresher table")
    if services.get("refresher", {}).get("image") != REFRESHER_IMAGE:
        problems.add(where, f"refresher: image is not {REFRESHER_IMAGE} (what `cargo xtask image` builds)")


def must_reject(label, check):
    """Runs `check` on broken input; it must report a problem."""
    problems = Problems()
    check(problems)
    if not problems.items:
        print(f"FAIL: the {label} check accepted a deliberately broken copy", file=sys.stderr)
        return False
    return True


def self_tests(root, docs, compose, readme, spin_variables):
    """The same checks on broken copies: each must be caught."""
    ok = True

    def break_secret_key(problems):
        broken = copy.deepcopy(docs)
        for _, doc in broken:
            spec = doc.get("spec", {})
            stores = (spec.get("runtimeConfig") or {}).get("keyValueStores", [])
            options = [o for store in stores for o in store.get("options", [])]
            for var in spec.get("variables", []) + options:
                if "valueFrom" in var:
                    var["valueFrom"]["secretKeyRef"]["key"] = "no_such_key"
        check_secret_references(broken, problems)

    def break_spinapp_field(problems):
        broken = copy.deepcopy(docs)
        for _, doc in broken:
            if doc.get("kind") == "SpinApp":
                doc["spec"]["replica"] = doc["spec"].pop("replicas")
        validate_schemas(root, broken, problems)

    def break_deployment_field(problems):
        broken = [(w, copy.deepcopy(d)) for w, d in docs if d.get("kind") == "Deployment"]
        for _, doc in broken:
            doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = 7
        validate_schemas(root, broken, problems)

    def break_selector(problems):
        broken = copy.deepcopy(docs)
        for _, doc in broken:
            if doc.get("kind") == "PodDisruptionBudget":
                doc["spec"]["selector"]["matchLabels"] = {"app.kubernetes.io/name": "typo"}
        check_selectors(broken, problems)

    def break_compose(problems):
        broken = copy.deepcopy(compose)
        broken["services"]["refresher"]["environment"]["STATUS_INTERVAL"] = "30"
        check_compose(root, broken, readme, spin_variables, problems)

    def break_store_name(problems):
        broken = copy.deepcopy(docs)
        for _, doc in broken:
            for store in (doc.get("spec", {}).get("runtimeConfig") or {}).get(
                    "keyValueStores", []):
                store["name"] += "-typo"
        check_runtime_config(root, broken, problems)

    if check_runtime_config(root, docs, Problems()):
        ok &= must_reject("key-value runtime config", break_store_name)
    for label, check in [
        ("Secret reference", break_secret_key),
        ("SpinApp schema", break_spinapp_field),
        ("Kubernetes schema", break_deployment_field),
        ("selector", break_selector),
        ("compose", break_compose),
    ]:
        ok &= must_reject(label, check)
    return ok


def main():
    root = Path(sys.argv[1]).resolve()
    # The refresher table (every env name must be one of its rows) and the compose table.
    readme = (root / CONFIGURATION_DOC).read_text() + (root / DEPLOY_DOC).read_text()
    spin_variables = set(tomllib.loads((root / "spin.toml").read_text())["variables"])
    compose = yaml.safe_load((root / "deploy/compose.yaml").read_text())

    problems = Problems()
    docs = check_kubernetes(root, readme, spin_variables, problems)
    check_compose(root, compose, readme, spin_variables, problems)
    self_ok = self_tests(root, docs, compose, readme, spin_variables)

    kinds = sorted({d.get("kind") for _, d in docs})
    for problem in problems.items:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems.items or not self_ok:
        print(f"deploy manifests: {len(problems.items)} problem(s)", file=sys.stderr)
        return 1
    print(f"deploy manifests: {len(docs)} Kubernetes objects ({', '.join(kinds)}) valid for "
          f"Kubernetes {' and '.join(K8S_VERSIONS)} and the SpinApp schema, Secret references "
          f"resolved, selectors match; compose.yaml matches {DEPLOY_DOC} ({len(compose['services'])} "
          "services); every broken copy rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
