import timepoint


def test_root_api_is_small_and_pinned():
    assert sorted(timepoint.__all__) == sorted(
        [
            "Run",
            "RunFailed",
            "Scenario",
            "TimepointError",
            "compare",
            "estimate_batch",
            "expand_grid",
            "forecast",
            "load_questions",
            "load_run",
            "run",
            "run_batch",
        ]
    )
    for name in timepoint.__all__:
        assert hasattr(timepoint, name)


def test_every_error_is_a_timepoint_error():
    import inspect

    from timepoint import errors

    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) > 10
    assert all(issubclass(c, timepoint.TimepointError) for c in classes)
