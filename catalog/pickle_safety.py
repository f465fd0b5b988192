"""Whether a pickle could run code when loaded, decided without loading it.

A pickle runs code only through the objects it imports by name (GLOBAL, STACK_GLOBAL, INST) and then
calls (REDUCE, NEWOBJ, OBJ) or builds (BUILD). ``scan`` walks the opcodes with a small symbolic
stack and accepts a pickle only when every imported name is on ``ALLOWED_GLOBALS`` — the globals that
tensor and array checkpoints need, the same family as ``torch.load(weights_only=True)``'s safe set —
and every call or build goes through such a name. Anything else (an unknown global, a name computed at
load time, the copyreg extension registry, a call of something that is not an allowed global) is
refused with what it was. The file is never unpickled.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
from collections.abc import Callable
from dataclasses import dataclass, field

# torch.load(weights_only=True)'s allow-list in torch 2.13 (torch/_weights_only_unpickler.py,
# _get_allowed_globals), written out so that the hub does not need torch installed.
_TORCH_TYPES = [
    "BFloat16",
    "Bool",
    "Byte",
    "Char",
    "ComplexDouble",
    "ComplexFloat",
    "Double",
    "Float",
    "Half",
    "Int",
    "Long",
    "Short",
]
_TORCH_DTYPES = [
    "bfloat16",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "bits8",
    "bool",
    "complex128",
    "complex32",
    "complex64",
    "float16",
    "float32",
    "float4_e2m1fn_x2",
    "float64",
    "float8_e4m3fn",
    "float8_e4m3fnuz",
    "float8_e5m2",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "int16",
    "int32",
    "int64",
    "int8",
    "qint32",
    "qint8",
    "quint2x4",
    "quint4x2",
    "quint8",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    *(f"int{n}" for n in range(1, 8)),
    *(f"uint{n}" for n in range(1, 8)),
    "per_channel_affine",
    "per_channel_affine_float_qparams",
    "per_channel_symmetric",
    "per_tensor_affine",
    "per_tensor_symmetric",
]
_TORCH_REBUILD = [
    "_rebuild_device_tensor_from_cpu_tensor",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_nested_tensor",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_qtensor",
    "_rebuild_sparse_tensor",
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_wrapper_subclass",
]
ALLOWED_GLOBALS: frozenset[str] = frozenset(
    {
        "collections.OrderedDict",
        "collections.Counter",
        "_codecs.encode",
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.complex",
        "builtins.slice",
        "builtins.range",
        "torch.Size",
        "torch.Tensor",
        "torch.device",
        "torch.nn.parameter.Parameter",
        "torch.serialization._get_layout",
        "torch._tensor._rebuild_from_type_v2",
        "torch.storage.TypedStorage",
        "torch.storage.UntypedStorage",
        *(f"torch._utils.{name}" for name in _TORCH_REBUILD),
        *(f"torch.{name}" for name in _TORCH_DTYPES),
        *(
            f"torch{prefix}.{t}{suffix}"
            for t in _TORCH_TYPES
            for prefix in ("", ".cuda")
            for suffix in ("Storage", "Tensor")
            if not (suffix == "Tensor" and t.startswith("Complex"))
        ),
        *(f"torch.{q}Storage" for q in ("QInt32", "QInt8", "QUInt2x4", "QUInt4x2", "QUInt8")),
        *(
            f"torch{prefix}.sparse.{t}Tensor"
            for prefix in ("", ".cuda")
            for t in ("BFloat16", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")
        ),
        # numpy arrays, dtypes and scalars (numpy 1.x names and numpy 2.x names)
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray._reconstruct",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",  # protocol 5 arrays
    }
)
# The first pickle of a legacy (non-zip) torch.save file holds this number; four more pickles follow.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
BIG_ARGUMENT = 1 << 20  # bytes arguments past this are skipped, not held in memory
MAX_TEXT_ARGUMENT = 1 << 16  # a GLOBAL or UNICODE line longer than this is refused
MAX_NAME = 256  # longer strings cannot be module or global names: they are not tracked
MAX_STACK = MAX_MEMO = 1_000_000  # real checkpoints stay far below (batches of 1000, one memo entry per name)

IN_MEMORY = 64 << 20  # pickles up to this size are scanned from memory (faster than through _Reader)

_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"}
# Every other opcode's stack effect: (pops down to a mark?, items popped below it or in all, items pushed)
_EFFECTS = {
    op.name: (
        pickletools.markobject in op.stack_before,
        op.stack_before.index(pickletools.markobject)
        if pickletools.markobject in op.stack_before
        else len(op.stack_before),
        len(op.stack_after),
    )
    for op in pickletools.opcodes
}


class UnsafePickle(ValueError):
    """The pickle is not shown to be safe; the message says why."""


@dataclass(frozen=True, eq=False)  # compared by identity: the stack checks look for the one mark
class _Value:
    kind: str  # "str", "global", "mark" or "other" (what the scan needs to tell apart)
    text: str = ""


_MARK, _OTHER = _Value("mark"), _Value("other")


@dataclass
class Scan:
    imports: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    first_value: object = None  # the first value pushed, to recognise torch's legacy magic number


class _Skipped(bytes):
    """Stands in for a large bytes argument that was read past, not kept."""

    def __new__(cls, length: int):
        obj = super().__new__(cls)
        obj.length = length
        return obj

    def __len__(self) -> int:
        return self.length


class _Reader:
    """The file as pickletools reads it, with bounded memory: long lines are cut (and then refused by
    pickletools), big byte strings are streamed past."""

    def __init__(self, raw, tick: Callable[[], None]):
        self.raw, self.tick = raw, tick

    def readline(self, limit: int = -1) -> bytes:
        return self.raw.readline(MAX_TEXT_ARGUMENT)

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            raise UnsafePickle("the pickle asks to read to the end of the file")
        if n <= BIG_ARGUMENT:
            return self.raw.read(n)
        seen = 0
        while seen < n and (chunk := self.raw.read(min(BIG_ARGUMENT, n - seen))):
            seen += len(chunk)
            self.tick()
        return _Skipped(seen)


class _Machine:
    def __init__(self, scan: Scan, where: str):
        self.scan, self.where = scan, where
        self.stack: list[_Value] = []
        self.memo: dict[int, _Value] = {}
        self.memo_style: str | None = None
        self.memoized = 0  # MEMOIZE numbers entries by how many there are
        self.proto = 0
        self.handlers = {
            **{op: self.on_string for op in _STRING_OPS},
            "GLOBAL": self.on_global,
            "STACK_GLOBAL": self.on_stack_global,
            "INST": self.on_inst,
            "OBJ": self.on_obj,
            "REDUCE": self.on_call,
            "NEWOBJ": self.on_call,
            "NEWOBJ_EX": self.on_call,
            "BUILD": self.on_build,
            "EXT1": self.on_ext,
            "EXT2": self.on_ext,
            "EXT4": self.on_ext,
            "PUT": self.on_put,
            "BINPUT": self.on_put,
            "LONG_BINPUT": self.on_put,
            "MEMOIZE": self.on_put,
            "GET": self.on_get,
            "BINGET": self.on_get,
            "LONG_BINGET": self.on_get,
            "DUP": self.on_dup,
            "POP": self.on_pop,
            "MARK": self.on_mark,
            "PROTO": self.on_proto,
            "FRAME": self.on_frame,
        }

    def fail(self, what: str):
        raise UnsafePickle(f"{self.where}: {what}")

    def pop(self, n: int = 1) -> list[_Value]:
        stack = self.stack
        items = stack[-n:]
        if len(items) < n or _MARK in items:
            self.fail("the pickle is malformed (stack underflow)")
        del stack[-n:]
        return items

    def pop_mark(self) -> list[_Value]:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is _MARK:
                items, self.stack[i:] = self.stack[i + 1 :], []
                return items
        self.fail("the pickle is malformed (no mark)")

    def importing(self, module: str, name: str) -> _Value:
        if self.proto < 3:  # what pickle's Unpickler(fix_imports=True) does with Python 2 names
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        full = f"{module}.{name}"
        self.scan.imports.add(full)
        if full not in ALLOWED_GLOBALS or "." in name:  # a dotted name walks attributes at load time
            self.scan.refused.add(full)
        return _Value("global", full)

    def calling(self, target: _Value, how: str) -> _Value:
        if target.kind != "global":
            self.fail(f"{how} of something that is not an allowed global (a name computed while loading)")
        return _OTHER

    def step(self, name: str, arg) -> None:
        handler = self.handlers.get(name)
        if handler is not None:
            handler(name, arg)
            return
        marked, below, pushed = _EFFECTS[name]
        if marked:
            self.pop_mark()
        if below:
            self.pop(below)
        if pushed:
            self.stack.append(_OTHER)

    def on_string(self, name: str, arg) -> None:
        self.stack.append(_Value("str", arg) if isinstance(arg, str) and len(arg) <= MAX_NAME else _OTHER)

    def on_global(self, name: str, arg) -> None:
        self.stack.append(self.importing(*arg.split(" ", 1)))

    def on_stack_global(self, name: str, arg) -> None:
        module, attr = self.pop(2)
        if module.kind != "str" or attr.kind != "str":
            self.fail("STACK_GLOBAL with a module or name that is not a constant string")
        self.stack.append(self.importing(module.text, attr.text))

    def on_inst(self, name: str, arg) -> None:
        self.pop_mark()
        self.stack.append(self.calling(self.importing(*arg.split(" ", 1)), "INST"))

    def on_obj(self, name: str, arg) -> None:
        items = self.pop_mark()
        if not items:
            self.fail("the pickle is malformed (OBJ without a class)")
        self.stack.append(self.calling(items[0], "OBJ"))

    def on_call(self, name: str, arg) -> None:  # REDUCE, NEWOBJ (callable, args), NEWOBJ_EX (cls, args, kwargs)
        target = self.pop(3 if name == "NEWOBJ_EX" else 2)[0]
        self.stack.append(self.calling(target, name))

    def on_build(self, name: str, arg) -> None:
        target = self.pop(2)[0]
        if target.kind == "global":
            self.fail(f"BUILD sets attributes of {target.text} itself")
        self.stack.append(target)

    def on_ext(self, name: str, arg) -> None:
        self.fail(f"{name} imports through the copyreg extension registry")

    def on_put(self, name: str, arg) -> None:
        style = "MEMOIZE" if name == "MEMOIZE" else "PUT"
        if self.memo_style not in (None, style):
            self.fail("the pickle mixes PUT and MEMOIZE, which no pickler does")
        self.memo_style = style
        self.remember(arg if style == "PUT" else self.memoized, self.top())
        self.memoized += 1

    def on_get(self, name: str, arg) -> None:
        self.stack.append(self.memo.get(arg, _OTHER))

    def on_dup(self, name: str, arg) -> None:
        self.stack.append(self.top())

    def on_pop(self, name: str, arg) -> None:
        self.stack.pop() if self.stack and self.stack[-1] is _MARK else self.pop(1)

    def on_mark(self, name: str, arg) -> None:
        self.stack.append(_MARK)

    def on_proto(self, name: str, arg) -> None:
        self.proto = arg

    def on_frame(self, name: str, arg) -> None:
        pass

    def remember(self, index: int, value: _Value) -> None:
        if value.kind == "other":  # only names matter; a load with a bad index fails, harmlessly
            self.memo.pop(index, None)
            return
        if len(self.memo) >= MAX_MEMO:
            self.fail(f"the pickle remembers more than {MAX_MEMO} names")
        self.memo[index] = value

    def top(self) -> _Value:
        if not self.stack or self.stack[-1] is _MARK:
            self.fail("the pickle is malformed (stack underflow)")
        return self.stack[-1]


def scan(handle, where: str, tick: Callable[[], None] = lambda: None) -> Scan:
    """Walk one pickle from the handle's position to its STOP opcode (the handle is left just after it).
    A BytesIO (a pickle small enough to hold, see IN_MEMORY) is read directly; any other handle through
    _Reader, which bounds the memory that long arguments take."""
    result = Scan()
    machine = _Machine(result, where)
    step, pushed = machine.step, False
    ops = pickletools.genops(handle if isinstance(handle, io.BytesIO) else _Reader(handle, tick))
    try:
        for count, (op, arg, _) in enumerate(ops):
            if not pushed and op.name not in ("PROTO", "FRAME"):
                result.first_value, pushed = arg, True
            if count % 1024 == 0:
                tick()
                if len(machine.stack) > MAX_STACK:
                    raise UnsafePickle(f"{where}: the pickle keeps more than {MAX_STACK} values on its stack")
            step(op.name, arg)
    except UnsafePickle:
        raise
    except (ValueError, TypeError, EOFError, UnicodeDecodeError) as exc:  # pickletools' ways of saying "malformed"
        raise UnsafePickle(f"{where}: not a readable pickle ({exc})") from None
    if len(machine.stack) != 0:
        raise UnsafePickle(f"{where}: the pickle is malformed (values left on the stack)")
    return result
