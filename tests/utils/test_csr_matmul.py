import pytest
import torch
from torch.profiler import profile
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from pyg_ext.utils.csr_matmul import csr_matmul

# The sparse CSR "beta" notice from torch is not what these tests are about.
pytestmark = pytest.mark.filterwarnings('ignore:Sparse CSR tensor support:UserWarning',
                                        'ignore:Sparse invariant checks:UserWarning')


def matrices(dtype=torch.float32, requires_grad=False):
    """A rectangular [4, 6] CSR matrix with an empty row, a duplicate entry (summed) and
    unsorted entries, its CSR transpose, and the values it was built from."""
    index = torch.tensor([[2, 0, 0, 3, 2, 0, 2],
                          [5, 1, 4, 0, 3, 1, 0]])  # row 1 empty; (0, 1) twice
    value = torch.rand(index.size(1), dtype=dtype).requires_grad_(requires_grad)
    a = to_torch_csr_tensor(index, value, size=(4, 6))
    a_t = to_torch_csr_tensor(index.flip(0), value, size=(6, 4))
    return a, a_t, index, value


def dense(index, value, size=(4, 6)):
    return torch.zeros(size, dtype=value.dtype).index_put((index[0], index[1]), value,
                                                          accumulate=True)


def test_values_and_gradients_match_dense():
    a, a_t, index, value = matrices()
    x = torch.randn(6, 5, requires_grad=True)
    out = csr_matmul(a, a_t, x)
    assert type(out.grad_fn).__name__ == '_CSRMatmulBackward'
    x_ref = x.detach().clone().requires_grad_()
    expected = dense(index, value) @ x_ref
    torch.testing.assert_close(out, expected)
    grad = torch.randn(4, 5)
    out.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(x.grad, dense(index, value).t() @ grad)


def test_gradcheck_float64():
    a, a_t, _, _ = matrices(torch.float64)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: csr_matmul(a, a_t, v), (x, ))
    # The backward is itself a csr_matmul, so second derivatives work too.
    assert torch.autograd.gradgradcheck(lambda v: csr_matmul(a, a_t, v).square(), (x, ))


def test_backward_never_transposes_a_sparse_matrix():
    a, a_t, _, _ = matrices()
    x = torch.randn(6, 8, requires_grad=True)
    out = csr_matmul(a, a_t, csr_matmul(a_t, a, csr_matmul(a, a_t, x)))  # [4, 8]
    with profile() as prof:
        out.sum().backward()
    names = {event.key for event in prof.key_averages()}
    assert not names & {'aten::_to_sparse_csr', 'aten::sort', 'aten::t'}, names

    # torch's own backward does transpose (the cost this function removes).
    out = torch.sparse.mm(a, x)
    with profile() as prof:
        out.sum().backward()
    assert 'aten::_to_sparse_csr' in {event.key for event in prof.key_averages()}


def test_values_requiring_grad_fall_back_to_torch():
    # Learnable weights: torch's backward, which also differentiates the values.
    a, a_t, index, value = matrices(requires_grad=True)
    x = torch.randn(6, 5, requires_grad=True)
    out = csr_matmul(a, a_t, x)
    assert type(out.grad_fn).__name__ != '_CSRMatmulBackward'
    out.square().sum().backward()
    value_ref = value.detach().clone().requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    (dense(index, value_ref) @ x_ref).square().sum().backward()
    torch.testing.assert_close(value.grad, value_ref.grad)
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_without_transpose_falls_back_to_torch():
    a, a_t, index, value = matrices()
    x = torch.randn(6, 5, requires_grad=True)
    out = csr_matmul(a, None, x)
    torch.testing.assert_close(out, csr_matmul(a, a_t, x))
    out.sum().backward()
    torch.testing.assert_close(x.grad, dense(index, value).t() @ torch.ones(4, 5))


def test_no_grad_and_non_contiguous_input():
    a, a_t, index, value = matrices()
    x = torch.randn(5, 6).t()  # [6, 5], not contiguous
    with torch.no_grad():
        out = csr_matmul(a, a_t, x)
    assert out.grad_fn is None
    torch.testing.assert_close(out, dense(index, value) @ x)


def test_errors_name_the_fix():
    a, a_t, index, value = matrices()
    x = torch.randn(6, 5)
    coo = to_torch_coo_tensor(index, value, size=(4, 6))
    with pytest.raises(ValueError, match=r'expected torch.sparse_csr.*to_sparse_csr\(\)'):
        csr_matmul(coo, a_t, x)
    with pytest.raises(ValueError, match=r"'a_t' has layout.*expected torch.sparse_csr"):
        csr_matmul(a, coo.t(), x)
    with pytest.raises(ValueError, match=r'expected \[6, F\].*fold any leading'):
        csr_matmul(a, a_t, torch.randn(2, 6, 5))
    with pytest.raises(ValueError, match=r'expected \[6, F\]'):
        csr_matmul(a, a_t, torch.randn(4, 5))
    with pytest.raises(ValueError, match=r'transpose.*\[6, 4\]'):
        csr_matmul(a, a, x)
    with pytest.raises(ValueError, match=r'dtype=torch.float64'):
        csr_matmul(a, a_t, x.double())
    with pytest.raises(ValueError, match='build both with the same dtype'):
        csr_matmul(a, to_torch_csr_tensor(index.flip(0), value.double(), size=(6, 4)), x)
