"""A small kustomize renderer, so the overlays are checked where no kustomize binary exists.

It covers exactly the features ``deploy/k8s`` uses — resources (files and directories),
components, ``namespace``, ``labels`` (metadata only), ``images``, ``patches`` (JSON 6902 lists
and strategic-merge documents, including ``$patch: delete``), ``secretGenerator`` literals with
``disableNameSuffixHash`` — and raises on anything else, so a new feature in a kustomization
fails loudly here instead of being ignored. Where ``kubectl`` is installed the tests also compare
this renderer's output with ``kubectl kustomize``.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KNOWN_KEYS = {
    "apiVersion",
    "kind",
    "namespace",
    "labels",
    "resources",
    "components",
    "images",
    "patches",
    "secretGenerator",
    "generatorOptions",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is broken."""


def load_documents(path: Path) -> list[Resource]:
    """Every non-empty YAML document in a file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(directory: Path) -> list[Resource]:
    """The resources a kustomization directory produces."""
    kustomization = _read_kustomization(directory)
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            resources.extend(render(target))
        elif target.is_file():
            resources.extend(load_documents(target))
        else:
            raise KustomizeError(f"{directory}: resource {entry} does not exist")
    resources.extend(_generate_secrets(kustomization))
    for entry in kustomization.get("components", []):
        component = (directory / entry).resolve()
        resources = _apply(component, _read_kustomization(component), resources, component=True)
    return _apply(directory, kustomization, resources, component=False)


def _read_kustomization(directory: Path) -> dict[str, Any]:
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise KustomizeError(f"{path}: unsupported fields {sorted(unknown)}")
    return data


def _apply(
    directory: Path, kustomization: dict[str, Any], resources: list[Resource], *, component: bool
) -> list[Resource]:
    if component:
        # a component's own resources are added where it is included
        resources = resources + [
            doc
            for entry in kustomization.get("resources", [])
            for doc in load_documents(directory / entry)
        ]
    for patch in kustomization.get("patches", []):
        resources = _apply_patch(directory, patch, resources)
    namespace = kustomization.get("namespace")
    for resource in resources:
        metadata = resource.setdefault("metadata", {})
        if namespace and resource["kind"] not in CLUSTER_SCOPED:
            metadata["namespace"] = namespace
        for label in kustomization.get("labels", []):
            if set(label) - {"pairs"}:
                raise KustomizeError(f"unsupported labels options {sorted(label)}")
            metadata.setdefault("labels", {}).update(label["pairs"])
        for image in kustomization.get("images", []):
            _set_image(resource, image)
    return resources


def _generate_secrets(kustomization: dict[str, Any]) -> list[Resource]:
    generated = []
    options = kustomization.get("generatorOptions", {})
    for spec in kustomization.get("secretGenerator", []):
        if not options.get("disableNameSuffixHash") or set(spec) - {
            "name",
            "namespace",
            "literals",
        }:
            raise KustomizeError("only secretGenerator literals without a name hash are supported")
        data = {}
        for literal in spec.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = base64.b64encode(value.encode()).decode()
        metadata = {"name": spec["name"]}
        if "namespace" in spec:
            metadata["namespace"] = spec["namespace"]
        generated.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": metadata,
                "type": "Opaque",
                "data": data,
            }
        )
    return generated


def _set_image(resource: Resource, image: dict[str, str]) -> None:
    pod = resource.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name = container.get("image", "")
        if name.split(":")[0].split("@")[0] != image["name"]:
            continue
        new = image.get("newName", image["name"])
        if "digest" in image:
            container["image"] = f"{new}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{new}:{image['newTag']}"
        else:
            container["image"] = new


def _matches(resource: Resource, target: dict[str, str]) -> bool:
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise KustomizeError(f"unsupported patch target fields {sorted(unknown)}")
    return all(
        (resource["kind"] if key == "kind" else resource["metadata"]["name"]) == value
        for key, value in target.items()
    )


def _apply_patch(
    directory: Path, patch: dict[str, Any], resources: list[Resource]
) -> list[Resource]:
    if "path" in patch:
        body: Any = yaml.safe_load((directory / patch["path"]).read_text())
    else:
        body = yaml.safe_load(patch["patch"])
    if isinstance(body, list):  # JSON 6902
        targets = [r for r in resources if _matches(r, patch.get("target", {}))]
        if not targets:
            raise KustomizeError(f"{directory}: patch target {patch.get('target')} matches nothing")
        for resource in targets:
            for operation in body:
                _json_patch(resource, operation)
        return resources
    # strategic merge: the patch names its own target
    target = {"kind": body["kind"], "name": body["metadata"]["name"]}
    found = [r for r in resources if _matches(r, target)]
    if not found:
        raise KustomizeError(f"{directory}: strategic-merge patch target {target} matches nothing")
    if body.get("$patch") == "delete":
        return [r for r in resources if not _matches(r, target)]
    for resource in found:
        _merge(resource, body)
    return resources


def _json_patch(resource: Resource, operation: dict[str, Any]) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent: Any = resource
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    op = operation["op"]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, copy.deepcopy(operation["value"]))
        elif op == "replace":
            parent[index] = copy.deepcopy(operation["value"])
        elif op == "remove":
            del parent[index]
        else:
            raise KustomizeError(f"unsupported JSON patch op {op}")
        return
    if op in ("replace", "remove") and last not in parent:
        raise KustomizeError(f"JSON patch {op} of a missing path {operation['path']}")
    if op in ("add", "replace"):
        parent[last] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del parent[last]
    else:
        raise KustomizeError(f"unsupported JSON patch op {op}")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif (
            isinstance(value, list)
            and isinstance(target.get(key), list)
            and all(isinstance(item, dict) and "name" in item for item in value + target[key])
        ):
            by_name = {item["name"]: item for item in target[key]}
            for item in value:
                if item["name"] in by_name:
                    _merge(by_name[item["name"]], item)
                else:
                    target[key].append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)
