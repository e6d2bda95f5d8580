"""The public surface of ``poise.risk``: every exported name exists and is documented."""

import poise.risk as risk


def test_all_names_exist_and_have_docstrings():
    assert len(risk.__all__) == len(set(risk.__all__))
    for name in risk.__all__:
        obj = getattr(risk, name)
        if callable(obj):
            assert obj.__doc__, name
