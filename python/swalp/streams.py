"""The random-stream layout of torch/include/swalp/torch/streams.h, mirrored for Python.

Every stochastic quantizer keys Philox with a seed and draws one 64-bit stream id:
quantity (bits 63..60), pass (59..58), index (57..42), counter (41..0). Two calls that differ in
any field never share random bits.
"""

GRAD, ACCUMULATOR, WEIGHT, MOMENTUM, ACTIVATION, ERROR, AVERAGE = range(7)
SECOND_MOMENT = 7  # Adam's exp_avg_sq (the C++ SGD has no such buffer)
TRAIN, STARTUP, EVALUATION, BATCHNORM_UPDATE = range(4)

_FIELDS = (("quantity", 60, 4), ("pass", 58, 2), ("index", 42, 16), ("counter", 0, 42))


def compose_stream(quantity, pass_, index, counter):
    """Packs the four fields into a stream id; ValueError names a field out of range."""
    stream = 0
    for (name, shift, bits), value in zip(_FIELDS, (quantity, pass_, index, counter)):
        if not 0 <= value < (1 << bits):
            raise ValueError(f"random stream field {name} = {value} is out of range [0, {1 << bits})")
        stream |= value << shift
    return stream
