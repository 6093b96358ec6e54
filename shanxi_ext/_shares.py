"""Each figure's share of the whole it is part of, for figures no dataset made.

A dataset's figures have their shares computed once, in C, for every row
(``shanxi_ext/core/shares.c``): the ``share`` column of ``to_frame()``,
``to_dicts()``, the Arrow export, ``Dataset.share()``, and the ``_shares`` of
what ``metrics()`` returns, which the notebook HTML and ``python -m shanxi``
show.  This is the same rule for a tuple of Metric objects made by hand (or
unpickled), whose figures do not know their rows, among the figures it
holds; tests/test_schema.py checks that both agree.  The rule, the
C one: the whole of a figure with a ``part_of`` key is the figure of the
same project whose metric key is that key, for the same region (a missing
region matches a missing one) and as_of.  Where there is no such figure,
more than one, or it is zero, the figure has no share.
"""
from collections import Counter
from itertools import compress


def part_shares(projects, metrics, part_ofs, regions, dates, values):
    """{index: share} for the figures given as parallel columns.

    Missing regions and part_of keys are None; dates may be any hashable
    value that is equal for equal dates.  Figures without a share are absent.
    """
    wanted = set(part_ofs)
    wanted.discard(None)
    if not wanted:
        return {}
    # zip and compress build the (project, key, region, date) keys at C speed:
    # to_frame() passes every part and whole of a large panel through here.
    rows = range(len(metrics))
    is_whole = [key in wanted for key in metrics]
    whole_keys = list(compress(zip(projects, metrics, regions, dates), is_whole))
    count = Counter(whole_keys)
    wholes = dict(zip(whole_keys, compress(rows, is_whole)))
    is_part = [part is not None for part in part_ofs]
    out = {}
    for i, at in zip(compress(rows, is_part),
                     compress(zip(projects, part_ofs, regions, dates), is_part)):
        whole = wholes.get(at)
        if whole is None or count[at] > 1 or values[whole] == 0:
            continue
        try:
            # In doubles, as the C share() divides (ints past 2**53 included).
            out[i] = float(values[i]) / float(values[whole])
        except OverflowError:
            # Only a Metric made by hand holds an int past the doubles.
            try:
                out[i] = values[i] / values[whole]
            except OverflowError:
                pass
    return out


def metric_shares(metrics):
    """{index: share} for a sequence of Metric objects."""
    return part_shares([m.project for m in metrics], [m.key for m in metrics],
                       [m.part_of for m in metrics], [m.region for m in metrics],
                       [m.as_of for m in metrics], [m.value for m in metrics])
