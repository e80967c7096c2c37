#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""partstat: where the bytes of Nightjar part files go (issue #4 benchmark tool).

    bench/storage/partstat.py DATA_DIR_OR_PART_FILES... [--points N] [--by-field]

Reads every `*.tsp` part file (tsdb/FORMAT.md "Part file", versions 1-4) under the
arguments, and attributes each byte to one bucket:

  file header/footer, block index, block framing (series id, nrows, min/max ts,
  ncols, CRC), column headers (key, type, flags, count; in version 4 field
  number, body length, count), summaries, length prefixes of the column
  blocks, and per column kind (time, float, int, uint, bool, string,
  presence) the nj_codec blocks split by codec id (tsdb/codec/FORMAT.md):
  codec header (4 bytes, or 1 for version 4's short blocks), zstd framing,
  payload.  Version 4's field table and grid time columns have buckets of
  their own.

It also counts the bytes zstd saved (raw payload length minus stored frame) per
column kind, and, with --points, prints bytes per point.  Also lists the other
files of the data directory (MANIFEST, series tables, WAL) so that `du`-style
totals can be reconciled.  Pure standard library; never writes anything.
"""

import argparse
import collections
import os
import struct
import sys

PART_MAGIC = 0x504A4A4E
KINDS = {1: "time", 2: "float", 3: "int", 4: "uint", 5: "bool", 6: "string", 7: "presence"}
IS_NAMES = ["raw", "for", "delta-for", "dod-for", "grid-for", "rle", "for-mb", "delta-for-mb",
            "for-mbs", "delta-for-mbs", "delta-ob", "pfor", "delta-pfor", "huff"]
CODEC_NAMES = {
    "time": IS_NAMES, "int": IS_NAMES, "uint": IS_NAMES,
    "float": ["raw", "const", "rle", "decimal", "bits-int", "xor"],
    "bool": ["bits", "rle"], "presence": ["bits", "rle"], "string": ["plain", "dict"],
}
TYPES = {1: "float", 2: "int", 3: "uint", 4: "bool", 5: "string"}


class Dec:
    def __init__(self, b, off=0):
        self.b = b
        self.o = off

    def uvarint(self):
        x = 0
        s = 0
        while True:
            c = self.b[self.o]
            self.o += 1
            x |= (c & 0x7F) << s
            if not c & 0x80:
                return x
            s += 7

    def u8(self):
        self.o += 1
        return self.b[self.o - 1]

    def u64(self):
        self.o += 8
        return struct.unpack_from("<Q", self.b, self.o - 8)[0]

    def svarint(self):
        z = self.uvarint()
        return (z >> 1) ^ -(z & 1)

    def take(self, n):
        self.o += n
        return self.b[self.o - n:self.o]


class Stats:
    def __init__(self):
        self.bytes = collections.Counter()        # bucket -> bytes
        self.codec = collections.Counter()        # (kind, codec) -> bytes (whole codec block)
        self.codec_blocks = collections.Counter()  # (kind, codec) -> blocks
        self.codec_vals = collections.Counter()   # (kind, codec) -> values
        self.kind_vals = collections.Counter()
        self.zstd_raw = collections.Counter()      # kind -> raw payload bytes of zstd blocks
        self.zstd_stored = collections.Counter()   # kind -> stored bytes (varint + frame)
        self.field = collections.Counter()         # field key -> bytes of its value blocks
        self.field_vals = collections.Counter()
        self.blocks = 0
        self.rows = 0
        self.parts = 0
        self.part_bytes = 0


def codec_block(st, blk, kind_expect, field=None, short_n=None):
    """Attributes one nj_codec block (bytes object); short_n: a short block
    (1-byte header) of that many values and kind kind_expect."""
    if short_n is not None:
        zstd = bool(blk[0] & 0x10)
        cid = blk[0] & 0x0F
        n = short_n
        kind = kind_expect
        hl = 1
    else:
        k = blk[0] & 0x0F
        zstd = bool(blk[0] & 0x10)
        cid = blk[1]
        n = blk[2] | blk[3] << 8
        kind = KINDS.get(k, "?%d" % k)
        if kind_expect and kind != kind_expect:
            kind = "%s(as %s)" % (kind, kind_expect)
        hl = 4
    names = CODEC_NAMES.get(kind, [])
    cname = names[cid] if cid < len(names) else "id%d" % cid
    st.bytes["codec header (4 B, short 1 B) " + kind] += hl
    if zstd:
        d = Dec(blk, hl)
        raw = d.uvarint()
        st.bytes["zstd varint " + kind] += d.o - hl
        st.bytes["payload " + kind] += len(blk) - d.o
        st.zstd_raw[kind] += raw
        st.zstd_stored[kind] += len(blk) - hl
    else:
        st.bytes["payload " + kind] += len(blk) - hl
    key = (kind, cname + ("+zstd" if zstd else ""))
    st.codec[key] += len(blk)
    st.codec_blocks[key] += 1
    st.codec_vals[key] += n
    st.kind_vals[kind] += n
    if field is not None:
        st.field[field] += len(blk)
        st.field_vals[field] += n


def part_file(st, path):
    with open(path, "rb") as f:
        b = f.read()
    st.parts += 1
    st.part_bytes += len(b)
    if len(b) < 56 or struct.unpack_from("<I", b, 0)[0] != PART_MAGIC:
        print("%s: not a part file" % path, file=sys.stderr)
        return
    st.bytes["part header+footer"] += 16 + 40
    ioff, ilen = struct.unpack_from("<QQ", b, len(b) - 40)
    ver = struct.unpack_from("<I", b, 4)[0]
    d = Dec(b, ioff)
    fields = []
    base_ts = 0
    if ver >= 4:  # field table: u32 nfields, u64 base_ts, u32 offsets, (u8 type, bytes key)...
        nf, base_ts = struct.unpack_from("<IQ", b, ioff)
        d.o = ioff + 12 + 4 * nf
        for _ in range(nf):
            typ = d.u8()
            kl = d.uvarint()
            fields.append((bytes(d.take(kl)).decode("utf-8", "replace"), typ))
        st.bytes["field table (version 4)"] += d.o - ioff
        ilen -= d.o - ioff
    st.bytes["block index"] += ilen
    nb = d.uvarint()
    ents = []
    off = 16
    for _ in range(nb):
        if ver >= 3:  # sid delta, min_ts delta, span, length, rows; offsets implied
            d.uvarint()
            d.svarint()
            z = d.uvarint()
            if ver >= 4 and z & 15 == 15:
                d.uvarint()
        else:
            d.uvarint()
            d.u64()
            d.u64()
            off = d.uvarint()
        ln = d.uvarint()
        rows = d.uvarint()
        ents.append((off, ln, rows))
        off += ln
    for off, ln, rows in ents:
        st.blocks += 1
        st.rows += rows
        bd = Dec(b, off)
        if ver >= 4:
            nrows = bd.uvarint()
            h = bd.uvarint()
            ncols = h >> 1
            st.bytes["block framing (sid, nrows, [ts range], ncols, crc)"] += bd.o - off + 4
            if h & 1:
                o = bd.o
                tl = bd.uvarint()
                st.bytes["column length prefixes"] += bd.o - o
                codec_block(st, bd.take(tl), "time", short_n=nrows)
            else:
                o = bd.o
                bd.svarint()
                if nrows > 1:
                    z = bd.uvarint()
                    if z & 15 == 15:
                        bd.uvarint()
                st.bytes["time grid (version 4: first, step)"] += bd.o - o
                st.kind_vals["time"] += nrows
        else:
            bd.uvarint()            # series id
            nrows = bd.uvarint()
            if ver < 3:
                bd.u64()
                bd.u64()
            ncols = bd.uvarint()
            st.bytes["block framing (sid, nrows, [ts range], ncols, crc)"] += bd.o - off + 4
            o = bd.o
            tl = bd.uvarint()
            st.bytes["column length prefixes"] += bd.o - o
            codec_block(st, bd.take(tl), "time")
        for _ in range(ncols):
            o = bd.o
            if ver >= 4:
                h = bd.uvarint()
                flags = h & 1
                key, typ = fields[h >> 1]
                clen = bd.uvarint()
                cend = bd.o + clen
                cnt = bd.uvarint() if flags else nrows
            else:
                kl = bd.uvarint()
                key = bytes(bd.take(kl)).decode("utf-8", "replace")
                typ = bd.u8()
                if ver >= 3:
                    flags = typ >> 3
                    typ &= 7
                    if flags & 1:
                        bd.uvarint()
                else:
                    flags = bd.u8()
                    bd.uvarint()
            st.bytes["column header (key, type, flags, count)"] += bd.o - o
            o = bd.o
            tname = TYPES.get(typ, "?")
            if tname in ("float", "int", "uint") and ver >= 3:
                sf = bd.u8()
                if tname != "float" or sf & 0x80:  # mantissas / integers: 5 or 6 svarints
                    for _ in range(6 if tname == "float" else 5):
                        bd.uvarint()
                else:
                    bd.take(40)
                    bd.uvarint()
            elif tname in ("float", "int", "uint"):
                bd.take(40)
                if tname == "float":
                    bd.uvarint()
                else:
                    bd.u8()
            st.bytes["summary (min max sum first last)"] += bd.o - o
            if flags & 1:
                o = bd.o
                pl = bd.uvarint()
                st.bytes["column length prefixes"] += bd.o - o
                codec_block(st, bd.take(pl), "presence", short_n=nrows if ver >= 4 else None)
            if ver >= 4:
                codec_block(st, bd.take(cend - bd.o), tname, key, short_n=cnt)
                continue
            o = bd.o
            vl = bd.uvarint()
            st.bytes["column length prefixes"] += bd.o - o
            codec_block(st, bd.take(vl), tname, key)
        if bd.o + 4 != off + ln:
            print("%s: block at %d: parsed %d of %d bytes" % (path, off, bd.o + 4 - off, ln),
                  file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--points", type=int, default=0, help="points ingested (for B/point)")
    ap.add_argument("--by-field", action="store_true", help="bytes per field key too")
    a = ap.parse_args()
    st = Stats()
    other = collections.Counter()
    for p in a.paths:
        if os.path.isfile(p):
            part_file(st, p)
            continue
        for root, _dirs, files in os.walk(p):
            for fn in files:
                fp = os.path.join(root, fn)
                if fn.endswith(".tsp"):
                    part_file(st, fp)
                else:
                    cat = ("wal" if "/wal" in root else
                           "MANIFEST" if fn == "MANIFEST" else
                           "series" if fn == "series" else "other (" + fn + ")")
                    other[cat] += os.path.getsize(fp)
    pts = a.points or sum(v for k, v in st.kind_vals.items() if k not in ("time", "presence"))
    total = st.part_bytes
    print("parts: %d, %d bytes; blocks %d, rows %d (%.1f rows/block); points %d%s" % (
        st.parts, total, st.blocks, st.rows, st.rows / max(st.blocks, 1), pts,
        "" if a.points else " (values in parts)"))
    print("\n%-52s %14s %8s %10s" % ("bucket", "bytes", "share", "B/point"))
    for k, v in sorted(st.bytes.items(), key=lambda kv: -kv[1]):
        print("%-52s %14d %7.2f%% %10.4f" % (k, v, 100.0 * v / max(total, 1), v / max(pts, 1)))
    print("%-52s %14d %7.2f%% %10.4f" % ("TOTAL parts", total, 100.0, total / max(pts, 1)))
    for k, v in sorted(other.items()):
        print("%-52s %14d %8s %10.4f" % ("(not in parts) " + k, v, "", v / max(pts, 1)))
    print("\n%-34s %8s %10s %12s %9s %9s" % ("kind / codec", "blocks", "values", "bytes",
                                           "B/value", "B/point"))
    for k in sorted(st.codec, key=lambda kk: (kk[0], -st.codec[kk])):
        v = st.codec_vals[k]
        print("%-34s %8d %10d %12d %9.4f %9.4f" % (
            k[0] + " " + k[1], st.codec_blocks[k], v, st.codec[k], st.codec[k] / max(v, 1),
            st.codec[k] / max(pts, 1)))
    if st.zstd_raw:
        print("\nzstd: kind, raw payload of zstd blocks -> stored (saved)")
        for k in sorted(st.zstd_raw):
            r, s = st.zstd_raw[k], st.zstd_stored[k]
            print("  %-10s %12d -> %12d  (saved %d B, %.4f B/point)" % (k, r, s, r - s,
                                                                      (r - s) / max(pts, 1)))
    if a.by_field:
        print("\n%-40s %10s %12s %9s" % ("field", "values", "bytes", "B/value"))
        for k in sorted(st.field):
            print("%-40s %10d %12d %9.4f" % (k, st.field_vals[k], st.field[k],
                                             st.field[k] / max(st.field_vals[k], 1)))


if __name__ == "__main__":
    main()
