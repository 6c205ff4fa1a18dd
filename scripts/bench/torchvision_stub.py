"""torchvision_stub.py — installs a stand-in `torchvision`/`PIL` (Debian's torch has no matching torchvision)
so that timm imports. Only timm's data/feature helpers touch it; PatchEmbed/Attention/Mlp (all DiT uses) do not.
Only timm's data/feature-extraction helpers touch it; PatchEmbed/Attention/Mlp do not."""
import sys, types, importlib.abc, importlib.machinery
from unittest import mock

class _Mod(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        m = mock.MagicMock(name=f'{self.__name__}.{name}')
        setattr(self, name, m)
        return m

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split('.')[0] in STUBBED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None
    def create_module(self, spec):
        m = _Mod(spec.name); m.__path__ = []; m.__version__ = '10.0.0'; return m
    def exec_module(self, module):
        pass

STUBBED = {'torchvision', 'PIL'}
sys.meta_path.insert(0, _Finder())
