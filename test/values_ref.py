#!/usr/bin/python3
"""Reference vectors for test/test_values.c, made with Python's decimal,
datetime and struct from Canal's formatting rules (spec §11), never from
canal-c. One vector per line, tab-separated, fixed seed:

  int    mysqlType sqlType text  want      (want: decimal value, or ERR)
  dec    mysqlType text    unscaled|-  scale canonical-text
  dt     mysqlType text    y m d h mi s us fsp epoch_s
  ts     mysqlType text    offset_s epoch_s us
  time   mysqlType text    neg h mi s us fsp
  double text      bits    (IEEE-754 bits of the value, decimal)
  float  text      bits

usage: test/values_ref.py [N per kind] > values_ref.txt
"""
import calendar
import datetime
import random
import struct
import sys
from decimal import Decimal, getcontext

getcontext().prec = 200

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rnd = random.Random(20261129)
out = []


def emit(*f):
    out.append("\t".join(str(x) for x in f))


# ---- integers: every width and sign, edges and random, with Canal's
# unsigned sqlType moving up a size (LogEventConvert) when past the signed range
WIDTHS = [("tinyint", 1, -6, 5), ("smallint", 2, 5, 4), ("mediumint", 3, 4, 4),
          ("int", 4, 4, -5), ("bigint", 8, -5, 3)]
for name, b, st, up in WIDTHS:
    bits = 8 * b
    for uns in (False, True):
        lo, hi = (0, 2 ** bits - 1) if uns else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
        mt = "%s(%d)%s" % (name, rnd.choice([1, 3, 4, 11, 20]), " unsigned" if uns else "")
        vals = [lo, hi, 0, 1, -1, lo - 1, hi + 1, 2 ** (bits - 1), 2 ** (bits - 1) - 1]
        vals += [rnd.randint(lo, hi) for _ in range(N // 10)]
        for v in vals:
            sql = up if uns and v >= 2 ** (bits - 1) else st
            ok = lo <= v <= hi
            emit("int", mt, sql, v, v if ok else "ERR")

# ---- DECIMAL(M,D): LogBuffer.getDecimal's text; fraction groups of 9
# digits printed in full, a last partial group dropped when zero
def canal_decimal_text(neg, ip, frac, d):
    s = ("-" if neg else "") + (ip.lstrip("0") or "0")
    if d == 0:
        return s
    full, rem = divmod(d, 9)
    f = frac[:9 * full]
    last = frac[9 * full:]
    if rem and int(last) != 0:
        f += last
    return s + "." + (f or "0")


for _ in range(N):
    m = rnd.randint(1, 18) if rnd.random() < 0.5 else rnd.randint(1, 65)
    d = rnd.randint(0, min(30, m))
    ni = m - d
    ip = "".join(rnd.choice("0123456789") for _ in range(ni)) if ni else "0"
    if rnd.random() < 0.2:
        ip = ip[:1] if ni else "0"
    style = rnd.random()
    if style < 0.3:
        frac = "0" * d
    elif style < 0.5:  # the last partial group of 9 all zeros: Canal drops it
        frac = "".join(rnd.choice("0123456789") for _ in range(d))
        frac = frac[:9 * (d // 9)] + "0" * (d % 9)
    else:
        frac = "".join(rnd.choice("0123456789") for _ in range(d))
    neg = rnd.random() < 0.4
    text = canal_decimal_text(neg, ip, frac, d)
    v = Decimal(text)
    q = v.quantize(Decimal(1).scaleb(-d)) if d else v.quantize(Decimal(1))
    canon = "{:f}".format(q)
    if canon.startswith("-") and q == 0:
        canon = canon[1:]
    unscaled = int(q.scaleb(d))
    uns = str(unscaled) if -2 ** 63 <= unscaled < 2 ** 63 else "-"
    emit("dec", "decimal(%d,%d)" % (m, d), text, uns, d, canon)

# ---- DATETIME(fsp) and DATE: digits as stored; epoch as UTC wall time
for _ in range(N):
    fsp = rnd.randint(0, 6)
    t = datetime.datetime(rnd.randint(1, 9999), rnd.randint(1, 12), rnd.randint(1, 28),
                          rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59))
    t = t.replace(day=rnd.randint(1, calendar.monthrange(t.year, t.month)[1]))
    us = rnd.randint(0, 999999) // 10 ** (6 - fsp) * 10 ** (6 - fsp)
    t = t.replace(microsecond=us)
    text = "%04d-%02d-%02d %02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)
    if fsp:
        text += "." + ("%06d" % us)[:fsp]
    epoch = calendar.timegm(t.timetuple())
    emit("dt", "datetime(%d)" % fsp if fsp else "datetime", text, t.year, t.month, t.day, t.hour,
         t.minute, t.second, us, fsp, epoch)
    dtext = text[:10]
    emit("dt", "date", dtext, t.year, t.month, t.day, 0, 0, 0, 0, 0,
         calendar.timegm(t.date().timetuple()))

# ---- TIMESTAMP(fsp): java.sql.Timestamp in the Canal server's zone; here
# fixed zones (quarter hours) from -12 h to +14 h
for _ in range(N):
    fsp = rnd.randint(0, 6)
    e = rnd.randint(1, 2 ** 31 - 1)
    us = rnd.randint(0, 999999) // 10 ** (6 - fsp) * 10 ** (6 - fsp)
    off = rnd.randint(-48, 56) * 900
    tz = datetime.timezone(datetime.timedelta(seconds=off))
    w = datetime.datetime.fromtimestamp(e, tz)
    text = "%04d-%02d-%02d %02d:%02d:%02d" % (w.year, w.month, w.day, w.hour, w.minute, w.second)
    if fsp:
        text += "." + ("%06d" % us)[:fsp]
    emit("ts", "timestamp(%d)" % fsp if fsp else "timestamp", text, off, e, us)

# ---- TIME(fsp): [-]HH:MM:SS, 3 hour digits from 100 h, up to 838:59:59
for _ in range(N):
    fsp = rnd.randint(0, 6)
    total = rnd.choice([rnd.randint(0, 86399), rnd.randint(0, 838 * 3600 + 59 * 60 + 59),
                        rnd.randint(0, 3)])
    us = rnd.randint(0, 999999) // 10 ** (6 - fsp) * 10 ** (6 - fsp)
    if total == 838 * 3600 + 59 * 60 + 59:
        us = 0
    neg = rnd.random() < 0.4 and (total or us)
    h, rest = divmod(total, 3600)
    mi, s = divmod(rest, 60)
    text = "%s%02d:%02d:%02d" % ("-" if neg else "", h, mi, s)
    if fsp:
        text += "." + ("%06d" % us)[:fsp]
    emit("time", "time(%d)" % fsp if fsp else "time", text, int(bool(neg)), h, mi, s, us, fsp)


# ---- DOUBLE / FLOAT: Java's Double/Float.toString layout around the
# shortest round-trip digits
def java_text(digits, exp10, neg):
    # value = 0.d1d2d3... * 10^exp10 written as Java does
    sign = "-" if neg else ""
    sci = exp10 - 1
    if -3 <= sci < 7:
        if exp10 <= 0:
            ip, fp = "0", "0" * (-exp10) + digits
        elif exp10 >= len(digits):
            ip, fp = digits + "0" * (exp10 - len(digits)), ""
        else:
            ip, fp = digits[:exp10], digits[exp10:]
        return sign + ip + "." + (fp.rstrip("0") or "0")
    fp = digits[1:].rstrip("0") or "0"
    return sign + digits[0] + "." + fp + "E" + str(sci)


def digits_of(s):
    dec = Decimal(s)
    sign, dig, exp = dec.as_tuple()
    d = "".join(map(str, dig)).rstrip("0") or "0"
    return d, len(dig) + exp


for _ in range(N):
    while True:
        bits = rnd.getrandbits(64) if rnd.random() < 0.7 else struct.unpack(
            "<Q", struct.pack("<d", rnd.uniform(-1e8, 1e8)))[0]
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if x == x and abs(x) != float("inf"):
            break
    if x == 0:
        text = "-0.0" if str(x).startswith("-") else "0.0"
    else:
        d, e10 = digits_of(repr(abs(x)))
        text = java_text(d, e10, x < 0)
    assert float(text.replace("E", "e")) == x
    emit("double", text, bits)

for _ in range(N):
    while True:
        bits = rnd.getrandbits(32) if rnd.random() < 0.7 else struct.unpack(
            "<I", struct.pack("<f", rnd.uniform(-1e8, 1e8)))[0]
        x = struct.unpack("<f", struct.pack("<I", bits))[0]
        if x == x and abs(x) != float("inf"):
            break
    if x == 0:
        text = "-0.0" if str(x).startswith("-") else "0.0"
    else:
        for p in range(1, 10):
            s = "%.*e" % (p - 1, abs(x))
            if struct.unpack("<f", struct.pack("<f", float(s)))[0] == abs(x):
                break
        d, e10 = digits_of(s)
        text = java_text(d, e10, x < 0)
    emit("float", text, bits)

print("\n".join(out))
