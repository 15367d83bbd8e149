"""The answers of the similarity class (make_similarity.py): exercise number -> the code a
student wrote in its answer cell, per student, per assignment."""

from __future__ import annotations

# -- forward-pass -------------------------------------------------------------------------------
PAIR_A = {
    1: '''def weighted_total(inputs, w, b):
    """Multiply, add up, add the bias."""
    products = inputs * w
    total = torch.sum(products)
    return total + b


def neuron(inputs, w, b):
    # the activation of the weighted total
    return activation(weighted_total(inputs, w, b))


y = neuron(features, weights, bias)
print("output of one neuron:", y)''',
    2: """def as_column(t):
    n = t.shape[1]
    return t.reshape(n, 1)


def neuron_mm(inputs, w, b):
    column = as_column(w)
    return activation(torch.mm(inputs, column) + b)


y_mm = neuron_mm(features, weights, bias)
assert y_mm.shape == (features.shape[0], 1)
print("with a matrix product:", y_mm)""",
    3: '''def dense(inputs, w, b):
    """One layer: a matrix product, the biases, the activation."""
    return activation(torch.mm(inputs, w) + b)


def network(inputs, w1, b1, w2, b2):
    hidden = dense(inputs, w1, b1)
    return dense(hidden, w2, b2)


output = network(features, W1, B1, W2, B2)
print("network output:", output, output.shape)''',
}
PAIR_B = {  # every name changed, the functions in the other order, other comments and strings
    1: '''def single_unit(x, weight_row, the_bias):
    # squash what the sum gives
    return activation(summed(x, weight_row, the_bias))


def summed(x, weight_row, the_bias):
    """elementwise product, then the sum, then + bias"""
    prods = x * weight_row
    s = torch.sum(prods)
    return s + the_bias


y = single_unit(features, weights, bias)
print("neuron says", y)''',
    2: """def mm_unit(x, weight_row, the_bias):
    col = to_col(weight_row)
    return activation(torch.mm(x, col) + the_bias)


def to_col(tensor):
    k = tensor.shape[1]
    return tensor.reshape(k, 1)


answer2 = mm_unit(features, weights, bias)
assert answer2.shape == (features.shape[0], 1)
print("matrix version", answer2)""",
    3: """def net(x, first_w, first_b, second_w, second_b):
    h = layer(x, first_w, first_b)
    return layer(h, second_w, second_b)


def layer(x, weight, b):
    # linear map plus bias through the sigmoid
    return activation(torch.mm(x, weight) + b)


output = net(features, W1, B1, W2, B2)
print("the net gives", output, output.shape)""",
}
TRIO = {
    1: """total = 0
for i in range(features.shape[1]):
    total = total + features[0, i] * weights[0, i]
total = total + bias
y = activation(total)
print(y)""",
    2: """n_features = weights.shape[1]
weights_column = weights.view(n_features, 1)
linear_part = torch.mm(features, weights_column)
linear_part = linear_part + bias
y_mm = activation(linear_part)
print(y_mm)""",
    3: """hidden_in = torch.mm(features, W1)
hidden_in = hidden_in + B1
hidden_out = activation(hidden_in)
output_in = torch.mm(hidden_out, W2)
output_in = output_in + B2
output = activation(output_in)
print(output)""",
}


def renamed(answers: dict[int, str], names: dict[str, str], comment: str = "") -> dict[int, str]:
    out = {}
    for n, code in answers.items():
        for old, new in names.items():
            code = code.replace(old, new)
        out[n] = (comment + "\n" if comment else "") + code
    return out


FP_INDEPENDENT = {
    "independent_one_liners": {
        1: "y = activation(torch.sum(features * weights) + bias)",
        2: "y_mm = activation(torch.mm(features, weights.view(5, 1)) + bias)",
        3: "h = activation(torch.mm(features, W1) + B1)\noutput = activation(torch.mm(h, W2) + B2)",
    },
    "independent_at_operator": {
        1: "y = activation((features * weights).sum() + bias)",
        2: "y_mm = activation(features @ weights.T + bias)",
        3: "output = activation(activation(features @ W1 + B1) @ W2 + B2)",
    },
    "independent_class_based": {
        1: "y = activation(torch.sum(features * weights) + bias)",
        2: """class Neuron:
    def __init__(self, w, b):
        self.w = w.reshape(-1, 1)
        self.b = b

    def __call__(self, x):
        return activation(x @ self.w + self.b)


y_mm = Neuron(weights, bias)(features)""",
        3: """class Layer:
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, x):
        return activation(x.matmul(self.w) + self.b)


layers = [Layer(W1, B1), Layer(W2, B2)]
x = features
for layer in layers:
    x = layer.forward(x)
output = x""",
    },
    "independent_lambdas": {
        1: "weighted = lambda f, w: (f * w).sum()\ny = activation(weighted(features, weights) + bias)",
        2: "col = lambda t: t.view(-1, 1)\ny_mm = activation(features.mm(col(weights)) + bias)",
        3: "step = lambda x, w, b: activation(x.mm(w) + b)\noutput = step(step(features, W1, B1), W2, B2)",
    },
    "independent_einsum": {
        1: "y = activation(torch.einsum('ij,ij->', features, weights).reshape(1, 1) + bias)",
        2: "y_mm = activation(torch.einsum('ij,kj->ik', features, weights) + bias)",
        3: """hidden = activation(torch.einsum("bi,ih->bh", features, W1) + B1)
output = activation(torch.einsum("bh,ho->bo", hidden, W2) + B2)
print(hidden.shape, output.shape)""",
    },
    "independent_functional_linear": {
        1: "import torch.nn.functional as F\ny = activation(F.linear(features, weights, bias.flatten()))",
        2: "y_mm = activation(torch.nn.functional.linear(features, weights) + bias)",
        3: """from torch.nn.functional import linear
output = activation(linear(activation(linear(features, W1.t(), B1.squeeze(0))), W2.t(), B2.squeeze(0)))""",
    },
    "independent_verbose_prints": {
        1: """product = features * weights
print("products", product, product.shape)
s = product.sum()
print("sum", s)
y = activation(s + bias)
print("y =", y)""",
        2: """w_col = weights.reshape(weights.numel(), 1)
print("column shape", w_col.shape)
z = torch.mm(features, w_col) + bias
print("z", z)
y_mm = activation(z)
y_mm""",
        3: """print("shapes", features.shape, W1.shape, W2.shape)
z1 = features.mm(W1) + B1
a1 = activation(z1)
print("hidden activations", a1)
z2 = a1.mm(W2) + B2
output = activation(z2)
print("output", output)""",
    },
    "independent_matmul_keepdim": {
        1: "y = activation((features * weights).sum(dim=1, keepdim=True) + bias)",
        2: "y_mm = activation(torch.matmul(features, torch.transpose(weights, 0, 1)) + bias)",
        3: "h = activation(torch.matmul(features, W1).add(B1))\noutput = activation(torch.matmul(h, W2).add(B2))",
    },
    "independent_in_place_steps": {
        1: "acc = torch.zeros(1, 1)\nacc += torch.sum(features * weights)\nacc += bias\ny = activation(acc)",
        2: "y_mm = bias.clone()\ny_mm = y_mm + features.mm(weights.flatten().unsqueeze(1))\ny_mm = activation(y_mm)",
        3: """sizes = [(W1, B1), (W2, B2)]
signal = features
for W, B in sizes:
    signal = activation(signal.mm(W).add_(B))
output = signal""",
    },
    "independent_dict_of_layers": {
        1: "y = activation(features.mul(weights).sum().view(1, 1).add(bias))",
        2: "y_mm = activation(torch.addmm(bias, features, weights.view(5, 1)))",
        3: """params = {"hidden": (W1, B1), "out": (W2, B2)}
values = {"input": features}
values["hidden"] = activation(torch.addmm(params["hidden"][1], values["input"], params["hidden"][0]))
values["out"] = activation(torch.addmm(params["out"][1], values["hidden"], params["out"][0]))
output = values["out"]""",
    },
}

FORWARD_PASS = {
    "pair_a_helper_functions": PAIR_A,
    "pair_b_renamed_reordered_recommented": PAIR_B,
    "trio_1_stepwise": TRIO,
    "trio_2_stepwise_renamed": renamed(
        TRIO,
        {
            "total": "acc",
            "linear_part": "lin",
            "weights_column": "wcol",
            "hidden_in": "z_h",
            "hidden_out": "a_h",
            "output_in": "z_o",
        },
        "# worked through step by step",
    ),
    "trio_3_stepwise_recommented": renamed(TRIO, {"n_features": "count", "hidden_out": "hid"}, "# my answer"),
    **FP_INDEPENDENT,
}

# -- digits -------------------------------------------------------------------------------------
TAILS = {
    ("digits", 1): 'train_set = DigitsDataset("data/digits-train.pt")\nfirst_image, first_label = train_set[0]\n'
    "n_train = len(train_set)\nn_train",
    ("digits", 2): "images, labels = next(iter(train_loader))\nimages.shape, labels.shape",
    ("digits", 3): "model = DigitNet()\nmodel(images).shape",
}
D_PAIR_A = {
    1: '''class DigitsDataset(Dataset):
    """Everything is converted once, when the file is read."""

    def __init__(self, path):
        raw = torch.load(path, weights_only=True)
        pictures = raw["images"].float() / 255.0
        self.inputs = pictures.view(pictures.shape[0], -1)
        self.targets = raw["labels"]
        assert len(self.inputs) == len(self.targets)

    def __len__(self):
        return self.targets.shape[0]

    def __getitem__(self, i):
        x = self.inputs[i]
        t = self.targets[i]
        return x, t''',
    2: "train_loader = DataLoader(train_set, batch_size=64, shuffle=True)",
    3: '''class DigitNet(nn.Module):
    """Two linear layers with a ReLU between them."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 32)
        self.activation = nn.ReLU()
        self.scores = nn.Linear(32, 10)

    def forward(self, x):
        h = self.hidden(x)
        h = self.activation(h)
        out = self.scores(h)
        return out''',
}
D_PAIR_B = {
    2: "train_loader = DataLoader(train_set, shuffle=True, batch_size=64)",
    3: """class DigitNet(nn.Module):
    # pixels -> 32 -> 10

    def forward(self, batch):
        z = self.layer_one(batch)
        z = self.nonlin(z)
        result = self.layer_two(z)
        return result

    def __init__(self):
        super().__init__()
        self.layer_one = nn.Linear(64, 32)
        self.nonlin = nn.ReLU()
        self.layer_two = nn.Linear(32, 10)""",
    1: """class DigitsDataset(Dataset):
    # load once, scale once

    def __getitem__(self, idx):
        img = self.xs[idx]
        lab = self.ys[idx]
        return img, lab

    def __init__(self, path):
        blob = torch.load(path, weights_only=True)
        imgs = blob["images"].float() / 255.0
        self.xs = imgs.view(imgs.shape[0], -1)
        self.ys = blob["labels"]
        assert len(self.xs) == len(self.ys)

    def __len__(self):
        return self.ys.shape[0]""",
}
D_TRIO = {
    1: """class DigitsDataset(Dataset):
    def __init__(self, path):
        self.data = torch.load(path, weights_only=True)
        self.images = self.data["images"]
        self.labels = self.data["labels"]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i]
        image = image.flatten()
        image = image.to(torch.float32)
        image = image / 255
        label = self.labels[i]
        return (image, label)""",
    2: "train_loader = DataLoader(dataset=train_set, batch_size=64, shuffle=True, drop_last=False)",
    3: """class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential()
        self.model.add_module("fc1", nn.Linear(64, 32))
        self.model.add_module("relu", nn.ReLU())
        self.model.add_module("fc2", nn.Linear(32, 10))

    def forward(self, x):
        scores = self.model(x)
        return scores""",
}
D_DATASETS = [
    """    def __init__(self, path):
        self.d = torch.load(path, weights_only=True)

    def __len__(self):
        return self.d["labels"].numel()

    def __getitem__(self, i):
        return self.d["images"][i].reshape(64).float().div(255), self.d["labels"][i]""",
    """    def __init__(self, path):
        loaded = torch.load(path, weights_only=True)
        self.examples = [(img.flatten().float() / 255, lab) for img, lab in zip(loaded["images"], loaded["labels"])]

    def __len__(self):
        return len(self.examples)

    def __getitem__(self, i):
        return self.examples[i]""",
    """    def __init__(self, path):
        contents = torch.load(path, weights_only=True)
        self.x = torch.flatten(contents["images"], start_dim=1).type(torch.float32).mul(1 / 255)
        self.y = contents["labels"].clone()

    def __len__(self):
        return self.x.size(0)

    def __getitem__(self, i):
        return self.x[i], self.y[i]""",
    """    SCALE = 255.0

    def __init__(self, path):
        stuff = torch.load(path, weights_only=True)
        self.pix, self.lab = stuff["images"], stuff["labels"]

    def __len__(self):
        n, _, _ = self.pix.shape
        return n

    def __getitem__(self, i):
        flat = torch.reshape(self.pix[i], (-1,))
        return flat.float() / self.SCALE, self.lab[i]""",
    """    def __init__(self, path):
        import os
        assert os.path.exists(path), path
        tensors = torch.load(path, weights_only=True)
        self.images = tensors["images"].to(dtype=torch.float32).div_(255.0).view(-1, 8 * 8)
        self.labels = tensors["labels"]

    def __len__(self):
        return int(self.labels.shape[0])

    def __getitem__(self, index):
        if index < 0 or index >= len(self):
            raise IndexError(index)
        return self.images[index], self.labels[index]""",
    """    def __init__(self, path):
        blob = torch.load(path, weights_only=True)
        self.items = list(zip(blob["images"].unbind(0), blob["labels"].tolist()))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        pic, digit = self.items[i]
        return pic.ravel().float() / 255, torch.tensor(digit)""",
    """    def __init__(self, path):
        d = torch.load(path, weights_only=True)
        imgs = d["images"].numpy().reshape(len(d["images"]), 64) / 255.0
        self.imgs = torch.from_numpy(imgs).float()
        self.lbls = d["labels"]

    def __len__(self):
        return len(self.lbls)

    def __getitem__(self, k):
        return self.imgs[k], self.lbls[k]""",
    """    def __init__(self, path):
        self.path = path
        self._cache = None

    def _load(self):
        if self._cache is None:
            self._cache = torch.load(self.path, weights_only=True)
        return self._cache

    def __len__(self):
        return self._load()["images"].shape[0]

    def __getitem__(self, i):
        data = self._load()
        return (data["images"][i].float() / 255).flatten(), data["labels"][i]""",
    """    def __init__(self, path):
        everything = torch.load(path, weights_only=True)
        self.norm = everything["images"].flatten(1).float()
        self.norm /= self.norm.new_tensor(255.0)
        self.targets = everything["labels"]

    def __len__(self):
        return len(self.norm)

    def __getitem__(self, i):
        return tuple([self.norm[i], self.targets[i]])""",
    """    def __init__(self, path):
        store = torch.load(path, weights_only=True)
        count = store["labels"].shape[0]
        self.flat = torch.empty(count, 64)
        for j in range(count):
            self.flat[j] = store["images"][j].flatten() / 255.0
        self.answers = store["labels"]

    def __len__(self):
        return self.flat.shape[0]

    def __getitem__(self, i):
        return self.flat[i], self.answers[i]""",
]
D_NETS = [
    """    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)""",
    """    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))""",
    """    def __init__(self):
        super(DigitNet, self).__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 32), nn.Linear(32, 10)])

    def forward(self, x):
        x = self.layers[0](x).clamp(min=0)
        return self.layers[1](x)""",
    """    def __init__(self, hidden=32):
        super().__init__()
        self.a = nn.Linear(64, hidden)
        self.b = nn.Linear(hidden, 10)

    def forward(self, x):
        import torch.nn.functional as F
        return self.b(F.relu(self.a(x)))""",
    """    def __init__(self):
        super().__init__()
        sizes = [64, 32, 10]
        self.stack = nn.Sequential(*[m for i in range(2) for m in (nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU())][:-1])

    def forward(self, inputs):
        return self.stack(inputs)""",
    """    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(in_features=64, out_features=32, bias=True)
        self.decide = nn.Linear(in_features=32, out_features=10, bias=True)

    def forward(self, x):
        hidden = torch.maximum(self.encode(x), torch.zeros(1))
        return self.decide(hidden)""",
    """    def __init__(self):
        super().__init__()
        self.body = nn.Sequential()
        for name, module in [("l1", nn.Linear(64, 32)), ("act", nn.ReLU()), ("l2", nn.Linear(32, 10))]:
            self.body.add_module(name, module)

    def forward(self, x):
        out = self.body(x)
        return out""",
    """    def __init__(self):
        super().__init__()
        from collections import OrderedDict
        self.seq = nn.Sequential(OrderedDict(hidden=nn.Linear(64, 32), relu=nn.ReLU(inplace=False), \
out=nn.Linear(32, 10)))

    def forward(self, x):
        for step in self.seq:
            x = step(x)
        return x""",
    """    def __init__(self):
        nn.Module.__init__(self)
        self.weights = nn.ParameterList([nn.Parameter(torch.randn(64, 32) * 0.1), \
nn.Parameter(torch.randn(32, 10) * 0.1)])
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(32)), nn.Parameter(torch.zeros(10))])

    def forward(self, x):
        z = x @ self.weights[0] + self.biases[0]
        z = torch.where(z > 0, z, torch.zeros_like(z))
        return z @ self.weights[1] + self.biases[1]""",
    """    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(8 * 8, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, x):
        logits = self.layers(x)
        assert logits.shape[-1] == 10
        return logits""",
]
D_LOADERS = [
    "DataLoader(train_set, batch_size=64, shuffle=True)",
    "DataLoader(train_set, 64, True)",
    "DataLoader(train_set, shuffle=True, batch_size=64)",
    "DataLoader(dataset=train_set, batch_size=64, shuffle=True)",
]
D_STYLES = [
    "compact",
    "list_of_pairs",
    "flatten_mul",
    "class_constant",
    "defensive_checks",
    "unbind_items",
    "numpy_roundtrip",
    "lazy_loading",
    "in_place_division",
    "loop_filled_tensor",
]


def d_student(i: int) -> dict[int, str]:
    return {
        1: f"class DigitsDataset(Dataset):\n{D_DATASETS[i]}",
        2: f"train_loader = {D_LOADERS[i % len(D_LOADERS)]}",
        3: f"class DigitNet(nn.Module):\n{D_NETS[i]}",
    }


DIGITS = {
    "pair_a_preprocessed_once": D_PAIR_A,
    "pair_b_renamed_reordered_recommented": D_PAIR_B,
    "trio_1_item_by_item": D_TRIO,
    "trio_2_item_by_item_renamed": renamed(D_TRIO, {"self.images": "self.pics", "image": "img", "scores": "s"}),
    "trio_3_item_by_item_recommented": renamed(D_TRIO, {"self.data": "self.raw"}, "# Dataset, loader and network"),
    **{f"independent_{style}": d_student(i) for i, style in enumerate(D_STYLES)},
}
