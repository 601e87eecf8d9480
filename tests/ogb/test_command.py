import pytest

from pyg_ext.cli import build_parser, main


def test_ogb_subcommand_runs_a_benchmark(node_fixture, tmp_path, capsys):
    import torch
    meta_path = tmp_path / 'meta_dict.pt'
    torch.save(node_fixture, meta_path)
    out = tmp_path / 'out'
    code = main(['ogb', 'ogbn-arxiv', '--meta-dict', str(meta_path), '--model', 'sage',
                 '--epochs', '1', '--runs', '1', '--hidden', '8', '--out', str(out),
                 '--no-progress'])
    assert code == 0
    printed = capsys.readouterr().out
    assert 'ogbn-arxiv sage: test' in printed and 'results.json' in printed
    assert (out / 'results.json').exists()


def test_ogb_subcommand_is_listed_and_checks_names(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(['--help'])
    assert 'ogb' in capsys.readouterr().out
    with pytest.raises(ValueError, match="expected one starting with 'ogbg-'"):
        main(['ogb', 'cora'])
