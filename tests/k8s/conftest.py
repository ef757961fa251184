"""The rendered overlays, once per test session (kubectl kustomize takes a fraction of a second each)."""

import pytest

from tests.k8s.manifests import GPU_COMPONENT, OVERLAYS, Obj, add_component, copy_tree, render


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    """Objects of every overlay, and of production with the GPU component added as docs/deploy.md says."""
    tree = copy_tree(tmp_path_factory.mktemp("k8s") / "k8s")
    objects = {overlay: render(tree / "overlays" / overlay) for overlay in OVERLAYS}
    add_component(tree / "overlays" / "production", GPU_COMPONENT)
    objects["production+gpu"] = render(tree / "overlays" / "production")
    return objects
