"""Lifetime: a module instance and everything it made is freed once dropped.

Each test makes a fresh instance of the extension module (as a
subinterpreter or importlib.reload of a multi-phase module does), uses it,
drops it and collects: the instance's types must then be gone.  The objects
the Dataset caches hold their heap type, the type holds the module and the
module holds the Dataset, so this works only if the collector sees every
link of that cycle.
"""
import gc
import importlib.util
import weakref

import panelgen
import pytest

import shanxi


def fresh_module():
    spec = importlib.util.find_spec("shanxi._shanxi")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.data is not shanxi.data
    return module


def assert_freed(use):
    """use(module) with a fresh module; afterwards its types must die."""
    module = fresh_module()
    refs = [weakref.ref(type(module.data)), weakref.ref(module.Metric),
            weakref.ref(module.Project)]
    use(module)
    del module
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert alive == [], "still alive after gc.collect(): %r" % alive


def test_unused_module_is_freed():
    assert_freed(lambda m: None)


def test_module_is_freed_after_a_metric():
    assert_freed(lambda m: m.data.metric("elevators_completed"))


def test_module_is_freed_after_metrics():
    assert_freed(lambda m: m.data.metrics())


def test_module_is_freed_after_projects():
    assert_freed(lambda m: m.data.projects())


def test_module_is_freed_after_project_metrics():
    assert_freed(lambda m: m.data.project(7).metrics)


def test_module_is_freed_after_grouping_and_search():
    def use(m):
        m.data.aggregate("count", by="category")
        m.data.aggregate("sum", by="as_of", unit="CNY")
        m.data.search("elevator")
        m.data.project("elevator")

    assert_freed(use)


def test_module_is_freed_after_a_loaded_dataset():
    def use(m):
        ds = m.loads(b"project,metric,value,unit,as_of\n1,a,2,people,2022-01-01\n")
        ds.metric("a")
        ds.projects()[0].metrics

    assert_freed(use)


def test_module_is_freed_after_hand_made_figures():
    def use(m):
        metric = m.Metric("k", 1, 2, "people", "2022-01-01")
        m.Project(1, "key", metrics=[metric])

    assert_freed(use)


class Label(str):
    """A str subclass an instance of which can refer back to its Metric."""


def test_a_cycle_through_a_hand_made_metric_is_collected():
    label = Label("a label")
    metric = shanxi.Metric("k", 1, 2, "people", "2022-01-01", label=label)
    label.metric = metric
    alive = weakref.ref(label)
    del label, metric
    gc.collect()
    assert alive() is None


def test_a_cycle_through_a_hand_made_project_is_collected():
    key = Label("key")
    project = shanxi.Project(1, key)
    key.project = project
    alive = weakref.ref(key)
    del key, project
    gc.collect()
    assert alive() is None


def test_a_bare_module_instance_says_what_it_lacks():
    # The package registers the pandas and HTML helpers with its own module
    # instance at import; an instance made apart from it has none, and says so
    # rather than reaching for the package by name.
    module = fresh_module()
    with pytest.raises(RuntimeError, match="import shanxi"):
        module.data.to_frame()
    with pytest.raises(RuntimeError, match="import shanxi"):
        module.data._repr_html_()


def _panel(nrows):
    return panelgen.panel_text(nrows)


@pytest.mark.parametrize("enabled", [True, False])
def test_making_many_metrics_leaves_the_collector_as_it_was(enabled):
    ds = shanxi.loads(_panel(10000))
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert len(ds.metrics()) == 10000
        assert len(ds.search("")) == 10000
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_module_is_freed_after_many_metrics():
    def use(m):
        assert len(m.loads(_panel(10000)).metrics()) == 10000
        assert len(m.data.metrics()) == 33

    assert_freed(use)
