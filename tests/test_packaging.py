"""What the installed package carries: a light import, version, stubs, docstrings."""
import ast
import inspect
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

import shanxi

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE_DIR = pathlib.Path(shanxi.__file__).resolve().parent

HEAVY = ["pandas", "numpy", "pyarrow", "polars", "duckdb"]
STDLIB_KEPT_OUT = ["datetime", "json", "csv", "argparse"]


def imported_by(code):
    """The modules a fresh interpreter has after running code, less those it starts with."""
    probe = "import sys, json; print(json.dumps(sorted(sys.modules)))"
    base = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    after = subprocess.run(
        [sys.executable, "-c",
         code + "\nimport sys\nmods = sorted(sys.modules)\nimport json\nprint(json.dumps(mods))"],
        capture_output=True, text=True, timeout=60, cwd=str(ROOT / "tests"))
    assert after.returncode == 0, after.stderr
    return set(json.loads(after.stdout)) - set(json.loads(base.stdout))


def test_import_is_light():
    new = imported_by("import shanxi")
    assert "shanxi" in new and "shanxi._shanxi" in new
    for name in HEAVY + STDLIB_KEPT_OUT:
        assert name not in new, "import shanxi imported %s" % name


def test_lookups_stay_light():
    new = imported_by(
        "import shanxi\n"
        "shanxi.project(7).metrics\n"
        "shanxi.total('CNY')\n"
        "shanxi.metrics(since='2022-12-01')\n"
        "shanxi.search('elevator')\n"
        "shanxi.data._repr_html_()\n"
    )
    for name in HEAVY:
        assert name not in new, "a lookup imported %s" % name


# ------------------------------------------------------------------ version

def test_version_is_written_once():
    """pyproject.toml takes the version from __init__.py instead of repeating it."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.M)
    assert re.search(r'^dynamic\s*=\s*\[\s*"version"\s*\]', project, re.M)
    assert re.search(r'^version\s*=\s*\{\s*attr\s*=\s*"shanxi.__version__"\s*\}',
                     text.split("[tool.setuptools.dynamic]", 1)[1], re.M)


def test_version_matches_installed_metadata():
    from importlib.metadata import version

    assert re.fullmatch(r"\d+\.\d+\.\d+", shanxi.__version__)
    assert version("shanxi") == shanxi.__version__


def test_license_is_an_spdx_expression():
    from importlib.metadata import metadata

    meta = metadata("shanxi")
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in (meta.get_all("License-File") or [])


# ------------------------------------------------------------------ stubs

@pytest.mark.parametrize("name", ["py.typed", "__init__.pyi", "_shanxi.pyi"])
def test_typing_files_are_installed(name):
    from importlib import resources

    assert resources.files("shanxi").joinpath(name).is_file()
    assert (PACKAGE_DIR / name).is_file()


def test_py_typed_is_empty():
    assert (PACKAGE_DIR / "py.typed").read_text() == ""


def _stub_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname for a in node.names if a.asname and a.asname == a.name)
    return names


def test_stubs_cover_everything_public():
    stub = _stub_names(PACKAGE_DIR / "__init__.pyi")
    assert set(shanxi.__all__) <= stub
    ext = _stub_names(PACKAGE_DIR / "_shanxi.pyi")
    assert {"Dataset", "Project", "Metric", "ParseError", "data", "load", "loads"} <= ext


def test_stub_methods_match_the_runtime():
    tree = ast.parse((PACKAGE_DIR / "_shanxi.pyi").read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for name in ("Dataset", "Project", "Metric"):
        stubbed = {n.name for n in classes[name].body if isinstance(n, ast.FunctionDef)}
        runtime = {n for n in vars(getattr(shanxi, name)) if not n.startswith("__")}
        assert runtime <= stubbed, "%s: not in the stub: %s" % (name, runtime - stubbed)
        params = {}
        for node in classes[name].body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                a = node.args
                params[node.name] = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
        for method, names in params.items():
            attr = inspect.getattr_static(getattr(shanxi, name), method)
            if isinstance(attr, property) or not callable(attr):
                continue
            sig = inspect.signature(getattr(getattr(shanxi, name), method))
            assert list(sig.parameters) == names, (name, method)


def _returns(path, cls=None):
    """name -> the return annotation's source, of path's functions (or cls's)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = tree.body
    if cls is not None:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == cls).body
    return {n.name: ast.unparse(n.returns) for n in body if isinstance(n, ast.FunctionDef)}


def test_stubs_say_metrics_and_search_give_figures():
    assert type(shanxi.metrics()) is type(shanxi.search("x")) is shanxi.Figures
    assert type(shanxi.project(7).metrics) is shanxi.Figures
    top = _returns(PACKAGE_DIR / "__init__.pyi")
    assert (top["metrics"], top["search"]) == ("Figures", "Figures")
    ext = PACKAGE_DIR / "_shanxi.pyi"
    assert (_returns(ext, "Dataset")["metrics"], _returns(ext, "Dataset")["search"],
            _returns(ext, "Project")["metrics"]) == ("Figures", "Figures", "Figures")


@pytest.mark.slow
def test_stubtest(tmp_path):
    pytest.importorskip("mypy.stubtest")
    if PACKAGE_DIR.name != "shanxi":
        pytest.skip("an editable install maps shanxi_ext/ by an import hook mypy cannot follow")
    config = tmp_path / "mypy.ini"
    # pandas and pyarrow ship no stubs of their own: that is not ours to check.
    config.write_text("[mypy]\nignore_missing_imports = True\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "shanxi", "--mypy-config-file", str(config)],
        capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------ docstrings and signatures

MODULE_FUNCTIONS = ["projects", "project", "metrics", "metric", "search", "aggregate", "total",
                    "share", "to_frame", "to_dicts", "load", "loads"]
EXTRA_METHODS = ["_repr_html_", "__arrow_c_stream__", "_ipython_key_completions_"]


def _public_methods(cls):
    for name, attr in vars(cls).items():
        if (name.startswith("_") and name not in EXTRA_METHODS) or not callable(attr):
            continue
        yield name, getattr(cls, name)


@pytest.mark.parametrize("name", MODULE_FUNCTIONS)
def test_module_functions_have_docs_and_signatures(name):
    fn = getattr(shanxi, name)
    assert fn.__doc__ and fn.__doc__.strip()
    sig = inspect.signature(fn)
    assert "self" not in sig.parameters and "module" not in sig.parameters


def test_module_function_signatures():
    assert str(inspect.signature(shanxi.project)) == "(key, /)"
    assert str(inspect.signature(shanxi.metrics)) == (
        "(*, project=None, metric=None, unit=None, category=None, region=None, since=None, "
        "until=None)")
    assert str(inspect.signature(shanxi.aggregate)).startswith("(func='sum', *, by=None, ")
    assert str(inspect.signature(shanxi.total)).startswith("(unit, *, project=None")
    assert str(inspect.signature(shanxi.to_frame)) == "(kind='metrics')"
    assert str(inspect.signature(shanxi.load)) == "(path, /, *, encoding=None, threads=None)"
    assert str(inspect.signature(shanxi.loads)) == "(text, /, *, encoding=None)"


@pytest.mark.parametrize("cls", [shanxi.Dataset, shanxi.Project, shanxi.Metric],
                         ids=lambda c: c.__name__)
def test_methods_have_docs_and_signatures(cls):
    assert cls.__doc__ and cls.__doc__.strip()
    seen = 0
    for name, method in _public_methods(cls):
        assert method.__doc__ and method.__doc__.strip(), name
        sig = inspect.signature(method)
        assert list(sig.parameters)[0] == "self", name
        seen += 1
    assert seen >= (10 if cls is shanxi.Dataset else 1)


@pytest.mark.parametrize("cls", [shanxi.Dataset, shanxi.Project, shanxi.Metric],
                         ids=lambda c: c.__name__)
def test_attributes_have_docs(cls):
    for name, attr in vars(cls).items():
        if not name.startswith("_") and not callable(attr):
            assert attr.__doc__ and attr.__doc__.strip(), name


@pytest.mark.parametrize("cls", [shanxi.Project, shanxi.Metric], ids=lambda c: c.__name__)
def test_constructors_have_signatures(cls):
    sig = inspect.signature(cls)
    assert list(sig.parameters)[0] in ("key", "number")


def test_package_docs():
    assert shanxi.__doc__ and "shanxi.project(7)" in shanxi.__doc__
    assert shanxi.ParseError.__doc__
    assert issubclass(shanxi.ParseError, ValueError)
    import shanxi.__main__ as cli

    assert cli.main.__doc__
    assert str(inspect.signature(cli.main)) == "(argv=None)"


def test_source():
    from types import MappingProxyType

    assert isinstance(shanxi.SOURCE, MappingProxyType)
    assert shanxi.SOURCE["title"] == "Deeds benefit residents of Shanxi"
    assert shanxi.SOURCE["publisher"] == "China Daily"
    assert shanxi.SOURCE["updated"] == "2023-01-12"
    assert shanxi.SOURCE["description"]
    with pytest.raises(TypeError):
        shanxi.SOURCE["title"] = "x"


# Names a linker or a sanitizer runtime may add to a shared object's dynamic
# table; none of them is the extension's own code.
TOOLCHAIN_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}
SANITIZER_PREFIXES = ("__asan", "__odr_asan", "__ubsan", "__tsan", "__sanitizer")


def test_extension_exports_only_its_init_function():
    import shanxi._shanxi as ext

    if not sys.platform.startswith("linux"):
        pytest.skip("reads the ELF dynamic symbol table (Linux)")
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not on PATH")
    proc = subprocess.run([nm, "-D", "--defined-only", ext.__file__], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names = [line.split()[-1] for line in proc.stdout.splitlines() if line.strip()]
    own = [n for n in names
           if n not in TOOLCHAIN_SYMBOLS and not n.startswith(SANITIZER_PREFIXES)]
    assert own == ["PyInit__shanxi"], proc.stdout


def test_all_is_complete():
    for name in shanxi.__all__:
        assert hasattr(shanxi, name), name
    public = {n for n in vars(shanxi) if not n.startswith("_")}
    # (shanxi.dask, the optional submodule, is an attribute once imported)
    assert public - set(shanxi.__all__) <= {"SOURCE", "dask"}


def test_module_functions_are_the_datasets_methods():
    for name in MODULE_FUNCTIONS[:-2]:
        fn = getattr(shanxi, name)
        assert fn.__self__ is shanxi.data, name
        assert fn.__name__ == name


# ------------------------------------------------------------------ Python 3.9 syntax

def test_python_files_are_python39():
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))
    for path in sorted(ROOT.glob("tests/*.py")):
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


# ------------------------------------------------------------------ the sdist

@pytest.mark.sdist
def test_sdist_carries_the_sources_and_installs(tmp_path):
    """An sdist holds data/, include/ and the generator, and builds on its own."""
    build = pytest.importorskip("build")
    if getattr(build, "__file__", None) is None:
        # the checkout's build/ folder (setuptools'), imported as a namespace package
        pytest.skip("the build package (pypa/build) is not installed")

    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                           str(tmp_path / "dist"), str(ROOT)],
                          check=True, capture_output=True, text=True)
    # setuptools deprecations (e.g. project.license as a table, an error from
    # 2027-02-18) would break `pip install .` later: none may be printed.
    output = proc.stdout + proc.stderr
    assert "deprecat" not in output.lower(), output
    (sdist,) = (tmp_path / "dist").glob("shanxi-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
        (pkg_info,) = [m for m in tar.getmembers() if m.name.count("/") == 1
                       and m.name.endswith("/PKG-INFO")]
        headers = tar.extractfile(pkg_info).read().decode("utf-8").split("\n\n", 1)[0]
    assert "\nVersion: %s\n" % shanxi.__version__ in headers
    assert "\nLicense-Expression: MIT\n" in headers
    for needed in ("data/shanxi_2022.csv", "data/README.md", "include/shanxi/core.h",
                   "include/shanxi/arrow.h", "tools/embed_data.py", "shanxi_ext/module.c",
                   "shanxi_ext/binding.h", "shanxi_ext/dataset.c", "shanxi_ext/core/reader.c",
                   "shanxi_ext/core/parse.c", "shanxi_ext/py.typed", "shanxi_ext/__init__.pyi",
                   "setup.py", "pyproject.toml", "README.md",
                   "examples/tour.ipynb", "examples/panel.csv"):
        assert needed in names, needed
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(sdist)], check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-c",
         "import shanxi; print(shanxi.__file__, shanxi.total('CNY'), len(shanxi.metrics()))"],
        check=True, capture_output=True, text=True, cwd=str(tmp_path),
        env={**os.environ, "PYTHONPATH": str(target)}).stdout.split()
    assert out[0].startswith(str(target))
    assert out[1:] == ["47230000", "33"]
