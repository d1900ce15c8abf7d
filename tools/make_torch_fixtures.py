#!/usr/bin/env python3
"""Writes the PyTorch checkpoints that test/io/torch_checkpoint.test.ts and hub.test.ts read.

Committed outputs (test/fixtures/torch/), so the tests need no Python:
  state_dict.bin      an OrderedDict from torch.save: float32, float16, bfloat16, int64 scalar, bool,
                      a Parameter, a transposed view and a slice with a storage offset, _metadata
  state_dict.json     what torch saved there: dtype, shape and values (flattened, row-major)
  deflated.bin        state_dict.bin with its zip entries deflate-compressed
  nested.bin          {'epoch': 3, 'state_dict': {'module.a': ..., 'module.b': ...}}
  miewid_prefixed.bin a tiny miewid-shaped state dict whose keys all start with 'model.'
  evil_global.bin     a torch-shaped zip whose data.pkl is GLOBAL 'os system' + REDUCE
  evil_stack.bin      the same with STACK_GLOBAL 'builtins eval'

Run: /usr/bin/python3 tools/make_torch_fixtures.py   (Debian python3-torch; written with torch 1.13)
"""
import collections
import json
import os
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')
# The command the malicious pickles would run; the tests check it never appears.
PWNED = '/tmp/finprint-torch-checkpoint-pwned'


def save(obj, name):
    path = os.path.join(OUT, name)
    torch.save(obj, path)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    # A real module's state dict carries _metadata (pickled with BUILD) and int64 buffers.
    sd = torch.nn.BatchNorm1d(3).state_dict()
    sd['bn_like'] = torch.randn(3)
    sd['a'] = torch.randn(2, 3)
    sd['half'] = torch.randn(5).half()
    sd['bf16'] = torch.randn(4).bfloat16()
    sd['scalar'] = torch.tensor(7, dtype=torch.int64)
    sd['mask'] = torch.tensor([True, False, True])
    sd['param'] = torch.nn.Parameter(torch.randn(2, 2))
    base = torch.randn(4, 3)
    sd['transposed'] = base.t()  # strides (1, 3): not contiguous
    sd['sliced'] = base[1:3]  # shares base's storage from element 3 on
    sd['empty'] = torch.zeros(0, 4)
    save(sd, 'state_dict.bin')
    expected = collections.OrderedDict()
    for k, v in sd.items():
        v = v.detach()
        expected[k] = {
            'dtype': str(v.dtype).replace('torch.', ''),
            'shape': list(v.shape),
            'values': v.float().flatten().tolist() if v.is_floating_point() else v.flatten().tolist(),
        }
    with open(os.path.join(OUT, 'state_dict.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')

    # The same archive with deflated entries (torch never writes this; zip tools re-packing a file do).
    with zipfile.ZipFile(os.path.join(OUT, 'state_dict.bin')) as src, zipfile.ZipFile(os.path.join(OUT, 'deflated.bin'), 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    save({'epoch': 3, 'state_dict': collections.OrderedDict([('module.a', torch.arange(4.0)), ('module.b', torch.ones(2, dtype=torch.float16))])}, 'nested.bin')

    miewid = collections.OrderedDict()
    miewid['model.backbone.conv_stem.weight'] = torch.randn(4, 3, 3, 3)
    miewid['model.backbone.bn1.weight'] = torch.ones(4)
    miewid['model.backbone.bn1.bias'] = torch.zeros(4)
    miewid['model.backbone.bn1.num_batches_tracked'] = torch.tensor(10)
    miewid['model.pooling.p'] = torch.full((1,), 3.0)
    miewid['model.bn.weight'] = torch.randn(4)
    miewid['model.bn.bias'] = torch.randn(4)
    save(miewid, 'miewid_prefixed.bin')

    command = f'touch {PWNED}'.encode()
    arg = b'X' + struct.pack('<I', len(command)) + command
    # GLOBAL 'os system'; the argument as a 1-tuple; REDUCE calls it; STOP.
    evil_global = b'\x80\x02cos\nsystem\n' + arg + b'\x85R.'
    # The protocol-4 way: module and name as strings on the stack, then STACK_GLOBAL.
    code = f"__import__('os').system('{' '.join(['touch', PWNED])}')".encode()
    evil_stack = (b'\x80\x04\x8c\x08builtins\x8c\x04eval\x93' + b'X' + struct.pack('<I', len(code)) + code + b'\x85R.')
    for name, pickle in (('evil_global.bin', evil_global), ('evil_stack.bin', evil_stack)):
        with zipfile.ZipFile(os.path.join(OUT, name), 'w', zipfile.ZIP_STORED) as z:
            root = name[:-4]
            z.writestr(f'{root}/data.pkl', pickle)
            z.writestr(f'{root}/byteorder', 'little')
            z.writestr(f'{root}/version', '3\n')


if __name__ == '__main__':
    main()
