"""Another package's source formats and model adapters, found through entry points
(``s2sbench.builders``, ``s2sbench.adapters``) when a registry is first read, as lm-evaluation-harness
and pytest find plugins: a package installed beside s2sbench needs no change to it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from s2sbench import builders
from s2sbench.profiles import load_profile
from s2sbench.scorer import adapters

FORMATS = '''
from s2sbench.builders import register_builder
from s2sbench.items import Item


@register_builder("plugin-rows", subset="pluginSubset", license=None, columns=("story", "a", "b"))
def plugin_rows(row, context):
    """Stories with two endings, from another package."""
    return Item(id=f"plugin-{row.line}", subset=context.subset or "pluginSubset", lang=context.lang,
                context=row.text("story"), candidates=[row.text("a"), row.text("b")], answer=0)
'''

MODELS = '''
from s2sbench.scorer.adapters import Adapter, CandidateScore, register_adapter


@register_adapter("plugin-length", model_types=("plugin_length_model",))
class LengthAdapter(Adapter):
    """Prefers the shorter candidate: a model of no use but that it is another package's."""

    modes = ("t2t",)

    def __init__(self, spec):
        self.spec = spec

    def identity(self):
        return {"adapter": "plugin-length", "model": self.spec.model}

    def score_items(self, items, mode, prompt):
        return [[CandidateScore(loss=float(len(text)), n_tokens=1) for text in item.candidates] for item in items]
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch):
    """A distribution on sys.path with entry points in both groups, and registries read afresh."""
    site = tmp_path / "site"
    (site / "s2s_plugin_demo").mkdir(parents=True)
    (site / "s2s_plugin_demo" / "__init__.py").write_text("")
    (site / "s2s_plugin_demo" / "formats.py").write_text(FORMATS)
    (site / "s2s_plugin_demo" / "models.py").write_text(MODELS)
    info = site / "s2s_plugin_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: s2s-plugin-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[s2sbench.builders]\ndemo = s2s_plugin_demo.formats\n\n[s2sbench.adapters]\ndemo = s2s_plugin_demo.models\n")
    builders._registry()  # the registries as they are without the plugin (their built-in modules imported)...
    adapters._registry()
    monkeypatch.syspath_prepend(str(site))
    # ...to be read again, as in a process where the plugin is installed.
    monkeypatch.setattr(builders, "_REGISTRY", dict(builders._REGISTRY))
    monkeypatch.setattr(builders, "_LOADED", [])
    monkeypatch.setattr(adapters, "_ADAPTERS", dict(adapters._ADAPTERS))
    monkeypatch.setattr(adapters, "_MODEL_TYPES", dict(adapters._MODEL_TYPES))
    monkeypatch.setattr(adapters, "_LOADED", [])
    yield
    for module in ("s2s_plugin_demo", "s2s_plugin_demo.formats", "s2s_plugin_demo.models"):
        sys.modules.pop(module, None)


def test_another_packages_format_and_adapter_are_found_through_entry_points(installed_plugin, tmp_path: Path):
    from s2sbench.scorer.adapters import AdapterSpec, Prompt, ScoreRequest, load_adapter, model_types, resolve_adapter

    assert "causal-lm" in adapters.adapters() and "plugin-length" in adapters.adapters()  # each group on its own
    assert "plugin-rows" in builders.builders()
    assert model_types()["plugin_length_model"] == "plugin-length"
    assert resolve_adapter(AdapterSpec("anything"), "plugin-length") == "plugin-length"
    adapter = load_adapter(AdapterSpec("anything"), "plugin-length")
    source = tmp_path / "rows.csv"
    source.write_text("story,a,b\nShe went out.,It rained.,The sea sang a long song.\n", encoding="utf-8")
    context = builders.BuildContext(lang="en", profile=load_profile("en"))
    [item] = list(builders.iter_source_items(str(source), "plugin-rows", context))
    scores = adapter.loglikelihood([ScoreRequest(_score_item(item), "t2t", Prompt())])
    assert [s.loss for s in scores[0]] == [len("It rained."), len("The sea sang a long song.")]


def _score_item(item):
    from s2sbench.scorer.adapters import ScoreItem

    return ScoreItem(item.id, item.subset, item.lang, item.context, item.candidates, item.answer)


def test_without_the_plugin_its_names_are_unknown():
    assert "plugin-length" not in adapters.adapters() and "plugin-rows" not in builders.builders()
