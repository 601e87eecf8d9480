"""OGB graph property prediction (ogbg-molhiv, ogbg-molpcba, ogbg-molbace, ...).

Follows OGB's examples/graphproppred/mol: GCN / GIN, each with and without a virtual node,
OGB's AtomEncoder/BondEncoder, Adam (lr 1e-3), batch 32, 100 epochs, 10 runs, the epoch with
the best validation score, ogb's Evaluator. Every option left unset takes that value.

    python benchmarks/ogb/graph_property.py ogbg-molhiv --model gin-virtual --root data

The same as `pyg-ext ogb ogbg-molhiv --model gin-virtual --root data`. Results (every run's
validation and test score, mean ± std) go to runs/ogb/DATASET/MODEL/results.json (--out);
started again, it resumes from the checkpoint of the last finished epoch.
"""
import argparse

from pyg_ext.malloc import apply_malloc_option
from pyg_ext.ogb import graph_property
from pyg_ext.ogb.options import add_arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    apply_malloc_option(args)
    results = graph_property.run(args)
    print(f"{args.dataset} {args.model}: test {results['summary']['test_text']} "
          f"(valid {results['summary']['valid_text']}, {results['summary']['metric']})")


if __name__ == '__main__':
    main()
