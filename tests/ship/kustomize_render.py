"""A small `kustomize build` for the features k8s/ uses, so the manifests are rendered and validated with
no kustomize binary: resources (files and directories), namespace, labels (metadata only), images,
configMapGenerator (envs, files, literals, labels; names without hash suffix) and strategic-merge patches.

Anything else in a kustomization.yaml is refused, so a new feature cannot be silently ignored. Where a
real kustomize is installed (``kubectl kustomize``), tests/ship compares the two renderings.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["build", "strategic_merge"]

_SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "configMapGenerator",
    "generatorOptions",
    "patches",
}
# The patchMergeKey of the lists k8s/ patches (from the Kubernetes API's strategic-merge metadata).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "topologySpreadConstraints": "topologyKey",
}

Doc = dict[str, Any]


def strategic_merge(base: Any, patch: Any, key: str | None = None) -> Any:
    """``patch`` merged into ``base``: maps recursively, lists with a merge key by that key (patch-only
    items first, as kustomize does), other lists and scalars replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = strategic_merge(base[k], v, k) if k in base else copy.deepcopy(v)
        return out
    merge_key = _MERGE_KEYS.get(key or "")
    if merge_key and isinstance(base, list) and isinstance(patch, list):
        by_key = {item[merge_key]: item for item in patch}
        new = [copy.deepcopy(p) for p in patch if p[merge_key] not in {b[merge_key] for b in base}]
        kept = [strategic_merge(b, by_key[b[merge_key]]) if b[merge_key] in by_key else b for b in base]
        return new + kept
    return copy.deepcopy(patch)


def _load_all(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _config_maps(root: Path, spec: dict[str, Any]) -> list[Doc]:
    out = []
    options = spec.get("generatorOptions") or {}
    if not options.get("disableNameSuffixHash"):
        raise ValueError(f"{root}: only generatorOptions.disableNameSuffixHash: true is supported")
    for gen in spec.get("configMapGenerator") or []:
        data: dict[str, str] = {}
        for env_file in gen.get("envs") or []:
            for line in (root / env_file).read_text().splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    name, _, value = line.partition("=")
                    data[name.strip()] = value
        for file in gen.get("files") or []:
            data[Path(file).name] = (root / file).read_text()
        for literal in gen.get("literals") or []:
            name, _, value = literal.partition("=")
            data[name] = value
        labels = dict((gen.get("options") or {}).get("labels") or {})
        meta: Doc = {"name": gen["name"], **({"labels": labels} if labels else {})}
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data})
    return out


def _set_images(doc: Doc, images: list[dict[str, str]]) -> None:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name, _, tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                new_tag = image.get("newTag", tag)
                container["image"] = image.get("newName", name) + (f":{new_tag}" if new_tag else "")


def build(directory: Path) -> list[Doc]:
    """The documents ``kustomize build directory`` gives for the features above.

    Raises:
        ValueError: the kustomization uses a feature this renderer does not implement, or a patch
            targets no document.
    """
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - _SUPPORTED
    if unknown:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    docs: list[Doc] = []
    for res in spec.get("resources") or []:
        path = directory / res
        docs += build(path) if path.is_dir() else _load_all(path)
    if spec.get("configMapGenerator"):
        docs += _config_maps(directory, spec)
    for entry in spec.get("patches") or []:
        for patch in _load_all(directory / entry["path"]):
            ids = [
                i
                for i, d in enumerate(docs)
                if (d["kind"], d["metadata"]["name"]) == (patch["kind"], patch["metadata"]["name"])
            ]
            if len(ids) != 1:
                raise ValueError(f"{entry['path']}: patch matches {len(ids)} documents")
            docs[ids[0]] = strategic_merge(docs[ids[0]], patch)
    for doc in docs:
        meta = doc["metadata"]
        if spec.get("namespace"):
            meta["namespace"] = spec["namespace"]
        for group in spec.get("labels") or []:
            if group.get("includeSelectors") or group.get("includeTemplates"):
                raise ValueError("labels with includeSelectors/includeTemplates are not supported")
            meta["labels"] = {**(meta.get("labels") or {}), **group["pairs"]}
        _set_images(doc, spec.get("images") or [])
    return docs
