"""Fixtures of the forecast tests: a tiny traffic-like dataset written as the user's files."""
import numpy as np
import pytest


@pytest.fixture
def tiny_files(tmp_path):
    """``(series.csv, adj.csv)``: 100 steps of 4 sensors (a daily-like sine plus noise) and a
    path graph. 0.7 / 0.1 / 0.2 of 100 steps with 4 input steps and horizon 3 gives
    64 / 4 / 14 windows."""
    rng = np.random.default_rng(0)
    t = np.arange(100)[:, None]
    series = 50 + 10 * np.sin(2 * np.pi * t / 24 + np.arange(4)) + rng.normal(0, 1, (100, 4))
    path = tmp_path / 'series.csv'
    np.savetxt(path, series, delimiter=',', header='s0,s1,s2,s3', comments='')
    adj = (np.abs(np.arange(4)[:, None] - np.arange(4)) <= 1).astype(float)
    np.savetxt(tmp_path / 'adj.csv', adj, delimiter=',')
    return path, tmp_path / 'adj.csv'
