"""The two architectures of the freeze study, as `quanta profile --model tools.freeze_nets:NAME` factories
(each builds the network with `n_out` outputs):

- `paper_cnn`: the paper's CNN at the `cpu` width (the network of results/cifar-cpu's source);
- `resnet18_32`: a torchvision ResNet-18 adapted to 32-px images: a 3x3 stride-2 stem and no max-pool, so its first block
  sees 16x16 maps (torchvision's 7x7 stem and max-pool would leave 8x8; the usual stride-1 CIFAR stem costs 4x the compute,
  more than this study's CPU budget)."""
from torch import nn
import torchvision
from quanta_nb.models import QuantaCNN

def paper_cnn(n_out:int) -> nn.Module: return QuantaCNN(n_out, 'cpu')

def resnet18_32(n_out:int) -> nn.Module:
    m = torchvision.models.resnet18(num_classes=n_out)
    m.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
    m.maxpool = nn.Identity()
    return m
