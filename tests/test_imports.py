"""The import checks of ``make lint`` (scripts/check_imports.py): it finds a circle where there is
one, the package's own, and counts only what runs at import time; and it reports an import pointing up
the layer table (scripts/layers.txt), at any depth."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_imports.py"
spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
check_imports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_imports)


def circles_of(root: Path, files: dict[str, str]) -> list[list[str]]:
    for name, text in files.items():
        path = root / "s2sbench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    modules = check_imports.module_names(root)
    return check_imports.cycles({name: check_imports.imports_of(name, path, modules) for name, path in modules.items()})


def test_a_registry_that_imports_its_members_which_import_it_is_a_circle(tmp_path: Path):
    files = {"__init__.py": "", "reg/__init__.py": "def register(f): return f\nfrom s2sbench.reg import one  # noqa\n",
             "reg/one.py": "from s2sbench.reg import register\n"}
    assert circles_of(tmp_path, files) == [["s2sbench.reg", "s2sbench.reg.one"]]


def test_imports_inside_functions_and_a_members_own_package_make_no_circle(tmp_path: Path):
    files = {"__init__.py": "", "reg/__init__.py": "def load():\n    from s2sbench.reg import one\n",
             "reg/one.py": "from s2sbench.reg.base import register\n", "reg/base.py": "",
             "a.py": "try:\n    from s2sbench import b\nexcept ImportError:\n    pass\n", "b.py": "def f():\n    from s2sbench import a\n"}
    assert circles_of(tmp_path, files) == []
    files["b.py"] = "if True:\n    from s2sbench import a\n"  # at import time after all
    assert circles_of(tmp_path, files) == [["s2sbench.a", "s2sbench.b"]]


def test_an_import_from_a_lower_layer_to_a_higher_one_is_reported_wherever_it_is(tmp_path: Path):
    files = {"__init__.py": "", "top.py": "from s2sbench import low\n", "low.py": "def f():\n    from s2sbench.top import g\n",
             "mid/__init__.py": "", "mid/part.py": "from s2sbench.mid import other  # noqa\n", "mid/other.py": ""}
    for name, text in files.items():
        path = tmp_path / "s2sbench" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    modules = check_imports.module_names(tmp_path)
    layers = {"top": 0, "mid": 1, "low": 2}
    assert check_imports.upward_imports(modules, layers, tmp_path) == [
        "s2sbench/low.py:2: s2sbench.low imports s2sbench.top, a higher layer (top is above low in layers.txt)"]
    del layers["mid"]
    assert check_imports.upward_imports(modules, layers, tmp_path)[0] == "s2sbench.mid: not in layers.txt: add it to the layer it belongs to"


def test_the_layer_table_places_every_module_once():
    names = [name for line in check_imports.LAYERS.read_text().splitlines() for name in line.split("#")[0].split()]
    assert len(names) == len(set(names))
    assert {name.split(".")[1] for name in check_imports.module_names() if "." in name} <= set(names)


def test_s2sbench_has_no_import_circle():
    assert check_imports.main() == 0


def test_the_lazy_registries_load_on_first_read_and_suggest_a_close_name():
    import pytest

    from s2sbench.builders import get_builder
    from s2sbench.errors import EngineError, SourceError
    from s2sbench.scorer.adapters import AdapterSpec, model_types, resolve_adapter

    assert model_types()["qwen2_audio"] == "qwen2-audio" and model_types()["moshi"] == "moshi"
    with pytest.raises(EngineError, match=r"unknown adapter 'qwen2-adio'; did you mean 'qwen2-audio'\?"):
        resolve_adapter(AdapterSpec("m"), "qwen2-adio")
    with pytest.raises(SourceError, match=r"unknown format 'storyclose'; did you mean 'storycloze'\?"):
        get_builder("storyclose")


def test_errors_are_mapped_by_their_class_and_os_errors_by_what_they_are():
    import errno

    import httpx2
    from huggingface_hub import errors as hub

    from s2sbench.errors import user_message

    assert user_message(BrokenPipeError(errno.EPIPE, "Broken pipe")) == "broken pipe: what read this command's output stopped reading"
    assert user_message(ConnectionResetError(errno.ECONNRESET, "reset")) == "the connection was reset by the other side"
    assert user_message(httpx2.ConnectError("refused")).startswith("cannot reach the Hub at ")
    assert user_message(hub.OfflineModeIsEnabled("offline")).startswith("cannot reach the Hub at ")
    response = httpx2.Response(404, request=httpx2.Request("GET", "http://127.0.0.1/api/datasets/a/b"))
    assert user_message(hub.RepositoryNotFoundError("no", response=response)) == "repository not found (or not visible with this token)"

    class ConnectError(Exception):  # another library's class of the same name is not the Hub's
        pass

    assert user_message(ConnectError("x")) is None


def test_the_function_length_check_finds_a_function_over_the_limit_and_passes_the_package(tmp_path: Path):
    path = Path(__file__).resolve().parent.parent / "scripts" / "check_function_length.py"
    spec = importlib.util.spec_from_file_location("check_function_length", path)
    lengths = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lengths)
    (tmp_path / "s2sbench").mkdir()
    body = "".join(f"    x{k} = {k}\n" for k in range(49))
    method = "".join(f"    {line}\n" for line in f"def over(self):\n{body}    pass".splitlines())
    (tmp_path / "s2sbench" / "a.py").write_text(f"def fits():\n{body}\n\nclass C:\n{method}")
    assert lengths.long_functions(tmp_path) == [("s2sbench/a.py", 54, "over", 51)]
    assert lengths.main() == 0
