# Prints the reference values of tests/ir/conv_pool_pytorch_test.cpp: PyTorch's conv2d and
# max_pool2d (float64), their outputs and the gradients of sum(out * g), on inputs given by
# closed formulas that the C++ test evaluates the same way.
import torch

torch.set_default_dtype(torch.float64)

def seq(n, a, m, c, d):
    return torch.tensor([((i * a) % m - c) / d for i in range(n)])

def show(name, t):
    vals = ", ".join(repr(float(v)) for v in t.reshape(-1))
    print(f"// {name} {list(t.shape)}")
    print(f"const std::vector<double> {name} = {{{vals}}};")

# conv2d: x [2, 4, 5, 6], w [6, 2, 3, 2], groups 2, stride (2, 1), padding (1, 2), dilation (1, 2)
x = seq(2 * 4 * 5 * 6, 37, 23, 11, 8).reshape(2, 4, 5, 6).requires_grad_()
w = seq(6 * 2 * 3 * 2, 29, 17, 8, 4).reshape(6, 2, 3, 2).requires_grad_()
y = torch.nn.functional.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
g = seq(y.numel(), 13, 11, 5, 2).reshape(y.shape)
(y * g).sum().backward()
show("kConvY", y.detach())
show("kConvDx", x.grad)
show("kConvDw", w.grad)

# max_pool2d: x [2, 3, 5, 4] with many ties, kernel 3, stride 2, padding 1 (overlapping windows)
p = seq(2 * 3 * 5 * 4, 37, 7, 3, 2).reshape(2, 3, 5, 4).requires_grad_()
z = torch.nn.functional.max_pool2d(p, kernel_size=3, stride=2, padding=1)
gz = seq(z.numel(), 13, 11, 5, 2).reshape(z.shape)
(z * gz).sum().backward()
show("kPoolY", z.detach())
show("kPoolDx", p.grad)
