"""Generates one Python function per op of the library from the C ABI's op schemas
(loom_op_count / loom_op_name / loom_op_schema), at import time.

A generated function takes the op's inputs positionally by their schema names (an optional
trailing input defaults to None; a variadic op takes one list), and its attributes as keyword
arguments with the library's defaults shown in the signature; attributes the caller does not
give are left out of the call, so that the library applies its own defaults. Attribute values
are checked against the schema's types (TypeError naming the op and the attribute).
"""
import ctypes
import inspect
import json
import keyword
import numbers

from . import _core, _ffi
from ._core import Tensor, np

_ATTR_TYPES = ("int", "float", "bool", "string", "int list", "float list", "dtype")


def op_names():
    count = ctypes.c_int32()
    _ffi.check(_ffi.F.loom_op_count(ctypes.byref(count)), "loom.ops (loom_op_count)")
    return [_ffi.read_string(_ffi.F.loom_op_name, i, where="loom.ops (loom_op_name)", size=64)
            for i in range(count.value)]


def op_schema(name):
    """The schema of op `name` as a dict (the JSON of loom_op_schema)."""
    if not isinstance(name, str):
        raise TypeError(f"loom.ops.schema: name must be a string, got {type(name).__name__}")
    text = _ffi.read_sized_string(_ffi.F.loom_op_schema, name.encode(), where="loom.ops.schema")
    return json.loads(text)


class _Default:
    """The default of an attribute in a generated signature: shows the library's default and
    means "not given" (the library applies its default)."""

    __slots__ = ("value", "text")

    def __init__(self, value, text=None):
        self.value = value
        self.text = text

    def __repr__(self):
        return self.text if self.text is not None else repr(self.value)


_UNSET = _Default(None, "None")


def _py_name(name, taken):
    out = name
    if keyword.iskeyword(out) or out in taken:
        out += "_"
    taken.add(out)
    return out


class OpSpec:
    """What a generated function needs to call its op."""

    __slots__ = ("name", "bname", "where", "inputs", "input_codes", "min_inputs", "max_inputs", "variadic_inputs",
                 "attrs", "n_outputs", "variadic_outputs", "schema")

    def __init__(self, schema):
        self.schema = schema
        self.name = schema["name"]
        self.bname = self.name.encode()
        self.where = f"loom.ops.{self.name}"
        self.inputs = [i["name"] for i in schema["inputs"]]
        self.input_codes = [tuple(_core._ALIASES[d] for d in i["dtypes"]) for i in schema["inputs"]]
        self.min_inputs = schema["min_inputs"]
        self.max_inputs = schema["max_inputs"]
        self.variadic_inputs = self.max_inputs == -1
        self.attrs = [(a["name"], a["type"], a["required"]) for a in schema["attrs"]]
        self.n_outputs = len(schema["outputs"])
        self.variadic_outputs = bool(schema["variadic_outputs"])


def _check_attr(spec, name, kind, value):
    """The attribute's value for make_attrs, or TypeError/ValueError naming the op and attribute."""
    where = spec.where

    def bad(expected):
        return TypeError(f"{where}: attribute '{name}' must be {expected}, got {type(value).__name__} {value!r:.40}")

    if kind == "int":
        if not _core._is_int(value):
            raise bad("an int")
        value = int(value)
        if not -(1 << 63) <= value < (1 << 63):
            raise ValueError(f"{where}: attribute '{name}' = {value} is out of the range of int64")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad("a float")
        return float(value)
    if kind == "bool":
        if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
            return bool(value)
        raise bad("a bool")
    if kind == "string":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "int list":
        if _core._is_int(value):
            return [int(value)]
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise bad("a list of ints")
        try:
            return _core._int_list(value, where, f"attribute '{name}'")
        except TypeError as e:
            raise TypeError(str(e)) from None
    if kind == "float list":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise bad("a list of floats")
        values = list(value.tolist() if np is not None and isinstance(value, np.ndarray) else value)
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{where}: attribute '{name}'[{i}] must be a float, got {type(v).__name__}")
        return [float(v) for v in values]
    if kind == "dtype":
        try:
            return _core.dtype_code(value, where, f"attribute '{name}'")
        except TypeError:
            raise bad("a dtype (a name such as 'float32', a loom dtype or a NumPy dtype)") from None
    raise TypeError(f"{where}: attribute '{name}' has an unknown type {kind!r}")  # pragma: no cover


def _reference_code(values):
    """The dtype that Python scalars and lists among an op's inputs take: the first tensor's."""
    for v in values:
        if isinstance(v, Tensor):
            return _core._dtype_code_of(v._h)
        if np is not None and isinstance(v, np.ndarray):
            name = v.dtype.name
            if name in _core._NUMPY_CODES:
                return _core._NUMPY_CODES[name]
    return None


def _convert_input(value, ref, allowed, where, arg):
    if isinstance(value, Tensor):
        return value
    if ref is not None and ref in allowed and not (np is not None and isinstance(value, np.ndarray)):
        return _core._operand(value, ref, where, arg)
    t = _core.tensor(value, None, where, arg)
    code = _core._dtype_code_of(t._h)
    if code not in allowed and not (np is not None and isinstance(value, np.ndarray)):
        # a Python value given to an op that needs another dtype: ints to floats (exp(2)), ...
        for target in allowed:
            if target in (_core.F32, _core.F64) and code in (_core.I64_, _core.I32_, _core.BOOL, _core.U8):
                return t.cast(target)
            if target in (_core.I64_, _core.I32_) and code == _core.I64_:
                return t.cast(target)
    return t


def run(spec, inputs, attr_values):
    """Calls the op: `inputs` as given (None for an absent optional input; a list for a
    variadic op), `attr_values` in the schema's order (_Default/None: not given)."""
    where = spec.where
    if spec.variadic_inputs:
        values = inputs[0]
        if isinstance(values, (Tensor,)) or not isinstance(values, (list, tuple)):
            raise TypeError(f"{where}: {spec.inputs[0]} must be a list of tensors, got {type(values).__name__}")
        names = [f"{spec.inputs[0]}[{i}]" for i in range(len(values))]
        codes = [spec.input_codes[0]] * len(values)
        if len(values) < spec.min_inputs:
            raise ValueError(f"{where}: {spec.inputs[0]} needs at least {spec.min_inputs} tensor(s), got {len(values)}")
    else:
        values = list(inputs)
        while values and values[-1] is None and len(values) > spec.min_inputs:
            values.pop()
        names = spec.inputs[:len(values)]
        codes = spec.input_codes[:len(values)]
        for i, v in enumerate(values):
            if v is None:
                raise TypeError(f"{where}: input '{names[i]}' is required (got None)")
    tensors = []
    for i, v in enumerate(values):
        if isinstance(v, Tensor):
            tensors.append(v)
            continue
        # Python values take the dtype of a tensor input of the same dtypes (where's x and y),
        # else of any tensor input whose dtype this input accepts
        same = [w for j, w in enumerate(values) if j != i and codes[j] == codes[i]]
        ref = _reference_code(same)
        if ref is None:
            ref = _reference_code([w for j, w in enumerate(values) if j != i])
        tensors.append(_convert_input(v, ref, codes[i], where, names[i]))
    items = []
    capacity = spec.n_outputs
    for (name, kind, _required), value in zip(spec.attrs, attr_values):
        if value is None or value.__class__ is _Default:
            continue
        checked = _check_attr(spec, name, kind, value)
        items.append((name, kind, checked))
        if spec.variadic_outputs:
            if name == "num":
                capacity = max(capacity, checked)
            elif name == "sizes":
                capacity = max(capacity, len(checked))
    if spec.variadic_outputs and capacity <= 1:
        capacity = 64
    attrs = _core.make_attrs(items, where) if items else None
    outputs = _core.call_op(spec.bname, tensors, attrs, max(1, capacity), where)
    if spec.variadic_outputs:
        return outputs
    if len(outputs) == 1:
        return outputs[0]
    return tuple(outputs)


def _docstring(spec, signature):
    s = spec.schema
    lines = [f"{spec.name}{signature}", "", s.get("doc") or "(no description)", ""]
    if spec.inputs:
        lines.append("Inputs:")
        for i, inp in enumerate(s["inputs"]):
            optional = "" if spec.variadic_inputs or i < spec.min_inputs else " (optional)"
            many = " (a list of tensors)" if spec.variadic_inputs else ""
            lines.append(f"    {inp['name']}{optional}{many}: {', '.join(inp['dtypes'])}")
    if spec.attrs:
        lines.append("Attributes (keyword only):")
        for a in s["attrs"]:
            if a["required"]:
                extra = "required"
            elif "default" in a:
                extra = f"default {json.dumps(a['default'])}"
            else:
                extra = "optional"
            lines.append(f"    {a['name']} ({a['type']}): {extra}")
    outs = ", ".join(s["outputs"])
    lines.append(f"Outputs: {outs}" + (" (a list: as many as the attributes ask)" if spec.variadic_outputs else
                                      " (a tuple)" if spec.n_outputs > 1 else ""))
    lines.append(f"Differentiable: {'yes' if s.get('differentiable') else 'no'}")
    return "\n".join(lines)


def make_function(schema):
    """The Python function of one op schema."""
    spec = OpSpec(schema)
    taken = set()
    params = []
    call_inputs = []
    if spec.variadic_inputs:
        pname = _py_name(spec.inputs[0] if spec.inputs else "values", taken)
        params.append(pname)
        call_inputs.append(pname)
    else:
        for i, name in enumerate(spec.inputs):
            pname = _py_name(name, taken)
            params.append(pname if i < spec.min_inputs else f"{pname}=None")
            call_inputs.append(pname)
    defaults = {}
    attr_params = []
    for idx, a in enumerate(schema["attrs"]):
        pname = _py_name(a["name"], taken)
        if a["required"]:
            attr_params.append(pname)
        elif "default" in a:
            dname = f"_d{idx}"
            value = a["default"]
            if a["type"] == "dtype":
                defaults[dname] = _Default(value, repr(value))
            else:
                defaults[dname] = _Default(value)
            attr_params.append(f"{pname}={dname}")
        else:
            attr_params.append(f"{pname}=_UNSET")
    sig_params = list(params)
    if attr_params:
        sig_params.append("*")
        sig_params.extend(attr_params)
    attr_names = [p.split("=")[0] for p in attr_params]
    inputs_expr = "(" + "".join(f"{p}, " for p in call_inputs) + ")"
    attrs_expr = "(" + "".join(f"{p}, " for p in attr_names) + ")"
    fname = _py_name(spec.name, set()) if keyword.iskeyword(spec.name) else spec.name
    source = (f"def {fname}({', '.join(sig_params)}):\n"
              f"    return _run(_spec, {inputs_expr}, {attrs_expr})\n")
    namespace = {"_run": run, "_spec": spec, "_UNSET": _UNSET, **defaults}
    exec(compile(source, f"<loom.ops.{spec.name}>", "exec"), namespace)  # noqa: S102 - generated from the schema
    fn = namespace[fname]
    fn.__doc__ = _docstring(spec, str(inspect.signature(fn)))
    fn.__module__ = "loom.ops"
    fn.__qualname__ = fname
    fn.schema = schema
    return fn


def generate():
    """{python name: function} for every op of the library."""
    functions = {}
    for name in op_names():
        fn = make_function(op_schema(name))
        functions[fn.__name__] = fn
    return functions
