"""Tests for lstmcli.data.windows: sliding windows and the leak-free train/validation split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcli.data.windows import Split, make_windows, min_length, split_windows
from lstmcli.errors import ConfigError

# ------------------------------------------------------------------------------------------ make_windows


def test_make_windows_shapes_and_content():
    T, D = 10, 3
    inputs = np.arange(T * D, dtype=float).reshape(T, D)
    target = np.arange(T, dtype=float) * 10
    X, Y = make_windows(inputs, target, lookback=4, horizon=2)
    assert X.shape == (T - 4 - 2 + 1, 4, D)
    assert Y.shape == (5, 2)
    for k in range(5):
        np.testing.assert_array_equal(X[k], inputs[k : k + 4])
        np.testing.assert_array_equal(Y[k], target[k + 4 : k + 6])


def test_make_windows_returns_read_only_views():
    inputs = np.arange(20.0).reshape(10, 2)
    target = np.arange(10.0)
    X, Y = make_windows(inputs, target, lookback=3)
    assert np.shares_memory(X, inputs) and np.shares_memory(Y, target)
    assert not X.flags.writeable and not Y.flags.writeable
    inputs[0, 0] = 99.0
    assert X[0, 0, 0] == 99.0  # a view follows its base


def test_make_windows_accepts_1d_inputs():
    X, Y = make_windows(np.arange(5.0), np.arange(5.0), lookback=2)
    assert X.shape == (3, 2, 1)
    np.testing.assert_array_equal(Y[:, 0], [2.0, 3.0, 4.0])


def test_make_windows_exactly_one_window():
    X, Y = make_windows(np.arange(5.0)[:, None], np.arange(5.0), lookback=3, horizon=2)
    assert X.shape == (1, 3, 1) and Y.shape == (1, 2)


def test_make_windows_too_short_names_the_numbers():
    with pytest.raises(ConfigError) as e:
        make_windows(np.zeros((5, 1)), np.zeros(5), lookback=5, horizon=1, label="data.csv")
    msg = str(e.value)
    assert msg == "data.csv: 5 time steps, but lookback 5 + horizon 1 needs at least 6"


@pytest.mark.parametrize("lookback,horizon", [(0, 1), (3, 0), (-1, 1), (2.5, 1), (True, 1)])
def test_make_windows_rejects_bad_sizes(lookback, horizon):
    with pytest.raises(ConfigError):
        make_windows(np.zeros((10, 1)), np.zeros(10), lookback=lookback, horizon=horizon)


@settings(max_examples=60, deadline=None)
@given(T=st.integers(2, 60), D=st.integers(1, 3), lookback=st.integers(1, 20), horizon=st.integers(1, 6))
def test_window_ends_exactly_where_its_targets_begin(T, D, lookback, horizon):
    # Encode the time index in the data so that positions can be read back from the windows.
    time = np.arange(T, dtype=float)
    inputs = np.repeat(time[:, None], D, axis=1)
    n = T - lookback - horizon + 1
    if n <= 0:
        with pytest.raises(ConfigError):
            make_windows(inputs, time, lookback, horizon)
        return
    X, Y = make_windows(inputs, time, lookback, horizon)
    assert X.shape == (n, lookback, D) and Y.shape == (n, horizon)
    np.testing.assert_array_equal(X[:, -1, 0] + 1, Y[:, 0])  # no gap, no overlap
    np.testing.assert_array_equal(X[:, 0, 0], np.arange(n))
    np.testing.assert_array_equal(np.diff(Y, axis=1), np.ones((n, horizon - 1)))


# ------------------------------------------------------------------------------------------ split_windows


def test_split_example_with_horizon_gap():
    s = split_windows(n_steps=20, lookback=4, horizon=2, val_size=3)
    assert s == Split(train=slice(0, 11), val=slice(12, 15), train_end=16)
    assert s.n_train == 11 and s.n_val == 3


def test_split_without_validation_uses_every_window():
    s = split_windows(n_steps=20, lookback=4, horizon=3, val_size=0)
    assert s.train == slice(0, 14) and s.n_val == 0 and s.train_end == 20


def test_split_fraction():
    s = split_windows(n_steps=110, lookback=10, horizon=1, val_size=0.2)
    assert s.n_val == 20 and s.train == slice(0, 80) and s.train_end == 90


def test_split_small_positive_fraction_gives_one_window():
    s = split_windows(n_steps=15, lookback=10, horizon=1, val_size=0.05)
    assert s.n_val == 1


def test_split_too_short_message_matches_issue_example():
    with pytest.raises(ConfigError) as e:
        split_windows(12, lookback=24, horizon=1, val_size=6, label="data.csv")
    assert str(e.value) == "data.csv: 12 rows, but lookback 24 + validation 6 needs at least 31"


def test_split_too_short_mentions_horizon_and_fraction():
    with pytest.raises(ConfigError) as e:
        split_windows(12, lookback=10, horizon=3, val_size=0.2)
    msg = str(e.value)
    assert "lookback 10" in msg and "horizon 3" in msg and "20%" in msg
    need = int(msg.rsplit(" ", 1)[1])
    split_windows(need, 10, 3, 0.2)  # the stated minimum really works
    with pytest.raises(ConfigError):
        split_windows(need - 1, 10, 3, 0.2)


@pytest.mark.parametrize("val_size", [1.0, -0.1, 1.5, -1, float("nan"), "0.2", True, None])
def test_split_rejects_bad_val_size(val_size):
    with pytest.raises(ConfigError):
        split_windows(100, 10, 1, val_size)


@pytest.mark.parametrize("lookback,horizon,n_val", [(24, 1, 6), (3, 4, 2), (1, 1, 0), (5, 5, 0), (7, 2, 1)])
def test_min_length_is_exact(lookback, horizon, n_val):
    n = min_length(lookback, horizon, n_val)
    s = split_windows(n, lookback, horizon, n_val)
    assert s.n_train == 1 and s.n_val == n_val
    with pytest.raises(ConfigError):
        split_windows(n - 1, lookback, horizon, n_val)


def test_min_length_rejects_negative_validation():
    with pytest.raises(ConfigError):
        min_length(3, 1, -1)


@settings(max_examples=100, deadline=None)
@given(
    n_steps=st.integers(0, 80),
    lookback=st.integers(1, 15),
    horizon=st.integers(1, 6),
    val_size=st.one_of(st.integers(0, 20), st.floats(0.0, 0.95, allow_nan=False)),
)
def test_split_never_lets_training_targets_reach_validation(n_steps, lookback, horizon, val_size):
    try:
        s = split_windows(n_steps, lookback, horizon, val_size)
    except ConfigError as e:
        need = int(str(e).rsplit(" ", 1)[1])
        assert n_steps < need
        return
    n_windows = n_steps - lookback - horizon + 1
    assert s.val.stop == n_windows  # validation windows are the last ones
    assert s.n_train >= 1 and s.train.start == 0
    last_train_target = (s.train.stop - 1) + lookback + horizon - 1
    assert s.train_end == last_train_target + 1 <= n_steps
    if s.n_val:
        first_val_target = s.val.start + lookback
        assert last_train_target < first_val_target
        # ...and no training window is wasted: the next one would overlap.
        assert last_train_target + 1 == first_val_target
        assert s.val.start - s.train.stop == horizon - 1
    else:
        assert s.train.stop == n_windows
    if isinstance(val_size, int):
        assert s.n_val == val_size
        assert n_steps >= min_length(lookback, horizon, val_size)
