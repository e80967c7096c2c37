#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Peak RSS and ingest speed against storage.flush.head_bytes (flushrss).

    bench/head/flush_rss.py --file devops.lp --head-bytes default,32MiB,48MiB \
        --nightjar build/nightjar --old old/nightjar --victoria --conns 2 --repeat 3

Runs bench/ingest/run.py's servers (same start, lpblast blast, VmHWM, count
and clean-up code) with the Nightjar config given an extra
storage.flush.head_bytes per variant; "default" leaves the config as
run.py writes it.  Per repeat and file, every variant runs in turn: the
--old binary (default config) first, then each head_bytes of --nightjar,
then VictoriaMetrics when --victoria is given, so all see the same load.
Prints one row per run and medians of points/s, peak RSS and the paired
ratios to VictoriaMetrics.  Manual; never run from ctest.
"""
import argparse
import importlib.util
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ingest_run", os.path.join(HERE, "..", "ingest", "run.py"))
ir = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ir)


def nightjar_variant(label, binary, head_bytes):
    class Variant(ir.Nightjar):
        name = "nightjar"

        def cmd(self):
            c = super().cmd()
            c[0] = binary
            if head_bytes:
                conf = c[-1]
                with open(conf) as f:
                    text = f.read()
                text = text.replace("retention: INF}", f"retention: INF, flush: {{head_bytes: {head_bytes}}}}}")
                with open(conf, "w") as f:
                    f.write(text)
            return c

    Variant.label = label
    return Variant


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", action="append", required=True)
    ap.add_argument("--head-bytes", default="default")
    ap.add_argument("--nightjar", default="build/nightjar")
    ap.add_argument("--old", default=None, help="baseline binary, run with its default config")
    ap.add_argument("--victoria", action="store_true")
    ap.add_argument("--conns", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lpblast", default="lpblast")
    ap.add_argument("--span-s", type=int, default=3 * 3600)
    ap.add_argument("--no-count", dest="count", action="store_false")
    ap.add_argument("--tmp", default=None)
    args = ap.parse_args()
    ns = argparse.Namespace(nightjar=os.path.abspath(args.nightjar), lpblast=args.lpblast, batch=5000,
                            time_limit=300, tmp=args.tmp, replay=False, count=args.count, keep=False,
                            span_s=args.span_s, end_s=None,
                            measurements="cpu,gateway,message_delivery,voice,scylla".split(","))
    variants = []
    if args.old:
        variants.append(nightjar_variant("old", os.path.abspath(args.old), None))
    for hb in args.head_bytes.split(","):
        variants.append(nightjar_variant("new" if hb == "default" else f"new {hb}", ns.nightjar,
                                         None if hb == "default" else hb))
    if args.victoria:
        ir.Victoria.label = "victoria"
        variants.append(ir.Victoria)
    print(f"# loadavg={open('/proc/loadavg').read().strip()}", flush=True)
    rows = []
    for rep in range(args.repeat):
        for path in args.file:
            for cls in variants:
                r = ir.run_one(ns, cls, path, args.conns)
                r["label"], r["rep"] = cls.label, rep
                rows.append(r)
                print(f"{cls.label:16} {ir.fmt_row(r)} disk={r.get('disk_bytes', 0) / 1e6:.1f}MB", flush=True)
    print("\n| data | variant | points/s (median) | peak RSS MiB (runs) | RSS x VM (median of pairs) | points/s x VM |")
    print("|---|---|---|---|---|---|")
    for path in args.file:
        fn = os.path.basename(path)
        vm = {r["rep"]: r for r in rows if r["label"] == "victoria" and r["file"] == fn and "error" not in r}
        for cls in variants:
            rs = [r for r in rows if r["label"] == cls.label and r["file"] == fn and "error" not in r]
            if not rs:
                continue
            pps = statistics.median(r["points_per_s"] for r in rs)
            hwm = " / ".join(f"{r['hwm_mib']:.0f}" for r in rs)
            rr = [r["hwm_mib"] / vm[r["rep"]]["hwm_mib"] for r in rs if r["rep"] in vm]
            pr = [r["points_per_s"] / vm[r["rep"]]["points_per_s"] for r in rs if r["rep"] in vm]
            print(f"| {fn} | {cls.label} | {pps / 1e6:.2f} M | {hwm} | "
                  f"{statistics.median(rr):.2f}x | {statistics.median(pr):.2f}x |" if rr else
                  f"| {fn} | {cls.label} | {pps / 1e6:.2f} M | {hwm} | - | - |")


if __name__ == "__main__":
    main()
