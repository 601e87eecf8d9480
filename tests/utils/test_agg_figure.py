from pyg_ext.utils.agg_figure import agg_figure


def test_panels_size_and_canvas(tmp_path):
    fig, axes = agg_figure(2, 3, 4.0, 2.5)
    assert axes.shape == (2, 3)
    assert tuple(fig.get_size_inches()) == (12.0, 5.0)
    # fixed margins in inches: 0.8 on the left, 0.2 on the right
    assert abs(fig.subplotpars.left * 12.0 - 0.8) < 1e-9
    assert abs((1 - fig.subplotpars.right) * 12.0 - 0.2) < 1e-9
    fig.savefig(tmp_path / 'f.png')  # the Agg canvas draws without a display
    assert (tmp_path / 'f.png').stat().st_size > 0
